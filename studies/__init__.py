"""Blind listening studies: study files, stimuli, assignment, durable answers and statistics."""

from studies.errors import StudyError

__all__ = ["StudyError"]
