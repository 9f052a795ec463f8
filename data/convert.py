"""Convert one music21 score to MIDI (and keep its ABC text), repairing the two known music21 write failures.

The MIDI file is the repeat-expanded score, written by :func:`evaluation.write_midi` with one time signature
per change of bar length, so its bar lines are the score's (pickups, split bars and endings included; see
:mod:`data.bars`).

Repairs are tried only after a plain write fails, and each is recorded in the manifest:

- ``cannot expand Stream: badly formed repeats`` (e.g. ``bach/bwv277.krn``): the ``bar.Repeat`` barlines,
  ``spanner.RepeatBracket`` endings and repeat expressions are removed, so the piece is written once through
  without repeats.
- ``... is already found in this Stream`` (ABC tunes whose bars overrun the meter: music21's ABC reader puts
  one ``TimeSignature`` object into several measures): each extra occurrence is replaced by a copy.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation import MidiError, read_midi, write_midi

from .bars import score_bars, time_signature_table
from .sources import PieceSource


@dataclass(frozen=True)
class PieceResult:
    """Outcome of converting one piece; ``reason`` is set when ``ok`` is False."""

    id: str
    source: str
    ok: bool
    title: str = ""
    midi: str = ""
    abc: str | None = None
    repairs: tuple[str, ...] = ()
    reason: str = ""


def setup_music21(cache_dir: str | Path) -> str | None:
    """Point music21's scratch directory (its parse cache, default ``/tmp/music21``) at ``cache_dir``.

    The change is in memory only (no settings file is written). Returns the previous value so a caller can
    restore it.
    """
    from music21 import environment

    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    env = environment.Environment()
    previous = env["directoryScratch"]
    env["directoryScratch"] = str(cache_dir)
    return None if previous is None else str(previous)


def restore_music21(previous: str | None) -> None:
    """Undo ``setup_music21``."""
    from music21 import environment

    environment.Environment()["directoryScratch"] = previous


def _short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg[:300]}" if msg else type(exc).__name__


def remove_repeats(score: Any) -> int:
    """Remove repeat barlines, repeat brackets and repeat expressions in place; return the count."""
    from music21 import bar, repeat, spanner, stream

    n = 0
    for m in list(score.recurse().getElementsByClass(stream.Measure)):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(m, side), bar.Repeat):
                setattr(m, side, None)
                n += 1
    for klass in (spanner.RepeatBracket, repeat.RepeatExpression):
        for el in list(score.recurse().getElementsByClass(klass)):
            site = el.activeSite
            if site is not None:
                site.remove(el)
                n += 1
    for sp in list(score.spannerBundle.getByClass(spanner.RepeatBracket)):
        score.spannerBundle.remove(sp)
        n += 1
    return n


def unshare_context_objects(score: Any) -> int:
    """Replace each time signature, key signature or tempo mark that sits in more than one stream by a
    copy; return how many copies were made."""
    from music21 import key, meter, tempo

    seen: set[int] = set()
    n = 0
    for s in list(score.recurse(streamsOnly=True, includeSelf=True)):
        for el in list(s.getElementsByClass((meter.TimeSignature, key.KeySignature, tempo.MetronomeMark))):
            if id(el) in seen:
                s.replace(el, copy.deepcopy(el))
                n += 1
            else:
                seen.add(id(el))
    return n


def _repair_for(exc: BaseException, score: Any, done: set[str]) -> str | None:
    msg = str(exc)
    if "badly formed repeats" in msg and "repeats" not in done:
        done.add("repeats")
        n = remove_repeats(score)
        return (
            (
                f"removed {n} repeat signs because music21 reported 'cannot expand Stream: badly formed "
                "repeats'; the MIDI plays the music once, without repeats"
            )
            if n
            else None
        )
    if "already found in this Stream" in msg and "unshare" not in done:
        done.add("unshare")
        n = unshare_context_objects(score)
        return (
            (
                f"copied {n} time/key signatures that music21's reader had put into several measures "
                "(music21 reported 'object is already found in this Stream')"
            )
            if n
            else None
        )
    return None


class WriteError(Exception):
    """music21 could not write the score even after the repairs (message: the error and repairs tried)."""


def remove_grace_notes(score: Any) -> int:
    """Remove grace notes (notes of zero written length, e.g. ABC's ``{a}``) in place; return the count.

    music21's MIDI writer gives a grace note a length of its own, which can be many beats long (a ``{a}`` in
    Ryan's Mammoth's AcaciaReel was written as a 16-quarter note), so the MIDI would hold notes the score does
    not. The corpus leaves them out, as the project's ABC reader (:mod:`generation.abc`) does.
    """
    n = 0
    for note in list(score.recurse().notes):
        if note.duration.isGrace or float(note.duration.quarterLength) <= 0.0:
            site = note.activeSite
            if site is not None:
                site.remove(note)
                n += 1
    return n


def _expand(score: Any) -> Any:
    """``score`` with its repeats written out (music21's ``expandRepeats``), as music21's MIDI writer
    plays it; a score without measures is returned as it is."""
    from music21 import stream  # noqa: PLC0415

    return score.expandRepeats() if score[stream.Measure] else score


def _render(score: Any) -> tuple[Any, bytes]:
    """The expanded score and music21's MIDI bytes of it (notes, velocities, instruments, tempo)."""
    from music21.midi import translate  # noqa: PLC0415

    expanded = _expand(score)
    return expanded, translate.music21ObjectToMidiFile(expanded).writestr()


def _render_with_repairs(score: Any) -> tuple[Any, bytes, tuple[str, ...]]:
    """:func:`_render`, repairing ``score`` in place and retrying when music21 reports a known failure."""
    repairs: list[str] = []
    done: set[str] = set()
    first_error: BaseException | None = None
    while True:
        try:
            expanded, data = _render(score)
            return expanded, data, tuple(repairs)
        except Exception as exc:  # music21 raises many exception types while writing
            first_error = first_error or exc
            try:
                repair = _repair_for(exc, score, done)
            except Exception:
                repair = None
            if repair is None:
                tried = f"; tried: {' / '.join(repairs)}" if repairs else ""
                raise WriteError(f"music21 could not write MIDI ({_short(first_error)}){tried}") from exc
            repairs.append(repair)


def write_score_midi(score: Any, path: str | Path) -> tuple[str, ...]:
    """Write ``score`` as a MIDI file whose bar lines are the score's, and return the repairs made.

    music21 renders the notes of the repeat-expanded score (velocities, instruments, tempo); the time
    signatures are then rewritten from the expanded score's measures (:func:`data.bars.time_signature_table`:
    pickups, split bars and endings get a signature of their own length) and the piece is written by the
    project's one MIDI writer, :func:`evaluation.write_midi`. Reading the file back, the bar lines before
    the last note are exactly the measure starts of the expanded score.

    Returns the repairs made (empty when nothing had to change), including a note for any bar whose length
    no time signature can express. Raises ``WriteError`` when music21 cannot render the score even after
    the known repairs, or the rendering has nothing the reader accepts; no file is left behind then.
    """
    path = Path(path)
    expanded, data, repairs = _render_with_repairs(score)
    try:
        piece = read_midi(data, name=str(path))
    except MidiError as exc:
        raise WriteError(f"music21's MIDI of the score cannot be read back ({exc.reason})") from exc
    bars = score_bars(expanded, score)
    if bars:
        rows, unwritable = time_signature_table(bars)
        piece = dataclasses.replace(piece, time_signatures=np.array(rows, dtype=np.float64))
        if unwritable:
            first = unwritable[0]
            repairs = (*repairs, f"{len(unwritable)} bar(s) have a length no MIDI time signature can express "
                                 f"(first: measure {first.number}{first.suffix}, {first.length:g} quarter notes at "
                                 f"{first.start:g}); bar lines after it may be shifted")
    try:
        write_midi(piece, path)
    except MidiError as exc:
        path.unlink(missing_ok=True)
        raise WriteError(f"the MIDI of the score cannot be written ({exc.reason})") from exc
    return repairs


def _score_title(score: Any) -> str:
    md = score.metadata
    if md is None:
        return ""
    for value in (md.title, md.movementName):
        # music21 fills movementName with the file name when a score has no title
        if value and Path(str(value)).suffix.lower() not in {
            ".mxl",
            ".xml",
            ".musicxml",
            ".krn",
            ".abc",
            ".mid",
        }:
            return str(value)
    return ""


def _parse(src: PieceSource) -> Any:
    from music21 import converter, stream

    if src.text is not None:
        parsed = converter.parse(src.text, format="abc")
    else:
        parsed = converter.parse(src.path)
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if len(scores) != 1:
            raise ValueError(f"expected one piece, found {len(scores)}")
        parsed = scores[0]
    return parsed


def convert_piece(src: PieceSource, out_dir: str | Path) -> PieceResult:
    """Parse ``src`` with music21 and write ``{out_dir}/{id}.mid`` (and ``{id}.abc`` for ABC tunes).

    Never raises for a bad piece: the failure comes back as ``PieceResult(ok=False, reason=...)``.
    """
    out = Path(out_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            score = _parse(src)
        except Exception as exc:  # music21 raises many types for unreadable input
            return PieceResult(src.id, src.source, False, reason=f"music21 could not read the score ({_short(exc)})")
        if not score.recurse().notes:
            return PieceResult(src.id, src.source, False, reason="the score has no notes, so its MIDI would be empty")
        title = src.title or _score_title(score) or src.id
        midi_path = out / f"{src.id}.mid"
        graces = remove_grace_notes(score)
        try:
            repairs = write_score_midi(score, midi_path)
        except WriteError as exc:
            return PieceResult(src.id, src.source, False, title=title, reason=str(exc))
        if graces:
            repairs = (*repairs, f"left out {graces} grace note(s): music21 would write each as a long note")
    abc_name = None
    if src.text is not None:
        abc_name = f"{src.id}.abc"
        (out / abc_name).write_text(src.text, encoding="utf-8")
    return PieceResult(src.id, src.source, True, title, midi_path.name, abc_name, tuple(repairs))
