"""AppTest of the Score MIDI page: upload good + broken MIDI, per-file errors, figures, chords, downloads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

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


class _Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def _score(monkeypatch: pytest.MonkeyPatch, uploads: list[tuple[str, bytes]], reference: Path) -> AppTest:
    """Log in on the Score page, upload ``uploads`` against the reference folder and press Score."""
    import streamlit as st

    real = st.file_uploader
    # AppTest cannot drive st.file_uploader, so the page's uploader is replaced by one returning these files.
    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: [_Upload(n, d) for n, d in uploads]
                        if k.get("key") == "tl_score_upload" else real(*a, **k))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="tl_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Score MIDI"
    at.selectbox(key="tl_ref_choice").select("Folder path…").run()
    at.text_input(key="tl_ref_folder").input(str(reference)).run()
    return at.button(key="tl_score_go").click().run()


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
    uploads = [("good1.mid", _chord_midi(tmp_path / "g1.mid")), ("good2.mid", _midi_bytes(tmp_path, "g2.mid", 64)),
               ("good3.mid", _midi_bytes(tmp_path, "g3.mid", 67)), ("broken.mid", b"MThd\x00\x00\x00\x06garbage"),
               ("empty.mid", b"")]
    at = _score(monkeypatch, uploads, reference)
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


def test_pieces_of_the_reference_scored_as_an_upload_are_flagged_with_n_and_ci(
        app_env: dict[str, str], reference: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four files of the reference itself, one re-saved at another tempo: the page shows n and the interval
    of the classifier test and says the set is too small and duplicates the reference."""
    from evaluation import read_midi, write_midi

    files = sorted(reference.glob("*.mid"))[:4]
    uploads = [(f.name, f.read_bytes()) for f in files[:3]]
    slower = dataclasses.replace(read_midi(files[3]), tempos=np.array([[0.0, 90.0]]))
    uploads.append(("resaved.mid", write_midi(slower, reference.parent / "resaved.mid").read_bytes()))
    at = _score(monkeypatch, uploads, reference)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["set", "pieces per set", "predictions", "accuracy", "95% CI", "p (accuracy > 0.5)"]
    assert table.loc[0, "pieces per set"] == 4 and table.loc[0, "predictions"] == 8
    assert table.loc[0, "95% CI"].startswith("[")
    warnings = [w.value for w in at.warning]
    assert any("only 4 pieces per set in the classifier test" in w and "at least 20 pieces" in w for w in warnings)
    assert any("4 uploaded file(s) have the same notes as pieces of the reference" in w for w in warnings)


def test_min_pieces_and_fingerprints_by_hand() -> None:
    from app_pages.score_checks import min_pieces_per_set, note_fingerprint, wilson_half_width

    # Wilson half width at 0.5: 1.96 / (1 + 1.96^2 / N) * sqrt(0.25 / N + 1.96^2 / (4 N^2))
    assert wilson_half_width(20, 40) == pytest.approx(0.1480, abs=1e-4)
    assert wilson_half_width(19, 38) == pytest.approx(0.1515, abs=1e-4)
    assert min_pieces_per_set() == 20 and min_pieces_per_set(0.3) == 4  # (4, 8): 0.285; (3, 6): 0.312
    a = note_fingerprint([60, 64], [0.0, 1.0], [1.0, 2.0])
    assert a == note_fingerprint([64, 60], [1.0, 0.0], [2.0, 1.0])  # note order does not matter
    assert a != note_fingerprint([60, 65], [0.0, 1.0], [1.0, 2.0])
