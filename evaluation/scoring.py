"""Score folders of MIDI files and compare sets of pieces with a reference corpus.

Flow: :func:`iter_midi_files` (paths) -> :func:`score_files` (one row of features per file, and error rows)
-> :func:`compare_sets` (summary of every set and its distances to the reference, plus a ranking).

A row is ``{"path": str, <feature name>: float | str | np.ndarray, ...}`` as returned by
``evaluation.features.compute_features``; the notes themselves are never kept, so memory grows by a few KB
per file (10,000 files stay far below 1 GB). Undefined feature values are NaN (the features' convention).

What :func:`compare_sets` reports for each generated set, against the reference:

- ``histograms``: corpus pitch-class (12) and pitch (128) histograms, each pooled over the set's notes
  (per-piece histograms weighted by ``note_count``), and ``kl`` = KL(generated || reference) (bits, with the
  config's smoothing) and ``js`` = Jensen-Shannon distance (base 2, in [0, 1]).
- ``relative``: per feature, mgeval's relative method (Yang & Lerch 2020): KDE of the reference's intra-set
  distances vs KDE of the reference-to-generated inter-set distances, ``kl`` (KL(intra || inter)) and
  ``overlap`` (area under both, 1 = the generated pieces are as far from the reference as reference pieces are
  from each other), and the same for the generated set's own intra-set distances (``generated_kl``,
  ``generated_overlap``), as mgeval reports both sets. Scalar features and mgeval's arrays (pitch-class
  histograms by count and by duration, note-length histogram and both transition matrices, compared by
  Euclidean distance).
- ``classifier``: the classifier two-sample test (Lopez-Paz & Oquab 2017) on the scalar features plus the
  12-bin pitch-class histogram; accuracy 0.5 = indistinguishable.

The **ranking** orders generated sets by ``mean_overlap`` (mean over features of the overlap area; higher =
closer to the reference), ties broken by the classifier accuracy nearest 0.5.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.distances import (
    DistanceConfig,
    classifier_two_sample_test,
    corpus_histogram,
    inter_set_distances,
    intra_set_distances,
    js_distance,
    kde_kl_and_overlap,
    kl_divergence,
)
from evaluation.midi_io import MidiError, ReaderConfig, read_midi
from tunelab import MIDI_SUFFIXES

__all__ = [
    "RELATIVE_ARRAYS",
    "compare_sets",
    "iter_midi_files",
    "score_file",
    "score_files",
    "summarize_set",
]

Row = dict[str, Any]
#: Array features that mgeval's relative method also compares (Euclidean distance of the flattened arrays).
RELATIVE_ARRAYS = (
    "pitch_class_histogram",
    "pitch_class_histogram_duration",
    "note_length_histogram",
    "pitch_class_transition_matrix",
    "note_length_transition_matrix",
)
#: Corpus histograms compared with KL and JS.
HISTOGRAMS = ("pitch_class_histogram", "pitch_histogram")


def iter_midi_files(folder: str | Path) -> list[Path]:
    """Every entry named ``*.mid`` / ``*.midi`` under ``folder`` (recursive, any letter case), sorted by path.

    Entries that are not regular files are listed too, so that the reader reports each with its reason
    (a dangling symbolic link, a link loop, a named pipe, a folder named like a MIDI file) instead of their
    being skipped in silence. Symbolic links to folders are not followed.

    Raises
    ------
    MidiError
        When ``folder`` does not exist or is not a folder.
    """
    root = Path(folder)
    if not root.exists():
        raise MidiError(root, "no such folder (check the path)")
    if not root.is_dir():
        raise MidiError(root, "not a folder: give the folder that holds the MIDI files")
    return sorted(path for path in root.rglob("*") if path.suffix.lower() in MIDI_SUFFIXES)


def _default_features(piece: Any) -> dict[str, Any]:
    from evaluation.features import compute_features  # noqa: PLC0415  (features import harmony, key, ...)

    return compute_features(piece)


def score_file(
    path: str | Path,
    feature_fn: Callable[[Any], dict[str, Any]] | None = None,
    reader_config: ReaderConfig | None = None,
) -> tuple[str, Row | None, str | None]:
    """Features of one file: ``(path, row, None)``, or ``(path, None, reason)`` when it cannot be scored.

    A :class:`MidiError` gives its reason; any other exception becomes a reason naming the exception, so
    one odd file never stops a folder.
    """
    name = str(path)
    try:
        piece = read_midi(path, config=reader_config or ReaderConfig())
        features = (feature_fn or _default_features)(piece)
    except MidiError as error:
        return name, None, error.reason
    except Exception as error:  # noqa: BLE001  (a file-level failure must not lose the other files)
        return name, None, f"could not compute features ({type(error).__name__}: {error})"
    return name, {"path": name, **features}, None


def score_files(
    paths: Sequence[str | Path],
    jobs: int = 1,
    progress: bool = True,
    *,
    feature_fn: Callable[[Any], dict[str, Any]] | None = None,
    reader_config: ReaderConfig | None = None,
    description: str = "scoring",
) -> tuple[list[Row], list[tuple[str, str]]]:
    """Score files in order: ``(rows, errors)``: a row per readable file, ``(path, reason)`` per other.

    ``jobs`` > 1 uses a multiprocessing pool (``imap`` with chunks of a few dozen files); results keep the
    order of ``paths``. ``feature_fn`` (default ``compute_features``) must be a module-level function when
    ``jobs`` > 1. ``progress`` shows a tqdm bar on stderr.
    """
    from tqdm import tqdm  # noqa: PLC0415

    paths = [str(path) for path in paths]
    if feature_fn is None:
        import evaluation.features  # noqa: F401, PLC0415  (imported once here, inherited by forked workers)
    work = functools.partial(score_file, feature_fn=feature_fn, reader_config=reader_config)
    rows: list[Row] = []
    errors: list[tuple[str, str]] = []
    bar = tqdm(total=len(paths), disable=not progress, unit="file", desc=description, dynamic_ncols=True)
    jobs = max(1, min(int(jobs), len(paths) or 1))

    def collect(results: Iterable[tuple[str, Row | None, str | None]]) -> None:
        for name, row, reason in results:
            if row is None:
                errors.append((name, reason or "unknown error"))
            else:
                rows.append(row)
            bar.update(1)

    try:
        if jobs == 1:
            collect(map(work, paths))
        else:
            chunksize = max(1, min(64, len(paths) // (jobs * 8)))
            with multiprocessing.get_context().Pool(jobs) as pool:
                collect(pool.imap(work, paths, chunksize=chunksize))
    finally:
        bar.close()
    return rows, errors


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _scalar_names(rows: Sequence[Row]) -> list[str]:
    """Names of numeric scalar features, in the order of the first row (``path`` and strings excluded)."""
    names: dict[str, None] = {}
    for row in rows[:1] if rows else []:
        names.update({name: None for name, value in row.items() if name != "path" and _is_scalar(value)})
    return list(names)


def _column(rows: Sequence[Row], name: str) -> np.ndarray:
    return np.array([float(row.get(name, math.nan)) for row in rows], dtype=np.float64)


def _array_column(rows: Sequence[Row], name: str) -> np.ndarray | None:
    arrays = [row.get(name) for row in rows]
    if not arrays or any(not isinstance(array, np.ndarray) for array in arrays):
        return None
    return np.stack([np.asarray(array, dtype=np.float64) for array in arrays])


def _describe(values: np.ndarray) -> dict[str, float | int]:
    """Mean, std (ddof 1), five-number summary and count of the finite values (NaN when there are none)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        nan = math.nan
        return {"n": 0, "mean": nan, "std": nan, "min": nan, "q1": nan, "median": nan, "q3": nan, "max": nan}
    q1, median, q3 = np.percentile(finite, [25, 50, 75])
    return {
        "n": int(len(finite)),
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
        "min": float(finite.min()),
        "q1": float(q1),
        "median": float(median),
        "q3": float(q3),
        "max": float(finite.max()),
    }


