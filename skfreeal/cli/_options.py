"""Options shared by the commands, and building the estimators they describe."""

import logging
import os
import sys
import urllib.error
import urllib.request

import click

from ._errors import CLIError, one_line

__all__ = [
    "loop_params",
    "table_options",
    "task_options",
    "output_options",
    "check_new_columns",
    "llm_options",
    "run_options",
    "setup_logging",
    "progress_enabled",
    "estimator_verbose",
    "build_classifier",
    "check_endpoint",
    "describe_endpoint",
]

logger = logging.getLogger("skfreeal")

LLM_KINDS = ("local", "openai")


def _compose(*decorators):
    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def parse_labels(ctx, param, value):
    """``--labels a,b,c`` -> ``["a", "b", "c"]``, checked as the estimators check them."""
    if value is None:
        return None
    from .._validation import check_label_names

    names = [part.strip() for part in value.split(",")]
    try:
        return check_label_names(names, name="--labels")
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc).rstrip("."), ctx, param) from None


def parse_prices(ctx, param, value):
    """``--price-per-million 0.15,0.6`` -> ``(0.15, 0.6)`` USD per million tokens."""
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    try:
        prices = tuple(float(part) for part in parts)
    except ValueError:
        prices = ()
    if len(prices) != 2 or not all(p >= 0 and p == p and p != float("inf") for p in prices):
        raise click.BadParameter(
            f"must be PROMPT,COMPLETION: two non-negative USD amounts per million tokens, "
            f"e.g. 0.15,0.60; got {value!r}", ctx, param,
        )
    return prices


