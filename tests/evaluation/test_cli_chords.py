"""The ``chords`` verb: JSON and table output, the registered subcommand, bad files."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

from evaluation.cli_chords import main, register, run_chords

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def d_major_file(tmp_path: Path) -> Path:
    """I–IV–V–I in D major, one bar (4 quarters = 2 s at 120 BPM) per chord, the first bar played twice."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    chords = [[50, 54, 57, 62], [50, 54, 57, 62], [55, 59, 62, 67], [45, 57, 61, 64], [50, 54, 57, 62]]
    for index, pitches in enumerate(chords):
        for beat in range(4):  # repeated quarter-note chords, so per-beat windows merge within a bar
            start = index * 2.0 + beat * 0.5
            piano.notes += [
                pretty_midi.Note(velocity=80, pitch=p, start=start, end=start + 0.5) for p in pitches
            ]
    midi.instruments.append(piano)
    path = tmp_path / "d major.mid"
    midi.write(str(path))
    return path


EXPECTED = {
    "key": "D major",
    "chords": [
        {"start": 0.0, "end": 4.0, "label": "D:maj", "roman": "I"},
        {"start": 4.0, "end": 6.0, "label": "G:maj", "roman": "IV"},
        {"start": 6.0, "end": 8.0, "label": "A:maj", "roman": "V"},
        {"start": 8.0, "end": 10.0, "label": "D:maj", "roman": "I"},
    ],
}


@pytest.mark.parametrize("per", ["beat", "bar"])
def test_json_output(d_major_file: Path, per: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(d_major_file), "--per", per, "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == EXPECTED
    assert out.count("\n") == 1  # exactly one JSON object on one line


def test_table_output(d_major_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(d_major_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Key: D major"
    rows = [line.split() for line in lines[3:]]
    assert rows == [
        ["0.000", "4.000", "D:maj", "I"],
        ["4.000", "6.000", "G:maj", "IV"],
        ["6.000", "8.000", "A:maj", "V"],
        ["8.000", "10.000", "D:maj", "I"],
    ]


def test_registered_verb(d_major_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="evaluation")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["chords", str(d_major_file), "--per", "bar", "--json"])
    assert args.func is run_chords
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["chords"][1]["label"] == "G:maj"
    with pytest.raises(SystemExit):
        parser.parse_args(["chords", str(d_major_file), "--per", "half"])


def test_bad_file_exits_1_with_the_reader_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.mid"
    text.write_text("this is not MIDI\n")
    assert main([str(text), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "notes.mid" in captured.err and "not a MIDI file" in captured.err


def test_as_a_process(d_major_file: Path, tmp_path: Path) -> None:
    """Through ``python -m evaluation chords`` (the package's CLI, which registers this verb)."""
    command = [sys.executable, "-m", "evaluation", "chords"]
    done = subprocess.run(
        [*command, str(d_major_file), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED
    missing = subprocess.run(
        [*command, str(tmp_path / "nope.mid")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1 and "nope.mid: no such file" in missing.stderr
