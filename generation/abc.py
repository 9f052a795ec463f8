"""ABC tunes for the ``abc-chars`` encoding: where they come from, their normal form, and music21 to Piece.

Sources: a corpus built by ``python -m data build`` from an ABC collection keeps each tune's text beside
its MIDI (the manifest's ``abc`` field) and its train/validation/test split; any other folder of ``.abc``
files (one tune or a whole tune book per file, split into tunes on their ``X:`` lines by
:func:`data.sources.split_abc_tunes`) is split by its ``train/ validation/ test/`` sub-folders, or by tune
with :func:`data.assign_splits` and a fixed seed.

Normal form (:func:`normalise_tune`, what ``abc-chars`` encodes): the tune without comments, blank lines and
the fields that do not change the music (``X:`` reference number, ``T:`` title, ``C:``, ``O:``, ``R:``,
``N:``, ``S:``, ``Z:`` and other notes, ``w:``/``W:`` lyrics); the musical fields ``L:``, ``M:``, ``K:``,
``Q:``, ``P:``, ``V:``, ``U:``, ``m:`` and ``I:`` stay where they are (ABC standard 2.1, section 3).

Reading (:func:`abc_to_piece`): music21 parses the text; repeats are expanded and ties joined, as music21's
MIDI writer does, and the notes become a :class:`evaluation.Piece` (no MIDI file is written with music21).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from data import SPLITS, DataError, assign_splits, load_manifest
from data.sources import split_abc_tunes
from evaluation import Piece, piece_from_notes
from generation.errors import GenerationError

__all__ = ["AbcTune", "MUSICAL_FIELDS", "abc_splits", "abc_to_piece", "normalise_tune"]

#: Header/inline fields kept by the normal form (they change what music21 plays).
MUSICAL_FIELDS = frozenset("LMKQPVUmI")
_FIELD = re.compile(r"^([A-Za-z]):")
PLAIN_SEED = 0  # seed of the by-tune split of a plain folder of ABC files
_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class AbcTune:
    """One ABC tune: ``id`` names it (``book.abc#X:3`` for a tune of a book), ``text`` is as written, ``path``
    the file it came from and ``midi`` the corpus's MIDI of it (built corpora only)."""

    id: str
    text: str
    path: str
    midi: str | None = None


def normalise_tune(text: str) -> str:
    """The tune's music as ABC text: comments, blank lines and non-musical fields dropped (module docstring)."""
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.split("%", 1)[0].rstrip() if not raw.startswith("%%") else ""
        if not line.strip():
            continue
        field = _FIELD.match(line)
        if field and field.group(1) not in MUSICAL_FIELDS:
            continue
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def _short(error: BaseException) -> str:
    message = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _writable_signature(numerator: object, denominator: object) -> bool:
    """A time signature MIDI can hold: a positive whole numerator over 1, 2, 4, ..., 64."""
    try:
        top, bottom = int(numerator), int(denominator)
    except (TypeError, ValueError):
        return False
    return top >= 1 and top == numerator and bottom in (1, 2, 4, 8, 16, 32, 64)


def _has_repeats(score) -> bool:
    from music21 import bar, repeat, spanner  # noqa: PLC0415

    return bool(score.recurse().getElementsByClass((bar.Repeat, repeat.RepeatExpression, spanner.RepeatBracket)))


def abc_to_piece(text: str, name: str = "<abc>") -> Piece:
    """Parse one ABC tune with music21 into a Piece (tempo from ``Q:``, else 120 BPM; time signatures with a
    pickup bar of its own, as the corpus builder writes them). What MIDI cannot hold is left out: pitches
    outside 0..127, time signatures whose denominator is not a power of two, tempi outside 1..1000 BPM.

    Raises GenerationError naming ``name`` when music21 cannot parse it or it has no notes."""
    from music21 import converter, meter, stream  # noqa: PLC0415  (music21 takes ~1 s to import)
    from music21 import tempo as m21_tempo  # noqa: PLC0415

    from data.bars import score_bars, time_signature_table  # noqa: PLC0415

    body = text if text.lstrip().startswith("X:") else "X:1\n" + text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            score = converter.parse(body, format="abc", forceSource=True)
            if isinstance(score, stream.Opus):
                if not score.scores:
                    raise ValueError("no tune in the text")
                score = score.scores[0]
            expanded = score
            if _has_repeats(score):
                try:
                    expanded = score.expandRepeats()
                except Exception:  # badly formed repeats: play it once through, as the corpus builder repairs it
                    expanded = score
            parts = list(expanded.parts) or [expanded]
            pitches, starts, ends = [], [], []
            for part in parts:
                part.stripTies(inPlace=True, matchByPitch=True)  # the parsed score is ours: no copy
                flat = part.flatten()
                for element in flat.notes:
                    length = float(element.duration.quarterLength)
                    if length <= 0 or type(element).__name__ == "ChordSymbol":
                        continue  # grace notes and chord symbols are not played
                    offset = float(element.offset)
                    for pitch in element.pitches:
                        pitches.append(int(pitch.midi))
                        starts.append(offset)
                        ends.append(offset + length)
            flat = expanded.flatten()
            marks = list(flat.getElementsByClass(m21_tempo.MetronomeMark))
            bpm = float(marks[0].getQuarterBPM()) if marks and marks[0].getQuarterBPM() else 120.0
            signatures = list(flat.getElementsByClass(meter.TimeSignature))
            bars = score_bars(expanded, score)
        except GenerationError:
            raise
        except Exception as error:  # music21 raises many exception types on bad ABC
            raise GenerationError(f"{name}: music21 cannot parse this ABC tune ({_short(error)})") from None
    keep = [0 <= pitch <= 127 for pitch in pitches]  # music21 can spell pitches MIDI cannot play
    pitches, starts, ends = ([value for value, ok in zip(column, keep, strict=True) if ok]
                             for column in (pitches, starts, ends))
    if not pitches:
        raise GenerationError(f"{name}: the ABC tune has no notes")
    if not (1.0 <= bpm <= 1000.0):  # a tempo MIDI cannot write (Q:0, negative): the default
        bpm = 120.0
    table = [row for row in (time_signature_table(bars)[0] if bars else []) if _writable_signature(row[1], row[2])]
    if not table:  # no measures: the signatures as written
        table = [(float(sig.offset), sig.numerator, sig.denominator) for sig in signatures
                 if _writable_signature(sig.numerator, sig.denominator)]
    table = sorted({row[0]: row for row in table}.values()) or [(0.0, 4, 4)]
    if table[0][0] > 0:
        table.insert(0, (0.0, 4, 4))
    return piece_from_notes(pitches, starts, ends, tempos=bpm, time_signatures=[list(row) for row in table],
                            path=name)


def _tunes_of_file(path: Path, root: Path) -> list[AbcTune]:
    text = path.read_text(encoding="utf-8", errors="replace")
    tunes = split_abc_tunes(text) or [("1", text)]
    relative = path.relative_to(root).as_posix()
    if len(tunes) == 1:
        return [AbcTune(relative, tunes[0][1], str(path))]
    seen: dict[str, int] = {}
    out = []
    for number, tune in tunes:
        key = f"{relative}#X:{number}"
        seen[key] = seen.get(key, 0) + 1
        out.append(AbcTune(key if seen[key] == 1 else f"{key}-{seen[key]}", tune, str(path)))
    return out


def abc_splits(folder: Path) -> tuple[dict[str, list[AbcTune]], str]:
    """The train/validation/test ABC tunes of a folder, and the rule that made the split (module docstring).

    Raises GenerationError when the folder does not exist or holds no ABC tune."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GenerationError(f"corpus folder {folder} does not exist or is not a folder")
    if (folder / "manifest.json").is_file():
        try:
            manifest = load_manifest(folder)
        except DataError as error:
            raise GenerationError(str(error)) from None
        entries = [entry for entry in manifest.entries if entry.abc]
        if not entries:
            raise GenerationError(f"corpus {folder} ({manifest.name}) keeps no ABC text; abc-chars needs a corpus "
                                  "built from an ABC collection (essen-folk, abc-tunes) or a folder of .abc files")
        splits: dict[str, list[AbcTune]] = {name: [] for name in SPLITS}
        for entry in entries:
            path = folder / entry.abc
            if not path.is_file():
                raise GenerationError(f"corpus {folder} lacks {entry.abc}, listed in its manifest; rebuild it")
            splits[entry.split].append(AbcTune(entry.id, path.read_text(encoding="utf-8"), str(path),
                                               str(folder / entry.midi) if entry.midi else None))
        return splits, f"manifest split of {manifest.name} (seed {manifest.seed})"
    if any((folder / name).is_dir() for name in SPLITS):
        splits = {name: [tune for path in sorted((folder / name).rglob("*.abc"))
                         for tune in _tunes_of_file(path, folder)] if (folder / name).is_dir() else []
                  for name in SPLITS}
        rule = "sub-folders train/, validation/, test/"
    else:
        tunes = [tune for path in sorted(folder.rglob("*.abc")) for tune in _tunes_of_file(path, folder)]
        split_of = assign_splits([tune.id for tune in tunes], PLAIN_SEED, _FRACTIONS)
        splits = {name: [tune for tune in tunes if split_of[tune.id] == name] for name in SPLITS}
        rule = f"by tune, seed {PLAIN_SEED}, fractions 0.8/0.1/0.1"
    if not any(splits.values()):
        raise GenerationError(f"no ABC tunes (*.abc) found in {folder} or its subfolders")
    return splits, rule
