"""Generate (researcher): the trained runs under a folder with their metrics; samples drawn from one with the
sampling controls of ``python -m generation sample`` (:func:`generation.workflow.sample_run`) and a progress
bar; a sample's piano roll (the Score page's figure) and its sound (rendered like the study clips, through
:mod:`studies.stimuli` and FluidSynth); and the samples handed on to the Score MIDI page or into a matched
study file.

Every decision is made in :mod:`generation.workflow`, :mod:`studies.stimuli` and the Score page's own
scoring; this page only collects inputs and shows results. Samples drawn here are kept in
``<run>/app-samples/<time>/`` (MIDI, JSON per sample, samples.json), so a study can be made from them.
"""

from __future__ import annotations

import ast
import functools
import shutil
import time
import types
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from app_pages.common import require_admin

RESULT = "tl_gen_result"  # session_state: the last samples drawn on this page
PREVIEW_SECONDS = 30.0  # audio preview length


@functools.cache
def page_helpers(name: str) -> types.ModuleType:
    """The functions and constants of ``app_pages/<name>.py`` without running the page.

    Pages render themselves when their file runs (``main()`` at the bottom), so importing one would draw it
    inside this page. This runs the file's definitions only (every top-level statement but bare calls).
    TODO(lead): guard the pages' ``main()`` with ``if __name__ == "__main__":`` (Streamlit runs pages as
    ``__main__``), or move ``piano_roll`` and the scoring step to a helper module; then this becomes an import.
    """
    path = Path(__file__).with_name(f"{name}.py")
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    tree.body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))]
    module = types.ModuleType(f"app_pages._{name}_helpers")
    module.__file__ = str(path)
    exec(compile(tree, str(path), "exec"), module.__dict__)  # noqa: S102 - the project's own page file
    return module


@st.cache_data(show_spinner=False, max_entries=32)
def _preview_mp3(path: str, stamp: float) -> bytes:
    """The first PREVIEW_SECONDS of a MIDI file rendered as a study clip is (FluidSynth, loudness-normalised)."""
    from studies.stimuli import ClipSettings, encode_clip, make_clip, render_midi

    settings = ClipSettings(clip_seconds=PREVIEW_SECONDS, fade_seconds=0.2)
    audio = render_midi(Path(path), settings)
    end = min(len(audio), int(PREVIEW_SECONDS * settings.sample_rate))
    return encode_clip(make_clip(audio[:end], settings, name=Path(path).name, n_samples=end), settings)


def _runs_table(runs: list[Any]) -> None:
    rows = [run.to_row() for run in runs]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _controls(summary: Any) -> dict[str, Any]:
    """The sampling settings (SampleConfig fields) and the primer, for this run's encoding."""
    c1, c2, c3, c4 = st.columns(4)
    values: dict[str, Any] = {
        "n": int(c1.number_input("Samples", 1, 256, 4, key="tl_gen_n")),
        "steps": int(c2.number_input("Steps each", 1, 8192, 128, step=16, key="tl_gen_steps",
                                     help="Steps after the primer (tokens, or frames of the piano roll).")),
        "temperature": float(c3.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="tl_gen_temperature",
                                       help="Near 0 = always the most likely choice (argmax).")),
        "seed": int(c4.number_input("Seed", 0, 2**31 - 1, 0, key="tl_gen_seed")),
    }
    heads: dict[str, float] = {}
    piano_roll = summary.encoding in ("multilabel", "biaxial")
    with st.expander("More settings"):
        d1, d2 = st.columns(2)
        values["top_k"] = int(d1.number_input("Top-k (0 = all)", 0, 100000, 0, key="tl_gen_topk"))
        values["top_p"] = float(d2.slider("Top-p (nucleus)", 0.05, 1.0, 1.0, 0.05, key="tl_gen_topp"))
        values["tempo"] = float(d1.number_input("Tempo of the MIDI (BPM)", 20.0, 300.0, 100.0, key="tl_gen_tempo"))
        if piano_roll and d2.checkbox("Threshold the keys instead of drawing them", key="tl_gen_use_threshold"):
            values["threshold"] = float(d2.slider("Threshold", 0.05, 0.95, 0.3, 0.05, key="tl_gen_threshold"))
        if summary.encoding.startswith("notewise"):
            heads["pitch"] = float(d1.slider("Pitch temperature", 0.0, 2.0, values["temperature"], 0.05,
                                             key="tl_gen_pitch_t"))
            heads["duration"] = float(d2.slider("Duration temperature", 0.0, 2.0, values["temperature"], 0.05,
                                                key="tl_gen_duration_t"))
    primer_file = st.file_uploader("Primer (optional): the samples continue this piece",
                                   type=["mid", "midi", "abc"], key="tl_gen_primer")
    primer_abc = ""
    if summary.encoding == "abc-chars":
        primer_abc = st.text_area("…or ABC text to continue (e.g. M:6/8, K:D, then a bar)", key="tl_gen_primer_abc")
    return {"values": values, "heads": heads, "primer_file": primer_file, "primer_abc": primer_abc.strip()}


