"""Every command line gives bad input the same answer: exit status 2, one `error: ...` line, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tunelab import EXIT_BAD_INPUT

MISSING = "/nonexistent/folder"


def _bad_inputs(tmp: Path) -> list[list[str]]:
    text = tmp / "notes.mid"
    text.write_text("not a MIDI file", encoding="utf-8")
    study = tmp / "study.toml"
    study.write_text('title = "x"\ntest_type = "no-such-test"\n', encoding="utf-8")
    return [
        ["data", "build", "no-such-corpus"],
        ["data", "files", MISSING],
        ["evaluation", "score", "--reference", MISSING, "--generated", f"x={MISSING}", "--out", str(tmp / "r")],
        ["evaluation", "features", str(text)],
        ["evaluation", "chords", str(text)],
        ["studies", "create", str(study), "--db", f"sqlite:///{tmp / 's.db'}"],
        ["studies", "report", "NOSUCHSTUDY", "--db", f"sqlite:///{tmp / 's.db'}", "--out", str(tmp / "rep")],
        ["studies", "stats", "--responses", str(tmp / "missing.csv"), "--out", str(tmp / "st")],
        ["generation", "markov", "--corpus", MISSING, "--out", str(tmp / "m")],
    ]


@pytest.mark.parametrize("index", range(9))
def test_bad_input_exits_2_with_one_error_line(tmp_path: Path, index: int) -> None:
    command = _bad_inputs(tmp_path)[index]
    done = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == EXIT_BAD_INPUT, (command, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert any(line.startswith("error:") or ": error:" in line for line in done.stderr.splitlines()), done.stderr


def test_usage_errors_are_2_as_well(tmp_path: Path) -> None:
    for package in ("data", "evaluation", "generation", "studies"):
        done = subprocess.run([sys.executable, "-m", package, "--no-such-option"], capture_output=True, text=True,
                              cwd=tmp_path, timeout=60)
        assert done.returncode == EXIT_BAD_INPUT, package
