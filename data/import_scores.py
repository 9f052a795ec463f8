"""A corpus from the user's own score files (Humdrum ``**kern``, MusicXML, MEI): every file is parsed with
music21 and written through the same converter as the bundled corpora, so the result is a built corpus
(MIDI per piece, ``manifest.json`` with the split by piece and every file that failed, with the reason) that
every encoding and every command reads.

MIDI folders need no import (any folder of MIDI is a corpus); ABC books are read as text by ``abc-chars``
and built by ``python -m data build essen-folk|abc-tunes``.
"""

from __future__ import annotations

import re
from pathlib import Path

from .build import build_from_sources, check_replaceable
from .errors import DataError
from .manifest import DEFAULT_FRACTIONS, Manifest, check_fractions
from .sources import PieceSource

SCORE_SUFFIXES = (".krn", ".xml", ".musicxml", ".mxl", ".mei")  # what music21 parses from a file


def is_score_name(name: str) -> bool:
    """Whether a file name has one of ``SCORE_SUFFIXES`` (case-insensitive)."""
    return name.lower().endswith(SCORE_SUFFIXES)


def score_sources(folder: Path) -> list[PieceSource]:
    """One source per score file under ``folder`` (recursively, sorted); ids from the relative paths."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of score files")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_score_name(p.name))
    if not files:
        raise DataError(f"{folder}: no score files ({', '.join(SCORE_SUFFIXES)}) in it or its sub-folders")
    sources, seen = [], set()
    for path in files:
        rel = path.relative_to(folder).as_posix()
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", rel.rsplit(".", 1)[0]).strip("._") or "piece"
        piece_id, n = base, 1
        while piece_id in seen:  # a.krn and a.xml, or names equal after cleaning
            n += 1
            piece_id = f"{base}_{n}"
        seen.add(piece_id)
        sources.append(PieceSource(id=piece_id, source=rel, path=str(path)))
    return sources


def import_scores(folder: Path, out_dir: Path, *, name: str | None = None, jobs: int = 1, seed: int = 0,
                  fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> Manifest:
    """Convert every score file under ``folder`` into a built corpus at ``out_dir`` (replacing a previous
    build there). Files music21 cannot read are listed in the manifest's failures; the others are kept.

    Raises
    ------
    DataError
        When ``folder`` holds no score file, ``out_dir`` is a file or a non-corpus folder that is not empty, or
        no file could be converted.
    """
    if jobs < 1:
        raise DataError(f"jobs must be at least 1, got {jobs}")
    fractions = check_fractions(fractions)
    out_dir = Path(out_dir)
    check_replaceable(out_dir)
    sources = score_sources(folder)
    manifest = build_from_sources(name or Path(folder).resolve().name, sources, out_dir,
                                  corpus_paths=(str(Path(folder).resolve()),), jobs=jobs, seed=seed,
                                  fractions=fractions)
    if not manifest.entries:
        first = manifest.failures[0]
        raise DataError(f"{folder}: none of the {len(sources)} score files could be converted, "
                        f"e.g. {first.source}: {first.reason}")
    return manifest
