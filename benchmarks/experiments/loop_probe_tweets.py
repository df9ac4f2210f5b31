"""Dev-split experiment: how a frozen-embedding probe learns from the 0.5B LLM's round-0 labels.

Round-0 labels replayed from the README demo's cache (/tmp/democache). Choice made on
5-fold CV over the 1,000 TRAINING tweets (gold labels of the training split), test reported
only as a measurement.
"""
import os, sys, json, time
os.environ.setdefault("SKFREEAL_CACHE_DIR", "/tmp/democache")
import numpy as np
import torch
torch.set_num_threads(1)
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from skfreeal import FreeALClassifier
from skfreeal.datasets import load_tweets
from skfreeal.labelers import LocalLabeler
from skfreeal.slm import SentenceEmbedder

data = load_tweets(n_train=1000, n_test=500, random_state=0)
names = list(data.label_names)
y_tr = np.array([names.index(v) for v in data.y_train]); y_te = np.array([names.index(v) for v in data.y_test])
emb = SentenceEmbedder()
t = time.time()
E_tr = emb.fit_transform(data.X_train); E_te = emb.transform(data.X_test)
print("embedded", time.time() - t, flush=True)
np.save("/tmp/exp/E_tr.npy", E_tr); np.save("/tmp/exp/E_te.npy", E_te)
probe = make_pipeline(SentenceEmbedder(), LogisticRegression(max_iter=2000))
clf = FreeALClassifier(names, data.task, labeler=LocalLabeler(n_threads=1), slm=probe, n_rounds=2,
                       n_demos=4, random_state=0, verbose=1)
t = time.time()
clf.fit(data.X_train)
print("fit", time.time() - t, "calls", clf.usage_, flush=True)
for h in clf.history_:
    print({k: v for k, v in h.items() if not isinstance(v, (list, np.ndarray))})
np.save("/tmp/exp/label_ids.npy", clf.label_ids_)
np.save("/tmp/exp/label_proba.npy", getattr(clf, "label_proba_", np.zeros(1)))
print("train label acc", np.mean(clf.label_ids_ == y_tr))
print("FreeAL probe test acc (measurement)", np.mean(clf.predict(data.X_test) == np.array(data.y_test)))
