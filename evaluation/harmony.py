"""Harmony of a piece: key (Krumhansl–Schmuckler, :mod:`evaluation.key`) and chords (template matching
over Harte labels, Roman numerals, progression statistics, :mod:`evaluation.chords`). This module
re-exports both; import from here."""

from __future__ import annotations

from evaluation.chords import (
    QUALITIES,
    ChordSegment,
    chord_statistics,
    detect_chords,
    roman_numeral,
    window_chroma,
)
from evaluation.key import (
    KRUMHANSL_KESSLER_MAJOR,
    KRUMHANSL_KESSLER_MINOR,
    Key,
    duration_chroma,
    estimate_key,
    key_correlations,
    key_from_name,
    key_name,
    pitch_class_name,
    scale_pitch_classes,
)

__all__ = [
    "KRUMHANSL_KESSLER_MAJOR",
    "KRUMHANSL_KESSLER_MINOR",
    "QUALITIES",
    "ChordSegment",
    "Key",
    "chord_statistics",
    "detect_chords",
    "duration_chroma",
    "estimate_key",
    "key_correlations",
    "key_from_name",
    "key_name",
    "pitch_class_name",
    "roman_numeral",
    "scale_pitch_classes",
    "window_chroma",
]
