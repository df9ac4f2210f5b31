"""Dev-split question (issue 18): should the final student learn only the labels the judge
calls clean, the rest left unlabelled (its consistency loss still uses them)?

The hint: at label_fraction=0.2 the student sees 400 labels and 600 unlabelled texts and
scored above full FreeAL's student with 1,000 labels on tweets. Here, on the TRAINING split
only: FreeAL's final labels and the last judge's clean mask on the 1,000 training tweets (the
suite's full-FreeAL setting, LLM answers from benchmarks/.cache, a TF-IDF student in the loop:
with the probe judging, the student does not touch the labels); then the suite's student
trained on folds of 800 with (a) every label, (b) the judge-clean labels only, scored on the
held-out 200 training texts' gold labels. No test text is used.

Run from /work/main: .venv/bin/python benchmarks/experiments/dev_clean_labels_tweets.py [folds]
"""

import sys
import time

sys.path.insert(0, ".")

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from benchmarks import freeal  # noqa: E402
from benchmarks._common import setup_environment  # noqa: E402

setup_environment(cache_dir="benchmarks/.cache")
from skfreeal import FreeALClassifier  # noqa: E402

folds = [int(f) for f in sys.argv[1:]] or [0]
base = freeal.PRESETS["full"]
data = freeal.load_dataset("tweets", 1000, 500, 0, **base["dataset_options"].get("tweets", {}))
components = freeal.Components(slm_params=base["slm_params"], llm_params={})
labeler, slm, embedder = components.resolved("qwen2.5-coder-0.5b")
names = list(data.label_names)
gold = np.array([names.index(str(v)) for v in data.y_train])
texts = list(data.X_train)

start = time.time()
clf = FreeALClassifier(names, data.task, labeler=labeler,
                       slm=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
                       embedder=embedder, n_rounds=2, n_demos=4, random_state=0)
clf.fit(texts)
y = clf.label_ids_.copy()
clean = clf.round_clean_masks_[-1]
print(f"FreeAL labels {np.mean(y == gold):.3f}, new LLM calls {clf.usage_['calls']}, "
      f"{time.time() - start:.0f}s", flush=True)
print(f"judge-clean {clean.mean():.3f} of texts, their labels {np.mean(y[clean] == gold[clean]):.3f}"
      f", the rest {np.mean(y[~clean] == gold[~clean]):.3f}", flush=True)

for fold in folds:
    train, dev = list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, gold))[fold]
    for variant in ("all", "clean"):
        yy = y[train].copy()
        if variant == "clean":
            yy[~clean[train]] = -1
        student = freeal._student(slm, robust=True, random_state=0)
        t = time.time()
        student.fit([texts[i] for i in train], yy)
        acc = np.mean(student.predict([texts[i] for i in dev]) == gold[dev])
        print(f"fold {fold} {variant:5s}: {int(np.sum(yy >= 0))} labels "
              f"({np.mean(yy[yy >= 0] == gold[train][yy >= 0]):.3f} right), "
              f"dev accuracy {acc:.3f}, {time.time() - t:.0f}s", flush=True)
