"""AppTest of the Generate page: trained runs listed with their metrics, samples drawn with the controls, the
piano roll and the audio of a sample, and the hand-offs to the Score MIDI page and to a matched study file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evaluation import read_midi
from tests.app.conftest import PASSWORD
from tunelab.testing.corpora import write_chord_cycle_corpus

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "generate.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny multilabel LSTM trained for one epoch on block-chord pieces, in a runs folder of its own."""
    from generation.config import TrainConfig
    from generation.workflow import train_from_corpus

    root = tmp_path_factory.mktemp("generate")
    corpus = write_chord_cycle_corpus(root / "corpus", {"train": [0, 2, -2, 1], "validation": [0], "test": [0, 2, -1]},
                                      beats=16)
    config = TrainConfig(arch="lstm", encoding="multilabel", encoding_options={"step": 1.0, "low": 48, "high": 83},
                         mode="many-to-many", hidden=8, window=8, batch_size=4, epochs=1, keep=1.0, device="cpu")
    train_from_corpus(corpus, config, root / "runs" / "chords", cache_dir=root / "prepared", progress=False)
    return {"runs": root / "runs", "corpus": corpus}


@pytest.fixture
def page_env(app_env: dict[str, str], trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("TUNELAB_RUNS_DIR", str(trained["runs"]))
    return trained


def _logged_in() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="tl_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Generate music"
    return at


def _generate(n: int = 2, steps: int = 6) -> AppTest:
    at = _logged_in()
    at.number_input(key="tl_gen_n").set_value(n)
    at.number_input(key="tl_gen_steps").set_value(steps)
    at.number_input(key="tl_gen_seed").set_value(3)
    at.button(key="tl_gen_go").click().run()
    assert not at.exception, at.exception
    return at


def test_runs_are_listed_with_their_metrics(page_env: dict[str, Path]) -> None:
    at = _logged_in()
    table = at.dataframe[0].value
    assert list(table["run"]) == ["chords"]
    assert list(table["encoding"]) == ["multilabel"] and list(table["epochs"]) == [1]
    assert table["best val loss"][0] > 0
    assert at.selectbox(key="tl_gen_run").value == "chords"


def test_no_runs_says_how_to_train_one(app_env: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_RUNS_DIR", str(tmp_path / "empty"))
    at = _logged_in()
    assert "No trained runs" in at.info[0].value and "python -m generation train" in at.info[0].value
    assert not at.dataframe


def test_generate_writes_the_samples_and_shows_roll_and_audio(page_env: dict[str, Path]) -> None:
    at = _generate(n=2, steps=6)
    assert "2 samples from chords" in at.success[0].value
    rows = at.dataframe[1].value
    assert list(rows["sample"]) == [0, 1] and list(rows["steps"]) == [6, 6]
    folders = sorted((page_env["runs"] / "chords" / "app-samples").iterdir())
    record = json.loads((folders[-1] / "sample_000.json").read_text())
    assert record["settings"]["seed"] == 3 and record["settings"]["steps"] == 6 and len(record["frames"]) == 6
    assert read_midi(folders[-1] / "sample_000.mid").n_notes > 0
    assert at.get("plotly_chart"), "the piano roll"
    at.button(key="tl_gen_play").click().run()
    assert not at.exception, at.exception
    audio = at.get("audio")
    assert audio and audio[0].proto.url, "the rendered preview"


def test_samples_go_to_the_score_page(page_env: dict[str, Path]) -> None:
    at = _generate(n=2, steps=6)
    at.text_input(key="tl_gen_reference").input(str(page_env["corpus"]))
    at.button(key="tl_gen_score").click().run()
    assert not at.exception, at.exception
    scored = at.session_state["tl_score"]
    assert scored["set"] == "chords" and sorted(scored["uploads"]) == ["sample_000.mid", "sample_001.mid"]
    assert len(scored["ref_rows"]) == 3  # the test split of the run's corpus
    assert "open the Score MIDI page" in at.success[-1].value


def test_study_button_writes_a_matched_study_file(page_env: dict[str, Path]) -> None:
    at = _generate(n=3, steps=12)
    at.text_input(key="tl_gen_study_title").input("Bach or LSTM?")
    at.button(key="tl_gen_study").click().run()
    assert not at.exception, at.exception
    study_files = list(page_env["runs"].glob("chords/app-samples/*-study/study.toml"))
    assert len(study_files) == 1, "one study file, beside the samples"
    study = tomllib.loads(study_files[0].read_text(encoding="utf-8"))
    assert study["title"] == "Bach or LSTM?"
    assert str(study_files[0]) in at.success[-1].value
    human = study_files[0].parent.parent / (study_files[0].parent.name.removesuffix("-study") + "-human-test")
    assert sorted(p.name for p in human.iterdir()) == ["test0.mid", "test1.mid", "test2.mid"]  # the test split
    samples = human.with_name(human.name.removesuffix("-human-test"))
    assert sorted(p.name for p in samples.glob("*.mid")) == ["sample_000.mid", "sample_001.mid", "sample_002.mid"]
    assert not human.is_relative_to(samples), "the human folder stands beside the samples (folders read whole)"
