"""``python -m generation prepare``: a corpus becomes encoded training sequences, split by piece.

Steps: list the corpus's pieces per split (:mod:`generation.corpus`) -> read and preprocess each piece
(:func:`generation.pipeline.preprocess_piece`, the encoding's declared steps plus the options given) ->
drop what the encoding cannot take, with the reason -> augment the training pieces (transpositions, after
the split) -> fit the encoding on the training pieces -> encode every split -> write the folder:

- ``encoding.json``: the fitted encoding (``to_dict()``: kind, format, configuration, vocabulary);
- ``arrays.npz``: per split, the sequences concatenated along time (``{split}_data``) and their boundaries
  (``{split}_offsets``, n + 1 positions);
- ``pieces.json``: per split, each sequence's piece id, file and transposition;
- ``report.json``: pieces kept and dropped with reasons, what preprocessing did, vocabulary sizes, sequence,
  step and window counts, unknown tokens, timings, and the SHA-256 of the sources and options. It is
  written last; a folder whose report has the same hash is up to date and is left alone.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from data import SPLITS
from generation.corpus import SourceItem, corpus_sources, read_items
from generation.datasets import WindowDataset, count_windows
from generation.encodings import Encoding, encoding_from_dict, make_encoding
from generation.errors import GenerationError
from generation.pipeline import PreprocessConfig, augment, preprocess_piece

__all__ = ["PREPARED_FORMAT", "PrepareRequest", "PrepareResult", "Prepared", "encode_split", "is_prepared",
           "load_prepared", "prepare", "preprocess_config", "summary_lines"]

PREPARED_FORMAT = 1
_FILES = ("encoding.json", "arrays.npz", "pieces.json", "report.json")


@dataclass(frozen=True)
class PrepareRequest:
    """What to prepare. ``encoding_options`` and ``preprocess`` hold command-line values (None = default)."""

    corpus: Path
    encoding: str
    out: Path
    encoding_options: dict[str, Any] = field(default_factory=dict)  # step, fs, pitch_range, resolution...
    preprocess: dict[str, Any] = field(default_factory=dict)  # overrides of the declared preprocessing
    window: int = 32  # window length (steps) for the report's window counts
    limit: int | None = None  # at most this many pieces per split
    check_abc: bool = True  # abc-chars: parse every tune with music21 and drop those that fail
    jobs: int = 1  # abc-chars: processes that parse the tunes with music21
    progress: bool = True
    force: bool = False  # prepare again even when the folder is up to date


@dataclass(frozen=True)
class PrepareResult:
    out: Path
    report: dict[str, Any]
    up_to_date: bool  # True when nothing was done


@dataclass(frozen=True)
class Prepared:
    """A prepared folder, loaded: the fitted encoding, the sequences and piece records per split."""

    encoding: Encoding
    sequences: dict[str, list[np.ndarray]]
    pieces: dict[str, list[dict[str, Any]]]
    report: dict[str, Any]

    def dataset(self, split: str, window: int, mode: str = "many-to-one", **options: Any) -> WindowDataset:
        """Windows of one split (:class:`generation.datasets.WindowDataset` options)."""
        if split not in self.sequences:
            raise GenerationError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return WindowDataset(self.encoding, self.sequences[split], window, mode, **options)


def preprocess_config(encoding: Encoding, overrides: dict[str, Any]) -> PreprocessConfig:
    """The encoding's declared preprocessing with the given options (None = keep) applied."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if encoding.source != "midi" and any(value not in (False, None) for value in given.values()):
        raise GenerationError(f"preprocessing options ({', '.join('--' + k.replace('_', '-') for k in given)}) "
                              f"work on MIDI pieces; {encoding.kind} encodes text and takes none")
    config = encoding.declared_preprocess()
    if "fold_range" not in given and encoding.pitch_window() is not None:
        given["fold_range"] = encoding.pitch_window()
    try:
        return config.with_overrides(**given)
    except TypeError as error:
        raise GenerationError(f"bad preprocessing option: {error}") from None


def _options_record(request: PrepareRequest, encoding: Encoding, config: PreprocessConfig) -> dict[str, Any]:
    return {"prepared_format": PREPARED_FORMAT, "encoding": encoding.kind, "encoding_format": encoding.format_version,
            "encoding_config": encoding.config.to_dict(), "preprocess": config.to_dict(), "window": request.window,
            "limit": request.limit, "check_abc": request.check_abc}


