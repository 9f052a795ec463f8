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


def test_bad_file_exits_2_with_the_reader_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.mid"
    text.write_text("this is not MIDI\n")
    assert main([str(text), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and "notes.mid" in captured.err and "not a MIDI file" in captured.err
    (tmp_path / "folder.mid").mkdir()
    assert main([str(tmp_path / "folder.mid")]) == 2
    assert "a folder, not a MIDI file" in capsys.readouterr().err


def test_read_errors_are_the_bad_midi_error_not_a_traceback(d_major_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import os

    from evaluation import midi_io

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(midi_io.os, "open", denied)
        assert main([str(d_major_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "permission denied" in err and "Traceback" not in err

    real_fdopen = os.fdopen

    class FailingDisk:
        def __init__(self, descriptor, *args, **kwargs):
            self.handle = real_fdopen(descriptor, "rb", closefd=False)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def read(self, size=-1):
            raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(midi_io.os, "fdopen", FailingDisk)
        assert main([str(d_major_file)]) == 2
    assert "cannot be read (Input/output error)" in capsys.readouterr().err


def test_local_keys_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # C: I IV V7 I | G: I V7 I I (D7 brings the F#), one chord per bar
    from evaluation import piece_from_notes, write_midi

    chords = [(48, 64, 67, 72), (53, 65, 69, 72), (43, 62, 65, 71), (48, 64, 67, 72),
              (43, 62, 67, 71), (50, 62, 66, 72), (43, 62, 67, 71), (43, 62, 67, 71)]
    notes = [(pitch, 4.0 * bar, 4.0 * bar + 4) for bar, chord in enumerate(chords) for pitch in chord]
    pitch, start, end = zip(*notes, strict=True)
    path = write_midi(piece_from_notes(list(pitch), list(start), list(end)), tmp_path / "modulating.mid")
    assert main([str(path), "--per", "bar", "--key", "local", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(chord["label"], chord["roman"], chord["key"]) for chord in report["chords"]] == [
        ("C:maj", "I", "C major"), ("F:maj", "IV", "C major"), ("G:7", "V7", "C major"), ("C:maj", "I", "C major"),
        ("G:maj", "I", "G major"), ("D:7", "V7", "G major"), ("G:maj", "I", "G major")]  # the last two bars merged
    assert report["key"] == "C major"
    assert main([str(path), "--per", "bar", "--json"]) == 0
    assert all("key" not in chord for chord in json.loads(capsys.readouterr().out)["chords"])
    assert main([str(path), "--per", "bar", "--key", "local"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2].split() == ["start", "(s)", "end", "(s)", "chord", "roman", "key"]
    assert table[-1].split()[-2:] == ["G", "major"]
    with pytest.raises(SystemExit) as caught:
        main([str(path), "--key", "modulating"])
    assert caught.value.code == 2


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
    assert missing.returncode == 2 and "nope.mid: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
