"""``skfreeal label --multi-label``: texts that carry a set of labels.

The label column holds a text's labels joined by ``--label-separator``
(``billing;login``); ``confidence`` is the LLM's mean certainty over the
labels (:meth:`~skfreeal.labels.MultiLabelSpace.from_proba`), and one
``confidence_<label>`` column per label holds the probability of that label
(1 or 0 for a plain answer, which carries no logprobs; a re-asked text's is
fused with the judge's).

A gold column (``--gold-column``) holds label sets written the same way;
the run then logs the micro F1 of the LLM's label sets and the student's.

The student is the one :class:`~skfreeal.MultiLabelFreeALClassifier` trains
by default, the small transformer model with one sigmoid per label
(``--slm`` and ``--slm-epochs`` set it as for one label a text);
``--save-model`` saves the classifier for ``skfreeal predict``, and
``--export-model`` writes the student for serving, with the thresholds that
turn its scores into label sets.
"""

import click
import numpy as np

from ._errors import CLIError
from ._options import _compose

__all__ = [
    "multi_label_options",
    "check_multi_label",
    "check_separator",
    "label_set_columns",
    "gold_label_sets",
    "gold_scores",
]

multi_label_options = _compose(
    click.option(
        "--multi-label", is_flag=True,
        help="Each text carries one or more of the labels: the label column holds them "
        "joined by --label-separator, and a confidence_<label> column per label holds its "
        "probability. The small model learns label sets (one sigmoid per label; --slm, "
        "--slm-epochs, --save-model and --export-model as for one label). The LLM writes "
        "demonstrations (single labels and pairs) only when --n-generated-demos says how many.",
    ),
    click.option(
        "--label-separator", default=";", show_default=True,
        help="With --multi-label: the separator of a text's labels in the label column.",
    ),
)


def check_multi_label(opts):
    """Refuse, before any call, a separator without ``--multi-label`` or a bad one."""
    if not opts.multi_label:
        if opts.label_separator != ";":
            raise CLIError("--label-separator is only used with --multi-label")
        return
    check_separator(opts.label_separator, opts.labels)


def check_separator(sep, labels):
    """Refuse an empty ``--label-separator`` or one that a label name holds."""
    if not sep:
        raise CLIError("--label-separator must not be empty")
    clash = [name for name in labels if sep in name]
    if clash:
        raise CLIError(f"--label-separator {sep!r} appears in the label name(s) "
                       f"{', '.join(map(repr, clash))}; choose another separator")


def label_set_columns(labels, prefix):
    """The per-label confidence columns added after the others."""
    return [f"{prefix}confidence_{name}" for name in labels]


def gold_label_sets(gold, labels, separator):
    """Each gold cell read as a label set (a list of names split at ``separator``).

    None where the cell is empty or names a label not in ``labels`` (such a
    text is left out of the scores, as a single-label run leaves it out).
    """
    known = set(labels)
    out = []
    for value in gold:
        names = [part.strip() for part in str(value or "").split(separator) if part.strip()]
        out.append(names if names and set(names) <= known else None)
    return out


def gold_scores(clf, gold_sets, slm_pred):
    """Micro F1 of the LLM's label sets and of ``slm_pred`` on the texts with a gold set.

    Returns ``(n_texts, llm_f1, slm_f1)``; a text the LLM left unlabelled
    counts as carrying no label.
    """
    rows = [i for i, g in enumerate(gold_sets) if g is not None]
    gold = [gold_sets[i] for i in rows]
    space = clf.label_space_
    return (len(rows), space.score(clf.label_ids_[rows], gold),
            space.score(np.asarray(slm_pred)[rows], gold))