def _generate(summary: Any, controls: dict[str, Any]) -> None:
    from generation.config import SampleConfig
    from generation.errors import GenerationError
    from generation.workflow import Primer, sample_run

    out_dir = summary.path / "app-samples" / time.strftime("%Y%m%d-%H%M%S")
    primer = None
    if controls["primer_file"] is not None:
        upload = controls["primer_file"]
        path = out_dir / "primer" / Path(upload.name).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.getvalue())
        primer = Primer(path=path)
    elif controls["primer_abc"]:
        primer = Primer(abc=controls["primer_abc"])
    bar = st.progress(0.0, text="Sampling…")
    shown = {"at": -1.0}

    def on_step(done: int, total: int) -> None:
        share = min(1.0, done / max(total, 1))
        if share - shown["at"] >= 0.02 or share == 1.0:
            shown["at"] = share
            bar.progress(share, text=f"Sampling… {done} of {total} steps")

    try:
        config = SampleConfig(device="auto", **controls["values"])
        result = sample_run(summary.path, config, out_dir, primer, head_temperatures=controls["heads"] or None,
                            on_step=on_step)
    except GenerationError as error:
        bar.empty()
        st.error(str(error))
        return
    bar.empty()
    st.session_state[RESULT] = {
        "run": summary.name, "run_dir": str(summary.path), "out_dir": str(result.out_dir),
        "abc_share": result.abc_parse_share,
        "files": [{"sample": f.index, "midi": None if f.midi is None else str(f.midi), "notes": f.notes,
                   "log-likelihood (nats)": round(f.log_likelihood, 2), "steps": f.length,
                   "reached end": f.stopped_at_end, "ABC parses": f.abc_parses} for f in result.files],
    }


def _show_sample(path: Path) -> None:
    from evaluation.midi_io import MidiError, read_midi

    try:
        piece = read_midi(path)
    except MidiError as error:
        st.error(str(error))
        return
    segments: list[Any] = []
    try:
        from evaluation.chords import detect_chords
        from evaluation.harmony import estimate_key

        segments = detect_chords(piece, per="beat", key=estimate_key(piece.pitched()))
    except (ValueError, MidiError):
        segments = []
    figure = page_helpers("score").piano_roll(piece, segments, path.name)
    st.plotly_chart(figure, width="stretch", key="tl_gen_roll")
    c1, c2 = st.columns(2)
    c1.download_button("Download MIDI", path.read_bytes(), path.name, "audio/midi", key="tl_gen_download")
    if c2.button("Play (render the first 30 s)", key="tl_gen_play"):
        from studies.errors import StudyError

        try:
            st.audio(_preview_mp3(str(path), path.stat().st_mtime), format="audio/mpeg")
        except StudyError as error:
            st.warning(f"Cannot render audio here: {error}")


def _send_to_score(result: dict[str, Any], corpus: str, split: str) -> None:
    from generation.runs import read_run_info

    uploads = {Path(f["midi"]).name: Path(f["midi"]).read_bytes() for f in result["files"] if f["midi"]}
    if not uploads:
        st.error("These samples have no notes to score.")
        return
    folder = corpus or read_run_info(result["run_dir"]).get("corpus")
    if not folder:
        st.error("Give a reference corpus folder.")
        return
    page_helpers("score")._run(uploads, result["run"].replace("/", "-"), folder, None if split == "all" else split,
                               200)
    if st.session_state.get("tl_score"):
        try:
            st.switch_page("app_pages/score.py")
        except StreamlitAPIException:  # the page is not in this app's navigation (a page run on its own)
            st.success("Scored: open the Score MIDI page to see the result.")


