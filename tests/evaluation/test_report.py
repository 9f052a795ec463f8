"""Report files: CSV columns, strict JSON with null for NaN, self-contained HTML, figures from a summary."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from evaluation.distances import DistanceConfig
from evaluation.report import figures, to_jsonable, write_report
from evaluation.scoring import compare_sets


def _row(index: int, pitch_range: float, pitch_class: int) -> dict:
    histogram = np.zeros(12)
    histogram[pitch_class] = 1.0
    pitches = np.zeros(128)
    pitches[60 + pitch_class] = 1.0
    return {
        "path": f"set/{index}.mid",
        "pitch_range": pitch_range,
        "entropy": math.nan,
        "note_count": 2.0,
        "key": "G major",
        "pitch_class_histogram": histogram,
        "pitch_histogram": pitches,
        "pitch_class_transition_matrix": np.eye(12),
    }


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict, dict]:
    reference = [_row(index, 10.0 + index, index % 3) for index in range(6)]
    generated = {"lstm": [_row(index, 20.0 + index, 7) for index in range(5)]}
    summary = compare_sets(reference, generated, DistanceConfig(folds=2), error_counts={"lstm": 1})
    rows = {"reference": reference, **generated}
    errors = {"reference": [], "lstm": [("gen/bad.mid", "the file is empty (0 bytes)")]}
    paths = write_report(tmp_path / "out", summary, rows, errors)
    return tmp_path / "out", summary, paths


def test_to_jsonable_turns_nan_into_null() -> None:
    converted = to_jsonable(
        {
            "a": np.float32(1.5),
            "b": [math.nan, np.int64(3)],
            "c": np.array([np.inf, 2.0]),
            "d": np.bool_(True),
        }
    )
    assert converted == {"a": 1.5, "b": [None, 3], "c": [None, 2.0], "d": True}
    assert json.dumps(converted, allow_nan=False)


def test_features_csv_columns(written) -> None:
    folder, _, _ = written
    with (folder / "features.csv").open() as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 11
    header = list(lines[0])
    assert header[:5] == ["set", "path", "pitch_range", "entropy", "note_count"]
    assert header[5] == "key"
    assert header[6:] == [f"pitch_class_histogram_{index}" for index in range(12)]  # 128 and 12x12 left out
    first_generated = lines[6]
    assert first_generated["set"] == "lstm" and first_generated["path"] == "set/0.mid"
    assert float(first_generated["pitch_range"]) == 20.0 and first_generated["entropy"] == ""
    assert first_generated["pitch_class_histogram_7"] == "1.0" and first_generated["key"] == "G major"


def test_errors_csv(written) -> None:
    folder, _, _ = written
    with (folder / "errors.csv").open() as handle:
        assert list(csv.reader(handle)) == [
            ["set", "file", "reason"],
            ["lstm", "gen/bad.mid", "the file is empty (0 bytes)"],
        ]


def test_summary_json_is_strict_with_null(written) -> None:
    folder, summary, _ = written

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    loaded = json.loads((folder / "summary.json").read_text(), parse_constant=refuse)
    assert loaded["sets"]["reference"]["features"]["entropy"]["mean"] is None
    assert loaded["sets"]["lstm"]["counts"] == {"files": 5, "errors": 1}
    assert loaded["ranking"][0]["name"] == "lstm"
    histograms = loaded["sets"]["lstm"]["distances"]["histograms"]["pitch_class_histogram"]
    assert histograms["js"] == pytest.approx(1.0)  # disjoint pitch classes
    assert set(loaded["sets"]["lstm"]["distances"]["relative"]) == {
        "pitch_range",
        "entropy",
        "note_count",
        "pitch_class_histogram",
        "pitch_class_transition_matrix",
    }
    assert loaded["config"]["log_base"] == 2.0


def test_report_html_is_self_contained(written) -> None:
    folder, _, paths = written
    text = paths["report"].read_text()
    assert not re.search(r"<script[^>]+src=", text)  # plotly.js inlined, nothing fetched
    assert not re.search(r"<link[^>]+href=\"?https?:", text)
    assert "Plotly.newPlot" in text and len(text) > 1_000_000
    assert "<td>lstm</td>" in text and "Pitch-class histogram" in text and "Ranking" in text
    assert "Feature distributions" in text and "classifier accuracy [95% CI]" in text
    assert "after adding 1e-06 to every bin" in text  # the KL smoothing is stated


def test_figures_work_from_reloaded_json(written) -> None:
    folder, summary, _ = written
    reloaded = json.loads((folder / "summary.json").read_text())
    built = figures(reloaded)
    assert set(built) == {
        "pitch_class_histograms",
        "pitch_histograms",
        "feature_distributions",
        "overlap",
        "ranking",
    }
    bars = built["pitch_class_histograms"]
    assert [trace.name for trace in bars.data] == ["reference", "lstm"]
    assert list(bars.data[1].y) == [0.0] * 7 + [1.0] + [0.0] * 4
    boxes = built["feature_distributions"]
    assert len(boxes.data) == 2  # pitch_range and note_count; entropy has no values
    assert list(boxes.data[0].median) == [12.5, 22.0]
    alone = figures({"sets": {"reference": reloaded["sets"]["reference"]}, "ranking": []})
    assert "ranking" not in alone and "pitch_class_histograms" in alone


def test_file_names_that_look_like_formulas_are_escaped_in_both_csvs(tmp_path: Path) -> None:
    from evaluation.report import write_errors_csv, write_features_csv

    row = {**_row(0, 10.0, 0), "path": "=HYPERLINK(\"http://x\")/a.mid"}
    write_features_csv(tmp_path / "features.csv", {"@set": [row]})
    write_errors_csv(tmp_path / "errors.csv", {"lstm": [("+cmd.mid", "-not a MIDI file")]})
    with (tmp_path / "features.csv").open(newline="") as handle:
        first = list(csv.reader(handle))[1]
    assert first[:2] == ["'@set", "'=HYPERLINK(\"http://x\")/a.mid"]
    with (tmp_path / "errors.csv").open(newline="") as handle:
        assert list(csv.reader(handle))[1] == ["lstm", "'+cmd.mid", "'-not a MIDI file"]
