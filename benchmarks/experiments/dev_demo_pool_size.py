"""Dev question (issue 18): does a larger refined demonstration pool make the LLM's
re-annotations of the noisy texts more accurate?

Today's later-round pool is small: per class the ``demos_per_class`` (default
``max(n_demos, 5)``: 5 with the suite's 4 demos) k-medoids of the ``demo_top_percent``
(0.2) smallest-loss judge-clean texts, so tweets' noisy texts retrieve their 4 demos from
10 texts, while the kNN-ICL-with-gold-labels row retrieves them from all 1,000 training texts.
Here, on the TRAINING split only: the suite's full-FreeAL setting (1,000 training texts,
seed 0, 0.5B LLM, 2 rounds, 4 demos, the probe judging; a TF-IDF final student, which does
not touch the labels) with several pool sizes, scored by the final labels' accuracy against
the training split's gold labels. No test text is used.

Run from /work/main:
.venv/bin/python benchmarks/experiments/dev_demo_pool_size.py DATASET [per_class:top_percent ...]
"""

import sys
import time

sys.path.insert(0, ".")

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from benchmarks import freeal  # noqa: E402
from benchmarks._common import setup_environment  # noqa: E402

setup_environment(cache_dir="benchmarks/.cache")
from skfreeal import FreeALClassifier  # noqa: E402

dataset = sys.argv[1]
variants = [(int(a), float(b)) for a, b in (v.split(":") for v in sys.argv[2:])] or [(5, 0.2)]
base = freeal.PRESETS["full"]
data = freeal.load_dataset(dataset, 1000, 500, 0, **base["dataset_options"].get(dataset, {}))
components = freeal.Components(slm_params=base["slm_params"], llm_params={})
labeler, slm, embedder = components.resolved("qwen2.5-coder-0.5b")
names = list(data.label_names)
gold = np.array([names.index(str(v)) for v in data.y_train])
texts = list(data.X_train)

for per_class, top_percent in variants:
    start = time.time()
    clf = FreeALClassifier(names, data.task, labeler=labeler,
                           slm=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
                           embedder=embedder, n_rounds=2, n_demos=4, random_state=0,
                           demos_per_class=per_class, demo_top_percent=top_percent)
    clf.fit(texts)
    y = clf.label_ids_
    noisy = ~clf.round_clean_masks_[0]
    first = clf.round_labels_[0]
    pool_ids = np.array([names.index(str(lab)) for _, lab in clf.demos_])
    line = (f"{dataset} per_class={per_class} top_percent={top_percent}: pool {len(clf.demos_)} "
            f"({np.bincount(pool_ids, minlength=len(names)).tolist()}), final labels "
            f"{np.mean(y == gold):.3f}, round-0-noisy texts ({noisy.sum()}) {np.mean(y[noisy] == gold[noisy]):.3f}")
    if first is not None:
        line += f" (were {np.mean(first[noisy] == gold[noisy]):.3f})"
    print(line + f", new LLM calls {clf.usage_['calls']}, {time.time() - start:.0f}s", flush=True)
