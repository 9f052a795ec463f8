"""Score MIDI (researcher): upload MIDI files or a zip, compare them with a reference corpus
(:func:`evaluation.scoring.compare_sets`), show the classifier two-sample test with its n and 95% interval
(and warnings when a set is too small for it, or holds pieces of the reference: :mod:`app_pages.score_checks`),
the report figures (:func:`evaluation.report.figures`), chords (:func:`evaluation.harmony` /
:func:`evaluation.chords.detect_chords`) over a piano roll, and download summary.json / features.csv
(formula-escaped).

Uploads are unpacked by :func:`app_pages.uploads.extract_uploads` within :class:`tunelab.UploadLimits`
(files per upload, bytes per file, bytes unpacked from zips, counted as they are decompressed).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.common import require_admin
from app_pages.score_checks import classifier_table, note_fingerprint, score_warnings
from app_pages.uploads import extract_uploads
from tunelab import UploadLimits, data_dir

LIMITS = UploadLimits()
MAX_ROLL_NOTES = 3000  # piano roll draws at most this many notes
ROLL_WINDOW_S = 12.0  # seconds of the piano roll shown at first


def built_corpora() -> dict[str, Path]:
    """Corpora built under ``data/<name>/`` (folders with a manifest.json), by name."""
    if not data_dir().is_dir():
        return {}
    return {p.name: p for p in sorted(data_dir().iterdir()) if (p / "manifest.json").is_file()}


@st.cache_data(show_spinner=False, max_entries=8)
def _reference_rows(folder: str, split: str | None, limit: int, stamp: float) -> tuple[list[dict], list]:
    """Feature rows of a reference corpus (cached per folder, split, limit and manifest time)."""
    from data.build import corpus_files
    from evaluation.scoring import score_files

    files = corpus_files(Path(folder), split)[:limit]
    return score_files(files, jobs=1, progress=False, description="reference")


@st.cache_data(show_spinner=False, max_entries=8)
def _reference_prints(folder: str, split: str | None, limit: int, stamp: float) -> dict[str, str]:
    """Note fingerprint → file of every readable reference piece (cached like the feature rows)."""
    from data.build import corpus_files
    from evaluation.midi_io import MidiError, read_midi

    prints = {}
    for path in corpus_files(Path(folder), split)[:limit]:
        try:
            piece = read_midi(path)
        except MidiError:
            continue
        prints[note_fingerprint(piece.pitch, piece.start, piece.end)] = str(path)
    return prints


def _duplicates(uploads: dict[str, bytes], scored: set[str], reference: dict[str, str]) -> list[str]:
    """Uploaded (and scored) files whose notes are those of a reference piece."""
    from evaluation.midi_io import MidiError, read_midi

    found = []
    for name in sorted(scored):
        try:
            piece = read_midi(uploads[name], name=name)
        except MidiError:
            continue
        if note_fingerprint(piece.pitch, piece.start, piece.end) in reference:
            found.append(name)
    return found


def _score_uploads(uploads: dict[str, bytes]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Feature rows and per-file errors of uploaded MIDI (written to a temp folder, reported by upload name)."""
    from evaluation.scoring import score_files

    with tempfile.TemporaryDirectory(prefix="tl_score_") as tmp:
        paths = []
        for i, (name, data) in enumerate(uploads.items()):
            path = Path(tmp) / f"{i:05d}{PurePosixPath(name).suffix.lower()}"
            path.write_bytes(data)
            paths.append(path)
        rows, errors = score_files(paths, jobs=1, progress=False, description="uploads")
    names = {str(p): n for p, n in zip(paths, uploads, strict=True)}
    for row in rows:
        row["path"] = names[row["path"]]
    return rows, [(names[p], reason) for p, reason in errors]


