"""Scoring: file discovery, per-file scoring with error rows, set comparison and ranking."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from evaluation.distances import DistanceConfig
from evaluation.midi_io import MidiError
from evaluation.scoring import compare_sets, iter_midi_files, score_file, score_files, summarize_set


def write_piece(path: Path, pitches: list[int], step: float = 0.5) -> Path:
    """A one-track piano piece: the pitches one after another, ``step`` seconds each, at 120 BPM."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    for index, pitch in enumerate(pitches):
        piano.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=index * step, end=(index + 1) * step))
    midi.instruments.append(piano)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


def test_iter_midi_files_recursive_sorted_any_case(tmp_path: Path) -> None:
    for name in ("b.MID", "a.mid", "sub/c.midi", "sub/deeper/d.Midi", "notes.txt", "x.mid.bak"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [path.relative_to(tmp_path).as_posix() for path in iter_midi_files(tmp_path)]
    assert found == ["a.mid", "b.MID", "sub/c.midi", "sub/deeper/d.Midi"]
    with pytest.raises(MidiError, match="no such folder"):
        iter_midi_files(tmp_path / "missing")
    with pytest.raises(MidiError, match="not a folder"):
        iter_midi_files(tmp_path / "a.mid")


def test_score_file_keeps_features_not_notes(tmp_path: Path) -> None:
    path = write_piece(tmp_path / "c_major.mid", [60, 62, 64, 65])
    name, row, reason = score_file(path)
    assert reason is None and name == str(path) and row["path"] == str(path)
    assert row["note_count"] == 4 and row["n_pitch_classes_used"] == 4 and row["pitch_range"] == 5
    assert all(isinstance(value, (str, float, int, np.floating, np.integer, np.ndarray)) for value in row.values())
    assert not any(isinstance(value, np.ndarray) and value.size > 200 for value in row.values())


def _fails_on_d(piece):  # module level: a feature function that breaks on one file
    if 62 in piece.pitch:
        raise ZeroDivisionError("division by zero")
    return {"note_count": float(piece.n_notes)}


def test_score_files_turns_failures_into_error_rows(tmp_path: Path) -> None:
    good = write_piece(tmp_path / "good.mid", [60, 64])
    breaks = write_piece(tmp_path / "breaks.mid", [62])
    text = tmp_path / "text.mid"
    text.write_text("not music")
    rows, errors = score_files([good, breaks, text], progress=False, feature_fn=_fails_on_d)
    assert rows == [{"path": str(good), "note_count": 2.0}]
    reasons = dict(errors)
    assert "ZeroDivisionError: division by zero" in reasons[str(breaks)]
    assert "text file" in reasons[str(text)]


def test_score_files_with_two_jobs_matches_one_job(tmp_path: Path) -> None:
    paths = [write_piece(tmp_path / f"{index:02d}.mid", [60 + index, 64, 67 + index % 3]) for index in range(6)]
    (tmp_path / "empty.mid").write_bytes(b"")
    paths.insert(3, tmp_path / "empty.mid")
    serial_rows, serial_errors = score_files(paths, jobs=1, progress=False)
    parallel_rows, parallel_errors = score_files(paths, jobs=2, progress=False)
    assert [row["path"] for row in parallel_rows] == [str(path) for path in paths if path.name != "empty.mid"]
    assert parallel_errors == serial_errors == [(str(tmp_path / "empty.mid"), "the file is empty (0 bytes)")]
    for serial, parallel in zip(serial_rows, parallel_rows, strict=True):
        assert serial["pitch_range"] == parallel["pitch_range"]
        np.testing.assert_array_equal(serial["pitch_histogram"], parallel["pitch_histogram"])


def _row(index: int, pitch_range: float, histogram: list[float], notes: float = 1.0) -> dict:
    pitch_classes = np.zeros(12)
    pitch_classes[: len(histogram)] = histogram
    pitches = np.zeros(128)
    pitches[60:72] = pitch_classes
    return {
        "path": f"{index}.mid",
        "pitch_range": pitch_range,
        "constant": 1.0,
        "undefined": math.nan,
        "note_count": notes,
        "key": "C major",
        "pitch_class_histogram": pitch_classes,
        "pitch_histogram": pitches,
    }


def test_summarize_set_by_hand() -> None:
    rows = [_row(0, 10.0, [1.0], notes=3), _row(1, 14.0, [0.0, 1.0], notes=1)]
    summary = summarize_set(rows)
    assert summary["counts"] == {"files": 2}
    stats = summary["features"]["pitch_range"]
    assert stats["mean"] == 12.0 and stats["std"] == pytest.approx(math.sqrt(8)) and stats["n"] == 2
    assert (stats["min"], stats["median"], stats["max"]) == (10.0, 12.0, 14.0)
    assert summary["features"]["undefined"]["n"] == 0 and math.isnan(summary["features"]["undefined"]["mean"])
    # histograms pooled over notes: 3 notes on C, 1 on C#
    np.testing.assert_allclose(summary["pitch_class_histogram"][:3], [0.75, 0.25, 0.0])
    assert summary["keys"] == {"C major": 2}


def test_compare_sets_distances_and_ranking() -> None:
    rng = np.random.default_rng(0)
    reference = [_row(i, float(rng.normal(20, 2)), [0.75, 0.25]) for i in range(40)]
    close = [_row(i, float(rng.normal(20, 2)), [0.75, 0.25]) for i in range(30)]
    far = [_row(i, float(rng.normal(35, 2)), [1.0]) for i in range(30)]
    result = compare_sets(reference, {"far": far, "close": close}, DistanceConfig(folds=3), error_counts={"far": 2})
    assert [entry["name"] for entry in result["ranking"]] == ["close", "far"]
    assert [entry["rank"] for entry in result["ranking"]] == [1, 2]
    far_distances = result["sets"]["far"]["distances"]
    # JS([.75, .25], [1, 0]): M = [.875, .125], JSD = (0.083206 + 0.192645) / 2 -> distance 0.371383
    assert far_distances["histograms"]["pitch_class_histogram"]["js"] == pytest.approx(0.371383, abs=1e-5)
    assert result["sets"]["close"]["distances"]["histograms"]["pitch_class_histogram"]["js"] == pytest.approx(0)
    # KL(generated || reference) = 1 * log2(1 / 0.75) = 0.415 bits (the other direction would be ~4.5 bits)
    assert far_distances["histograms"]["pitch_class_histogram"]["kl"] == pytest.approx(0.41504, abs=1e-3)
    assert far_distances["relative"]["pitch_range"]["overlap"] < 0.05
    # the far set is as spread out as the reference (std 2) but 15 away: its own intra-set density also
    # misses the inter-set one
    assert far_distances["relative"]["pitch_range"]["generated_overlap"] < 0.05
    assert result["sets"]["close"]["distances"]["relative"]["pitch_range"]["generated_overlap"] > 0.7
    assert result["sets"]["close"]["distances"]["relative"]["pitch_range"]["overlap"] > 0.7
    assert far_distances["relative"]["constant"]["overlap"] == pytest.approx(1.0)  # constant: no crash
    assert math.isnan(far_distances["relative"]["undefined"]["overlap"])
    assert far_distances["classifier"]["accuracy"] > 0.9
    assert result["sets"]["far"]["counts"] == {"files": 30, "errors": 2}
    assert result["sets"]["reference"]["counts"] == {"files": 40, "errors": 0}


def test_compare_sets_reference_alone_and_bad_names() -> None:
    result = compare_sets([_row(0, 1.0, [1.0]), _row(1, 2.0, [1.0])], {})
    assert result["ranking"] == [] and list(result["sets"]) == ["reference"]
    with pytest.raises(ValueError, match="cannot be named 'reference'"):
        compare_sets([_row(0, 1.0, [1.0])], {"reference": []})
    tiny = compare_sets([_row(0, 1.0, [1.0]), _row(1, 2.0, [1.0])], {"one": [_row(0, 1.0, [1.0])]})
    assert math.isnan(tiny["sets"]["one"]["distances"]["mean_overlap"])
    assert math.isnan(tiny["sets"]["one"]["distances"]["classifier"]["accuracy"])
    empty = compare_sets([_row(0, 1.0, [1.0]), _row(1, 2.0, [1.0])], {"none": []})
    assert empty["sets"]["none"]["counts"] == {"files": 0, "errors": 0}
    assert empty["sets"]["none"]["distances"]["histograms"] == {}
    assert empty["ranking"][0]["name"] == "none" and math.isnan(empty["ranking"][0]["mean_overlap"])