def summarize_set(rows: Sequence[Row], scalar_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts, per-feature statistics, key counts and corpus histograms of one set of rows."""
    names = list(scalar_names) if scalar_names is not None else _scalar_names(rows)
    summary: dict[str, Any] = {
        "counts": {"files": len(rows)},
        "features": {name: _describe(_column(rows, name)) for name in names},
        "keys": dict(Counter(str(row["key"]) for row in rows if "key" in row).most_common()),
    }
    weights = _column(rows, "note_count") if rows and "note_count" in rows[0] else None
    for name in HISTOGRAMS:
        stacked = _array_column(rows, name)
        if stacked is not None:
            summary[name] = corpus_histogram(stacked.reshape(len(rows), -1), weights).tolist()
    return summary


def _subsample(rows: Sequence[Row], limit: int, rng: np.random.Generator) -> list[Row]:
    if len(rows) <= limit:
        return list(rows)
    return [rows[index] for index in np.sort(rng.choice(len(rows), limit, replace=False))]


def _relative_values(rows: Sequence[Row], name: str) -> np.ndarray | None:
    if name in RELATIVE_ARRAYS:
        stacked = _array_column(rows, name)
        return None if stacked is None else stacked.reshape(len(rows), -1)
    return _column(rows, name)


def _classifier_matrix(rows: Sequence[Row], names: Sequence[str]) -> np.ndarray:
    columns = [_column(rows, name)[:, None] for name in names]
    histogram = _array_column(rows, "pitch_class_histogram")
    if histogram is not None:
        columns.append(histogram.reshape(len(rows), -1))
    return np.hstack(columns) if columns else np.zeros((len(rows), 0))


def compare_sets(
    reference_rows: Sequence[Row],
    generated: dict[str, Sequence[Row]],
    config: DistanceConfig | None = None,
    progress: bool = False,
    error_counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Summaries of the reference and each generated set, their distances to the reference, and a ranking.

    Returns ``{"reference": name, "sets": {name: summary}, "ranking": [...], "config": {...}}`` where the
    reference is named ``"reference"`` and each generated summary has a ``"distances"`` entry (see the module
    docstring). Sets with fewer than 2 scored pieces get NaN distances. ``error_counts`` (files per set that
    could not be scored) is recorded in each set's ``counts``.
    """
    from tqdm import tqdm  # noqa: PLC0415

    config = config or DistanceConfig()
    if "reference" in generated:
        raise ValueError("a generated set cannot be named 'reference' (that name is the reference corpus)")
    names = _scalar_names(reference_rows)
    relative_names = names + [name for name in RELATIVE_ARRAYS if reference_rows and name in reference_rows[0]]
    sets: dict[str, Any] = {"reference": {"role": "reference", **summarize_set(reference_rows, names)}}
    rng = np.random.default_rng(config.seed)
    reference_sample = _subsample(reference_rows, config.max_pieces, rng)
    intra_cache: dict[str, np.ndarray] = {}
    reference_matrix = _classifier_matrix(reference_rows, names)

    for set_name, rows in tqdm(generated.items(), disable=not progress, desc="comparing", unit="set"):
        summary = {"role": "generated", **summarize_set(rows, names)}
        reference_summary = sets["reference"]
        histograms = {}
        for name in HISTOGRAMS:
            if name in summary and name in reference_summary:
                ref_hist, gen_hist = reference_summary[name], summary[name]
                histograms[name] = {
                    "kl": kl_divergence(gen_hist, ref_hist, config.smoothing, config.log_base)
                    if np.all(np.isfinite(ref_hist)) and np.all(np.isfinite(gen_hist))
                    else math.nan,
                    "js": js_distance(ref_hist, gen_hist)
                    if np.all(np.isfinite(ref_hist)) and np.all(np.isfinite(gen_hist))
                    else math.nan,
                }
        sample = _subsample(rows, config.max_pieces, np.random.default_rng(config.seed))
        relative: dict[str, dict[str, float]] = {}
        for name in relative_names:
            ref_values = _relative_values(reference_sample, name)
            gen_values = _relative_values(sample, name)
            if ref_values is None or gen_values is None or len(sample) < 2:
                relative[name] = {
                    "kl": math.nan,
                    "overlap": math.nan,
                    "generated_kl": math.nan,
                    "generated_overlap": math.nan,
                    "intra_reference_mean": math.nan,
                    "intra_generated_mean": math.nan,
                    "inter_mean": math.nan,
                }
                continue
            if name not in intra_cache:
                intra_cache[name] = intra_set_distances(ref_values).ravel()
            intra_reference = intra_cache[name]
            intra_generated = intra_set_distances(gen_values).ravel()
            inter = inter_set_distances(gen_values, ref_values).ravel()
            measured = kde_kl_and_overlap(intra_reference, inter, config.grid_points, config.smoothing, config.log_base)
            own = kde_kl_and_overlap(intra_generated, inter, config.grid_points, config.smoothing, config.log_base)
            relative[name] = {
                **measured,
                "generated_kl": own["kl"],
                "generated_overlap": own["overlap"],
                "intra_reference_mean": _mean(intra_reference),
                "intra_generated_mean": _mean(intra_generated),
                "inter_mean": _mean(inter),
            }
        overlaps = [entry["overlap"] for entry in relative.values() if np.isfinite(entry["overlap"])]
        test = classifier_two_sample_test(
            _classifier_matrix(rows, names),
            reference_matrix,
            seed=config.seed,
            folds=config.folds,
            classifier=config.classifier,
        )
        summary["distances"] = {
            "histograms": histograms,
            "relative": relative,
            "mean_overlap": float(np.mean(overlaps)) if overlaps else math.nan,
            "mean_kl": _mean(np.array([entry["kl"] for entry in relative.values()])),
            "classifier": test.to_dict(),
        }
        sets[set_name] = summary

    for set_name, summary in sets.items():
        summary["counts"]["errors"] = int((error_counts or {}).get(set_name, 0))
    return {
        "reference": "reference",
        "sets": sets,
        "ranking": _ranking(sets),
        "config": {field: getattr(config, field) for field in config.__dataclass_fields__},
    }


def _mean(values: np.ndarray) -> float:
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if len(finite) else math.nan


def _ranking(sets: dict[str, Any]) -> list[dict[str, Any]]:
    """Generated sets, closest first: higher mean overlap, then classifier accuracy nearer 0.5; NaN last."""
    entries = []
    for name, summary in sets.items():
        if summary["role"] != "generated":
            continue
        distances = summary["distances"]
        accuracy = distances["classifier"]["accuracy"]
        entries.append(
            {
                "name": name,
                "mean_overlap": distances["mean_overlap"],
                "classifier_accuracy": accuracy,
                "pitch_class_js": distances["histograms"].get("pitch_class_histogram", {}).get("js", math.nan),
            }
        )

    def order(entry: dict[str, Any]) -> tuple[float, float]:
        overlap, accuracy = entry["mean_overlap"], entry["classifier_accuracy"]
        return (
            -overlap if np.isfinite(overlap) else math.inf,
            abs(accuracy - 0.5) if np.isfinite(accuracy) else math.inf,
        )

    entries.sort(key=order)
    for rank, entry in enumerate(entries, start=1):
        entry["rank"] = rank
    return entries