def _number(value):
    """``value`` as a float, None when it is not a number (NaN is none)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def parse_request_cap(ctx, param, value):
    """``--max-requests-per-text 1.5`` -> ``1.5``; ``none`` -> None (no cap)."""
    if value is None or value.strip().lower() == "none":
        return None
    number = _number(value)
    if number is None or not 1 <= number < float("inf"):
        raise click.BadParameter(
            "must be a number of LLM requests per text of at least 1 (round 0 asks every "
            f"text once), or none for no cap; got {value!r}", ctx, param)
    return number


def parse_tolerance(ctx, param, value):
    """``--rollback-tolerance 0.02`` -> ``0.02``; ``inf`` measures and never rolls back."""
    if value is None:
        return None
    number = _number(value)
    if number is None or number < 0:
        raise click.BadParameter(
            "must be a non-negative share of the texts, e.g. 0.02 (inf: measure the labels' "
            f"consistency, never roll back); got {value!r}", ctx, param)
    return number


def _non_blank(ctx, param, value):
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty", ctx, param)
    return value


table_options = _compose(
    click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=str)),
    click.option("--text-column", required=True, callback=_non_blank, help="Column holding the texts."),
    click.option(
        "--encoding", default="utf-8", show_default=True,
        help="Text encoding of CSV/TSV/JSON Lines input (Parquet is always UTF-8).",
    ),
    click.option(
        "--skip-empty", is_flag=True,
        help="Leave rows with an empty text unlabelled instead of stopping with an error.",
    ),
)

task_options = _compose(
    click.option(
        "--labels", required=True, callback=parse_labels,
        help="Comma-separated label names, e.g. negative,positive (at least two, distinct).",
    ),
    click.option(
        "--task", required=True, callback=_non_blank,
        help='The labelling task in words, e.g. "Classify the sentiment of a tweet."',
    ),
)


def output_options(columns):
    """``--out`` and ``--prefix`` for a command that appends ``columns`` to the rows."""
    return _compose(
        click.option(
            "--out", "out_path", required=True, type=click.Path(dir_okay=False),
            help="Output table (.csv, .tsv, .jsonl, .parquet): the input rows plus "
            f"{', '.join(columns)} columns.",
        ),
        click.option("--prefix", default="", help="Prefix for the added column names, e.g. 'freeal_'."),
    )


def check_new_columns(path, columns, new_columns):
    """Refuse to overwrite input columns with the added ones."""
    clash = [c for c in new_columns if c in columns]
    if clash:
        raise CLIError(
            f"{path}: already has the column(s) {', '.join(map(repr, clash))}; "
            "pass --prefix to name the new columns differently"
        )


llm_options = _compose(
    click.option(
        "--llm", type=click.Choice(LLM_KINDS), default="local", show_default=True,
        help="local: a packaged GGUF model run in-process (no key, no network); "
        "openai: any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp).",
    ),
    click.option(
        "--model", default=None,
        help="With --llm openai: the model name (required). With --llm local: a packaged "
        "model (qwen2.5-coder-0.5b [default], qwen2.5-coder-1.5b, smollm2-135m) or a .gguf file.",
    ),
    click.option(
        "--base-url", default=None,
        help="With --llm openai: the server's URL, e.g. http://127.0.0.1:8000/v1 "
        "(default: $OPENAI_BASE_URL, else OpenAI's). The key is read from $OPENAI_API_KEY.",
    ),
    click.option(
        "--max-cost", type=click.FloatRange(min=0, min_open=True), default=None,
        help="Stop before the LLM spend (USD, from the labeler's price table or "
        "--price-per-million) would pass this; a re-run with a larger budget resumes from the "
        "cache. Answers that arrive unreadable, or not at all, count too.",
    ),
    click.option(
        "--price-per-million", "prices", callback=parse_prices, default=None,
        metavar="PROMPT,COMPLETION",
        help="With --llm openai: the model's price in USD per million prompt and completion "
        "tokens, e.g. 0.15,0.60 (needed by --max-cost for a model the price table does not "
        "know, e.g. one served by Ollama or vLLM: 0,0 if it is free).",
    ),
    click.option(
        "--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
        help="With --llm openai: seconds before an LLM request is abandoned and retried "
        "(default: the labeler's, 60).",
    ),
    click.option(
        "--on-failure", type=click.Choice(["raise", "abstain"]), default="raise",
        show_default=True,
        help="What a text whose LLM request fails all its retries does: raise stops the run "
        "(the answers so far are cached, the same command resumes); abstain leaves that text "
        "without an LLM label and goes on.",
    ),
    click.option(
        "--batch", is_flag=True,
        help="With --llm openai: send each LLM pass as one Batch API job (a JSONL file and a "
        "batch with a 24 h window, polled until done) instead of one request per text: half "
        "price at OpenAI, and the price --max-cost and estimate use. The batch is recorded in "
        "the LLM cache before the wait: after Ctrl-C or a crash the same command resumes it "
        "and never submits it twice.",
    ),
    click.option(
        "--calibration", type=click.Choice(["batch", "contextual", "none"]), default=None,
        help="How the LLM's tilt towards some labels is divided out of its answers: batch "
        "(the mean distribution over the texts, single-label only), contextual (content-free "
        "inputs such as 'N/A' asked in the same prompt: a few extra requests; for label sets, "
        "with --llm local) or none. Default: the labeler's, batch (none for label sets).",
    ),
    click.option(
        "--max-llm-tokens", type=click.IntRange(min=1), default=None,
        help="Stop before the LLM's prompt + completion tokens would pass this.",
    ),
    click.option(
        "--concurrency", type=click.IntRange(min=1), default=None,
        help="LLM requests in flight at once (default: the labeler's, 8).",
    ),
    click.option(
        "--slm", "slm_path", default=None, type=click.Path(exists=True, file_okay=False),
        help="A transformers model folder for the small model (default: the packaged MiniLM).",
    ),
    click.option("--slm-epochs", type=click.IntRange(min=1), default=None,
                 help="Training epochs of the small model each time it trains (default: its "
                 "own, 6)."),
    click.option("--n-rounds", type=click.IntRange(min=1), default=2, show_default=True,
                 help="LLM annotation rounds."),
    click.option("--n-demos", type=click.IntRange(min=0), default=10, show_default=True,
                 help="Demonstrations shown to the LLM per text (0: zero-shot)."),
    click.option(
        "--n-generated-demos", type=click.IntRange(min=0), default=None,
        help="Synthetic demonstrations the LLM writes before labelling (0: none). Default: "
        "2 per demonstration shown (at least 4) per label, at most 100 and at most one per "
        "five texts.",
    ),
    click.option(
        "--label-fraction", type=click.FloatRange(0, 1, min_open=True), default=1.0,
        show_default=True,
        help="Fraction of the texts the LLM annotates per round (FreeAL's large-data variant).",
    ),
    click.option(
        "--judge", type=click.Choice(["probe", "student"]), default="probe", show_default=True,
        help="What splits each round's labels into clean and noisy (the noisy are asked "
        "again): a logistic regression on the sentence embeddings, the small model then "
        "training once on the final labels; or the small model itself, trained every round "
        "(the paper's loop, with --label-fusion llm).",
    ),
    click.option(
        "--label-fusion", type=click.Choice(["product", "llm"]), default="product",
        show_default=True,
        help="A re-asked text's new label: the one most probable under the LLM's and the "
        "judge's distributions together, or the LLM's answer alone (the paper's).",
    ),
    click.option(
        "--max-requests-per-text", callback=parse_request_cap, default="2", show_default=True,
        metavar="N|none",
        help="LLM requests the run makes at most, per text: demonstration writing and every "
        "round's annotations (at least 1; none: no cap). A later round over it asks again only "
        "the texts its judge finds noisiest, and the run's summary says how many it left out.",
    ),
    click.option(
        "--rollback-tolerance", callback=parse_tolerance, default=None, metavar="SHARE",
        help="Roll back, and stop after, a round that lowers its labels' consistency (how well "
        "a probe trained on the other texts' labels gives each text its label; no gold label) "
        "by more than SHARE, e.g. 0.02; inf measures it without rolling back. Default: off.",
    ),
    click.option("--seed", type=int, default=None, help="Random seed, for repeatable runs."),
)

run_options = _compose(
    click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars."),
    click.option("-v", "--verbose", is_flag=True, help="Debug messages too."),
)


# ---------------------------------------------------------------- logging


class _CLIFormatter(logging.Formatter):
    def format(self, record):
        prefix = "skfreeal: " if record.levelno < logging.WARNING else (
            f"skfreeal: {record.levelname.lower()}: "
        )
        return prefix + record.getMessage()


def setup_logging(*, quiet, verbose):
    """Send the ``skfreeal`` logger to stderr: warnings only when quiet.

    Unless ``verbose``, transformers' load reports and weight-loading bars are
    silenced too (through their environment variables, read when transformers
    is imported later; a value the user set wins).
    """
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CLIFormatter())
    handler._skfreeal_cli = True
    for old in [h for h in logger.handlers if getattr(h, "_skfreeal_cli", False)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def progress_enabled(quiet):
    """Progress bars only on a terminal, and never with ``--quiet``."""
    return not quiet and sys.stderr.isatty()


def estimator_verbose(quiet):
    """The estimators' ``verbose``: 0 quiet, 1 round logs, 2 logs and bars."""
    if quiet:
        return 0
    return 2 if progress_enabled(quiet) else 1


