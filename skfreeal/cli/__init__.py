"""The ``skfreeal`` command line: label a table, estimate the cost, predict, demo.

Run ``skfreeal --help``. The entry point is :func:`main` (also reached by
``python -m skfreeal``). Only ``click`` is imported up front; torch,
transformers and the LLM runtimes load when a command needs them.
"""

from ._main import cli, main

__all__ = ["cli", "main"]
