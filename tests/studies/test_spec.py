from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from studies.errors import StudyError
from studies.spec import load_spec, spec_from_stored, spec_to_dict

TOML = """
title = "Chorales"
consent = "I agree."
instructions = "Listen."
test_type = "{test_type}"
trials_per_participant = {trials}
clip_seconds = 2
attention_checks = 1
seed = 5
{extra}

[[stimulus_sets]]
name = "bach"
kind = "human"
group = "chorale"
folder = "{human_folder}"

[[stimulus_sets]]
name = "lstm"
kind = "computer"
group = "chorale"
folder = "gen"
"""


def _files(folder: Path, n: int, suffix: str = ".mid") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"f{i}{suffix}").write_bytes(b"MThd")


def write_study(
    tmp_path: Path,
    test_type: str = "turing",
    trials: int = 4,
    extra: str = "",
    human_folder: str = "hum",
    n_human: int = 3,
    n_computer: int = 3,
) -> Path:
    _files(tmp_path / "hum", n_human)
    _files(tmp_path / "gen", n_computer, ".wav")
    (tmp_path / "gen" / "notes.txt").write_text("not a stimulus")
    path = tmp_path / "study.toml"
    path.write_text(TOML.format(test_type=test_type, trials=trials, extra=extra, human_folder=human_folder))
    return path


def test_toml_loads_with_defaults_and_resolved_folders(tmp_path):
    spec = load_spec(write_study(tmp_path))
    assert spec.test_type == "turing"
    assert spec.trials_per_participant == 4 and spec.attention_checks == 1 and spec.seed == 5
    assert spec.clip_seconds == 2.0 and spec.require_full_playback is True and spec.practice_trials == 0
    assert spec.allow_confidence is False
    human, computer = spec.stimulus_sets
    assert human.folder == (tmp_path / "hum").resolve() and human.model == ""
    assert computer.model == "lstm"  # defaults to the set name for computer sets
    assert [p.name for p in computer.files()] == ["f0.wav", "f1.wav", "f2.wav"]  # notes.txt ignored
    assert spec.total_trials == 5


def test_yaml_gives_the_same_spec_and_dict_round_trips(tmp_path):
    spec = load_spec(write_study(tmp_path))
    data = spec_to_dict(spec)
    data.pop("source")
    for s in data["stimulus_sets"]:
        s["folder"] = Path(s["folder"]).name
        s.pop("model") if s["kind"] == "human" else None
    ypath = tmp_path / "study.yaml"
    ypath.write_text(yaml.safe_dump(data))
    yspec = load_spec(ypath)
    assert yspec.stimulus_sets == spec.stimulus_sets
    assert yspec.trials_per_participant == spec.trials_per_participant
    assert spec_from_stored(spec_to_dict(spec)) == spec


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"test_type": "mushra"},
            r"study\.toml: field 'test_type': unknown test type 'mushra'.*turing, ab-preference",
        ),
        ({"human_folder": "nowhere"}, r"field 'stimulus_sets\[0\]\.folder': folder .*nowhere does not exist"),
        ({"trials": 9}, r"'trials_per_participant': 9 trials but only 6 stimuli exist; lower it to ≤ 6"),
        ({"trials": 8, "n_human": 2, "n_computer": 6}, r"need 4 human and 4 computer"),
        ({"test_type": "ab-preference", "trials": 4}, r"4 pairs need 4 human and 4 computer.*≤ 3"),
        (
            {"extra": "allow_confidence = true", "test_type": "rating"},
            r"'allow_confidence'.*only exist in turing",
        ),
        ({"extra": "colour = 3"}, r"field 'colour': unknown field"),
        ({"extra": "attention_checks = -1"}, r"cannot parse study file .*fix the syntax"),  # duplicate key
        ({"extra": "practice_trials = -2"}, r"'practice_trials': -2 is not an integer ≥ 0"),
        ({"extra": 'require_full_playback = "yes"'}, r"'require_full_playback'.*use true or false"),
        ({"trials": 0}, r"'trials_per_participant': 0 is not an integer ≥ 1"),
    ],
)
def test_bad_study_files_name_file_field_and_fix(tmp_path, kwargs, pattern):
    with pytest.raises(StudyError, match=pattern) as info:
        load_spec(write_study(tmp_path, **kwargs))
    assert "study.toml" in str(info.value)


def test_turing_without_human_set_is_refused(tmp_path):
    path = write_study(tmp_path)
    text = path.read_text().replace('kind = "human"', 'kind = "computer"')
    path.write_text(text)
    with pytest.raises(StudyError, match=r"'stimulus_sets': no human set.*kind = \"human\""):
        load_spec(path)


def test_rating_study_may_have_only_computer_sets(tmp_path):
    path = write_study(tmp_path, test_type="rating")
    path.write_text(path.read_text().replace('kind = "human"', 'kind = "computer"'))
    spec = load_spec(path)
    assert {s.kind for s in spec.stimulus_sets} == {"computer"}
    assert spec.stimulus_sets[0].model == "bach"


def test_empty_folder_bad_kind_and_missing_file(tmp_path):
    path = write_study(tmp_path)
    (tmp_path / "empty").mkdir()
    path.write_text(path.read_text().replace('folder = "hum"', 'folder = "empty"'))
    with pytest.raises(StudyError, match=r"holds no stimulus files; put files ending in \.mid"):
        load_spec(path)
    path.write_text(path.read_text().replace('kind = "human"', 'kind = "robot"'))
    with pytest.raises(StudyError, match=r"'stimulus_sets\[0\]\.kind': 'robot'.*use 'human' or 'computer'"):
        load_spec(path)
    with pytest.raises(StudyError, match=r"missing\.toml: study file not found"):
        load_spec(tmp_path / "missing.toml")
    (tmp_path / "study.json").write_text("{}")
    with pytest.raises(StudyError, match=r"unknown study file type '\.json'; use \.toml, \.yaml"):
        load_spec(tmp_path / "study.json")


def test_stimuli_table_sets_clip_settings_with_paths_relative_to_the_study(tmp_path):
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "piano.sf2").write_bytes(b"sfbk")
    extra = '[stimuli]\nsoundfont = "fonts/piano.sf2"\ntarget_lufs = -20.0\naudio_format = "ogg"'
    spec = load_spec(write_study(tmp_path, extra=extra))
    assert spec.stimuli == {"soundfont": str((tmp_path / "fonts" / "piano.sf2").resolve()),
                            "target_lufs": -20.0, "audio_format": "ogg"}
    assert spec_from_stored(spec_to_dict(spec)) == spec
    assert load_spec(write_study(tmp_path / "plain")).stimuli == {}


@pytest.mark.parametrize(
    ("table", "pattern"),
    [
        ('volume = 3', r"field 'stimuli': unknown clip setting\(s\) \['volume'\]"),
        ('clip_seconds = 5', r"field 'stimuli\.clip_seconds': clip length is set at the top"),
        ('audio_format = "wav"', r"field 'stimuli': bad clip settings: audio_format='wav'"),
        ('soundfont = "none.sf2"', r"field 'stimuli\.soundfont': .*none\.sf2 does not exist"),
        ('fade_seconds = "long"', r"field 'stimuli': .*fix the \[stimuli\] table"),
    ],
)
def test_bad_stimuli_table_is_refused(tmp_path, table, pattern):
    with pytest.raises(StudyError, match=pattern):
        load_spec(write_study(tmp_path, extra=f"[stimuli]\n{table}"))
