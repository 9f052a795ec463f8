"""Settings shared by every tunelab package: where things live, upload limits, CLI exit status.

The packages (``data``, ``evaluation``, ``generation``, ``studies``) and the app read these from here and
nowhere else; see :mod:`tunelab.settings`.
"""

from tunelab.settings import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    MIDI_SUFFIXES,
    REPO_ROOT,
    UploadLimits,
    data_dir,
    is_midi_name,
    media_dir,
    studies_db_url,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "MIDI_SUFFIXES", "REPO_ROOT", "UploadLimits", "data_dir", "is_midi_name",
           "media_dir", "studies_db_url"]