def _up_to_date(out: Path, source_hash: str) -> dict[str, Any] | None:
    if not all((out / name).is_file() for name in _FILES):
        return None
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return report if report.get("source_hash") == source_hash else None


def _abc_reason(text: str, name: str) -> str:
    """Why music21 cannot read a tune's normal form ("" when it can); a top-level function for worker
    processes."""
    from generation.abc import abc_to_piece  # noqa: PLC0415

    try:
        abc_to_piece(text, name)
    except GenerationError as error:
        return str(error).split(": ", 1)[-1]
    return ""


def _abc_reasons(items: list[SourceItem], jobs: int, progress: bool) -> list[str]:
    """:func:`_abc_reason` of every tune, in ``jobs`` processes (music21 takes tens of ms a tune)."""
    from generation.abc import normalise_tune  # noqa: PLC0415

    texts = [normalise_tune(item.item.text) for item in items]
    names = [item.id for item in items]
    bar = {"total": len(items), "desc": "parsing tunes with music21", "unit": "tune", "disable": not progress,
           "dynamic_ncols": True}
    if jobs <= 1 or len(items) < 2:
        return [_abc_reason(text, name) for text, name in tqdm(zip(texts, names, strict=True), **bar)]
    # fresh workers every 200 tunes (music21 keeps memory per parsed tune); multiprocessing.Pool, because
    # ProcessPoolExecutor(max_tasks_per_child=...) deadlocks on Python 3.11-3.13 (CPython gh-115634)
    with multiprocessing.Pool(processes=jobs, maxtasksperchild=200) as pool:
        return list(tqdm(pool.imap(_abc_reason_of, zip(texts, names, strict=True), chunksize=8), **bar))


def _abc_reason_of(job: tuple[str, str]) -> str:
    return _abc_reason(*job)


@dataclass
class _Collected:
    """What reading and preprocessing a corpus gave: kept items per split (source, item, transposition),
    dropped pieces with reasons, and what preprocessing did."""

    kept: dict[str, list[tuple[SourceItem, Any, int]]]
    dropped: list[dict[str, str]]
    notes: dict[str, list[dict[str, Any]]]
    folded: int
    tunes: int  # abc-chars: tunes parsed with music21
    parsed: int  # abc-chars: of which music21 read


def _collect(sources, encoding: Encoding, config: PreprocessConfig, request: PrepareRequest) -> _Collected:
    kept: dict[str, list[tuple[SourceItem, Any, int]]] = {name: [] for name in SPLITS}
    dropped: list[dict[str, str]] = []
    notes: dict[str, list[dict[str, Any]]] = {"melody": [], "keys": []}
    folded = 0
    checked: list[SourceItem] = []
    for source in tqdm(read_items(sources), total=sources.count(), desc=f"reading {sources.folder.name}",
                       unit="piece", disable=not request.progress, dynamic_ncols=True):
        if source.item is None:
            dropped.append({"piece": source.id, "split": source.split, "reason": source.reason})
            continue
        item = source.item
        if encoding.source == "midi":
            result = preprocess_piece(item, config)
            if result.notes.get("melody"):
                notes["melody"].append({"piece": source.id, **result.notes["melody"]})
            if result.notes.get("key"):
                notes["keys"].append({"piece": source.id, **result.notes["key"]})
            folded += int(result.notes.get("folded_notes", 0))
            if result.piece is None:
                dropped.append({"piece": source.id, "split": source.split, "reason": result.reason})
                continue
            item = result.piece
        reason = encoding.unencodable(item)
        if reason is not None:
            dropped.append({"piece": source.id, "split": source.split, "reason": reason})
        elif encoding.source == "abc" and request.check_abc:
            checked.append(source)
        else:
            kept[source.split].append((source, item, 0))
    parsed = 0
    reasons = _abc_reasons(checked, request.jobs, request.progress) if checked else []
    for source, reason in zip(checked, reasons, strict=True):
        if reason:
            dropped.append({"piece": source.id, "split": source.split, "reason": reason})
        else:
            parsed += 1
            kept[source.split].append((source, source.item, 0))
    return _Collected(kept, dropped, notes, folded, len(checked), parsed)


