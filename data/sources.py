"""Where each corpus's pieces come from: music21's bundled scores, listed as ``PieceSource`` records.

Listing is cheap (no parsing); conversion happens in ``data.convert``. ABC tune books are split into tunes
on their ``X:`` reference-number lines (ABC standard 2.1, section 2.2: a tune starts with ``X:``), which also
gives each tune's own ABC text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_X_LINE = re.compile(r"(?m)^(?=X:)")
_FIELD_LINE = re.compile(r"^[A-Za-z]:")
_TITLE = re.compile(r"(?m)^T:[ \t]*(.*?)\s*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class PieceSource:
    """One piece to convert.

    ``path`` is the score file; ``text`` is the tune's ABC text when the file is a multi-tune ABC book
    (the piece is then parsed from ``text``, not from ``path``). ``source`` is the label used in the
    manifest: the path relative to music21's corpus folder, plus ``#X:n`` for a tune of a book.
    """

    id: str
    source: str
    path: str
    text: str | None = None
    title: str = ""


def music21_corpus_dir() -> Path:
    """Folder of music21's bundled corpus, symbolic links resolved as music21 resolves its own paths
    (imports music21, ~0.5 s)."""
    from music21 import corpus

    return Path(corpus.__file__).resolve().parent


def corpus_relative(path: str | Path, root: Path) -> str:
    """``path`` relative to the corpus folder ``root`` (POSIX form), with symbolic links resolved on both
    sides: music21 returns resolved paths (``corpus.getWork``), while a virtualenv reached through a link
    gives unresolved ones, and ``Path.relative_to`` compares the text."""
    path, root = Path(path), Path(root)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.resolve().relative_to(root.resolve()).as_posix()


def music21_version() -> str:
    """Installed music21 version string."""
    import music21

    return str(music21.__version__)


def safe_id(text: str) -> str:
    """File-name-safe id: runs of characters other than letters, digits, ``._-`` become ``_``."""
    out = _UNSAFE.sub("_", text).strip("_.")
    return out or "piece"


def abc_title(tune: str) -> str:
    """First ``T:`` field of an ABC tune, or ``""``."""
    m = _TITLE.search(tune)
    return m.group(1) if m else ""


def split_abc_tunes(text: str) -> list[tuple[str, str]]:
    """Split the text of an ABC file into tunes.

    Returns a list of ``(reference_number, tune_text)``; each tune runs from its ``X:`` line to the next
    ``X:`` line. Field lines of the file header (before the first tune, e.g. a shared ``L:``) apply to every
    tune (ABC 2.1, section 2.2.2), so they are copied into each tune right after its ``X:`` line; comment
    lines of the header are dropped.
    """
    parts = _X_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    header = [ln for ln in parts[0].splitlines() if _FIELD_LINE.match(ln)] if parts else []
    tunes: list[tuple[str, str]] = []
    for part in parts:
        if not part.startswith("X:"):
            continue
        first, _, rest = part.partition("\n")
        number = first[2:].strip()
        body = "\n".join([first, *header, rest.rstrip()]) if header else part.rstrip()
        tunes.append((number, body.rstrip() + "\n"))
    return tunes


def abc_book_sources(files: list[Path], root: Path, prefix: str = "") -> list[PieceSource]:
    """Tunes of the given ABC files, in file order then tune order.

    Ids are ``{prefix}{file stem}`` for a one-tune file and ``{prefix}{file stem}_x{X}`` otherwise, with
    ``-2``, ``-3`` ... appended when a book repeats a reference number.
    """
    out: list[PieceSource] = []
    seen: set[str] = set()
    for f in files:
        tunes = split_abc_tunes(f.read_text(encoding="utf-8", errors="replace"))
        rel = corpus_relative(f, root)
        for number, tune in tunes:
            base = safe_id(prefix + f.stem if len(tunes) == 1 else f"{prefix}{f.stem}_x{number}")
            pid, k = base, 1
            while pid in seen:
                k += 1
                pid = f"{base}-{k}"
            seen.add(pid)
            out.append(PieceSource(pid, f"{rel}#X:{number}", str(f), tune, abc_title(tune)))
    return out


def bach_chorale_sources() -> tuple[list[PieceSource], list[dict[str, str]]]:
    """The 371 Riemenschneider chorales (music21 ``corpus.chorales.Iterator``), in Riemenschneider order.

    Some chorales appear twice in that numbering but are one file; they are listed once and returned as
    duplicates ``{source, same_as}`` so that one score cannot land in two splits.
    """
    from music21 import corpus

    root = music21_corpus_dir()
    out: list[PieceSource] = []
    dups: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    info = corpus.chorales.ChoraleListRKBWV().byRiemenschneider
    by_stem: dict[str, list[Path]] = {}
    for f in sorted((root / "bach").iterdir()):
        if f.suffix.lower() in {".mxl", ".xml", ".musicxml", ".krn"}:
            by_stem.setdefault(f.stem, []).append(f)
    for number, name in enumerate(corpus.chorales.Iterator(returnType="filename"), start=1):
        # corpus.parse(name) reads the first of corpus.getWork(name), e.g. bwv277.krn before bwv277.mxl;
        # match the file name exactly (getWork also returns bwv69.6-a.mxl for 'bach/bwv69.6')
        stem = name.rsplit("/", 1)[-1]
        if stem in by_stem:
            path = by_stem[stem][0]
        else:
            found = corpus.getWork(name)
            path = Path(found[0] if isinstance(found, list) else found)
        rel = corpus_relative(path, root)
        if rel in seen:
            dups.append({"source": f"{rel} (Riemenschneider {number})", "same_as": seen[rel]})
            continue
        seen[rel] = f"{rel} (Riemenschneider {number})"
        meta = info.get(number, {})
        title = f"{meta['title']} (Riemenschneider {number})" if meta.get("title") else ""
        out.append(PieceSource(safe_id(path.stem), rel, str(path), title=title))
    return out, dups


def _abc_dirs(dirs: tuple[str, ...], prefixed: bool) -> tuple[list[PieceSource], list[dict[str, str]]]:
    root = music21_corpus_dir()
    out: list[PieceSource] = []
    for d in dirs:
        files = sorted((root / d).glob("*.abc"))
        out.extend(abc_book_sources(files, root, prefix=f"{d}_" if prefixed else ""))
    return out, []


ESSEN_DIRS = ("essenFolksong",)
ABC_TUNE_DIRS = ("ryansMammoth", "oneills1850", "airdsAirs", "miscFolk")


def essen_sources() -> tuple[list[PieceSource], list[dict[str, str]]]:
    """Tunes of the Essen folksong collection (``essenFolksong/*.abc``), one per ``X:``."""
    return _abc_dirs(ESSEN_DIRS, prefixed=False)


def abc_tune_sources() -> tuple[list[PieceSource], list[dict[str, str]]]:
    """Tunes of the fiddle/fife tune books ryansMammoth, oneills1850, airdsAirs and miscFolk."""
    return _abc_dirs(ABC_TUNE_DIRS, prefixed=True)


def palestrina_sources() -> tuple[list[PieceSource], list[dict[str, str]]]:
    """Palestrina mass movements in Humdrum kern (``palestrina/*.krn``), sorted by file name."""
    root = music21_corpus_dir()
    files = sorted((root / "palestrina").glob("*.krn"))
    return [PieceSource(safe_id(f.stem), corpus_relative(f, root), str(f)) for f in files], []
