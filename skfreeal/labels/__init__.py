"""Label spaces: what a label is, in one place.

The loop's state, answers, demonstration pools and predictions go through a
:class:`LabelSpace`, so a new kind of label (a set of names per text, then a
sequence of token labels) is a new space beside :class:`SingleLabelSpace`,
not edits across the loop.
"""

from ._base import LabelSpace
from ._multi import MultiLabelSpace
from ._single import SingleLabelSpace, as_label_space

__all__ = ["LabelSpace", "MultiLabelSpace", "SingleLabelSpace", "as_label_space"]