def is_prepared(request: PrepareRequest) -> bool:
    """Whether ``request.out`` already holds this request's data (same sources and options)."""
    encoding = make_encoding(request.encoding, **request.encoding_options)
    config = preprocess_config(encoding, request.preprocess)
    sources = corpus_sources(request.corpus, encoding.source, request.limit)
    return _up_to_date(Path(request.out), sources.source_hash(_options_record(request, encoding, config))) is not None


def prepare(request: PrepareRequest) -> PrepareResult:
    """Prepare ``request.corpus`` with ``request.encoding`` into ``request.out`` (module docstring).

    Raises GenerationError for a bad option, a missing folder, or a corpus where nothing is usable."""
    clock = time.perf_counter()
    if request.jobs < 1:
        raise GenerationError(f"jobs must be at least 1, got {request.jobs}")
    encoding = make_encoding(request.encoding, **request.encoding_options)
    config = preprocess_config(encoding, request.preprocess)
    sources = corpus_sources(request.corpus, encoding.source, request.limit)
    source_hash = sources.source_hash(_options_record(request, encoding, config))
    out = Path(request.out)
    if out.exists() and not out.is_dir():
        raise GenerationError(f"output {out} is a file; pass a folder with --out")
    if not request.force:
        report = _up_to_date(out, source_hash)
        if report is not None:
            return PrepareResult(out, report, True)

    found = _collect(sources, encoding, config, request)
    kept, dropped = found.kept, found.dropped
    read_seconds = time.perf_counter() - clock

    if not any(kept.values()):
        reasons = Counter(entry["reason"] for entry in dropped)
        summary = "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common(3))
        raise GenerationError(f"nothing usable in {sources.folder} for {encoding.kind}: all {len(dropped)} "
                              f"piece(s) were skipped ({summary})")
    if not kept["train"]:
        raise GenerationError(f"no usable piece in the train split of {sources.folder} ({sources.rule}); the "
                              f"{sum(map(len, kept.values()))} usable piece(s) are all in validation/test")
    if config.augment and encoding.source == "midi":
        added = [(source, piece, shift) for source, item, _ in kept["train"]
                 for shift, piece in augment(item, config, encoding.pitch_window())]
        kept["train"].extend(added)

    fit_clock = time.perf_counter()
    encoding.fit(item for _, item, _ in kept["train"])
    fit_seconds = time.perf_counter() - fit_clock
    encode_clock = time.perf_counter()
    sequences = {name: [encoding.encode(item) for _, item, _ in kept[name]] for name in SPLITS}
    encode_seconds = time.perf_counter() - encode_clock

    report = _report(request, encoding, config, sources, source_hash, found, sequences)
    report["seconds"] = {"read_and_preprocess": round(read_seconds, 3), "fit": round(fit_seconds, 3),
                         "encode": round(encode_seconds, 3), "total": round(time.perf_counter() - clock, 3)}
    _write(out, encoding, kept, sequences, report)
    return PrepareResult(out, report, False)


