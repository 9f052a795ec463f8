"""Build corpora (music21 scores → MIDI + manifest) and find the MIDI files of any corpus folder."""

from __future__ import annotations

import importlib.metadata
import itertools
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from tunelab import MIDI_SUFFIXES, data_dir

from .convert import PieceResult, convert_piece, restore_music21, setup_music21
from .errors import DataError
from .manifest import (
    BUILDER_VERSION,
    DEFAULT_FRACTIONS,
    MANIFEST_NAME,
    SPLITS,
    Entry,
    Failure,
    Manifest,
    assign_splits,
    check_fractions,
    check_split,
    load_manifest,
    save_manifest,
)
from .registry import CORPORA
from .sources import PieceSource

DATA_DIR = data_dir()
CACHE_DIR = DATA_DIR / ".cache" / "music21"


def default_out_dir(name: str) -> Path:
    """``data/<name>/`` inside the repository."""
    return DATA_DIR / name


def _check_name(name: str) -> None:
    if name not in CORPORA:
        raise DataError(f"unknown corpus {name!r}; choose one of: {', '.join(CORPORA)} (see `python -m data list`)")


def _m21_version() -> str:
    return importlib.metadata.version("music21")


def is_built(folder: Path, name: str, limit: int | None, seed: int, fractions: tuple[float, float, float]) -> bool:
    """True when ``folder`` holds a complete build of ``name`` made with the same arguments and music21."""
    if not (Path(folder) / MANIFEST_NAME).is_file():
        return False
    try:
        m = load_manifest(folder)
    except DataError:
        return False
    wanted = {
        "name": name,
        "limit": limit,
        "seed": seed,
        "fractions": list(fractions),
        "music21_version": _m21_version(),
        "builder_version": BUILDER_VERSION,
    }
    if m.build_args() != wanted:
        return False
    return all((Path(folder) / e.midi).is_file() for e in m.entries)


