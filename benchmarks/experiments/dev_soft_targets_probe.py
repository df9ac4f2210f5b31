"""Dev question (issue 18): does a student learn more from FreeAL's label distributions
(soft targets) or confidences (sample weights) than from its hard labels?

Tried on the cheap student first: a logistic regression on frozen MiniLM sentence embeddings,
5 folds of the TRAINING split (FreeAL's final labels of the suite's full setting, LLM answers
from benchmarks/.cache, a TF-IDF student in the loop: with the probe judging it does not touch
the labels), scored on the held-out fold's gold labels. No test text is used.

Run from /work/main: .venv/bin/python benchmarks/experiments/dev_soft_targets_probe.py tweets
"""
import sys
sys.path.insert(0, ".")
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import roc_auc_score
from benchmarks import freeal
from benchmarks._common import setup_environment
setup_environment(cache_dir="benchmarks/.cache")
from skfreeal import FreeALClassifier
dataset = sys.argv[1]
base = freeal.PRESETS["full"]
data = freeal.load_dataset(dataset, 1000, 500, 0, **base["dataset_options"].get(dataset, {}))
components = freeal.Components(slm_params=base["slm_params"], llm_params={})
labeler, slm, embedder = components.resolved("qwen2.5-coder-0.5b")
names = list(data.label_names)
gold = np.array([names.index(str(v)) for v in data.y_train])
texts = list(data.X_train)
clf = FreeALClassifier(names, data.task, labeler=labeler,
        slm=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
        embedder=embedder, n_rounds=2, n_demos=4, random_state=0)
clf.fit(texts)
y = clf.label_ids_; P = clf.label_proba_; conf = clf.confidence_
print("labels", np.mean(y==gold), "AUC conf vs right", roc_auc_score(y==gold, conf))
for q in (0.25,0.5,0.75): 
    m = conf >= np.quantile(conf, q); print(f"top {1-q:.2f} conf: acc {np.mean(y[m]==gold[m]):.3f}")
print("mean max proba", P.max(1).mean(), "expected acc from proba", P[np.arange(len(y)), gold].mean())
emb = np.asarray(embedder.fit(texts).transform(texts))
k = len(names)
for fold,(tr,dv) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, gold)):
    res = {}
    lr = LogisticRegression(max_iter=2000, C=1.0)
    res['hard'] = lr.fit(emb[tr], y[tr]).score(emb[dv], gold[dv])
    Xr = np.repeat(emb[tr], k, axis=0); yr = np.tile(np.arange(k), len(tr)); w = P[tr].reshape(-1)
    res['soft'] = LogisticRegression(max_iter=2000).fit(Xr, yr, sample_weight=w).score(emb[dv], gold[dv])
    res['confw'] = LogisticRegression(max_iter=2000).fit(emb[tr], y[tr], sample_weight=conf[tr]).score(emb[dv], gold[dv])
    res['gold'] = LogisticRegression(max_iter=2000).fit(emb[tr], gold[tr]).score(emb[dv], gold[dv])
    print(fold, {a: round(b,3) for a,b in res.items()}, flush=True)