def _report(request, encoding, config, sources, source_hash, found: _Collected, sequences) -> dict[str, Any]:
    io = encoding.model_io()
    kept, dropped, notes = found.kept, found.dropped, found.notes
    report: dict[str, Any] = {
        "format": PREPARED_FORMAT,
        "encoding": {"kind": encoding.kind, "description": encoding.describe(), "fidelity": encoding.fidelity,
                     "model_io": io.to_dict()},
        "corpus": str(sources.folder),
        "split_rule": sources.rule,
        "source_hash": source_hash,
        "source_files": len(sources.hashed_files()),
        "preprocessing": {"steps": config.describe() if encoding.source == "midi" else
                          "normal form of the tune text (generation.abc.normalise_tune)", "config": config.to_dict()},
        "pieces": {
            "listed": sources.count(),
            "kept": {name: sum(1 for _, _, shift in kept[name] if shift == 0) for name in SPLITS},
            "augmented_train_sequences": sum(1 for _, _, shift in kept["train"] if shift != 0),
            "dropped": len(dropped),
            "dropped_by_reason": dict(Counter(entry["reason"] for entry in dropped).most_common()),
            "dropped_pieces": dropped,
        },
        "vocabulary": dict(zip(io.stream_names, io.vocab_sizes, strict=True)) if io.input_kind == "tokens" else
        {"pitches": io.n_pitches, **({"features": io.n_features} if io.n_features else {})},
        "sequences": {name: len(sequences[name]) for name in SPLITS},
        "steps": {name: int(sum(len(sequence) for sequence in sequences[name])) for name in SPLITS},
        "unknown_tokens": {name: int(sum(encoding.unknown_count(sequence) for sequence in sequences[name]))
                           for name in SPLITS},
        "windows": {"length": request.window, **{
            mode: {name: count_windows(encoding, sequences[name], request.window, mode) for name in SPLITS}
            for mode in (("many-to-many",) if io.input_kind == "biaxial" else ("many-to-one", "many-to-many"))}},
    }
    if notes["melody"]:
        report["melody"] = notes["melody"]
    if notes["keys"]:
        report["keys"] = notes["keys"]
    if config.fold:
        report["folded_notes"] = found.folded
    if encoding.source == "abc" and found.tunes:
        report["abc_parse"] = {"tunes": found.tunes, "parsed": found.parsed,
                               "share": round(found.parsed / found.tunes, 4)}
    return report


