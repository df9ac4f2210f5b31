"""One resolver for the estimator's components: defaults, shortcuts, checks and clones.

Every part :class:`~skfreeal.FreeALClassifier` takes is resolved here, the
same way in ``fit`` and in ``set_params``: None (or a name such as
``judge="probe"``) stands for a built-in object, a given object is checked
against its declared contract (:mod:`skfreeal.base`) and cloned, so that the
user's object is never fitted.
"""

import inspect
import reprlib
from dataclasses import dataclass

from sklearn.base import clone

from .._seeds import draw_seed
from .._validation import label_descriptions
from ..base import Labeler, NoiseFilter, RobustStudentMixin, Student, check_component
from ._policies import DemoPolicy, RoundPolicy

__all__ = ["Components", "default_component", "resolve_components"]


def _local_labeler():
    from ..labelers import LocalLabeler

    return LocalLabeler()


def _student():
    from ..slm import RobustTextClassifier

    return RobustTextClassifier()


def _embedder():
    from ..slm import SentenceEmbedder

    return SentenceEmbedder()


def _noise_filter():
    from ..noise import GMMNoiseFilter

    return GMMNoiseFilter(random_state=0)


def _probe():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


# parameter -> {shortcut (None or a name): factory of the built-in object}
_DEFAULTS = {
    "labeler": {None: _local_labeler},
    "slm": {None: _student},
    "embedder": {None: _embedder},
    "noise_filter": {None: _noise_filter},
    "judge": {"probe": _probe},
    "demos": {None: DemoPolicy},
    "rounds": {None: RoundPolicy},
}


def default_component(name, value):
    """The built-in object a shortcut stands for, or None when ``value`` is no shortcut.

    Parameters
    ----------
    name : str
        The estimator's parameter (``"noise_filter"``, ``"judge"``...).
    value : object
        Its value.

    Returns
    -------
    component : object or None
        A new object (never shared between estimators).

    Examples
    --------
    >>> default_component("rounds", None)
    RoundPolicy()
    >>> default_component("judge", None) is None  # the student judges
    True
    """
    if not isinstance(value, (str, type(None))):
        return None
    factory = _DEFAULTS.get(name, {}).get(value)
    return None if factory is None else factory()


@dataclass(frozen=True)
class Components:
    """The checked, cloned parts one ``fit`` works with.

    Attributes
    ----------
    labeler, student, embedder, noise_filter, retriever, query_strategy : object
    judge : object
        The prototype of each round's judge: the student itself
        (``judge_is_student``), or a classifier of the retrieval embeddings.
    judge_is_student : bool
    rounds : RoundPolicy
    demos : DemoPolicy
    """

    labeler: object
    student: object
    judge: object
    judge_is_student: bool
    embedder: object
    noise_filter: object
    retriever: object
    query_strategy: object
    rounds: RoundPolicy
    demos: DemoPolicy

    @property
    def judge_name(self):
        """What to call the round's judge in messages: "student" or "judge"."""
        return "student" if self.judge_is_student else "judge"


def _resolved(name, value):
    return default_component(name, value) or clone(value)


def make_labeler(value, classes, task, descriptions=None, *, space=None):
    """The labeler's clone, told the label names, their descriptions and the task.

    The descriptions (from ``labels`` given as a mapping) go to a labeler
    that takes ``label_descriptions`` and has none of its own. A ``space``
    whose labels are not one per text (a set of names) is given as the
    labeler's ``labels`` in place of the names.
    """
    if value is not None:
        check_component(value, Labeler, "labeler")
    labels = space if space is not None and not space.exclusive else list(classes)
    labeler = _resolved("labeler", value).set_params(labels=labels, task=task)
    own = labeler.get_params(deep=False)
    if descriptions and "label_descriptions" in own and own["label_descriptions"] is None:
        labeler.set_params(label_descriptions=descriptions)
    from ..labelers import BaseLabeler

    if isinstance(labeler, BaseLabeler):
        labeler.check_budget()  # a max_cost without a price: refused before any embedding
    return labeler


def resolve_components(params, *, classes, rng, verbose, space=None):
    """Check, clone and configure every component of ``params`` (the estimator's).

    The student and a judge without a ``random_state`` of their own are
    seeded from ``rng``; the labeler's, the student's and the embedder's
    clones get ``verbose`` where theirs is left at its default.

    Parameters
    ----------
    params : dict
        ``FreeALClassifier.get_params(deep=False)``.
    classes : ndarray of str
    rng : RandomState
    verbose : int
    space : LabelSpace, default=None
        The fit's label space, for the labeler (see :func:`make_labeler`).

    Returns
    -------
    components : Components
    """
    seed = draw_seed(rng)
    rounds = _resolved("rounds", params["rounds"]).validate()
    demos = _resolved("demos", params["demos"]).validate()
    student = params["slm"]
    if student is not None:
        check_component(student, Student, "slm")
        if isinstance(student, RobustStudentMixin):
            check_component(student, RobustStudentMixin, "slm")
    student = _seeded(_resolved("slm", student), seed)
    noise_filter = params["noise_filter"]
    if noise_filter is not None:
        check_component(noise_filter, NoiseFilter, "noise_filter")
    noise_filter = _resolved("noise_filter", noise_filter)
    judge = _make_judge(params["judge"], seed)
    if judge is None and params["noise_filter"] is not None and isinstance(
            student, RobustStudentMixin):
        student.set_params(noise_filter=noise_filter)  # the student judges: the judge's filter
    student = pass_verbose(student, verbose)
    return Components(
        labeler=pass_verbose(make_labeler(params["labeler"], classes, params["task"],
                                          label_descriptions(params["labels"]), space=space),
                             verbose),
        student=student, judge=student if judge is None else judge,
        judge_is_student=judge is None,
        embedder=pass_verbose(_resolved("embedder", params["embedder"]), verbose),
        noise_filter=noise_filter, retriever=demos.make_retriever(),
        query_strategy=rounds.make_query_strategy(), rounds=rounds, demos=demos,
    )


def _seeded(estimator, seed):
    if estimator.get_params(deep=False).get("random_state", 0) is None:
        estimator.set_params(random_state=seed)
    return estimator


def _make_judge(value, seed):
    """The judge's clone (seeded like the student), or None for the student itself."""
    if value is None:
        return None
    if isinstance(value, RobustStudentMixin):
        raise TypeError(
            f"judge={reprlib.repr(value)} is a robust student of texts, but a judge learns from "
            "the retrieval embeddings: give it as slm (it then judges the rounds itself, with "
            "judge=None), or give a classifier of vectors as judge.")
    return _seeded(_resolved("judge", value), seed)


def pass_verbose(component, verbose):
    """Set ``verbose`` on a clone whose own is at its default (the user left it).

    A ``verbose`` that is a True/False flag (a scikit-learn ``Pipeline``'s,
    say) is left alone: those print timing lines such as ``[Pipeline] ...
    total= 0.1s`` on stdout, with no progress to show.
    """
    own = component.get_params(deep=False).get("verbose", inspect.Parameter.empty)
    if not verbose or own is inspect.Parameter.empty:
        return component
    declared = inspect.signature(type(component)).parameters.get("verbose")
    if (declared is not None and own == declared.default
            and not isinstance(declared.default, bool)):
        component.set_params(verbose=verbose)
    return component
