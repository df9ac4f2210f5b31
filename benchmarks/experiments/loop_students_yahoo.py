"""Yahoo, full size (1,000 train / 500 test, seed 0, 0.5B), FreeAL as benchmarks/freeal.py's
FreeAL row, with two students: 'probe' (frozen MiniLM + logistic regression) and 'default'
(RobustTextClassifier defaults). Train-label accuracy uses training gold (allowed); the test
accuracy is recorded as a measurement only."""
import os, sys, json, time
sys.path.insert(0, "/work/main")
from benchmarks._common import setup_environment
setup_environment(torch_threads=2)
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from skfreeal import FreeALClassifier, RobustTextClassifier
from skfreeal.labelers import LocalLabeler
from skfreeal.slm import SentenceEmbedder
from benchmarks.freeal import load_dataset

data = load_dataset(sys.argv[1], 1000, 500, 0)
names = list(data.label_names)
gold = np.array([names.index(str(v)) for v in data.y_train])
out = {}
for kind in sys.argv[2:]:
    slm = (make_pipeline(SentenceEmbedder(), LogisticRegression(max_iter=2000)) if kind == "probe"
           else None)  # FreeAL's default student
    clf = FreeALClassifier(names, data.task, labeler=LocalLabeler(model="qwen2.5-coder-0.5b"),
                           slm=slm, embedder=SentenceEmbedder(), n_rounds=2, n_demos=4,
                           random_state=0, verbose=1)
    t = time.time()
    clf.fit(data.X_train, eval_set=(data.X_test, data.y_test))
    acc = float(np.mean(clf.predict(data.X_test) == np.array(data.y_test, dtype=object)))
    rows = [{k: v for k, v in h.items() if isinstance(v, (int, float, str, type(None)))} for h in clf.history_]
    out[kind] = {"test_acc": acc, "train_label_acc": float(np.mean(clf.label_ids_ == gold)),
                 "seconds": time.time() - t, "usage": {k: float(v) for k, v in clf.usage_.items()}, "rounds": rows}
    np.save(f"/tmp/exp/{sys.argv[1]}_{kind}_labels.npy", clf.label_ids_)
    print(kind, json.dumps(out[kind], default=str), flush=True)
    json.dump(out, open(f"/tmp/exp/{sys.argv[1]}_students.json", "w"), indent=1, default=str)
