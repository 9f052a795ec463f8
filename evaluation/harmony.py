"""Harmony of a piece: keys (Krumhansl–Schmuckler global key and local keys by Viterbi, :mod:`evaluation.key`)
and chords (template matching over Harte labels, Roman numerals in the global or local key, progression
statistics, :mod:`evaluation.chords`). This module re-exports both; import from here. Their accuracy against
expert analyses: :mod:`evaluation.accuracy`."""

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
    KEY_PROFILES,
    KRUMHANSL_KESSLER_MAJOR,
    KRUMHANSL_KESSLER_MINOR,
    Key,
    KeyConfig,
    duration_chroma,
    estimate_key,
    estimate_local_keys,
    key_correlations,
    key_from_name,
    key_name,
    pitch_class_name,
    scale_pitch_classes,
)

__all__ = [
    "KEY_PROFILES",
    "KRUMHANSL_KESSLER_MAJOR",
    "KRUMHANSL_KESSLER_MINOR",
    "QUALITIES",
    "ChordSegment",
    "Key",
    "KeyConfig",
    "chord_statistics",
    "detect_chords",
    "duration_chroma",
    "estimate_key",
    "estimate_local_keys",
    "key_correlations",
    "key_from_name",
    "key_name",
    "pitch_class_name",
    "roman_numeral",
    "scale_pitch_classes",
    "window_chroma",
]
