"""Blind listening studies: study files, stimuli, assignment, durable answers and statistics.

Built so a participant cannot game them (see :mod:`studies.engine`): trial lists mix a per-study secret kept
in the database into the study file's seed (reproducible from the stored state, unpredictable from the
file), full playback is timed on the server clock, consent is stored per participant, CSV exports are
formula-escaped (:mod:`tunelab.csv_safe`), and ``python -m studies cues`` checks that the sets do not differ
in tempo, velocity, instrument, register, note density or length (:mod:`studies.cues`, normalisation in
:mod:`studies.normalise`).
"""

from studies.errors import StudyError

__all__ = ["StudyError"]
