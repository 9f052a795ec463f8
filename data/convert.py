"""Convert one music21 score to MIDI (and keep its ABC text), repairing the two known music21 write failures.

Repairs are tried only after a plain write fails, and each is recorded in the manifest:

- ``cannot expand Stream: badly formed repeats`` (e.g. ``bach/bwv277.krn``): the ``bar.Repeat`` barlines,
  ``spanner.RepeatBracket`` endings and repeat expressions are removed, so the piece is written once through
  without repeats.
- ``... is already found in this Stream`` (ABC tunes whose bars overrun the meter: music21's ABC reader puts
  one ``TimeSignature`` object into several measures): each extra occurrence is replaced by a copy.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def write_midi(score: Any, path: str | Path) -> tuple[str, ...]:
    """Write ``score`` as a MIDI file with music21, repairing it in place when a known write error occurs.

    Returns the repairs made (empty when the plain write worked). Raises ``WriteError`` otherwise; no file
    is left behind then.
    """
    path = Path(path)
    repairs: list[str] = []
    done: set[str] = set()
    first_error: BaseException | None = None
    while True:
        try:
            score.write("midi", fp=str(path))
            return tuple(repairs)
        except Exception as exc:  # music21 raises many exception types while writing
            first_error = first_error or exc
            try:
                repair = _repair_for(exc, score, done)
            except Exception:
                repair = None
            if repair is None:
                path.unlink(missing_ok=True)
                tried = f"; tried: {' / '.join(repairs)}" if repairs else ""
                raise WriteError(f"music21 could not write MIDI ({_short(first_error)}){tried}") from exc
            repairs.append(repair)


def pickup_quarters(score: Any) -> float:
    """Length in quarter notes of the score's pickup (anacrusis) bar, or 0.0 when it starts on a downbeat.

    music21 marks a pickup by ``paddingLeft`` on the first measure but writes its notes from time 0 under the
    full time signature, so every bar line in the MIDI file would fall a pickup's length too early.
    """
    parts = getattr(score, "parts", None) or [score]
    measures = parts[0].getElementsByClass("Measure")
    if not measures:
        return 0.0
    first = measures[0]
    if float(first.paddingLeft or 0.0) <= 0.0:
        return 0.0
    length = float(first.duration.quarterLength)
    return length if 0.0 < length < float(first.barDuration.quarterLength) else 0.0


def _fraction_signature(quarters: float) -> tuple[int, int] | None:
    for denominator in (4, 8, 16, 32, 64):
        numerator = quarters * denominator / 4
        if abs(numerator - round(numerator)) < 1e-9 and round(numerator) >= 1:
            return round(numerator), denominator
    return None


def mark_pickup_bar(path: str | Path, quarters: float) -> str | None:
    """Give the pickup bar of a written MIDI file its own time signature (e.g. 1/4), as notation programs do.

    Bar lines then fall where the score has them: the full signature starts after the pickup. Returns a
    description of the change, or None when ``quarters`` cannot be written as a time signature.
    """
    import mido

    signature = _fraction_signature(quarters)
    if signature is None:
        return None
    midi = mido.MidiFile(str(path))
    pickup_ticks = round(quarters * midi.ticks_per_beat)
    track = midi.tracks[0]
    events, now = [], 0
    for message in track:
        now += message.time
        events.append((now, message))
    first = next((m for t, m in events if m.type == "time_signature" and t == 0), None)
    if first is None or any(m.type == "time_signature" and 0 < t <= pickup_ticks for t, m in events):
        return None
    numerator, denominator = signature
    events.append((0, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)))
    events.append((pickup_ticks, first.copy()))
    events = [(t, m) for t, m in events if m is not first]
    events.sort(key=lambda item: (item[1].type == "end_of_track", item[0]))  # stable: same-tick order kept
    track.clear()
    previous = 0
    for tick, message in events:
        tick = max(tick, previous)  # end_of_track goes last, after the full-bar signature
        track.append(message.copy(time=tick - previous))
        previous = tick
    midi.save(str(path))
    return f"pickup bar of {quarters:g} quarter notes given its own {numerator}/{denominator} time signature"


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
        try:
            repairs = write_midi(score, midi_path)
        except WriteError as exc:
            return PieceResult(src.id, src.source, False, title=title, reason=str(exc))
        try:
            pickup = pickup_quarters(score)
            marked = mark_pickup_bar(midi_path, pickup) if pickup else None
        except Exception as exc:  # the MIDI is fine without the marker: keep it, say why bars may be shifted
            marked = f"pickup bar left unmarked ({_short(exc)}): bar lines may fall a pickup early"
        repairs = (*repairs, marked) if marked else repairs
    abc_name = None
    if src.text is not None:
        abc_name = f"{src.id}.abc"
        (out / abc_name).write_text(src.text, encoding="utf-8")
    return PieceResult(src.id, src.source, True, title, midi_path.name, abc_name, tuple(repairs))
