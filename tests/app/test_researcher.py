"""AppTest of the router and the researcher pages: login gate, studies, results."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studies import engine
from tests.app.conftest import PASSWORD
from tunelab.testing.study_fixture import MODEL, make_study, write_midi, write_study

ROOT = Path(__file__).resolve().parents[2]
ROUTER = str(ROOT / "streamlit_app.py")
PAGES = ROOT / "app_pages"


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / name), default_timeout=30)


def _login(at: AppTest, password: str = PASSWORD) -> AppTest:
    at.text_input(key="tl_password").input(password)
    at.button[0].click()  # the form's submit button
    return at.run()


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.title, *at.markdown, *at.caption, *at.info, *at.warning,
                                            *at.error, *at.success])


def _answer_all(code: str, url: str, external_id: str, answer: str) -> None:
    session = engine.start_or_resume(code, external_id, url)
    while (view := engine.current_trial(session.participant_id, url)) is not None:
        engine.submit_answer(session.participant_id, view.position, answer, db=url)
    engine.completion_code(session.participant_id, url)  # as the finished page does


@pytest.mark.parametrize("page", ["studies.py", "results.py", "score.py", "generate.py"])
def test_wrong_password_sees_nothing(app_env: dict[str, str], page: str) -> None:
    at = _page(page).run()
    assert at.title[0].value == "Researcher login"
    _login(at, "not the password")
    assert "Wrong password" in at.error[0].value
    assert not at.dataframe and not at.get("plotly_chart") and not at.selectbox and not at.get("file_uploader")
    assert at.title[0].value == "Researcher login" and len(at.title) == 1


def test_without_configured_password_pages_explain_and_show_nothing(app_env: dict[str, str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNELAB_ADMIN_PASSWORD")
    at = _page("results.py").run()
    assert "No researcher password is set" in at.warning[0].value
    assert "TUNELAB_ADMIN_PASSWORD" in _texts(at)
    assert not at.text_input and not at.dataframe and not at.selectbox


def test_router_adds_researcher_pages_only_after_login(app_env: dict[str, str]) -> None:
    at = AppTest.from_file(ROUTER, default_timeout=30).run()
    assert not at.exception
    assert "study link" in at.info[0].value  # default page: participant, no study in the URL
    with pytest.raises(ValueError, match="Known pages"):  # not registered in st.navigation before login
        at.switch_page(str(PAGES / "results.py"))
    at.switch_page(str(PAGES / "login.py")).run()
    _login(at)
    assert at.session_state["tl_admin"] is True
    at.switch_page(str(PAGES / "results.py")).run()
    assert not at.exception
    assert at.title[0].value == "Results"


def test_results_page_shows_statistics_and_export(app_env: dict[str, str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'results.db'}"
    code = make_study(tmp_path, url, trials=4, clip_seconds=1.0)
    _answer_all(code, url, "r1", "human")
    _answer_all(code, url, "r2", "computer")
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    at = _page("results.py").run()
    _login(at)
    assert not at.exception
    assert at.title[0].value == "Results"
    assert "8 answers stored" in _texts(at)
    assert len(at.get("plotly_chart")) >= 3  # confusion matrix, per model, per group, per participant
    metrics = at.dataframe[0].value
    acc = metrics.loc[metrics["metric"] == "accuracy", "value"].iloc[0]
    assert acc == "0.500"  # one participant always right on human, the other on computer → 4/8
    per_part = at.dataframe[1].value
    assert sorted(per_part["accuracy"]) == [0.5, 0.5]
    assert sorted(per_part["external_id"]) == ["r1", "r2"]  # the ids a researcher pays by
    assert per_part["completion_code"].notna().all()
    assert [m.label for m in at.metric][0] == "Accuracy"
    assert at.get("download_button")  # CSV + JSON exports
    assert MODEL in at.get("plotly_chart")[1].proto.spec  # the per-model bar names the model (researcher view)


def test_studies_page_creates_closes_and_links(app_env: dict[str, str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'create.db'}"
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    monkeypatch.setenv("TUNELAB_MEDIA_DIR", str(tmp_path / "media"))
    spec = write_study(tmp_path / "src", trials=4, clip_seconds=1.0, title="Created from the page")
    at = _page("studies.py").run()
    _login(at)
    assert not at.exception and at.title[0].value == "Studies"
    at.text_input(key="tl_spec_path").input(str(spec))
    at.button(key="tl_create_file").click().run()
    assert not at.exception
    assert "Study created" in at.success[0].value
    [study] = engine.list_studies(url)
    assert study["title"] == "Created from the page" and study["status"] == "open"
    code = study["code"]
    assert any(f"?study={code}&PROLIFIC_PID=" in c.value for c in at.code)
    at.button(key="tl_close").click().run()
    assert engine.list_studies(url)[0]["status"] == "closed"
    with pytest.raises(Exception, match="closed"):
        engine.start_or_resume(code, "late", url)


def test_studies_page_reports_a_bad_study_file(app_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\n', encoding="utf-8")
    at = _page("studies.py").run()
    _login(at)
    at.text_input(key="tl_spec_path").input(str(bad))
    at.button(key="tl_create_file").click().run()
    assert "was not created" in at.error[0].value and "bad.toml" in at.error[0].value


def test_studies_page_creates_a_study_from_uploaded_midi(app_env: dict[str, str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.delta_generator import DeltaGenerator

    url = f"sqlite:///{tmp_path / 'upload.db'}"
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    monkeypatch.setenv("TUNELAB_MEDIA_DIR", str(tmp_path / "media"))
    src = tmp_path / "src"
    src.mkdir()

    class Fake:
        def __init__(self, name: str, root: int) -> None:
            self.name = name
            self._data = write_midi(src / name, root).read_bytes()
            self.size = len(self._data)

        def getvalue(self) -> bytes:
            return self._data

    files = {"Human MIDI files": [Fake(f"h{i}.mid", 60 + i) for i in range(3)],
             "Computer MIDI files": [Fake(f"c{i}.mid", 64 + i) for i in range(3)]}
    real = DeltaGenerator.file_uploader
    # AppTest cannot drive st.file_uploader: the two uploaders of the form return these files instead.
    monkeypatch.setattr(DeltaGenerator, "file_uploader",
                        lambda self, label, *a, **k: files[label] if label in files else real(self, label, *a, **k))
    at = _page("studies.py").run()
    _login(at)
    at.number_input(key="tl_up_trials").set_value(4)
    at.number_input(key="tl_up_clip").set_value(1.0)
    at.number_input(key="tl_up_attention").set_value(0)
    at.text_input(key="tl_up_model").input("MODEL_uploaded_gru")
    at.button(key="tl_up_create").click().run()
    assert not at.exception
    assert "Study created" in at.success[0].value, [e.value for e in at.error]
    [study] = engine.list_studies(url)
    spec = engine.study_spec(study["code"], url)
    assert [(s.kind, s.model, len(s.files())) for s in spec.stimulus_sets] == [("human", "", 3),
                                                                             ("computer", "MODEL_uploaded_gru", 3)]
    assert spec.trials_per_participant == 4 and spec.clip_seconds == 1.0


def test_generate_page_after_login(app_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_RUNS_DIR", str(tmp_path))  # no runs: the page says how to train one
    at = _page("generate.py").run()
    _login(at)
    assert at.title[0].value == "Generate music"
    assert "python -m generation train" in at.info[0].value  # tests/app/test_generate.py covers the rest


def test_password_from_streamlit_secrets(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from app_pages import auth, common

    monkeypatch.delenv("TUNELAB_ADMIN_PASSWORD")
    # no waiting after a wrong password here (throttling has its own tests)
    monkeypatch.setattr(common, "_THROTTLE", auth.LoginThrottle(auth.ThrottlePolicy(base_delay_seconds=0.0)))
    at = _page("results.py")
    at.secrets["admin_password"] = "from-secrets"
    at.run()
    _login(at, PASSWORD)  # the env password no longer counts
    assert "Wrong password" in at.error[0].value
    _login(at, "from-secrets")
    assert at.title[0].value == "Results"


def _answer_ab(code: str, url: str, external_id: str, choice: str, pass_checks: bool) -> None:
    session = engine.start_or_resume(code, external_id, url)
    while (view := engine.current_trial(session.participant_id, url)) is not None:
        answer = choice
        if view.prompt.startswith("Attention check"):
            expected = view.prompt.split("“")[1].rstrip("”.")
            answer = expected if pass_checks else {"A": "B", "B": "A"}[expected]
        engine.submit_answer(session.participant_id, view.position, answer, db=url)
    engine.completion_code(session.participant_id, url)


def test_results_page_and_report_share_one_statistics_path(app_env: dict[str, str], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An A/B study where one participant failed the attention check: the page leaves them out, as the CLI
    report does (the page used to compute preference statistics on every answer)."""
    import json

    from studies.__main__ import main as studies_cli
    from studies.results import study_statistics

    url = f"sqlite:///{tmp_path / 'ab.db'}"
    code = make_study(tmp_path, url, n_per_set=4, trials=4, clip_seconds=1.0, test_type="ab-preference",
                      attention_checks=1)
    _answer_ab(code, url, "careful-1", "A", pass_checks=True)
    _answer_ab(code, url, "careful-2", "A", pass_checks=True)
    _answer_ab(code, url, "careless", "B", pass_checks=False)
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    at = _page("results.py").run()
    _login(at)
    assert not at.exception
    shown = json.loads(at.json[0].value)
    assert shown["exclusions"]["n_excluded"] == 1 and shown["n_trials"] == 8  # 2 participants x 4 pairs
    assert "Excluded participants: 1" in _texts(at)
    assert studies_cli(["report", code, "--db", url, "--out", str(tmp_path / "report")]) == 0
    reported = json.loads((tmp_path / "report" / "stats.json").read_text())
    assert shown == reported == json.loads(json.dumps(study_statistics(code, url)))
    at.checkbox(key="tl_exclude").uncheck().run()  # the researcher can include them on purpose
    assert json.loads(at.json[0].value)["n_trials"] == 12


