"""The pieces (or ABC tunes) of a corpus folder, by split, for ``prepare`` and ``roundtrip``.

MIDI: :func:`data.corpus_splits` (a built corpus's manifest split, ``train/ validation/ test/`` sub-folders,
or by piece with a fixed seed), each file read with :func:`evaluation.read_midi`; a file it cannot read is
kept as a skipped item with the reader's reason. ABC: :func:`generation.abc.abc_splits`. Splits are always
by piece, never by window.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data import SPLITS, DataError, corpus_splits
from evaluation import MidiError, Piece, read_midi
from generation.abc import AbcTune, abc_splits
from generation.errors import GenerationError

__all__ = ["CorpusSources", "SourceItem", "corpus_sources", "read_items"]


@dataclass(frozen=True)
class SourceItem:
    """One piece or tune of a split: ``item`` is a Piece or an AbcTune, or None with the ``reason`` it could
    not be read."""

    id: str
    path: str
    split: str
    item: Piece | AbcTune | None
    reason: str = ""


@dataclass(frozen=True)
class CorpusSources:
    """What a corpus folder holds, before reading: files (MIDI) or tunes (ABC) per split."""

    folder: Path
    kind: str  # "midi" or "abc"
    rule: str  # how the split was made
    files: dict[str, list[Path]]  # MIDI files per split (kind "midi")
    tunes: dict[str, list[AbcTune]]  # tunes per split (kind "abc")

    def count(self) -> int:
        return sum(len(v) for v in (self.files if self.kind == "midi" else self.tunes).values())

    def hashed_files(self) -> list[Path]:
        """Every file whose bytes decide the prepared data (sources and the manifest)."""
        paths = {path for files in self.files.values() for path in files}
        paths |= {Path(tune.path) for tunes in self.tunes.values() for tune in tunes}
        manifest = self.folder / "manifest.json"
        if manifest.is_file():
            paths.add(manifest)
        return sorted(paths)

    def source_hash(self, options: dict[str, Any]) -> str:
        """SHA-256 of the source files (relative path and bytes) and of ``options`` (JSON, sorted keys)."""
        digest = hashlib.sha256()
        for path in self.hashed_files():
            try:
                name = path.relative_to(self.folder).as_posix()
            except ValueError:
                name = path.as_posix()
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        digest.update(json.dumps(options, sort_keys=True, default=str).encode())
        return digest.hexdigest()


def corpus_sources(folder: Path, kind: str = "midi", limit: int | None = None) -> CorpusSources:
    """The files or tunes of ``folder`` per split (at most ``limit`` per split). Raises GenerationError when
    the folder is missing or holds nothing of that kind."""
    folder = Path(folder)
    if kind == "abc":
        tunes, rule = abc_splits(folder)
        if limit is not None:
            tunes = {name: items[:limit] for name, items in tunes.items()}
        return CorpusSources(folder, kind, rule, {name: [] for name in SPLITS}, tunes)
    try:
        files, rule = corpus_splits(folder)
    except DataError as error:
        raise GenerationError(str(error)) from None
    if limit is not None:
        files = {name: paths[:limit] for name, paths in files.items()}
    return CorpusSources(folder, kind, rule, files, {name: [] for name in SPLITS})


def _relative(path: Path, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def read_items(sources: CorpusSources) -> Iterator[SourceItem]:
    """Every piece (read with :func:`evaluation.read_midi`) or tune, split by split; unreadable files come
    back with ``item=None`` and the reason."""
    for split in SPLITS:
        if sources.kind == "abc":
            for tune in sources.tunes[split]:
                yield SourceItem(tune.id, tune.path, split, tune)
            continue
        for path in sources.files[split]:
            name = _relative(path, sources.folder)
            try:
                yield SourceItem(name, str(path), split, read_midi(path))
            except MidiError as error:
                yield SourceItem(name, str(path), split, None, error.reason)