def piano_roll(piece: Any, segments: list[Any], title: str) -> Any:
    """Plotly piano roll of a :class:`evaluation.midi_io.Piece` (seconds × MIDI pitch) with chord labels."""
    import plotly.graph_objects as go

    n = min(piece.n_notes, MAX_ROLL_NOTES)
    start = piece.start_seconds[:n]
    dur = piece.end_seconds[:n] - start
    fig = go.Figure(go.Bar(base=start, x=dur, y=piece.pitch[:n], orientation="h", width=0.8,
                           marker={"color": piece.velocity[:n], "colorscale": "Blues", "cmin": 0, "cmax": 127},
                           hovertemplate="pitch %{y}<br>start %{base:.2f} s<br>length %{x:.2f} s<extra></extra>",
                           name="notes"))
    top = int(piece.pitch[:n].max()) + 3 if n else 72
    end = float(start[-1] + dur[-1]) if n else 0.0
    previous = None
    for seg in segments:
        if seg.start_seconds > end:
            break
        if seg.label == previous:  # label chord changes only: repeated labels crowd the roll
            continue
        previous = seg.label
        fig.add_vline(x=seg.start_seconds, line_width=0.5, line_color="#bbb")
        if seg.label != "N":
            fig.add_annotation(x=seg.start_seconds, y=top, text=seg.label, showarrow=False, xanchor="left",
                               textangle=-45, font={"size": 10})
    # show the first ROLL_WINDOW_S seconds; the range slider below the roll scrolls through the rest
    fig.update_xaxes(range=[0.0, min(max(end, 1.0), ROLL_WINDOW_S)], rangeslider={"visible": end > ROLL_WINDOW_S})
    fig.update_layout(title=title, xaxis_title="time (s)", yaxis_title="MIDI pitch", bargap=0,
                      height=520, showlegend=False)
    if n < piece.n_notes:
        fig.add_annotation(text=f"first {n} of {piece.n_notes} notes", xref="paper", yref="paper", x=1, y=1.08,
                           showarrow=False)
    return fig


def _reference_picker() -> tuple[str | None, str | None, int]:
    corpora = built_corpora()
    options = list(corpora) + ["Folder path…"]
    choice = st.selectbox("Reference corpus", options, key="tl_ref_choice",
                          help="Corpora built with `python -m data build NAME` appear here.")
    limit = st.number_input("Use at most this many reference pieces", 10, 5000, 200, step=10, key="tl_ref_limit")
    if choice == "Folder path…":
        folder = st.text_input("Folder of reference MIDI files (searched recursively)", key="tl_ref_folder")
        return (folder.strip() or None), None, int(limit)
    split = st.selectbox("Split", ["train", "validation", "test", "all"], key="tl_ref_split")
    return str(corpora[choice]), (None if split == "all" else split), int(limit)


def _run(uploads: dict[str, bytes], set_name: str, folder: str, split: str | None, limit: int) -> None:
    from data.errors import DataError
    from evaluation.midi_io import MidiError
    from evaluation.scoring import compare_sets

    with st.spinner("Scoring the reference corpus…"):
        ref = Path(folder).expanduser()
        stamp = (ref / "manifest.json").stat().st_mtime if (ref / "manifest.json").is_file() else 0.0
        try:
            ref_rows, ref_errors = _reference_rows(str(ref.resolve()), split, limit, stamp)
        except (DataError, MidiError) as exc:
            st.error(f"Reference corpus: {exc}")
            return
    if len(ref_rows) < 2:
        why = f" (first problem: {ref_errors[0][0]}: {ref_errors[0][1]})" if ref_errors else ""
        st.error(f"Reference corpus {ref}: only {len(ref_rows)} readable pieces; at least 2 are needed{why}.")
        return
    with st.spinner(f"Scoring {len(uploads)} uploaded files…"):
        rows, errors = _score_uploads(uploads)
    summary = compare_sets(ref_rows, {set_name: rows} if rows else {},
                           error_counts={"reference": len(ref_errors), set_name: len(errors)})
    failed = {name for name, _ in errors}
    prints = _reference_prints(str(ref.resolve()), split, limit, stamp)
    duplicates = {set_name: _duplicates(uploads, set(uploads) - failed, prints)}
    st.session_state["tl_score"] = {"summary": summary, "rows": rows, "errors": errors, "uploads": uploads,
                                    "set": set_name, "ref_rows": ref_rows, "duplicates": duplicates}