# ---------------------------------------------------------------- estimators


def build_labeler(opts):
    """The labeler described by ``--llm``, ``--model``, ``--base-url`` and the budget.

    A ``--max-cost`` that cannot be checked (no price for the model) is
    refused here, before the table is embedded or any call is made.
    """
    params = {
        name: value
        for name, value in [("max_cost", opts.max_cost), ("max_tokens", opts.max_llm_tokens),
                            ("max_concurrency", opts.concurrency)]
        if value is not None
    }
    params["on_failure"] = getattr(opts, "on_failure", "raise")
    calibration = getattr(opts, "calibration", None)
    if calibration is not None:
        params["calibration"] = None if calibration == "none" else calibration
    batch = getattr(opts, "batch", False)
    if opts.llm == "openai":
        if not opts.model:
            raise CLIError("--llm openai needs --model (the model name the server knows)")
        from ..labelers import OpenAILabeler
        from ..labelers._usage import price_of

        if opts.prices is not None:
            params["price_table"] = {opts.model: opts.prices}
        elif opts.max_cost is not None and price_of(opts.model) is None:
            raise CLIError(
                f"--max-cost {opts.max_cost:g} needs the price of --model {opts.model!r}, which "
                "the price table does not know: give it with --price-per-million "
                "PROMPT,COMPLETION (USD per million tokens; 0,0 for a free local server)"
            )
        if opts.timeout is not None:
            params["timeout"] = opts.timeout
        return OpenAILabeler(opts.model, base_url=opts.base_url, batch=batch, **params)
    for option, value in (("--base-url", opts.base_url), ("--price-per-million", opts.prices),
                          ("--timeout", opts.timeout), ("--batch", batch or None)):
        if value is not None:
            raise CLIError(f"{option} is only used with --llm openai")
    from ..labelers import LocalLabeler

    if opts.model is not None:
        params["model"] = opts.model
    return LocalLabeler(**params)


