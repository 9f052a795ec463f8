"""compute_features: names, types and shapes of the interface, and agreement with the single functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation import pitch, rhythm
from evaluation.features import (
    ARRAY_FEATURES,
    SCALAR_FEATURES,
    TEXT_FEATURES,
    compute_features,
    feature_definitions,
)
from tests.evaluation.midi_fixtures_features import (
    c_major_scale,
    chord_progression,
    drums_only,
    empty_middle_bar,
    fur_elise,
    meter_change,
    piece,
    scale_with_long_drums,
)

INTERFACE_SCALARS = (
    "n_pitches_used", "n_pitch_classes_used", "pitch_range", "pitch_entropy", "pitch_class_entropy",
    "polyphony", "polyphony_rate", "scale_consistency", "pitch_in_scale_rate", "empty_beat_rate",
    "groove_consistency", "note_count", "average_pitch_interval", "average_ioi", "empty_bar_rate",
    "used_pitch_classes_per_bar", "qualified_note_rate", "pitch_class_entropy_1bar",
    "pitch_class_entropy_4bar", "groove_similarity", "chord_progression_irregularity", "n_unique_chords",
    "chord_change_rate", "no_chord_rate", "key_confidence",
)
SHAPES = {"pitch_class_histogram": (12,), "pitch_class_histogram_duration": (12,), "pitch_histogram": (128,),
          "pitch_class_transition_matrix": (12, 12), "note_length_histogram": (12,),
          "note_length_transition_matrix": (12, 12)}
FIXTURES = [c_major_scale, chord_progression, empty_middle_bar, fur_elise, scale_with_long_drums,
            meter_change]


def test_names_follow_the_shared_interface() -> None:
    assert set(SCALAR_FEATURES) == set(INTERFACE_SCALARS) and len(SCALAR_FEATURES) == len(INTERFACE_SCALARS)
    assert TEXT_FEATURES == ("key",)
    assert set(ARRAY_FEATURES) == set(SHAPES)
    features = compute_features(c_major_scale())
    assert list(features) == [*SCALAR_FEATURES, *TEXT_FEATURES, *ARRAY_FEATURES]


@pytest.mark.parametrize("build", FIXTURES, ids=lambda build: build.__name__)
def test_types_shapes_and_sums(build) -> None:
    features = compute_features(build())
    for name in SCALAR_FEATURES:
        assert type(features[name]) is float, name
    assert isinstance(features["key"], str) and features["key"].endswith(("major", "minor"))
    for name, shape in SHAPES.items():
        assert isinstance(features[name], np.ndarray) and features[name].shape == shape, name
    for name in ("pitch_class_histogram", "pitch_class_histogram_duration", "pitch_histogram"):
        assert features[name].sum() == pytest.approx(1.0), name
    assert features["note_length_histogram"].sum() == features["note_count"]


def test_c_major_scale_features() -> None:
    features = compute_features(c_major_scale())
    expected = {
        "n_pitches_used": 8, "n_pitch_classes_used": 7, "pitch_range": 12, "pitch_entropy": 3.0,
        "pitch_class_entropy": 2.75, "polyphony": 1.0, "polyphony_rate": 0.0, "scale_consistency": 1.0,
        "pitch_in_scale_rate": 1.0, "empty_beat_rate": 0.0, "groove_consistency": 1.0, "note_count": 8,
        "average_pitch_interval": 12 / 7, "average_ioi": 0.5, "empty_bar_rate": 0.0,
        "used_pitch_classes_per_bar": 4.0, "qualified_note_rate": 1.0, "pitch_class_entropy_1bar": 2.0,
        "pitch_class_entropy_4bar": 2.75, "groove_similarity": 1.0,
    }
    for name, value in expected.items():
        assert features[name] == pytest.approx(value), name
    assert features["key"] == "C major"
    assert features["note_length_histogram"][2] == 8  # eight quarter notes
    assert features["note_length_transition_matrix"][2, 2] == 7


@pytest.mark.parametrize("build", FIXTURES, ids=lambda build: build.__name__)
def test_shared_intermediates_give_the_single_functions_values(build) -> None:
    example = build()
    features = compute_features(example)
    singles = {
        "polyphony": pitch.polyphony(example), "polyphony_rate": pitch.polyphony_rate(example),
        "empty_bar_rate": rhythm.empty_bar_rate(example),
        "used_pitch_classes_per_bar": pitch.used_pitch_classes_per_bar(example),
        "pitch_class_entropy_1bar": pitch.pitch_class_entropy_bars(example, 1),
        "pitch_class_entropy_4bar": pitch.pitch_class_entropy_bars(example, 4),
        "groove_consistency": rhythm.groove_consistency(example),
        "groove_similarity": rhythm.groove_similarity(example),
    }
    for name, value in singles.items():
        assert features[name] == pytest.approx(value, nan_ok=True), name


def test_chords_and_key_come_from_harmony() -> None:
    from evaluation import harmony

    example = chord_progression()
    features = compute_features(example)
    key = harmony.estimate_key(example)
    statistics = harmony.chord_statistics(harmony.detect_chords(example, per="beat", key=key))
    assert features["key"] == key.name and features["key_confidence"] == pytest.approx(key.score)
    for name in ("chord_progression_irregularity", "n_unique_chords", "chord_change_rate", "no_chord_rate"):
        assert features[name] == pytest.approx(statistics[name], nan_ok=True), name
    # C, F, G7, C one per bar: at least three distinct chords, changes only at bar lines
    assert features["n_unique_chords"] >= 3
    assert features["chord_change_rate"] <= 3 / 16 + 1e-9
    assert features["pitch_in_scale_rate"] == pitch.pitch_in_scale_rate(example, key.tonic, key.mode)


def test_drums_only_piece_gives_nan_not_errors() -> None:
    features = compute_features(drums_only())
    for name in ("pitch_range", "pitch_entropy", "polyphony", "scale_consistency", "pitch_in_scale_rate",
                 "average_pitch_interval", "average_ioi", "used_pitch_classes_per_bar", "qualified_note_rate",
                 "pitch_class_entropy_1bar", "key_confidence"):
        assert math.isnan(features[name]), name
    assert features["note_count"] == 0 and features["n_pitches_used"] == 0
    assert features["empty_bar_rate"] == 1.0 and features["empty_beat_rate"] == 0.0
    assert features["key"] == ""
    assert np.all(np.isnan(features["pitch_histogram"]))
    assert features["note_length_histogram"].sum() == 0


def test_one_note_piece() -> None:
    features = compute_features(piece([[(60, 0.0, 1.0)]]))
    assert features["n_pitches_used"] == 1 and features["pitch_range"] == 0
    assert features["pitch_entropy"] == 0.0
    assert math.isnan(features["average_pitch_interval"]) and math.isnan(features["average_ioi"])
    assert math.isnan(features["groove_consistency"]) and math.isnan(features["groove_similarity"])


def test_every_feature_has_a_definition_with_its_source() -> None:
    definitions = feature_definitions()
    assert list(definitions) == [*SCALAR_FEATURES, *TEXT_FEATURES, *ARRAY_FEATURES]
    assert all(definition and "\n" not in definition for definition in definitions.values())
    assert "MusPy" in definitions["pitch_class_entropy"] and "mgeval" in definitions["average_ioi"]
    assert "MuseGAN" in definitions["qualified_note_rate"]
    assert "Jazz Transformer" in definitions["groove_similarity"]
