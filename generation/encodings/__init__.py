"""The music representations of the source reports, one module each, behind one interface
(:mod:`generation.encodings.base`).

``ENCODINGS`` maps each name to its class; :func:`make_encoding` configures one from command-line options
and :func:`encoding_from_dict` rebuilds one saved with ``to_dict()`` (a checkpoint's or a prepared folder's
``encoding.json``).
"""

from __future__ import annotations

from typing import Any

from generation.encodings.abc_chars import AbcChars
from generation.encodings.base import PAD, UNK, Decoded, Encoding, Vocabulary
from generation.encodings.biaxial import Biaxial
from generation.encodings.folk_steps import FolkSteps
from generation.encodings.grid import Chord, chords_per_beat
from generation.encodings.multilabel import Multilabel
from generation.encodings.notewise_chord import NotewiseChord
from generation.encodings.notewise_root import NotewiseRoot
from generation.encodings.notewise_root_rest import NotewiseRootRest
from generation.encodings.pianoroll_tokens import PianorollTokens
from generation.errors import GenerationError

__all__ = ["ENCODINGS", "PAD", "UNK", "Chord", "Decoded", "Encoding", "Vocabulary", "catalogue", "chords_per_beat",
           "encoding_from_dict", "make_encoding"]

ENCODINGS: dict[str, type[Encoding]] = {cls.kind: cls for cls in (
    NotewiseChord, NotewiseRoot, NotewiseRootRest, Multilabel, PianorollTokens, AbcChars, FolkSteps, Biaxial)}


def _check_name(name: str) -> type[Encoding]:
    if name not in ENCODINGS:
        raise GenerationError(f"unknown encoding {name!r}; choose one of {', '.join(ENCODINGS)} "
                              "(see `python -m generation encodings`)")
    return ENCODINGS[name]


def make_encoding(name: str, **options: Any) -> Encoding:
    """An unfitted encoding ``name`` configured by command-line options (None = default)."""
    return _check_name(name).from_options(**options)


def encoding_from_dict(data: dict[str, Any]) -> Encoding:
    """Rebuild an encoding from its ``to_dict()`` (dispatching on ``kind``)."""
    if not isinstance(data, dict) or "kind" not in data:
        raise GenerationError("an encoding dictionary needs a 'kind' (one of " + ", ".join(ENCODINGS) + ")")
    return _check_name(str(data["kind"])).from_dict(data)


def catalogue() -> list[dict[str, Any]]:
    """Each encoding's name, one-line summary, what it loses, what it encodes, its options and its declared
    preprocessing (for ``python -m generation encodings``)."""
    return [{"name": name, "summary": cls.summary, "fidelity": cls.fidelity, "source": cls.source,
             "options": sorted(cls.option_fields),
             "preprocessing": cls().declared_preprocess().describe() if cls.source == "midi" else "normal form"}
            for name, cls in ENCODINGS.items()]
