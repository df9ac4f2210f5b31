"""What a fitted FreeAL's rounds recorded, read for the report (both label kinds)."""


def _round_model(clf):
    """What judged the rounds (whose figures ``history_`` holds)."""
    return "judge" if getattr(clf, "judge_", None) is not None else "small model"


def _judged_rounds(clf):
    """``(round, score)`` of the round's judge on ``eval_set``, where fit was given one."""
    return [(h.get("round", i), h["eval_accuracy"])
            for i, h in enumerate(clf.history_) if h.get("eval_accuracy") is not None]


def _history_rows(clf):
    """``history_`` as dicts; the final student's record joins the last round's row."""
    rows = [dict(h) for h in clf.history_]
    student = getattr(clf, "student_record_", None)
    if rows and student is not None:
        rows[-1].update({f"student_{k}": v for k, v in dict(student).items()})
    return rows


def _rolled_back(history):
    """The rounds of ``history`` (its rows) that were rolled back."""
    return {h.get("round", i) for i, h in enumerate(history) if h.get("rolled_back")}


def _round_tick(round_, rolled_back):
    """A round's name on a plot's axis: marked when it was rolled back."""
    return f"{round_}\n(rolled back)" if round_ in rolled_back else str(round_)