def _convert_all(sources: list[PieceSource], staging: Path, jobs: int, desc: str) -> list[PieceResult]:
    if jobs <= 1 or len(sources) <= 1:
        previous = setup_music21(CACHE_DIR)
        try:
            return [convert_piece(src, staging) for src in tqdm(sources, desc=desc, unit="piece", dynamic_ncols=True)]
        finally:
            restore_music21(previous)
    chunk = max(1, min(4, len(sources) // (jobs * 8)))
    # the pool is started before tqdm starts its monitor thread, so no thread is forked
    with ProcessPoolExecutor(max_workers=jobs, initializer=setup_music21, initargs=(str(CACHE_DIR),)) as ex:
        results = ex.map(convert_piece, sources, itertools.repeat(str(staging)), chunksize=chunk)
        return list(tqdm(results, total=len(sources), desc=desc, unit="piece", dynamic_ncols=True))


def check_replaceable(out: Path) -> None:
    """Refuse an output that a build would destroy: a file, or a non-empty folder that is not a corpus."""
    if out.exists() and not out.is_dir():
        raise DataError(f"output {out} is a file; pass a folder with --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise DataError(
            f"output folder {out} is not empty and holds no corpus manifest; refusing to replace it. "
            "Choose an empty or new folder with --out"
        )


def build_from_sources(
    name: str,
    sources: list[PieceSource],
    out_dir: Path,
    *,
    duplicates: list[dict[str, str]] | None = None,
    corpus_paths: tuple[str, ...] = (),
    limit: int | None = None,
    jobs: int = 1,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> Manifest:
    """Convert ``sources`` into ``out_dir`` (replacing a previous build there) and write its manifest.

    The build happens in a sibling staging folder that replaces ``out_dir`` only when complete, so an
    interrupted build never leaves a half-written corpus behind.
    """
    out_dir = Path(out_dir)
    if len({s.id for s in sources}) != len(sources):
        raise ValueError("piece ids must be unique")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        results = _convert_all(sources, staging, jobs, desc=name)
        ok = [r for r in results if r.ok]
        split_of = assign_splits([r.id for r in ok], seed, fractions)
        manifest = Manifest(
            name=name,
            source={
                "music21_version": _m21_version(),
                "builder_version": BUILDER_VERSION,
                "corpus_paths": list(corpus_paths),
            },
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            seed=seed,
            limit=limit,
            fractions=fractions,
            entries=tuple(Entry(r.id, r.midi, r.title, split_of[r.id], r.source, r.abc, r.repairs) for r in ok),
            failures=tuple(Failure(r.source, r.reason) for r in results if not r.ok),
            duplicates=tuple(duplicates or ()),
        )
        save_manifest(manifest, staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def build_corpus(
    name: str,
    out_dir: Path | None = None,
    limit: int | None = None,
    jobs: int = 1,
    seed: int = 0,
    force: bool = False,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> Path:
    """Build corpus ``name`` (see ``CORPORA``) and return its folder.

    Parameters
    ----------
    name : corpus name, e.g. ``"bach-chorales"``.
    out_dir : output folder; default ``data/<name>/`` in the repository.
    limit : convert only the first ``limit`` pieces (in the source's order), for quick tests.
    jobs : worker processes for the conversion.
    seed : seed of the train/validation/test split.
    force : rebuild even when ``out_dir`` already holds this build.
    fractions : train, validation, test shares (default 0.8, 0.1, 0.1).

    A folder that already holds a complete build with the same name, limit, seed, fractions, music21
    version and ``BUILDER_VERSION`` is returned at once without converting anything (no music21 import).
    """
    _check_name(name)
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of pieces, got {limit}")
    if jobs < 1:
        raise DataError(f"jobs must be at least 1, got {jobs}")
    fractions = check_fractions(fractions)
    out = Path(out_dir) if out_dir is not None else default_out_dir(name)
    if not force and is_built(out, name, limit, seed, fractions):
        return out
    check_replaceable(out)
    spec = CORPORA[name]
    sources, duplicates = spec.list_sources()
    if limit is not None:
        sources = sources[:limit]
    build_from_sources(
        name,
        sources,
        out,
        duplicates=duplicates,
        corpus_paths=spec.corpus_paths,
        limit=limit,
        jobs=jobs,
        seed=seed,
        fractions=fractions,
    )
    return out


PLAIN_FOLDER_SEED = 0  # seed of the by-piece split of a plain folder of MIDI (no manifest, no split sub-folders)


def _plain_midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def corpus_splits(folder: Path) -> tuple[dict[str, list[Path]], str]:
    """The train/validation/test MIDI files of any corpus folder, and the rule that made the split.

    - A built corpus (``manifest.json``): the manifest's split by piece.
    - A plain folder with ``train/``, ``validation/`` or ``test/`` sub-folders: those sub-folders.
    - Any other folder of MIDI: split by piece (file path relative to the folder) with the builder's
      :func:`assign_splits`, seed ``PLAIN_FOLDER_SEED`` and fractions 0.8/0.1/0.1.

    Splits are always by piece, never by window. Raises ``DataError`` as :func:`corpus_files` does.
    """
    folder = _check_folder(Path(folder))
    if (folder / MANIFEST_NAME).is_file():
        m = load_manifest(folder)
        splits = {name: [folder / e.midi for e in m.entries if e.split == name] for name in SPLITS}
        missing = [p for files in splits.values() for p in files if not p.is_file()]
        if missing:
            raise DataError(
                f"corpus {folder} lacks {len(missing)} MIDI file(s) listed in its manifest (first: "
                f"{missing[0].name}); rebuild it with `python -m data build {m.name} --out {folder} --force`"
            )
        return splits, f"manifest split of {m.name} (seed {m.seed})"
    if any((folder / name).is_dir() for name in SPLITS):
        splits = {name: _plain_midi_files(folder / name) if (folder / name).is_dir() else [] for name in SPLITS}
        if not any(splits.values()):
            raise DataError(f"no MIDI files (*.mid, *.midi) found in the train/validation/test sub-folders of "
                            f"{folder}")
        return splits, "sub-folders train/, validation/, test/"
    files = _plain_midi_files(folder)
    if not files:
        raise DataError(f"no MIDI files (*.mid, *.midi) found in {folder} or its subfolders")
    names = {p.relative_to(folder).as_posix(): p for p in files}
    split_of = assign_splits(list(names), PLAIN_FOLDER_SEED, DEFAULT_FRACTIONS)
    splits = {name: [p for key, p in names.items() if split_of[key] == name] for name in SPLITS}
    return splits, f"by piece, seed {PLAIN_FOLDER_SEED}, fractions 0.8/0.1/0.1"


def _check_folder(folder: Path) -> Path:
    if not folder.exists():
        hint = f"; build it with `python -m data build {folder.name}`" if folder.name in CORPORA else ""
        raise DataError(f"corpus folder {folder} does not exist{hint}")
    if not folder.is_dir():
        raise DataError(f"{folder} is a file, not a corpus folder; pass the folder that holds the MIDI files")
    return folder


def corpus_files(folder: Path, split: str | None = None) -> list[Path]:
    """MIDI files of a corpus folder: all of them (``split=None``) or one split (see :func:`corpus_splits`).

    With ``split=None``, a built corpus gives its files in manifest order and any other folder every
    ``*.mid``/``*.midi`` file found recursively, sorted by path.

    Raises
    ------
    DataError
        When the folder does not exist, holds no MIDI, lacks files its manifest lists, or the split is
        unknown or empty.
    """
    folder = _check_folder(Path(folder))
    if split is not None:
        check_split(split)
        splits, rule = corpus_splits(folder)
        if not splits[split]:
            counts = ", ".join(f"{name} {len(files)}" for name, files in splits.items())
            raise DataError(f"corpus {folder} has no pieces in split {split!r} ({counts}; split: {rule}); "
                            "add pieces or use another split")
        return splits[split]
    if (folder / MANIFEST_NAME).is_file():
        corpus_splits(folder)  # raises when a listed file is missing
        files = [folder / e.midi for e in load_manifest(folder).entries]
        if not files:
            raise DataError(f"corpus {folder} has no pieces; rebuild it with `python -m data build`")
        return files
    files = _plain_midi_files(folder)
    if not files:
        raise DataError(f"no MIDI files (*.mid, *.midi) found in {folder} or its subfolders")
    return files


def corpus_status(name: str, folder: Path | None = None) -> tuple[Path, Manifest | None]:
    """Folder of corpus ``name`` and its manifest, or ``None`` when it is not built there."""
    folder = Path(folder) if folder is not None else default_out_dir(name)
    try:
        return folder, load_manifest(folder)
    except DataError:
        return folder, None


def timed_build(**kwargs) -> tuple[Path, float, bool]:
    """``build_corpus(**kwargs)`` with its wall time in seconds and whether it was a no-op (for the CLI)."""
    t0 = time.perf_counter()
    out = Path(kwargs.get("out_dir") or default_out_dir(kwargs["name"]))
    before = (out / MANIFEST_NAME).stat().st_mtime_ns if (out / MANIFEST_NAME).is_file() else None
    path = build_corpus(**kwargs)
    after = (path / MANIFEST_NAME).stat().st_mtime_ns
    return path, time.perf_counter() - t0, before == after
