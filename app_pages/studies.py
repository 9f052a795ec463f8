"""Studies (researcher): create a study (study file, or two uploaded MIDI folders), open/close it, copy
the participant link, watch the answer counts.

Every decision is made by :mod:`studies.engine` and :mod:`studies.cues`; this page only collects inputs and
shows results. Before a study is rendered its listener-cue table is shown, with a warning for every cue that
separates the human from the computer stimuli. Uploaded files with the same name are kept apart (renamed,
and said so); a study that fails to be created leaves no upload folder behind.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path, PurePosixPath

import pandas as pd
import streamlit as st

from app_pages.common import db, db_url, media_dir, require_admin
from studies import engine
from studies.errors import StudyError
from tunelab import UploadLimits, is_midi_name

LIMITS = UploadLimits()


def _uploads_root() -> Path:
    """Where uploaded MIDI folders and generated study files are kept (next to the media folder)."""
    base = media_dir().expanduser().resolve()
    return base.parent / "study_uploads"


def _toml_str(text: str) -> str:
    """A TOML basic string (quotes, backslashes and newlines escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{escaped}"'


def study_toml(*, title: str, consent: str, instructions: str, trials: int, clip_seconds: float,
               require_full: bool, allow_confidence: bool, attention_checks: int, practice_trials: int,
               human: tuple[str, str, str], computer: tuple[str, str, str, str], seed: int,
               stimuli: dict | None = None) -> str:
    """Text of a turing study file. ``human`` = (name, group, folder); ``computer`` = (name, group, model, folder);
    ``stimuli``: the ``[stimuli]`` table (e.g. program, mean_velocity, tempo_bpm), numbers only."""
    lines = [
        f"title = {_toml_str(title)}", f"consent = {_toml_str(consent)}",
        f"instructions = {_toml_str(instructions)}", 'test_type = "turing"',
        f"allow_confidence = {str(allow_confidence).lower()}", f"trials_per_participant = {int(trials)}",
        f"clip_seconds = {float(clip_seconds)}", f"attention_checks = {int(attention_checks)}",
        f"practice_trials = {int(practice_trials)}", f"seed = {int(seed)}",
        f"require_full_playback = {str(require_full).lower()}", "",
        "[[stimulus_sets]]", f"name = {_toml_str(human[0])}", 'kind = "human"', f"group = {_toml_str(human[1])}",
        f"folder = {_toml_str(human[2])}", "",
        "[[stimulus_sets]]", f"name = {_toml_str(computer[0])}", 'kind = "computer"',
        f"group = {_toml_str(computer[1])}", f"model = {_toml_str(computer[2])}", f"folder = {_toml_str(computer[3])}",
    ]
    if stimuli:
        lines += ["", "[stimuli]"] + [f"{key} = {value!r}" for key, value in stimuli.items()]
    return "\n".join(lines) + "\n"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``stem_2.mid``, ``stem_3.mid``, ...: the first not in ``taken`` (compared ignoring case, as the
    file systems of Windows and macOS do)."""
    path = PurePosixPath(name)
    lowered = {t.lower() for t in taken}
    candidate, k = name, 1
    while candidate.lower() in lowered:
        k += 1
        candidate = f"{path.stem}_{k}{path.suffix}"
    return candidate


def _save_midi_uploads(files: list, folder: Path) -> list[str]:
    """Write uploaded .mid/.midi files into ``folder``; return one message per refused or renamed file.

    Two uploads with the same name are both kept: the later one is renamed (``name_2.mid``) and reported.
    """
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    if len(files) > LIMITS.max_files:
        problems.append(f"{len(files)} files: only the first {LIMITS.max_files} are used")
    taken: set[str] = set()
    for f in files[:LIMITS.max_files]:
        name = Path(f.name).name
        if not is_midi_name(name):
            problems.append(f"{name}: not a .mid/.midi file; skipped")
            continue
        data = f.getvalue()
        if len(data) > LIMITS.max_file_bytes:
            problems.append(f"{name}: {len(data) / 2**20:.1f} MB is over the {LIMITS.max_file_bytes / 2**20:g} MB "
                            "limit; skipped")
            continue
        stored = unique_name(name, taken)
        if stored != name:
            problems.append(f"{name}: another upload has this name; kept as {stored}")
        taken.add(stored)
        (folder / stored).write_bytes(data)
    return problems


def _show_cues(spec_path: Path) -> None:
    """The listener-cue table of a study file, and a warning per cue that separates its sets."""
    from studies.cues import study_cues
    from studies.spec import load_spec

    report = study_cues(load_spec(spec_path))
    for text in report.warnings():
        st.warning(text)
    with st.expander("Listener cues besides the composition (human vs computer)", expanded=bool(report.separating)):
        st.dataframe(pd.DataFrame([r.to_dict() for r in report.rows]), hide_index=True, width="stretch")
        st.caption("Rule: " + report.to_dict()["rule"])


def _create(spec_path: Path, cleanup: Path | None = None) -> str | None:
    """Show the cue table, run engine.create_study with a progress bar and report the outcome; return the code.

    ``cleanup``: a folder made for this study (uploads), removed when the study is not created.
    """
    bar = st.progress(0.0, text="Rendering clips…")

    def on_progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Rendering clips: {done} of {total}")

    try:
        _show_cues(spec_path)
        code = engine.create_study(spec_path, db_url=db(), media_dir=media_dir(), jobs=1,
                                   on_progress=on_progress, progress=False)
    except BaseException as exc:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        if not isinstance(exc, StudyError):
            raise
        bar.empty()
        st.error(f"The study was not created: {exc}")
        return None
    bar.progress(1.0, text="Done")
    st.session_state["tl_manage_code"] = code  # the link shown below is the new study's
    st.success(f"Study created: code `{code}` (open; share the participant link below).")
    return code


def _from_file() -> None:
    st.caption("A study file (TOML/YAML) with relative folders resolved against the file's own folder.")
    path = st.text_input("Study file path on the server", key="tl_spec_path", placeholder="studies/my_study.toml")
    upload = st.file_uploader("…or upload a study file (its folders must then be absolute paths)",
                              type=["toml", "yaml", "yml"], key="tl_spec_upload")
    if st.button("Create study from file", key="tl_create_file", type="primary"):
        folder = None
        if upload is not None:
            folder = _uploads_root() / secrets.token_hex(6)
            folder.mkdir(parents=True, exist_ok=True)
            spec_path = folder / Path(upload.name).name
            spec_path.write_bytes(upload.getvalue())
        elif path.strip():
            spec_path = Path(path.strip()).expanduser()
        else:
            st.error("Give a study file path or upload a study file.")
            return
        _create(spec_path, cleanup=folder)


def _from_uploads() -> None:
    st.caption("Two folders of MIDI files: music made by people and music made by a model (a turing test).")
    with st.form("tl_upload_study"):
        title = st.text_input("Title", "Human or computer?")
        consent = st.text_area("Consent text", "By continuing you agree that your participant id (e.g. your "
                                                "Prolific id), your answers and how you played the clips are "
                                                "stored for research.")
        instructions = st.text_area("Instructions", "Listen to each clip to the end, then say whether a "
                                                    "person or a computer composed it.")
        c1, c2, c3 = st.columns(3)
        trials = c1.number_input("Trials per participant", 2, 500, 20, key="tl_up_trials")
        clip_seconds = c2.number_input("Clip length (s)", 1.0, 120.0, 15.0, step=1.0, key="tl_up_clip")
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0)
        c4, c5 = st.columns(2)
        attention = c4.number_input("Attention checks", 0, 20, 1, key="tl_up_attention")
        practice = c5.number_input("Practice trials", 0, 10, 0)
        require_full = st.checkbox("Answers only after the clip played to the end", True)
        allow_conf = st.checkbox("Ask for confidence (1–5)", False)
        h1, h2 = st.columns(2)
        human_name = h1.text_input("Human set name", "human", key="tl_up_human_name")
        human_files = h1.file_uploader("Human MIDI files", type=["mid", "midi"], accept_multiple_files=True)
        comp_name = h2.text_input("Computer set name", "model")
        comp_model = h2.text_input("Model name", "lstm", key="tl_up_model")
        comp_files = h2.file_uploader("Computer MIDI files", type=["mid", "midi"], accept_multiple_files=True)
        group = st.text_input("Group (genre) of both sets", "all")
        st.caption("Make the sets sound alike apart from the music (MIDI stimuli):")
        n1, n2, n3 = st.columns(3)
        one_program = n1.checkbox("One instrument (piano) for all", True, key="tl_up_program")
        one_velocity = n2.checkbox("One velocity scale (mean 80)", True, key="tl_up_velocity")
        one_tempo = n3.checkbox("One tempo for all", False, key="tl_up_tempo")
        tempo = n3.number_input("Tempo (quarter notes per minute)", 20, 400, 100, key="tl_up_tempo_bpm")
        submitted = st.form_submit_button("Create study", type="primary", key="tl_up_create")
    if not submitted:
        return
    if not human_files or not comp_files:
        st.error("Upload at least one human and one computer MIDI file.")
        return
    folder = _uploads_root() / secrets.token_hex(6)
    problems = _save_midi_uploads(human_files, folder / "human") + _save_midi_uploads(comp_files, folder / "computer")
    for p in problems:
        st.warning(p)
    stimuli = {key: value for key, value, on in (("program", 0, one_program), ("mean_velocity", 80, one_velocity),
                                                 ("tempo_bpm", float(tempo), one_tempo)) if on}
    spec_path = folder / "study.toml"
    spec_path.write_text(study_toml(
        title=title, consent=consent, instructions=instructions, trials=trials, clip_seconds=clip_seconds,
        require_full=require_full, allow_confidence=allow_conf, attention_checks=attention,
        practice_trials=practice, human=(human_name, group, "human"),
        computer=(comp_name, group, comp_model, "computer"), seed=seed, stimuli=stimuli), encoding="utf-8")
    _create(spec_path, cleanup=folder)


def _base_url() -> str:
    try:
        url = st.context.url or ""
    except Exception:
        url = ""
    if not url:
        return "http://localhost:8501/"
    return url.split("?")[0].rsplit("/", 1)[0] + "/"


@st.fragment(run_every="10s")
def _overview() -> None:
    rows = engine.list_studies(db())
    if not rows:
        st.info("No studies yet. Create one above.")
        return
    table = []
    for r in rows:
        counts = engine.progress(r["code"], db())
        table.append({"code": r["code"], "title": r["title"], "status": r["status"],
                      "started": counts["started"], "completed": counts["completed"], "answers": counts["answers"],
                      "created": r["created"]})
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    st.caption("Counts refresh every 10 s.")


def _manage() -> None:
    rows = engine.list_studies(db())
    if not rows:
        return
    codes = [r["code"] for r in rows]
    titles = {r["code"]: f"{r['code']} – {r['title']} ({r['status']})" for r in rows}
    if st.session_state.get("tl_manage_code") not in codes:  # first visit, or a study that is gone
        st.session_state["tl_manage_code"] = codes[-1]
    code = st.selectbox("Study", codes, format_func=titles.get, key="tl_manage_code")
    status = next(r["status"] for r in rows if r["code"] == code)
    link = f"{_base_url()}?study={code}&PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
    st.markdown("Participant link (copy with the button at its right; Prolific fills in the id):")
    st.code(link, language=None)
    c1, c2 = st.columns(2)
    if c1.button("Open study", key="tl_open", disabled=status == "open"):
        engine.open_study(code, db())
        st.rerun()
    if c2.button("Close study", key="tl_close", disabled=status == "closed"):
        engine.close_study(code, db())
        st.rerun()


def _shown_url() -> str:
    from sqlalchemy.engine import make_url

    url = db_url()
    return "data/studies.db (default)" if not url else make_url(url).render_as_string(hide_password=True)


def main() -> None:
    require_admin()
    st.title("Studies")
    st.caption(f"Database: `{_shown_url()}`")
    with st.expander("Create a study", expanded=not engine.list_studies(db())):
        tab_file, tab_upload = st.tabs(["From a study file", "From MIDI uploads"])
        with tab_file:
            _from_file()
        with tab_upload:
            _from_uploads()
    st.subheader("Your studies")
    _overview()
    _manage()


main()
