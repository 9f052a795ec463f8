"""Corpus manifest: what a built corpus holds, its train/validation/test split, and what failed.

A built corpus is a folder with one MIDI file per piece (plus the tune's ABC text for ABC collections) and a
``manifest.json``. Splits are by piece (never by window), drawn once from a seeded permutation of the sorted
piece ids, so they are deterministic given the seed and the piece list (the protocol of Boulanger-Lewandowski
et al. 2012 also splits JSB chorales by piece).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
BUILDER_VERSION = 4  # bump when the conversion output changes, so existing builds are redone (3: exact bar lines,
#                      4: no grace notes)
SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Entry:
    """One converted piece. Paths are relative to the corpus folder."""

    id: str
    midi: str
    title: str
    split: str
    source: str  # music21 corpus path of the score, with ``#X:n`` for a tune inside an ABC book
    abc: str | None = None  # the tune's ABC text file, for ABC collections
    repairs: tuple[str, ...] = ()  # what was changed in the score so that it could be written


@dataclass(frozen=True)
class Failure:
    """A piece that could not be converted, with a reason a person can act on."""

    source: str
    reason: str


@dataclass(frozen=True)
class Manifest:
    """Everything ``manifest.json`` holds, as plain frozen data."""

    name: str
    source: dict[str, Any]  # music21 version and the corpus paths read
    created: str  # ISO 8601, UTC
    seed: int
    limit: int | None
    fractions: tuple[float, float, float]  # train, validation, test
    entries: tuple[Entry, ...]
    failures: tuple[Failure, ...] = ()
    duplicates: tuple[dict[str, str], ...] = ()  # {source, same_as}: listed twice in the source, converted once
    format: int = MANIFEST_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Number of converted pieces."""
        return len(self.entries)

    def split_ids(self, split: str) -> list[str]:
        """Ids of the pieces in ``split`` (one of ``SPLITS``), in manifest order."""
        check_split(split)
        return [e.id for e in self.entries if e.split == split]

    def build_args(self) -> dict[str, Any]:
        """The arguments that determine the content; equal arguments mean an identical rebuild."""
        return {
            "name": self.name,
            "limit": self.limit,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "music21_version": self.source.get("music21_version"),
            "builder_version": self.source.get("builder_version"),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the on-disk layout of ``manifest.json``)."""
        return {
            "format": self.format,
            "name": self.name,
            "source": self.source,
            "created": self.created,
            "count": self.count,
            "seed": self.seed,
            "limit": self.limit,
            "split": {
                "fractions": dict(zip(SPLITS, self.fractions, strict=True)),
                **{s: self.split_ids(s) for s in SPLITS},
            },
            "files": [
                {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(e).items()} for e in self.entries
            ],
            "failures": [asdict(f) for f in self.failures],
            "duplicates": list(self.duplicates),
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "manifest") -> Manifest:
        """Inverse of ``to_dict``; raises ``DataError`` naming ``where`` when a field is missing or wrong."""
        try:
            fr = d["split"]["fractions"]
            entries = tuple(Entry(**{**e, "repairs": tuple(e.get("repairs", ()))}) for e in d["files"])
            m = cls(
                name=str(d["name"]),
                source=dict(d["source"]),
                created=str(d["created"]),
                seed=int(d["seed"]),
                limit=None if d.get("limit") is None else int(d["limit"]),
                fractions=(float(fr["train"]), float(fr["validation"]), float(fr["test"])),
                entries=entries,
                failures=tuple(Failure(**f) for f in d.get("failures", [])),
                duplicates=tuple(dict(x) for x in d.get("duplicates", [])),
                format=int(d.get("format", MANIFEST_FORMAT)),
                extra=dict(d.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{where} is not a valid tunelab corpus manifest ({type(exc).__name__}: {exc}); "
                "rebuild it with `python -m data build NAME --force`"
            ) from exc
        for e in entries:
            check_split(e.split, where=f"{where}: file {e.id!r}")
        return m


def check_split(split: str, where: str = "split") -> None:
    """Raise ``DataError`` unless ``split`` is one of ``SPLITS``."""
    if split not in SPLITS:
        raise DataError(f"{where}: unknown split {split!r}; use one of {', '.join(SPLITS)}")


def check_fractions(fractions: tuple[float, float, float]) -> tuple[float, float, float]:
    """Validate train/validation/test fractions (non-negative, summing to 1) and return them as floats."""
    fr = tuple(float(x) for x in fractions)
    if len(fr) != 3 or any(x < 0 or not math.isfinite(x) for x in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise DataError(
            f"split fractions {fractions!r} must be three non-negative numbers summing to 1, e.g. 0.8 0.1 0.1"
        )
    return fr  # type: ignore[return-value]


def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Pieces per split for ``n`` pieces: rounded, and at least one validation/test piece when ``n >= 3``
    and the fraction is positive, so small corpora still have something to validate and test on."""
    _, f_val, f_test = fractions
    n_val = round(n * f_val)
    n_test = round(n * f_test)
    if n >= 3:
        n_val = max(n_val, 1 if f_val > 0 else 0)
        n_test = max(n_test, 1 if f_test > 0 else 0)
    n_val = min(n_val, n)
    n_test = min(n_test, n - n_val)
    return n - n_val - n_test, n_val, n_test


def assign_splits(
    ids: list[str], seed: int, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """Map each piece id to a split.

    The ids are sorted first, then permuted by ``numpy.random.default_rng(seed)``; the first pieces of the
    permutation go to train, the next to validation, the rest to test (counts from ``split_counts``). The
    result depends only on the set of ids, the seed and the fractions.
    """
    if len(set(ids)) != len(ids):
        raise ValueError("piece ids must be unique")
    order = sorted(ids)
    perm = np.random.default_rng(seed).permutation(len(order))
    n_train, n_val, _ = split_counts(len(order), fractions)
    out: dict[str, str] = {}
    for rank, idx in enumerate(perm):
        out[order[idx]] = "train" if rank < n_train else "validation" if rank < n_train + n_val else "test"
    return out


def save_manifest(manifest: Manifest, folder: Path) -> Path:
    """Write ``folder/manifest.json`` (UTF-8, indented) and return its path."""
    path = Path(folder) / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_manifest(folder: Path) -> Manifest:
    """Read the ``manifest.json`` of a built corpus folder.

    Raises
    ------
    DataError
        When the folder or its manifest is missing, or the manifest cannot be read.
    """
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise DataError(
            f"{folder} has no {MANIFEST_NAME}: it is not a built corpus; build one with "
            "`python -m data build NAME --out FOLDER` (see `python -m data list`)"
        )
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}; rebuild it with `python -m data build NAME --force`") from exc
    if not isinstance(d, dict):
        raise DataError(f"{path} does not hold a JSON object; rebuild it with `python -m data build NAME --force`")
    return Manifest.from_dict(d, where=str(path))
