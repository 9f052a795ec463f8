"""The one error type of the ``data`` package: bad user input (unknown corpus, missing folder...)."""

from __future__ import annotations


class DataError(Exception):
    """A corpus request that cannot be served; the message names the value and the fix."""