def _replace_file(path: Path, write) -> None:  # noqa: ANN001 - write(temporary path)
    """Write through a temporary file and rename it, so two processes preparing the same folder (the points of
    a parallel sweep) never leave a half-written file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)


def _write(out: Path, encoding: Encoding, kept, sequences, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)  # the report marks a complete folder: it goes last
    arrays: dict[str, np.ndarray] = {}
    for name in SPLITS:
        lengths = [len(sequence) for sequence in sequences[name]]
        arrays[f"{name}_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if sequences[name]:
            arrays[f"{name}_data"] = np.concatenate(sequences[name])

    def save_arrays(path: Path) -> None:
        with path.open("wb") as handle:
            np.savez(handle, **arrays)

    def text(content: str):  # noqa: ANN202
        return lambda path: path.write_text(content, encoding="utf-8")

    _replace_file(out / "arrays.npz", save_arrays)
    _replace_file(out / "encoding.json", text(json.dumps(encoding.to_dict(), ensure_ascii=False) + "\n"))
    pieces = {name: [{"id": source.id, "path": source.path, "transposed": shift} for source, _, shift in kept[name]]
              for name in SPLITS}
    _replace_file(out / "pieces.json", text(json.dumps(pieces, indent=1, ensure_ascii=False) + "\n"))
    _replace_file(out / "report.json", text(json.dumps(report, indent=1, ensure_ascii=False) + "\n"))


def load_prepared(folder: Path) -> Prepared:
    """Read a folder written by :func:`prepare`. Raises GenerationError when it is missing or incomplete."""
    folder = Path(folder)
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise GenerationError(f"{folder} is not a complete prepared folder (missing {', '.join(missing)}); run "
                              "`python -m generation prepare --corpus DIR --encoding NAME --out "
                              f"{folder}` first")
    encoding = encoding_from_dict(json.loads((folder / "encoding.json").read_text(encoding="utf-8")))
    pieces = json.loads((folder / "pieces.json").read_text(encoding="utf-8"))
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    sequences: dict[str, list[np.ndarray]] = {}
    with np.load(folder / "arrays.npz") as arrays:
        for name in SPLITS:
            offsets = arrays[f"{name}_offsets"]
            data = arrays[f"{name}_data"] if f"{name}_data" in arrays.files else None
            sequences[name] = [data[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)] if data is not None \
                else []
    return Prepared(encoding, sequences, pieces, report)


@dataclass(frozen=True)
class EncodedSplit:
    """Pieces of a corpus split encoded with an already fitted encoding (what ``evaluate`` scores)."""

    sequences: list[np.ndarray]
    ids: list[str]  # piece or tune id of each sequence
    dropped: list[dict[str, str]]  # pieces left out, with the reason
    listed: int  # pieces the split lists
    rule: str  # how the corpus was split


def encode_split(corpus: Path, encoding: Encoding, split: str | None, preprocess: dict[str, Any] | None = None, *,
                 limit: int | None = None, progress: bool = False) -> EncodedSplit:
    """Read, preprocess and encode one split (None = every split) of ``corpus`` with a *fitted* ``encoding``
    (e.g. a checkpoint's, so ids keep its vocabulary; symbols it never saw become the unknown id). The
    preprocessing is the encoding's declared one with ``preprocess`` overrides applied, as in :func:`prepare`;
    augmentation never applies here."""
    if split is not None and split not in SPLITS:
        raise GenerationError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} or all")
    config = preprocess_config(encoding, {**(preprocess or {}), "augment": None})
    sources = corpus_sources(corpus, encoding.source, limit)
    if split is not None:
        sources = dataclasses.replace(
            sources, files={name: (files if name == split else []) for name, files in sources.files.items()},
            tunes={name: (tunes if name == split else []) for name, tunes in sources.tunes.items()})
    request = PrepareRequest(corpus=Path(corpus), encoding=encoding.kind, out=Path("."), check_abc=False,
                             progress=progress)
    found = _collect(sources, encoding, config, request)
    kept = [entry for name in SPLITS for entry in found.kept[name]]
    return EncodedSplit(sequences=[encoding.encode(item) for _, item, _ in kept],
                        ids=[source.id for source, _, _ in kept], dropped=found.dropped, listed=sources.count(),
                        rule=sources.rule)


def summary_lines(result: PrepareResult) -> list[str]:
    """What ``prepare`` prints: a few lines from the report."""
    report = result.report
    pieces = report["pieces"]
    kept = pieces["kept"]
    head = "up to date (same sources and options): nothing to do for" if result.up_to_date else "prepared"
    augmented = pieces.get("augmented_train_sequences", 0)
    lines = [f"{head} {sum(kept.values())} pieces of {report['corpus']} as {report['encoding']['kind']} in "
             f"{result.out} (train {kept['train']}{f' + {augmented} transpositions' if augmented else ''}, "
             f"validation {kept['validation']}, test {kept['test']})",
             f"  encoding: {report['encoding']['description']}; {report['encoding']['fidelity']}",
             f"  split: {report['split_rule']}",
             f"  preprocessing: {report['preprocessing']['steps']}"]
    if pieces["dropped"]:
        reasons = "; ".join(f"{count} x {reason}" for reason, count in list(pieces["dropped_by_reason"].items())[:5])
        lines.append(f"  skipped {pieces['dropped']} of {pieces['listed']}: {reasons}")
    lines.append("  vocabulary: " + ", ".join(f"{name} {size}" for name, size in report["vocabulary"].items()))
    lines.append("  sequences: " + ", ".join(f"{name} {count} ({report['steps'][name]} steps)"
                                             for name, count in report["sequences"].items()))
    windows = report["windows"]
    for mode in ("many-to-one", "many-to-many"):
        if mode in windows:
            lines.append(f"  {mode} windows of {windows['length']}: "
                         + ", ".join(f"{name} {count}" for name, count in windows[mode].items()))
    unknown = {name: count for name, count in report["unknown_tokens"].items() if count}
    if unknown:
        lines.append("  unknown symbols (not in the training vocabulary): "
                     + ", ".join(f"{name} {count}" for name, count in unknown.items()))
    if report.get("melody"):
        chosen = Counter(", ".join(map(str, entry["chosen"])) for entry in report["melody"])
        lines.append("  melody track chosen: " + ", ".join(f"track {track} in {count} pieces"
                                                           for track, count in chosen.most_common(4))
                     + " (why: report.json 'melody')")
    if report.get("keys"):
        shifts = Counter(entry["shift"] for entry in report["keys"])
        lines.append("  transposed by: " + ", ".join(f"{shift:+d} ({count})"
                                                     for shift, count in sorted(shifts.items())))
    if "folded_notes" in report:
        lines.append(f"  octave folding moved {report['folded_notes']} notes into the window")
    if report.get("abc_parse"):
        parse = report["abc_parse"]
        lines.append(f"  music21 parsed {parse['parsed']} of {parse['tunes']} tunes ({parse['share']:.1%})")
    seconds = report["seconds"]
    lines.append(f"  time: {seconds['total']:.2f} s (read and preprocess {seconds['read_and_preprocess']:.2f}, "
                 f"fit {seconds['fit']:.2f}, encode {seconds['encode']:.2f})")
    return lines
