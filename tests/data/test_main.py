from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from data.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_explains_every_build_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--out", "--limit", "--jobs", "--seed", "--split", "--force", "bach-chorales", "palestrina"):
        assert opt in out


def test_top_level_help_runs_as_module():
    res = subprocess.run([sys.executable, "-m", "data", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "build" in res.stdout and "list" in res.stdout


def test_list_names_every_corpus(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("bach-chorales", "essen-folk", "abc-tunes", "palestrina"):
        assert name in out
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["bach-chorales", "essen-folk", "abc-tunes", "palestrina"]
    assert all(isinstance(r["built"], bool) for r in rows)


def test_build_then_files_then_noop(tmp_path, capsys):
    out = tmp_path / "tunes"
    assert main(["build", "abc-tunes", "--out", str(out), "--limit", "3", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "abc-tunes: built" in text and "3 pieces (train/validation/test 1/1/1), 0 failed" in text
    assert main(["files", str(out), "--split", "test"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 1 and lines[0].endswith(".mid")
    assert main(["build", "abc-tunes", "--out", str(out), "--limit", "3", "--seed", "1"]) == 0
    assert "already built" in capsys.readouterr().out


def test_bad_input_exits_2_with_message(tmp_path, capsys):
    assert main(["files", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["build", "jazz"])
    assert exc.value.code == 2


def test_every_bad_input_exits_2_with_an_error_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    cases = [
        ["build", "essen-folk", "--out", str(blocker / "sub"), "--limit", "1"],  # the folder cannot be made
        ["build", "essen-folk", "--out", str(blocker)],  # a file, not a folder
        ["build", "essen-folk", "--jobs", "0", "--out", str(tmp_path / "x")],
        ["build", "essen-folk", "--split", "0.5", "0.5", "0.5", "--out", str(tmp_path / "x")],
        ["files", str(blocker)],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err, (argv, err)
    with pytest.raises(SystemExit) as exc:
        main(["build", "essen-folk", "--limit", "many"])
    assert exc.value.code == 2


def test_help_states_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status 0 when done, 2 (with 'error: ...' on stderr) for bad input" in text
