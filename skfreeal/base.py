"""What each component of FreeAL must provide: one declared contract each.

:class:`~skfreeal.FreeALClassifier` is assembled from small objects passed as
parameters: a labeler (the LLM), a student (the small model), a noise filter,
a retriever of in-context demonstrations and a query strategy (which texts
the LLM annotates next in the large-data mode). Each contract is a
:class:`typing.Protocol` listing the methods the loop calls; ``fit`` checks
every component once, before any text is embedded or sent to an LLM, with
an error that names the missing methods (:func:`check_component`).

A student may also declare itself robust by subclassing
:class:`RobustStudentMixin`: it then gets every training text, the
unlabelled ones marked ``-1`` for its consistency loss, and it says itself
which of its training labels are clean.

Examples
--------
>>> from skfreeal.base import Retriever, check_component
>>> from skfreeal.demonstrations import KNNRetriever
>>> check_component(KNNRetriever(), Retriever, "retriever") is None
True
"""

from typing import Protocol, runtime_checkable

__all__ = [
    "Labeler",
    "NoiseFilter",
    "ProbabilisticLabeler",
    "QueryStrategy",
    "Retriever",
    "RobustStudentMixin",
    "Student",
    "check_component",
    "required_methods",
]


@runtime_checkable
class Labeler(Protocol):
    """The LLM annotator.

    :class:`~skfreeal.labelers.LocalLabeler` and
    :class:`~skfreeal.labelers.OpenAILabeler` implement it (through
    :class:`~skfreeal.labelers.BaseLabeler`, which adds the cache, the
    budget and the retries). A labeler may also keep a ``usage_`` record
    (calls, tokens, cache hits, cost), which FreeAL copies into
    ``history_`` and ``usage_``, a ``request_cost`` method used by
    :meth:`~skfreeal.FreeALClassifier.estimate`, and a
    ``calibration_requests`` method saying how many requests its
    calibration adds to an annotation (counted by the request budget,
    ``RoundPolicy.max_requests_per_text``; none without it).
    """

    def set_params(self, **params):
        """Receive ``labels`` (the label names) and ``task`` before any call."""

    def annotate(self, texts, demos=None):
        """Label texts: ``(ids, confidence)``, ids index the labels, -1 abstains.

        ``demos`` is None, one list of ``(text, label id)`` pairs shared by
        all texts, or one such list per text.
        """

    def generate_demos(self, n, examples, random_state=None):
        """Write ``n`` synthetic ``(text, label id)`` pairs in the style of ``examples``.

        A labeler whose ``generate_demos`` also takes ``max_requests=`` (as
        :class:`~skfreeal.labelers.BaseLabeler`'s does) is given round 0's
        share of the fit's request budget
        (``RoundPolicy.max_requests_per_text``); one without it may pass it.
        """


@runtime_checkable
class ProbabilisticLabeler(Labeler, Protocol):
    """A labeler that also gives a probability per label for each text.

    FreeAL then keeps each text's distribution (``label_proba_``), takes the
    label's probability as its confidence, and can combine it with the
    round's judge's (``RoundPolicy(label_fusion="product")``).
    """

    def annotate_proba(self, texts, demos=None):
        """Label distributions, shape ``(n_texts, n_labels)``; NaN rows abstain.

        Calibrated as the labeler decides (with the tilt it kept from
        :meth:`fit_annotate_proba`, once that ran).
        """

    def fit_annotate_proba(self, texts, demos=None):
        """Label distributions, calibrated on these texts, the calibration kept for later.

        FreeAL calls it on round 0's texts (a random sample of the data);
        later rounds' texts, the doubtful ones, would give a skewed estimate.
        """


@runtime_checkable
class Student(Protocol):
    """The small model trained on the LLM's labels (any scikit-learn classifier of texts).

    A plain classifier is trained on the labelled texts only, with label ids
    as targets; its clean/noisy split comes from FreeAL's noise filter on
    ``-log p(label)``. A :class:`RobustStudentMixin` gets every text.
    """

    def fit(self, X, y):
        """Train on texts ``X`` and label ids ``y``."""

    def predict_proba(self, X):
        """Class probabilities, one column per class in ``classes_``."""


