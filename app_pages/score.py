"""Score MIDI (researcher): upload MIDI files or a zip, compare them with a reference corpus
(:func:`evaluation.scoring.compare_sets`), show the report figures (:func:`evaluation.report.figures`),
chords (:func:`evaluation.harmony`/:func:`evaluation.chords.detect_chords`) over a piano roll, and download
summary.json / features.csv.

Upload limits: :class:`tunelab.UploadLimits` (files per upload, bytes per file, bytes unpacked from zips).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.common import require_admin
from tunelab import MIDI_SUFFIXES, UploadLimits, data_dir

LIMITS = UploadLimits()
MAX_ROLL_NOTES = 3000  # piano roll draws at most this many notes
ROLL_WINDOW_S = 12.0  # seconds of the piano roll shown at first


def extract_uploads(files: list[tuple[str, bytes]]) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """Upload list ``(name, bytes)`` → ``({unique name: MIDI bytes}, [(name, problem), ...])``.

    Zips are opened in memory; their .mid/.midi members are taken (folders kept in the name), everything
    else is skipped silently. Sizes are checked before reading (zip bombs), names are de-duplicated.
    """
    out: dict[str, bytes] = {}
    problems: list[tuple[str, str]] = []
    limit = LIMITS.max_file_bytes
    file_mb, unpacked_mb = LIMITS.max_file_bytes / 2**20, LIMITS.max_unpacked_bytes / 2**20

    def add(name: str, data: bytes) -> None:
        if len(out) >= LIMITS.max_files:
            problems.append((name, f"skipped: more than {LIMITS.max_files} MIDI files uploaded"))
            return
        if len(data) > limit:
            problems.append((name, f"{len(data) / 2**20:.1f} MB is over the {file_mb:g} MB limit per file"))
            return
        unique, k = name, 1
        while unique in out:
            k += 1
            unique = f"{PurePosixPath(name).stem}_{k}{PurePosixPath(name).suffix}"
        out[unique] = data

    for name, data in files:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix in MIDI_SUFFIXES:
            add(PurePosixPath(name).name, data)
        elif suffix == ".zip":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    members = [m for m in zf.infolist()
                               if not m.is_dir() and PurePosixPath(m.filename).suffix.lower() in MIDI_SUFFIXES
                               and not PurePosixPath(m.filename).name.startswith("._")]
                    total = sum(m.file_size for m in members)
                    if total > LIMITS.max_unpacked_bytes:
                        problems.append((name, f"unpacks to {total / 2**20:.0f} MB of MIDI, over the "
                                               f"{unpacked_mb:g} MB limit; split it into smaller zips"))
                        continue
                    if not members:
                        problems.append((name, "the zip holds no .mid/.midi files"))
                    for m in members:
                        if m.file_size > limit:
                            problems.append((f"{name}/{m.filename}", f"{m.file_size / 2**20:.1f} MB is over the "
                                                                     f"{file_mb:g} MB limit per file"))
                            continue
                        add("/".join(PurePosixPath(m.filename).parts[-2:]), zf.read(m))
            except (zipfile.BadZipFile, OSError) as exc:
                problems.append((name, f"not a readable zip file ({exc})"))
        else:
            problems.append((name, "not a .mid, .midi or .zip file"))
    return out, problems


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
    st.session_state["tl_score"] = {"summary": summary, "rows": rows, "errors": errors, "uploads": uploads,
                                    "set": set_name, "ref_rows": ref_rows}


def _downloads(result: dict[str, Any]) -> None:
    from evaluation.report import to_jsonable, write_features_csv

    summary_json = json.dumps(to_jsonable(result["summary"]), indent=2, allow_nan=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_features_csv(Path(tmp) / "features.csv", {result["set"]: result["rows"]})
        features_csv = path.read_bytes()
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
        uploads, problems = extract_uploads([(f.name, f.getvalue()) for f in files or []])
        for name, reason in problems:
            st.error(f"{name}: {reason}")
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