def _human_folder(corpus: str, split: str, dest: Path) -> Path | None:
    """The human pieces of a study: ``split`` of ``corpus`` (a built corpus or a plain folder) copied into
    ``dest`` (a folder of their own: the matching reads folders whole)."""
    from data import DataError, corpus_files

    try:
        files = corpus_files(Path(corpus).expanduser(), None if split == "all" else split)
    except DataError as error:
        st.error(str(error))
        return None
    if not files:
        st.error(f"{corpus}: no MIDI files in the {split} split")
        return None
    dest.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, dest / path.name)
    return dest


def _study_from(result: dict[str, Any], corpus: str, split: str, title: str) -> None:
    """A matched study file (:func:`studies.create_from.write_matched_study`) from the samples and the human
    pieces, written beside the samples as ``<samples>-study/study.toml``."""
    from studies.create_from import write_matched_study
    from studies.errors import StudyError

    samples = Path(result["out_dir"])
    human = _human_folder(corpus, split, samples.with_name(f"{samples.name}-human-{split}"))
    if human is None:
        return
    out_path = samples.with_name(f"{samples.name}-study") / "study.toml"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = write_matched_study(human, computer={result["run"].replace("/", "-"): samples}, title=title,
                                      out_path=out_path)
    except StudyError as error:
        st.error(str(error))
        return
    path = written.path
    for warning in written.warnings:
        st.warning(warning)
    skipped = written.skipped
    if skipped:
        st.warning(f"{len(skipped)} files could not be used, e.g. {skipped[0][0]}: {skipped[0][1]}")
    st.success(f"Wrote the matched study file {path}: create the study from it on the Studies page or with "
               f"`python -m studies create {path}`.")


def _handoffs(result: dict[str, Any]) -> None:
    from generation.runs import read_run_info

    st.subheader("Use these samples")
    corpus = read_run_info(result["run_dir"]).get("corpus") or ""
    c1, c2 = st.columns([3, 1])
    reference = c1.text_input("Human pieces: a corpus or folder", corpus, key="tl_gen_reference",
                              help="The reference of the scores, and the human set of a study.")
    split = c2.selectbox("Split", ["test", "validation", "train", "all"], key="tl_gen_reference_split")
    if st.button("Score them on the Score MIDI page", key="tl_gen_score"):
        _send_to_score(result, reference.strip(), split)
    title = st.text_input("Study title", f"Human or {result['run']}?", key="tl_gen_study_title")
    if st.button("Write a matched study file (human vs these samples)", key="tl_gen_study"):
        _study_from(result, reference.strip() or corpus, split, title.strip() or "Listening study")


def main() -> None:
    require_admin()
    from generation.runs import list_runs, runs_dir

    st.title("Generate music")
    folder = st.text_input("Folder of training runs", str(runs_dir()), key="tl_gen_folder",
                           help="Runs made by `python -m generation train --out FOLDER/NAME` (or a sweep) appear "
                                "here; default: $TUNELAB_RUNS_DIR or runs/.")
    runs = list_runs(Path(folder).expanduser())
    if not runs:
        st.info(f"No trained runs in {folder}. Train one, e.g. `python -m generation train --corpus "
                "data/bach-chorales --preset chorale-frames --out runs/chorales`.")
        return
    _runs_table(runs)
    names = [run.name for run in runs]
    name = st.selectbox("Run", names, key="tl_gen_run")
    summary = runs[names.index(name)]
    st.caption(f"{summary.arch} on {summary.encoding}, {summary.epochs_run} epochs"
               + (f", trained on {summary.corpus}" if summary.corpus else "")
               + ("" if summary.finished else " (still training or stopped before the end)"))
    controls = _controls(summary)
    if st.button("Generate", key="tl_gen_go", type="primary"):
        _generate(summary, controls)
    result = st.session_state.get(RESULT)
    if not result:
        return
    files = result["files"]
    written = [f for f in files if f["midi"]]
    st.success(f"{len(files)} samples from {result['run']} in {result['out_dir']} ({len(written)} with notes"
               + ("" if result["abc_share"] is None else f"; {result['abc_share']:.0%} of the ABC parses") + ").")
    hidden = {"midi"} | ({"ABC parses"} if result["abc_share"] is None else set())
    st.dataframe(pd.DataFrame([{k: v for k, v in f.items() if k not in hidden} for f in files]), hide_index=True,
                 width="stretch")
    if written:
        chosen = st.selectbox("Sample", [f["sample"] for f in written], key="tl_gen_pick")
        _show_sample(Path(next(f["midi"] for f in written if f["sample"] == chosen)))
    _handoffs(result)


main()
