"""The one error type of the ``generation`` package for bad user input."""

from __future__ import annotations


class GenerationError(Exception):
    """A request ``generation`` cannot serve (no usable piece, unknown encoding, bad config...); the message
    names the file or value and the fix."""
