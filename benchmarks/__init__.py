"""skfreeal's benchmarks.

Run them all with ``python -m benchmarks`` (``--quick`` for a run of minutes).
Each suite writes one JSON file per run into ``benchmarks/results/``;
``python -m benchmarks.report`` turns those files into the tables and plots of
the documentation (``docs/benchmarks.rst``, ``docs/_static/bench_*.png``).

Suites:

- :mod:`benchmarks.freeal`: FreeAL against the paper's comparisons and the
  peers (zero-shot LLM, LLM with FreeAL's demos, SLM on zero-shot labels,
  SLM on gold labels, kNN few-shot LLM with gold demos, confident learning);
- ``benchmarks.robust_slm`` and ``benchmarks.annotation``: the student and the
  labelers on their own (owned by their components' authors).
- :mod:`benchmarks.label_fraction` and :mod:`benchmarks.scale`: FreeAL's P% mode
  (accuracy against LLM cost) and the scale suite (throughput, memory, Dask);
  run on their own, they render their own pages.
"""
