"""Key estimation with the Krumhansl–Schmuckler algorithm.

Conventions: a pitch class is an ``int`` 0–11 (C = 0, C# = 1, ..., B = 11); a piece's pitch-class histogram
is weighted by note duration in quarter notes; drum notes are never counted.

Algorithm (Krumhansl 1990, *Cognitive Foundations of Musical Pitch*, ch. 4, after Krumhansl & Schmuckler):
correlate (Pearson) the duration-weighted pitch-class histogram with the Krumhansl & Kessler (1982) major
and minor key profiles rotated to each of the 12 tonics; the key is the best of the 24 correlations and
``Key.score`` is that correlation (in [-1, 1]). Ties go to the first candidate in the order C major ...
B major, C minor ... B minor.

Undefined case (one convention, NaN): a piece without pitched notes, or whose histogram is flat (all 12
pitch classes equally long), has no key; :func:`estimate_key` then returns ``C major`` with
``score = nan``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.midi_io import Piece

__all__ = [
    "KRUMHANSL_KESSLER_MAJOR",
    "KRUMHANSL_KESSLER_MINOR",
    "MAJOR_SCALE",
    "MINOR_SCALE",
    "Key",
    "duration_chroma",
    "estimate_key",
    "key_correlations",
    "key_from_name",
    "key_name",
    "pitch_class_name",
    "scale_pitch_classes",
]

# Krumhansl, C. L. & Kessler, E. J. (1982). Tracing the dynamic changes in perceived tonal organization
# in a spatial representation of musical keys. Psychological Review 89(4), 334-368. Probe-tone ratings,
# index 0 = tonic.
KRUMHANSL_KESSLER_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_KESSLER_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

# Conventional spelling of a key's tonic: the key signature with fewer accidentals (F# major and Eb minor
# for the 6-accidental ties, as most scores write them).
_MAJOR_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: Semitones above the tonic of the major scale and of the minor scale used throughout ``evaluation/``: the
#: harmonic minor (raised seventh, the leading tone of common-practice minor, as in V and vii° of minor).
#: Unlike the natural minor, it is not a rotation of a major scale (A natural minor = C major), so the 12
#: major and 12 minor scales are 24 different sets.
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)


@dataclass(frozen=True)
class Key:
    """A key: ``tonic`` pitch class 0–11, ``mode`` "major" or "minor", ``name`` e.g. "F# minor",
    ``score`` the Krumhansl–Schmuckler correlation of the winning profile (NaN when undefined)."""

    tonic: int
    mode: str
    name: str
    score: float


def pitch_class_name(pitch_class: int) -> str:
    """Sharp spelling of a pitch class (0 → "C", 1 → "C#"); used where no key context exists."""
    return _SHARP_NAMES[int(pitch_class) % 12]


def key_name(tonic: int, mode: str) -> str:
    """Conventional name of a key, e.g. ``key_name(10, "major") == "Bb major"``, ``key_name(1, "minor") ==
    "C# minor"``."""
    if mode not in ("major", "minor"):
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    names = _MAJOR_TONIC_NAMES if mode == "major" else _MINOR_TONIC_NAMES
    return f"{names[int(tonic) % 12]} {mode}"


_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def key_from_name(name: str, score: float = float("nan")) -> Key:
    """Parse a key name such as "D major", "f# minor", "Bb major", "E- minor" (music21's flat sign)."""
    parts = name.strip().split()
    if len(parts) != 2 or not parts[0] or parts[0][0].upper() not in _LETTERS:
        raise ValueError(f"cannot read key name {name!r}: expected e.g. 'D major' or 'F# minor'")
    tonic_text, mode = parts[0], parts[1].lower()
    if mode not in ("major", "minor"):
        raise ValueError(f"cannot read key name {name!r}: the mode must be 'major' or 'minor'")
    tonic = _LETTERS[tonic_text[0].upper()]
    for sign in tonic_text[1:]:
        if sign == "#":
            tonic += 1
        elif sign in ("b", "-"):
            tonic -= 1
        else:
            raise ValueError(f"cannot read key name {name!r}: unknown accidental {sign!r} (use # or b)")
    tonic %= 12
    return Key(tonic=tonic, mode=mode, name=key_name(tonic, mode), score=score)


def scale_pitch_classes(key: Key) -> frozenset[int]:
    """Pitch classes of the key's scale: :data:`MAJOR_SCALE`, or :data:`MINOR_SCALE` (harmonic minor)."""
    steps = MAJOR_SCALE if key.mode == "major" else MINOR_SCALE
    return frozenset((key.tonic + step) % 12 for step in steps)


def duration_chroma(piece: Piece) -> np.ndarray:
    """Duration-weighted pitch-class histogram of the pitched notes, shape (12,), in quarter notes (not
    normalised; overlapping notes each count in full)."""
    pitched = ~piece.is_drum
    durations = (piece.end - piece.start)[pitched]
    return np.bincount(piece.pitch[pitched].astype(np.int64) % 12, weights=durations, minlength=12)


def _rotated_profiles() -> np.ndarray:
    """(24, 12): rows 0–11 the major profile with tonic 0–11, rows 12–23 the minor profile."""
    return np.array(
        [
            np.roll(profile, tonic)
            for profile in (KRUMHANSL_KESSLER_MAJOR, KRUMHANSL_KESSLER_MINOR)
            for tonic in range(12)
        ]
    )


_PROFILES = _rotated_profiles()


def key_correlations(chroma: np.ndarray) -> np.ndarray:
    """Pearson correlations of a pitch-class histogram (12,) with the 24 rotated Krumhansl–Kessler profiles.

    Returns shape (24,): index ``tonic`` for major keys, ``12 + tonic`` for minor keys; all NaN when the
    histogram is flat (including empty).
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    if chroma.shape != (12,):
        raise ValueError(f"a pitch-class histogram has shape (12,), got {chroma.shape}")
    centred = chroma - chroma.mean()
    norm = np.sqrt(np.sum(centred**2))
    if norm <= 1e-12:
        return np.full(24, np.nan)
    profiles = _PROFILES - _PROFILES.mean(axis=1, keepdims=True)
    profiles /= np.sqrt(np.sum(profiles**2, axis=1, keepdims=True))
    return profiles @ (centred / norm)


def estimate_key(piece: Piece) -> Key:
    """Krumhansl–Schmuckler key of a piece (drums excluded), from its duration-weighted chroma.

    Returns ``Key(tonic, mode, name, score)`` with ``score`` the winning Pearson correlation; ``C major``
    with ``score = nan`` when the piece has no pitched notes or a flat histogram.
    """
    correlations = key_correlations(duration_chroma(piece))
    if np.all(np.isnan(correlations)):
        return Key(tonic=0, mode="major", name=key_name(0, "major"), score=float("nan"))
    best = int(np.argmax(correlations))
    tonic, mode = best % 12, ("major" if best < 12 else "minor")
    return Key(tonic=tonic, mode=mode, name=key_name(tonic, mode), score=float(correlations[best]))