class RobustStudentMixin:
    """Mixin of a student that learns from partial, noisy labels on its own.

    Subclassing it is a declaration that FreeAL relies on:

    - ``fit(X, y)`` accepts ``-1`` for unlabelled texts and uses them (e.g.
      in a consistency loss); FreeAL then gives it every training text, the
      unannotated and abstained ones included;
    - after ``fit``, ``sample_losses_`` holds one loss per training text
      (NaN where unlabelled) and ``clean_mask_`` the texts it judged clean;
    - ``embed(X)`` returns the embeddings its classifier works on (FreeAL
      picks the demonstration medoids in that space);
    - it has a ``noise_filter`` parameter (FreeAL's ``noise_filter``, the
      judge's, is set there when the student judges the rounds,
      ``judge=None``).

    :class:`~skfreeal.RobustTextClassifier` is one.
    """

    _robust_student_methods = ("fit", "predict_proba", "embed", "get_params", "set_params")


@runtime_checkable
class NoiseFilter(Protocol):
    """Split training samples into clean and noisy from their losses.

    :class:`~skfreeal.noise.BaseNoiseFilter` implements the validation and
    tags; :class:`~skfreeal.GMMNoiseFilter` and
    :class:`~skfreeal.SmallLossNoiseFilter` are the built-in ones.
    """

    def fit(self, losses, y=None):
        """Learn the split from per-sample losses (and the noisy labels ``y``)."""

    def score_samples(self, losses):
        """1-D clean score per sample, higher is cleaner."""

    def predict(self, losses):
        """Boolean clean mask."""


@runtime_checkable
class Retriever(Protocol):
    """Choose each text's in-context demonstrations from the pool.

    Works on embeddings (FreeAL embeds the texts and the pool once).
    :class:`~skfreeal.demonstrations.KNNRetriever` is the built-in one.
    """

    def fit(self, embeddings, labels):
        """Index the demonstration pool: its embeddings and label ids."""

    def kneighbors(self, embeddings, n_neighbors, *, exclude=None):
        """Pool indices per query, shape ``(n_queries, k)``, best last.

        ``exclude`` gives, per query, one pool index it must not get (the
        query itself when the pool is drawn from the texts), or -1.
        """


@runtime_checkable
class QueryStrategy(Protocol):
    """Pick the texts the LLM annotates next (FreeAL's large-data mode).

    :class:`~skfreeal.query.RandomQuery` and
    :class:`~skfreeal.query.UncertaintyQuery` are the built-in ones.
    """

    def select(self, candidates, n, *, proba=None, random_state=None):
        """Indices of ``n`` texts among the ``candidates`` indices.

        ``proba`` is the round's judge's class probabilities of every
        training text (None before the first round).
        """


def required_methods(protocol):
    """The method names a protocol (or :class:`RobustStudentMixin`) requires.

    Examples
    --------
    >>> required_methods(NoiseFilter)
    ('fit', 'predict', 'score_samples')
    """
    if protocol is RobustStudentMixin:
        return RobustStudentMixin._robust_student_methods
    names = {
        name
        for klass in protocol.__mro__ if getattr(klass, "_is_protocol", False)
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    }
    return tuple(sorted(names))


def check_component(component, protocol, name):
    """Raise a clear error when ``component`` lacks a method of ``protocol``.

    Parameters
    ----------
    component : object
        What the user passed.
    protocol : type
        One of the protocols of this module, or :class:`RobustStudentMixin`.
    name : str
        The parameter name, for the message.

    Raises
    ------
    TypeError
        Naming the parameter, the value and every missing method.
    """
    missing = [m for m in required_methods(protocol) if not callable(getattr(component, m, None))]
    if missing:
        shown = repr(component)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise TypeError(
            f"{name}={shown} lacks {', '.join(m + '()' for m in missing)}: a {name} must "
            f"provide {', '.join(m + '()' for m in required_methods(protocol))} "
            f"(see skfreeal.base.{protocol.__name__})."
        )
