"""Dev split (training tweets, gold labels of training only): which student learns best from
FreeAL's final LLM labels? Fold 0 of a stratified 5-fold split of the 1,000 training tweets:
train on 800 texts' LLM labels, score against the 200 held-out texts' gold labels."""
import sys, time, numpy as np, torch
torch.set_num_threads(2)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from skfreeal.datasets import load_tweets
from skfreeal import RobustTextClassifier
data = load_tweets(n_train=1000, n_test=500, random_state=0)
names = list(data.label_names)
y = np.array([names.index(v) for v in data.y_train])
lab = np.load("/tmp/exp/label_ids.npy")
E = np.load("/tmp/exp/E_tr.npy")
X = np.array(data.X_train, dtype=object)
print("label acc", (lab == y).mean())
folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
accs = []
for tr, dv in folds:
    m = LogisticRegression(max_iter=2000).fit(E[tr], lab[tr]); accs.append((m.predict(E[dv]) == y[dv]).mean())
print("probe on LLM labels, 5-fold dev acc", np.round(accs, 3), np.mean(accs), flush=True)
accs = []
for tr, dv in folds:
    m = LogisticRegression(max_iter=2000).fit(E[tr], y[tr]); accs.append((m.predict(E[dv]) == y[dv]).mean())
print("probe on gold labels, 5-fold dev acc", np.round(accs, 3), np.mean(accs), flush=True)
which = sys.argv[1:] or ["robust", "plain"]
tr, dv = folds[0]
for kind in which:
    t = time.time()
    clf = RobustTextClassifier(random_state=0, robust=(kind == "robust")) if kind != "plain" else RobustTextClassifier(random_state=0, robust=False)
    clf.fit(list(X[tr]), lab[tr])
    p = clf.predict_proba(list(X[dv])).argmax(1)
    print(f"fine-tuned {kind} on LLM labels, fold 0 dev acc {(p == y[dv]).mean():.3f} (probe fold 0: see above) {time.time()-t:.0f}s", flush=True)
