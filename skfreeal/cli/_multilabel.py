"""``skfreeal label --multi-label``: texts that carry a set of labels.

The label column holds a text's labels joined by ``--label-separator``
(``billing;login``); ``confidence`` is the LLM's mean certainty over the
labels (:meth:`~skfreeal.labels.MultiLabelSpace.from_proba`), and one
``confidence_<label>`` column per label holds the probability of that label
(1 or 0 for a plain answer, which carries no logprobs; a re-asked text's is
fused with the judge's).

A gold column (``--gold-column``) holds label sets written the same way;
the run then logs the micro F1 of the LLM's label sets and the student's.

The student is a TF-IDF + one-vs-rest logistic regression for now: the small
transformer model learns label sets in
:class:`~skfreeal.MultiLabelFreeALClassifier`, but this command does not
build it (``--slm``, ``--slm-epochs``) yet. What the run cannot do with label
sets yet is refused before any LLM call, by option name.
"""

import click
import numpy as np

from ._errors import CLIError
from ._options import _compose, loop_params

__all__ = [
    "multi_label_options",
    "check_multi_label",
    "build_multi_label_classifier",
    "label_set_columns",
    "gold_label_sets",
    "gold_scores",
]

multi_label_options = _compose(
    click.option(
        "--multi-label", is_flag=True,
        help="Each text carries one or more of the labels: the label column holds them "
        "joined by --label-separator, and a confidence_<label> column per label holds its "
        "probability. The small model is then a TF-IDF + one-vs-rest logistic regression. "
        "The LLM writes demonstrations (single labels and pairs) only when "
        "--n-generated-demos says how many.",
    ),
    click.option(
        "--label-separator", default=";", show_default=True,
        help="With --multi-label: the separator of a text's labels in the label column.",
    ),
)

# Options whose multi-label path is not written yet, and why.
_NOT_YET = {
    "slm_path": ("--slm", "the multi-label run trains a TF-IDF student, not the small "
                 "transformer model"),
    "slm_epochs": ("--slm-epochs", "the multi-label run trains a TF-IDF student, not the small "
                   "transformer model"),
    "model_path": ("--save-model", "'skfreeal predict' writes one label per text"),
    "export_dir": ("--export-model", "the export holds a transformer model"),
}


def check_multi_label(opts):
    """Refuse, before any call, what ``--multi-label`` cannot do, and a bad separator."""
    if not opts.multi_label:
        if opts.label_separator != ";":
            raise CLIError("--label-separator is only used with --multi-label")
        return
    for attr, (option, why) in _NOT_YET.items():
        if getattr(opts, attr, None):
            raise CLIError(f"{option} cannot be used with --multi-label yet: {why}")
    sep = opts.label_separator
    if not sep:
        raise CLIError("--label-separator must not be empty")
    clash = [name for name in opts.labels if sep in name]
    if clash:
        raise CLIError(f"--label-separator {sep!r} appears in the label name(s) "
                       f"{', '.join(map(repr, clash))}; choose another separator")


def build_multi_label_classifier(opts, labeler, *, verbose=0):
    """A :class:`~skfreeal.MultiLabelFreeALClassifier` configured from the options."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    from .. import MultiLabelFreeALClassifier

    # n_generated_demos None writes no label sets (the class's default); a number opts in
    return MultiLabelFreeALClassifier(
        opts.labels, opts.task, labeler=labeler,
        slm=make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          OneVsRestClassifier(LogisticRegression(max_iter=1000))),
        **loop_params(opts, verbose=verbose))


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