def _downloads(result: dict[str, Any]) -> None:
    from evaluation.report import to_jsonable, write_features_csv
    from tunelab.csv_safe import escape_csv_text

    summary_json = json.dumps(to_jsonable(result["summary"]), indent=2, allow_nan=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_features_csv(Path(tmp) / "features.csv", {result["set"]: result["rows"]})
        features_csv = escape_csv_text(path.read_text(encoding="utf-8")).encode("utf-8")  # file names are uploads
    c1, c2 = st.columns(2)
    c1.download_button("Download summary.json", summary_json, "summary.json", "application/json", key="tl_dl_summary")
    c2.download_button("Download features.csv", features_csv, "features.csv", "text/csv", key="tl_dl_features")


def _chords(result: dict[str, Any]) -> None:
    from evaluation.chords import detect_chords
    from evaluation.harmony import estimate_key
    from evaluation.midi_io import MidiError, read_midi

    failed = {name for name, _ in result["errors"]}
    names = [n for n in result["uploads"] if n not in failed]
    if not names:
        return
    st.subheader("Chords")
    c1, c2 = st.columns([3, 1])
    name = c1.selectbox("File", names, key="tl_chord_file")
    per = c2.radio("One chord per", ["beat", "bar"], horizontal=True, key="tl_chord_per")
    try:
        piece = read_midi(result["uploads"][name], name=name)
        key = estimate_key(piece.pitched())
        segments = detect_chords(piece, per=per, key=key)
    except MidiError as exc:
        st.error(str(exc))
        return
    st.caption(f"Estimated key: **{getattr(key, 'name', key)}** (Krumhansl–Schmuckler). Labels in Harte syntax.")
    st.plotly_chart(piano_roll(piece, segments, name), width="stretch", key="tl_fig_roll")
    table = pd.DataFrame([{"start (beats)": s.start, "end (beats)": s.end, "start (s)": round(s.start_seconds, 2),
                           "chord": s.label, "roman": s.roman} for s in segments])
    st.dataframe(table, hide_index=True, width="stretch", height=240)


def _show(result: dict[str, Any]) -> None:
    from evaluation.report import figures

    rows, errors = result["rows"], result["errors"]
    st.success(f"Scored {len(rows)} of {len(rows) + len(errors)} uploaded files against "
               f"{len(result['ref_rows'])} reference pieces.")
    for name, reason in errors[:20]:
        st.error(f"{name}: {reason}")
    if len(errors) > 20:
        st.error(f"… and {len(errors) - 20} more files could not be read (see the table).")
    if errors:
        st.dataframe(pd.DataFrame(errors, columns=["file", "problem"]), hide_index=True, width="stretch")
    if not rows:
        return
    st.subheader("Classifier two-sample test")
    st.dataframe(pd.DataFrame(classifier_table(result["summary"])), hide_index=True, width="stretch")
    st.caption("Can a classifier tell the uploaded pieces from the reference (Lopez-Paz & Oquab 2017)? 0.5 = "
               "no; cross-validated over both sets, the larger one subsampled to the smaller; Wilson 95% interval; "
               "one-sided exact binomial p.")
    for text in score_warnings(result["summary"], result.get("duplicates", {})):
        st.warning(text)
    ranking = result["summary"].get("ranking") or []
    if ranking:
        st.dataframe(pd.DataFrame(ranking), hide_index=True, width="stretch")
    for key, fig in figures(result["summary"]).items():
        st.plotly_chart(fig, width="stretch", key=f"tl_fig_{key}")
    _downloads(result)
    _chords(result)


def main() -> None:
    require_admin()
    st.set_page_config(layout="wide")  # the feature grid has four plots a row; centered clips their titles
    st.title("Score MIDI")
    files = st.file_uploader("MIDI files or a zip of them", type=["mid", "midi", "zip"], accept_multiple_files=True,
                             key="tl_score_upload",
                             help=f"Upload limits: {LIMITS.describe()}.")
    set_name = st.text_input("Name of the uploaded set", "uploaded", key="tl_set_name").strip() or "uploaded"
    folder, split, limit = _reference_picker()
    if st.button("Score", key="tl_score_go", type="primary", disabled=not files):
        unpacked = extract_uploads([(f.name, f.getvalue()) for f in files or []], LIMITS)
        uploads = unpacked.files
        for name, reason in unpacked.problems:
            st.error(f"{name}: {reason}")
        for name, kept in unpacked.renamed:
            st.warning(f"{name}: another uploaded file has this name; scored as {kept}")
        if set_name == "reference":
            st.error("Name the uploaded set something other than 'reference'.")
        elif not folder:
            st.error("Choose a reference corpus or give a folder path.")
        elif uploads:
            _run(uploads, set_name, folder, split, limit)
        else:
            st.session_state.pop("tl_score", None)
    result = st.session_state.get("tl_score")
    if result:
        _show(result)


main()
