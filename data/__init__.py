"""Corpora for tunelab: music21's bundled scores converted to MIDI, with a manifest and by-piece splits.

Build with ``python -m data build NAME`` or ``build_corpus(NAME)``; read with ``corpus_files(folder, split)``,
which also accepts any plain folder of MIDI files.
"""

from __future__ import annotations

from .build import (
    DATA_DIR,
    build_corpus,
    build_from_sources,
    corpus_files,
    corpus_splits,
    corpus_status,
    default_out_dir,
)
from .errors import DataError
from .manifest import SPLITS, Entry, Failure, Manifest, assign_splits, load_manifest, save_manifest
from .registry import CORPORA, CorpusSpec

__all__ = [
    "CORPORA",
    "DATA_DIR",
    "SPLITS",
    "CorpusSpec",
    "DataError",
    "Entry",
    "Failure",
    "Manifest",
    "assign_splits",
    "build_corpus",
    "build_from_sources",
    "corpus_files",
    "corpus_splits",
    "corpus_status",
    "default_out_dir",
    "load_manifest",
    "save_manifest",
]