def build_slm(opts):
    """The student described by ``--slm`` and ``--slm-epochs`` (None: the default)."""
    params = {}
    if opts.slm_path is not None:
        params["model_name_or_path"] = opts.slm_path
    if opts.slm_epochs is not None:
        params["max_epochs"] = opts.slm_epochs
    if not params:
        return None
    from ..slm import RobustTextClassifier

    return RobustTextClassifier(**params)


def loop_params(opts, *, verbose=0):
    """The loop's parameters the options set, shared by both kinds of classifier.

    Parameters
    ----------
    opts : argparse.Namespace
    verbose : int, default=0

    Returns
    -------
    params : dict
        ``judge``, ``demos``, ``rounds``, ``random_state`` and ``verbose``
        (``n_generated_demos`` None keeps the classifier's own default).
    """
    from .. import DemoPolicy, RoundPolicy

    return {
        "judge": None if opts.judge == "student" else opts.judge,
        "demos": DemoPolicy(opts.n_demos, n_generated=opts.n_generated_demos),
        "rounds": RoundPolicy(opts.n_rounds, label_fraction=opts.label_fraction,
                              label_fusion=opts.label_fusion,
                              max_requests_per_text=opts.max_requests_per_text,
                              rollback_tolerance=opts.rollback_tolerance),
        "random_state": opts.seed,
        "verbose": verbose,
    }


def build_classifier(opts, *, verbose=0):
    """The classifier the options describe, its student built by :func:`build_slm`.

    A :class:`~skfreeal.MultiLabelFreeALClassifier` with ``--multi-label``
    (the same student, which learns label sets from an indicator matrix),
    else a :class:`~skfreeal.FreeALClassifier`.
    """
    from .. import FreeALClassifier, MultiLabelFreeALClassifier

    kind = MultiLabelFreeALClassifier if getattr(opts, "multi_label", False) else FreeALClassifier
    return kind(opts.labels, opts.task, labeler=build_labeler(opts), slm=build_slm(opts),
                **loop_params(opts, verbose=verbose))


def describe_endpoint(base_url):
    """Where ``--llm openai`` sends the texts, without credentials, and why that endpoint.

    Parameters
    ----------
    base_url : str or None
        ``--base-url``.

    Returns
    -------
    endpoint : str
        E.g. ``"http://127.0.0.1:8000/v1 (--base-url)"``.
    """
    from ..labelers._endpoint import public_url, resolve_base_url

    source = ("--base-url" if base_url else
              "$OPENAI_BASE_URL" if os.environ.get("OPENAI_BASE_URL") else "OpenAI's default")
    return f"{public_url(resolve_base_url(base_url))} ({source})"


def check_endpoint(base_url, *, timeout=10):
    """Fail fast with a one-line error if an OpenAI-compatible server is unreachable.

    Any HTTP answer (even 401 or 404) proves the server is there; only a
    connection failure or a timeout is an error. No key is sent; credentials
    in the URL (``https://user:secret@host/v1``) are sent as HTTP Basic
    authentication, as the labeler sends them, and never printed.

    Parameters
    ----------
    base_url : str or None
        The server's base URL; None: ``$OPENAI_BASE_URL``, else OpenAI's.
    timeout : float, default=10
        Seconds to wait for an answer.
    """
    from ..labelers._endpoint import basic_auth_header, resolve_base_url, split_credentials

    url, userinfo = split_credentials(resolve_base_url(base_url))
    shown = describe_endpoint(base_url)
    headers = {"Authorization": basic_auth_header(*userinfo)} if userinfo else {}
    try:
        request = urllib.request.Request(url.split("?")[0].rstrip("/") + "/models",
                                         headers=headers)
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return
    except urllib.error.URLError as exc:
        reason = exc.reason
    except (OSError, ValueError) as exc:
        reason = exc
    else:
        return
    # Raised outside the except clause: the error it replaces may hold the URL.
    raise CLIError(f"cannot reach the LLM endpoint {shown}: {one_line(_no_url(reason, url))}")


def _no_url(reason, url):
    """An error's text without the URL it may quote (which may hold credentials)."""
    return str(reason).replace(url, "<endpoint>")


def collect(kwargs):
    """The command's keyword arguments as an attribute namespace."""
    import types

    return types.SimpleNamespace(**kwargs)

