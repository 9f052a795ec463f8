"""AppTest of the Score MIDI page: upload good + broken MIDI, per-file errors, figures, chords, downloads."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.score import extract_uploads
from tests.app.conftest import PASSWORD
from tunelab.testing.study_fixture import write_midi

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "score.py")


def _midi_bytes(tmp: Path, name: str, root: int) -> bytes:
    return write_midi(tmp / name, root, seconds=4.0).read_bytes()


def _chord_midi(path: Path) -> bytes:
    """Block chords at 120 BPM, two beats each: C major, G major, A minor, F major (root position)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    piano = pretty_midi.Instrument(program=0)
    for i, chord in enumerate([(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]):
        for pitch in chord:
            piano.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=i * 1.0, end=i * 1.0 + 0.95))
    pm.instruments.append(piano)
    pm.write(str(path))
    return path.read_bytes()


def test_extract_uploads_limits_and_zip(tmp_path: Path) -> None:
    good = _midi_bytes(tmp_path, "a.mid", 60)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("set/b.mid", good)
        zf.writestr("set/readme.txt", "x")
        zf.writestr("__MACOSX/set/._b.mid", "junk")
    uploads, problems = extract_uploads([("a.mid", good), ("pack.zip", buf.getvalue()), ("notes.txt", b"x"),
                                         ("broken.zip", b"PK\x03\x04nope"), ("a.mid", good)])
    assert sorted(uploads) == ["a.mid", "a_2.mid", "set/b.mid"]
    assert [p[0] for p in problems] == ["notes.txt", "broken.zip"]
    assert "not a readable zip" in problems[1][1]


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    folder = tmp_path / "reference"
    folder.mkdir()
    for i in range(6):
        write_midi(folder / f"ref{i}.mid", 55 + i, seconds=6.0)
    return folder


def test_broken_midi_gives_a_per_file_error_and_good_files_are_scored(app_env: dict[str, str], reference: Path,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    uploads = [("good1.mid", _chord_midi(tmp_path / "g1.mid")), ("good2.mid", _midi_bytes(tmp_path, "g2.mid", 64)),
               ("good3.mid", _midi_bytes(tmp_path, "g3.mid", 67)), ("broken.mid", b"MThd\x00\x00\x00\x06garbage"),
               ("empty.mid", b"")]
    # AppTest cannot drive st.file_uploader, so the page's uploader is replaced by one returning these files.
    class Fake:
        def __init__(self, name: str, data: bytes) -> None:
            self.name, self._data = name, data

        def getvalue(self) -> bytes:
            return self._data

    real = st.file_uploader
    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: [Fake(n, d) for n, d in uploads]
                        if k.get("key") == "tl_score_upload" else real(*a, **k))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="tl_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Score MIDI"
    at.selectbox(key="tl_ref_choice").select("Folder path…").run()
    at.text_input(key="tl_ref_folder").input(str(reference)).run()
    at.button(key="tl_score_go").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("broken.mid:") for e in errors), errors
    assert any(e.startswith("empty.mid:") for e in errors), errors
    assert not any("good1.mid" in e for e in errors)
    assert "Scored 3 of 5 uploaded files against 6 reference pieces" in at.success[0].value
    assert len(at.get("plotly_chart")) >= 4  # report figures + piano roll
    assert len(at.get("download_button")) == 2
    chords = at.dataframe[-1].value
    assert list(chords["chord"][:4]) == ["C:maj", "G:maj", "A:min", "F:maj"]  # good1.mid, shown first
    roll = json.loads(at.get("plotly_chart")[-1].proto.spec)
    labels = [a["text"] for a in roll["layout"]["annotations"]]
    assert labels == ["C:maj", "G:maj", "A:min", "F:maj"]  # one label per chord change, not per beat
    assert set(at.selectbox(key="tl_chord_file").options) == {"good1.mid", "good2.mid", "good3.mid"}
