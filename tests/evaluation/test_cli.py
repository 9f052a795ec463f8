"""The command line: python -m evaluation score | features | chords."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

from evaluation.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def write_piece(path: Path, pitches: list[int], step: float = 0.5) -> Path:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    for index, pitch in enumerate(pitches):
        piano.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=index * step, end=(index + 1) * step))
        piano.notes.append(pretty_midi.Note(velocity=70, pitch=pitch - 12, start=index * step, end=(index + 2) * step))
    midi.instruments.append(piano)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for index in range(8):
        write_piece(root / "reference" / f"r{index}.mid", [scale[(index + k) % 8] for k in range(12)])
        write_piece(root / "copy" / f"c{index}.mid", [scale[(index + k) % 8] for k in range(12)])
        write_piece(root / "chromatic" / f"x{index}.mid", [50 + (5 * k + index) % 30 for k in range(12)], step=0.2)
    return root


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evaluation", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_help_explains_every_option() -> None:
    top = run_module("--help")
    assert top.returncode == 0 and all(verb in top.stdout for verb in ("score", "features", "chords"))
    score = run_module("score", "--help").stdout
    for option in ("--reference", "--generated", "--out", "--jobs", "--config", "--no-progress", "NAME=DIR"):
        assert option in score
    assert "Exit status 0 when the reference was scored; 2 (with 'error: ...' on stderr)" in " ".join(score.split())
    features = " ".join(run_module("features", "--help").stdout.split())
    assert "--json" in features and "2 (with 'error: ...' on stderr) when none could be" in features
    chords = " ".join(run_module("chords", "--help").stdout.split())
    assert "--per" in chords and "--key {global,local}" in chords and "Exit status 0 when done, 2" in chords


def test_score_two_sets_with_jobs_and_config(corpus: Path, tmp_path: Path, capsys) -> None:
    config = tmp_path / "distances.toml"
    config.write_text("[distances]\nfolds = 2\nlog_base = 2.718281828459045\ngrid_points = 300\n")
    out = tmp_path / "out"
    status = main(
        [
            "score",
            "--reference",
            str(corpus / "reference"),
            "--generated",
            f"chromatic={corpus / 'chromatic'}",
            "--generated",
            f"copy={corpus / 'copy'}",
            "--out",
            str(out),
            "--jobs",
            "2",
            "--config",
            str(config),
            "--no-progress",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "1. copy" in printed and "2. chromatic" in printed and str((out / "report.html").resolve()) in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["grid_points"] == 300 and summary["config"]["folds"] == 2
    assert [entry["name"] for entry in summary["ranking"]] == ["copy", "chromatic"]
    copy = summary["sets"]["copy"]
    assert copy["counts"] == {"files": 8, "errors": 0} and copy["features"]["note_count"]["mean"] == 24
    assert len(copy["pitch_class_histogram"]) == 12 and len(copy["pitch_histogram"]) == 128
    assert {"histograms", "relative", "classifier"} <= set(copy["distances"])
    assert {"average_ioi", "pitch_class_histogram_duration", "note_length_transition_matrix"} <= set(
        copy["distances"]["relative"])
    assert summary["sets"]["copy"]["distances"]["histograms"]["pitch_class_histogram"]["js"] == pytest.approx(0)
    assert "nats" in (out / "report.html").read_text()[-200_000:]
    assert sum(1 for _ in (out / "features.csv").open()) == 1 + 24


def test_score_reference_alone(corpus: Path, tmp_path: Path, capsys) -> None:
    assert main(["score", "--reference", str(corpus / "reference"), "--out", str(tmp_path), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["sets"]) == ["reference"] and summary["ranking"] == []
    assert "reference: 8 file(s) scored" in capsys.readouterr().out


def test_score_usage_errors(corpus: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["score", "--reference", str(corpus), "--generated", "no-equals-sign", "--out", str(tmp_path)])
    assert caught.value.code == 2 and "NAME=DIR" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(
            [
                "score",
                "--reference",
                str(corpus),
                "--generated",
                f"reference={corpus}",
                "--out",
                str(tmp_path),
            ]
        )
    assert "choose another NAME" in capsys.readouterr().err
    assert main(["score", "--reference", str(tmp_path / "missing"), "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --reference: ") and "no such folder" in err and "Traceback" not in err
    assert main(["score", "--reference", str(corpus), "--generated", f"gen={tmp_path / 'nope'}", "--out",
                 str(tmp_path), "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error: gen: ")
    assert main(["score", "--reference", str(corpus), "--out", str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    a_file = tmp_path / "not_a_folder"
    a_file.write_text("")
    assert main(["score", "--reference", str(corpus / "reference"), "--out", str(a_file), "--no-progress"]) == 2
    assert "cannot write into --out" in capsys.readouterr().err
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("classifier = 'svm'\n")
    assert main(["score", "--reference", str(corpus), "--out", str(tmp_path), "--config", str(bad_config)]) == 2
    assert "classifier" in capsys.readouterr().err


def test_features_json(corpus: Path, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd")
    good = corpus / "reference" / "r0.mid"
    assert main(["features", str(good), str(broken), "--json"]) == 0  # something was scored
    text = capsys.readouterr().out
    assert "NaN" not in text
    results = json.loads(text)
    assert [result["path"] for result in results] == [str(good), str(broken)]
    features = results[0]["features"]
    assert features["note_count"] == 24 and features["n_pitch_classes_used"] == 7
    assert isinstance(features["pitch_class_histogram"], list) and len(features["pitch_class_histogram"]) == 12
    assert len(features["pitch_class_transition_matrix"]) == 12 and isinstance(features["key"], str)
    assert "truncated" in results[1]["error"]
    # nothing scored: still a JSON list naming each file and its reason, a message and exit status 2
    assert main(["features", str(broken), str(tmp_path / "missing.mid"), "--json"]) == 2
    captured = capsys.readouterr()
    assert [result["error"] for result in json.loads(captured.out)][1] == "no such file"
    assert captured.err.startswith("error: none of the 2 file(s) could be scored")


def test_features_text_and_chords(corpus: Path, capsys) -> None:
    good = corpus / "reference" / "r0.mid"
    assert main(["features", str(good)]) == 0
    text = capsys.readouterr().out
    assert "  note_count: 24" in text and "pitch_histogram:" in text and "(128 values" in text
    assert main(["chords", str(good), "--json"]) == 0
    chords = json.loads(capsys.readouterr().out)
    assert chords["key"].endswith(("major", "minor")) and chords["chords"]
