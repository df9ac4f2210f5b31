"""Backends: the services that answer a labeler's requests (see :class:`Backend`)."""

from ._base import Backend

__all__ = ["Backend"]
