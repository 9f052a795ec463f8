"""``python -m studies``: create → participants → export → report on a tiny rendered study."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from studies import engine as E
from studies import results as R
from studies import storage
from studies.__main__ import build_parser, main
from tunelab.testing.study_fixture import study_toml_text

REPO = Path(__file__).resolve().parents[2]


def write_toml(path: Path, data: dict) -> Path:
    path.write_text(study_toml_text(data))
    return path


def test_create_export_report(db_url, tmp_path, capsys, make_study_dict):
    data = make_study_dict(
        tmp_path,
        {"bach": ("human", "chorale", 4), "lstm": ("computer", "chorale", 4)},
        attention_checks=1,
        allow_confidence=True,
    )
    study = write_toml(tmp_path / "study.toml", data)
    media = tmp_path / "media"
    assert main(["create", str(study), "--db", db_url, "--media", str(media), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    code = out.split("study code: ")[1].split()[0]
    assert f"participant link: /?study={code}" in out
    clips = sorted((media / code).iterdir())
    assert len(clips) == 8 and all(c.suffix == ".mp3" and c.stat().st_size > 1000 for c in clips)
    eng = E.get_engine(db_url)
    rows = storage.study_stimuli(eng, storage.get_study(eng, code)["id"])
    assert {r["n_samples"] / r["sample_rate"] for r in rows} == {2.0}  # 2-second clips
    assert all(
        "bach" not in Path(r["audio_path"]).name and "lstm" not in Path(r["audio_path"]).name for r in rows
    )
    truth = {r["id"]: r["kind"] for r in rows}

    for i, correct in enumerate([True, True, False]):  # two perfect listeners, one always wrong
        pid = E.start_or_resume(code, f"PROLIFIC_{i}", db_url).participant_id
        while (t := E.current_trial(pid, db_url)) is not None:
            right = (
                truth[t.clip_ids[0]] if "Attention" not in t.prompt else t.prompt.split("“")[1].rstrip("”.")
            )
            wrong = {"human": "computer", "computer": "human"}[right]
            E.submit_answer(pid, t.position, right if correct else wrong, confidence=3, db=db_url)
        E.completion_code(pid, db_url)

    csv = tmp_path / "export" / "responses.csv"
    att = tmp_path / "export" / "attention.csv"
    who = tmp_path / "export" / "participants.csv"
    assert main(["export", code, "--csv", str(csv), "--attention", str(att), "--participants", str(who),
                 "--db", db_url]) == 0
    participants = pd.read_csv(who)
    assert sorted(participants["external_id"]) == ["PROLIFIC_0", "PROLIFIC_1", "PROLIFIC_2"]
    assert participants["completion_code"].notna().all() and participants["answers"].tolist() == [5, 5, 5]
    df = pd.read_csv(csv)
    assert list(df.columns) == R.TURING_COLUMNS and len(df) == 12
    assert (df["truth"] == df["answer"]).sum() == 8
    assert pd.read_csv(att)["passed"].tolist() == [True, True, False]

    report = tmp_path / "report"
    assert main(["report", code, "--db", db_url, "--out", str(report)]) == 0
    assert "report written to" in capsys.readouterr().out
    stats = json.loads((report / "stats.json").read_text())
    # the always-wrong participant failed the attention check and is excluded
    assert stats["n_participants"] == 2 and stats["n_answers"] == 8 and stats["accuracy"] == 1.0
    assert stats["exclusions"]["n_excluded"] == 1
    assert "<html>" in (report / "report.html").read_text()
    assert len(pd.read_csv(report / "participants.csv")) == 3

    assert main(["stats", "--responses", str(csv)]) == 0
    assert json.loads(capsys.readouterr().out)["n_answers"] == 12

    assert main(["close", code, "--db", db_url]) == 0
    assert main(["list", "--db", db_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [(s["code"], s["status"], s["started"], s["completed"]) for s in listed] == [
        (code, "closed", 3, 3)
    ]


def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, make_study_dict):
    data = make_study_dict(
        tmp_path, {"bach": ("human", "c", 2), "lstm": ("computer", "c", 2)}, test_type="mushra"
    )
    study = write_toml(tmp_path / "study.toml", data)
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["create", str(study), "--db", db, "--media", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "unknown test type 'mushra'" in err
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())
    assert main(["export", "nope", "--csv", str(tmp_path / "x.csv"), "--db", db]) == 2
    assert "unknown study code 'nope'" in capsys.readouterr().err


def test_help_explains_every_verb_and_option():
    run = subprocess.run(
        [sys.executable, "-m", "studies", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert run.returncode == 0
    for verb in ("create", "cues", "list", "open", "close", "export", "report", "stats"):
        assert verb in run.stdout
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    for verb, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"{verb} {action.dest} has no help"
    with pytest.raises(SystemExit) as info:
        main(["create", "--help"])
    assert info.value.code == 0


@pytest.mark.parametrize("test_type", ["ab-preference", "rating"])
def test_report_of_preference_and_rating_studies(tmp_path, capsys, make_fake_study, test_type):
    db = f"sqlite:///{tmp_path / 's.db'}"
    code = make_fake_study(
        tmp_path,
        db,
        {"bach": ("human", "c", 4), "lstm": ("computer", "c", 4)},
        test_type=test_type,
        trials_per_participant=4,
    )
    for i in range(3):
        pid = E.start_or_resume(code, f"P{i}", db).participant_id
        while (t := E.current_trial(pid, db)) is not None:
            E.submit_answer(pid, t.position, "A" if test_type == "ab-preference" else 2 + i, db=db)
    assert main(["report", code, "--db", db, "--out", str(tmp_path / "r")]) == 0
    stats = json.loads((tmp_path / "r" / "stats.json").read_text())
    if test_type == "ab-preference":
        (pair,) = stats["pairs"]
        assert stats["n_trials"] == 12 and (pair["condition_1"], pair["condition_2"], pair["n"]) == (
            "computer", "human", 12)
        # always "A": the human clip was A in exactly half the pairs of each participant (counterbalanced)
        assert pair["share_1"] == 0.5 and pair["binomial_test"]["p_value"] == pytest.approx(1.0)
    else:
        assert stats["n_ratings"] == 12
        assert {c["condition"]: c["mean_rating"] for c in stats["conditions"]} == pytest.approx(
            {"human": 3.0, "lstm": 3.0})
    assert stats["exclusions"]["n_excluded"] == 0
    page = (tmp_path / "r" / "report.html").read_text()
    assert "<pre>" in page and page.count('class="plotly-graph-div"') == 1