class _Upload:
    """What st.file_uploader returns for one file (name, size, bytes)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data, self.size = name, data, len(data)

    def getvalue(self) -> bytes:
        return self._data


def _fake_uploaders(monkeypatch: pytest.MonkeyPatch, files: dict[str, list[_Upload]]) -> None:
    from streamlit.delta_generator import DeltaGenerator

    real = DeltaGenerator.file_uploader
    # AppTest cannot drive st.file_uploader: the form's uploaders return these files instead.
    monkeypatch.setattr(DeltaGenerator, "file_uploader",
                        lambda self, label, *a, **k: files[label] if label in files else real(self, label, *a, **k))


def test_after_creating_a_study_the_link_shown_is_the_new_one(app_env: dict[str, str], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    monkeypatch.setenv("TUNELAB_MEDIA_DIR", str(tmp_path / "media"))
    first = write_study(tmp_path / "first", trials=4, clip_seconds=1.0, title="First")
    second = write_study(tmp_path / "second", trials=4, clip_seconds=1.0, title="Second")
    at = _page("studies.py").run()
    _login(at)
    for spec in (first, second):
        at.text_input(key="tl_spec_path").input(str(spec))
        at.button(key="tl_create_file").click().run()
        assert not at.exception
        newest = engine.list_studies(url)[-1]["code"]
        links = [c.value for c in at.code if "?study=" in c.value]
        assert links and all(f"?study={newest}&" in link for link in links), (newest, links)
        assert at.selectbox(key="tl_manage_code").value == newest
    # the machine set of the fixture plays another instrument: the page says the sets can be told apart
    assert any("instrument (program 0) separates the sets" in w.value for w in at.warning)
    assert "program = ... in [stimuli]" in _texts(at)


def test_same_name_uploads_are_kept_apart_and_a_failed_creation_leaves_no_folder(
        app_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'up.db'}"
    media = tmp_path / "media"
    monkeypatch.setenv("TUNELAB_STUDIES_DB", url)
    monkeypatch.setenv("TUNELAB_MEDIA_DIR", str(media))
    src = tmp_path / "src"
    src.mkdir()
    uploads_root = media.parent / "study_uploads"

    def midi(name: str, root: int) -> _Upload:
        return _Upload(name, write_midi(src / f"{root}.mid", root).read_bytes())

    # two different pieces called take.mid in each set (e.g. from two folders): both must be used
    files = {"Human MIDI files": [midi("take.mid", 60), midi("take.mid", 61), midi("TAKE.mid", 62)],
             "Computer MIDI files": [midi("take.mid", 64), midi("take.mid", 65), midi("other.mid", 66)]}
    _fake_uploaders(monkeypatch, files)
    at = _page("studies.py").run()
    _login(at)
    at.number_input(key="tl_up_trials").set_value(6)
    at.number_input(key="tl_up_clip").set_value(1.0)
    at.number_input(key="tl_up_attention").set_value(0)
    at.button(key="tl_up_create").click().run()
    assert not at.exception
    assert "Study created" in at.success[0].value, [e.value for e in at.error]
    renamed = [w.value for w in at.warning if "another upload has this name" in w.value]
    assert renamed == ["take.mid: another upload has this name; kept as take_2.mid",
                       "TAKE.mid: another upload has this name; kept as TAKE_3.mid",
                       "take.mid: another upload has this name; kept as take_2.mid"]
    [study] = engine.list_studies(url)
    spec = engine.study_spec(study["code"], url)
    assert [sorted(f.name for f in s.files()) for s in spec.stimulus_sets] == [
        ["TAKE_3.mid", "take.mid", "take_2.mid"], ["other.mid", "take.mid", "take_2.mid"]]
    assert spec.stimuli == {"program": 0, "mean_velocity": 80}  # the form's normalisation defaults
    kept = sorted(p.name for p in uploads_root.iterdir())
    # a creation that fails (every computer file is broken) leaves no upload folder and no media behind
    files["Computer MIDI files"] = [_Upload("bad.mid", b"MThd\x00\x00\x00\x06broken"), _Upload("x.mid", b"")]
    before = sorted(p.name for p in media.iterdir())
    at.button(key="tl_up_create").click().run()
    assert not at.exception and "was not created" in at.error[0].value
    assert sorted(p.name for p in uploads_root.iterdir()) == kept
    assert sorted(p.name for p in media.iterdir()) == before
    assert len(engine.list_studies(url)) == 1
