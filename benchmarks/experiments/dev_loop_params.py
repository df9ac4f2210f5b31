"""Dev question (issue 18): which FreeALClassifier settings give the most accurate labels?

On the TRAINING split only: the suite's full-FreeAL setting (1,000 training texts, seed 0,
0.5B LLM, 2 rounds, 4 demos, the probe judging; a TF-IDF final student, which does not touch
the labels) with the settings given on the command line, scored by the labels' accuracy
against the training split's gold labels, after round 0 and at the end. No test text is used.

Run from /work/main:
.venv/bin/python benchmarks/experiments/dev_loop_params.py DATASET [name=value,name=value ...]
(values are Python expressions, GMMNoiseFilter in scope; no argument after DATASET runs the
defaults)
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
from skfreeal.noise import GMMNoiseFilter  # noqa: E402

dataset = sys.argv[1]
scope = {"GMMNoiseFilter": GMMNoiseFilter}
variants = [eval(f"dict({arg})", scope) for arg in sys.argv[2:]] or [{}]
base = freeal.PRESETS["full"]
data = freeal.load_dataset(dataset, 1000, 500, 0, **base["dataset_options"].get(dataset, {}))
components = freeal.Components(slm_params=base["slm_params"], llm_params={})
labeler, slm, embedder = components.resolved("qwen2.5-coder-0.5b")
names = list(data.label_names)
gold = np.array([names.index(str(v)) for v in data.y_train])
texts = list(data.X_train)

for params in variants:
    start = time.time()
    clf = FreeALClassifier(names, data.task, labeler=labeler,
                           slm=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
                           embedder=embedder, n_rounds=2, n_demos=4, random_state=0)
    clf.set_params(**params)
    clf.fit(texts)
    per_round = " -> ".join(f"{np.mean(ids == gold):.3f}" for ids in clf.round_labels_)
    print(f"{dataset} {params or 'defaults'}: labels by round {per_round}, "
          f"noisy after round 0 {1 - clf.round_clean_masks_[0].mean():.3f}, "
          f"requests {clf.usage_['calls']} new + {clf.usage_['cache_hits']} cached, "
          f"{time.time() - start:.0f}s", flush=True)
