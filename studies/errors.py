"""The one error type of ``studies/`` for bad user input (study files, response CSVs, clips, answers)."""

from __future__ import annotations


class StudyError(ValueError):
    """Bad input to a listening study: the message names the file or value and how to fix it."""
