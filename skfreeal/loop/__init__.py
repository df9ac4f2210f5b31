"""FreeAL's loop: the schedule, the rounds as a functional core, and their events.

:class:`~skfreeal.FreeALClassifier` validates its input, resolves its
components (:mod:`skfreeal.loop._components`) and hands over to
:func:`~skfreeal.loop._core.run_rounds`. The public pieces are the two
policies a user passes (:class:`RoundPolicy`, :class:`DemoPolicy`), the
records of ``history_`` (:class:`RoundRecord`, :class:`StudentRecord`) and
the :class:`Callback` base class for ``fit(X, callbacks=[...])``.
"""

from ._events import Callback, Step
from ._judge import JudgeView, learned_nothing
from ._policies import DemoPolicy, RoundPolicy
from ._records import RoundRecord, StudentRecord

__all__ = ["Callback", "DemoPolicy", "JudgeView", "RoundPolicy", "RoundRecord", "Step",
           "StudentRecord", "learned_nothing"]
