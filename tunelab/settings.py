"""One place for the settings several packages need.

Environment variables (each optional):

- ``TUNELAB_DATA_DIR``: folder of built corpora, the default studies database and media (default: ``data/``
  in the repository).
- ``TUNELAB_STUDIES_DB``: SQLAlchemy URL of the studies database (default: the SQLite file
  ``<data dir>/studies.db``).
- ``TUNELAB_MEDIA_DIR``: folder of rendered study clips (default: ``<data dir>/studies_media``). The CLI and
  the app both read it.
- ``TUNELAB_ADMIN_PASSWORD``: the researcher password of the app (or ``admin_password`` in
  ``.streamlit/secrets.toml``); unset, the researcher pages stay closed.
- ``TUNELAB_SESSION_SECRET``: signs the app's researcher session cookies; unset, a random secret per server
  process (a restart logs researchers out; several server processes need the same value).

Exit status of every ``python -m PACKAGE`` command: ``EXIT_OK`` (0) when the work was done (inputs that were
skipped are reported), ``EXIT_BAD_INPUT`` (2) for bad input or when nothing usable was given, with
``error: <message>`` on stderr; argparse's usage errors are 2 as well.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_DATA_DIR = "TUNELAB_DATA_DIR"
ENV_STUDIES_DB = "TUNELAB_STUDIES_DB"
ENV_MEDIA_DIR = "TUNELAB_MEDIA_DIR"
ENV_ADMIN_PASSWORD = "TUNELAB_ADMIN_PASSWORD"
ENV_SESSION_SECRET = "TUNELAB_SESSION_SECRET"

EXIT_OK = 0
EXIT_BAD_INPUT = 2

MIDI_SUFFIXES = (".mid", ".midi")  # matched case-insensitively (.MID, .Midi, ...)


def is_midi_name(name: str | PurePath) -> bool:
    """True for a file name ending in ``.mid`` or ``.midi`` in any letter case."""
    return PurePath(name).suffix.lower() in MIDI_SUFFIXES


def data_dir() -> Path:
    """``$TUNELAB_DATA_DIR`` or the repository's ``data/`` folder."""
    value = os.environ.get(ENV_DATA_DIR)
    return Path(value).expanduser() if value else REPO_ROOT / "data"


def studies_db_url() -> str:
    """``$TUNELAB_STUDIES_DB`` or the SQLite file ``studies.db`` in :func:`data_dir`."""
    return os.environ.get(ENV_STUDIES_DB) or f"sqlite:///{data_dir() / 'studies.db'}"


def media_dir() -> Path:
    """``$TUNELAB_MEDIA_DIR`` or ``studies_media`` in :func:`data_dir`: where rendered clips are kept."""
    value = os.environ.get(ENV_MEDIA_DIR)
    return Path(value).expanduser() if value else data_dir() / "studies_media"


@dataclass(frozen=True)
class UploadLimits:
    """What the app accepts from one upload (sizes in bytes; zip members are counted as they are unpacked)."""

    max_files: int = 500  # MIDI files per upload (per set when creating a study)
    max_file_bytes: int = 5 * 2**20  # one MIDI file
    max_unpacked_bytes: int = 100 * 2**20  # all members of the zips of one upload, unpacked

    def describe(self) -> str:
        return (f"at most {self.max_files} MIDI files, {self.max_file_bytes / 2**20:g} MB each, "
                f"{self.max_unpacked_bytes / 2**20:g} MB unpacked in all")
