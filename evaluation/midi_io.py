"""The one MIDI reader of tunelab: a file (path or bytes) becomes a :class:`Piece` of plain note arrays.

Conventions used by every metric in ``evaluation/``:

- Times are in **quarter notes** from the start of the file (``start``, ``end``), and also in **seconds**
  (``start_seconds``, ``end_seconds``) through the file's tempo map. A "beat" is one quarter note, as in
  MusPy (its ``resolution`` is ticks per quarter note).
- Notes are sorted by start, then pitch. Drum notes (MIDI channel 10) are kept, flagged by ``is_drum``;
  metrics that are about pitch use :meth:`Piece.pitched`. Notes of zero length (a note-off on the note-on's
  tick) are dropped: they never sound (MusPy keeps them; :mod:`evaluation.features` lists what that changes).
- Bars come from the time signatures (4/4 when the file has none): :meth:`Piece.bar_starts`.

This module is the only place that raises :class:`MidiError` for a file that cannot be read; the message
names the file and says what is wrong with it in words a person understands. It is also the one writer:
:func:`write_midi` turns a :class:`Piece` back into a Standard MIDI File (after :func:`check_piece`), so that
``read_midi(write_midi(piece, path))`` gives the same notes, tempo map and time signatures. Pieces made in
code (decoders, baselines, fixtures) are built with :func:`piece_from_notes`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BYTES_PER_BEAT", "BYTES_PER_NOTE", "MidiError", "Piece", "ReaderConfig", "check_piece",
           "piece_from_notes", "read_midi", "write_midi"]

#: Peak bytes per note and per quarter note of length that reading and scoring one file (every feature) need
#: at most, measured with tracemalloc (about 210 and 820; ``tests/evaluation/test_bad_input.py`` checks them).
BYTES_PER_NOTE = 300
BYTES_PER_BEAT = 1000


class MidiError(ValueError):
    """A MIDI file that cannot be scored; ``path`` names the file and ``reason`` says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ReaderConfig:
    """What the reader accepts. Tempi are in quarter notes per minute (BPM).

    Memory: reading and scoring one file (``compute_features``) needs at most :data:`BYTES_PER_NOTE` bytes per
    note plus :data:`BYTES_PER_BEAT` per quarter note of length plus 8 MB at its peak (long notes over many
    beats are visited in chunks of bounded size), so the default limits bound one worker to about 400 MB
    (1,000,000 notes: 300 MB; 100,000 quarter notes, 14 hours at 120 BPM: 100 MB). The time is bounded too:
    work per beat of every note is at most ``max_note_quarters``. A file over a limit is refused with a
    :class:`MidiError` that says which limit and by how much.
    """

    min_bpm: float = 1.0  # slower tempi (or a tempo of zero microseconds) are reported as broken
    max_bpm: float = 1000.0  # faster tempi squash the piece into nothing and are reported as broken
    require_pitched: bool = True  # a file with only drum notes is reported (nothing pitched to score)
    max_bytes: int = 64 * 1024 * 1024  # larger files are refused before parsing
    max_notes: int = 1_000_000  # more notes are refused after parsing, before any array is built
    max_quarters: float = 100_000.0  # a piece longer than this (quarter notes, to its last note end) is refused
    max_note_quarters: float = 20_000_000.0  # total length of all notes (quarter notes): bounds the time work
    sustain_pedal: bool = False  # True: a note released while its track's sustain pedal (CC64) is down sounds on
    #                              until the pedal is lifted (or its pitch starts again), as a synthesizer plays it


@dataclass(frozen=True, eq=False)
class Piece:
    """Notes of one MIDI file as parallel numpy arrays, plus its tempo map and time signatures.

    Shapes: every note array has shape ``(n_notes,)``. Units: quarter notes unless the name says seconds.
    """

    path: str
    pitch: np.ndarray  # int16, MIDI pitch 0..127
    start: np.ndarray  # float64, quarter notes
    end: np.ndarray  # float64, quarter notes, > start
    start_seconds: np.ndarray  # float64
    end_seconds: np.ndarray  # float64
    velocity: np.ndarray  # int16, 1..127
    program: np.ndarray  # int16, General MIDI program 0..127
    is_drum: np.ndarray  # bool
    track: np.ndarray  # int16, index of the track the note came from
    ticks_per_quarter: int
    tempos: np.ndarray  # (k, 2) float64: [position in quarter notes, BPM]; first row at 0
    time_signatures: np.ndarray  # (m, 3) float64: [position in quarter notes, numerator, denominator]
    controls_end: float = 0.0  # quarter notes: the last control change (0 without any); not written back

    @property
    def n_notes(self) -> int:
        return int(self.pitch.shape[0])

    @property
    def duration(self) -> float:
        """End of the last note, in quarter notes (0.0 for a piece without notes)."""
        return float(self.end.max()) if self.n_notes else 0.0

    @property
    def track_end(self) -> float:
        """End of the tracks as MusPy measures it (quarter notes): the last note end or control change,
        whichever is later (MusPy keeps control changes as track annotations)."""
        return max(self.duration, float(self.controls_end))

    @property
    def duration_seconds(self) -> float:
        return float(self.end_seconds.max()) if self.n_notes else 0.0

    def select(self, mask: np.ndarray) -> Piece:
        """The same piece keeping only the notes where ``mask`` is true."""
        fields = ("pitch", "start", "end", "start_seconds", "end_seconds", "velocity", "program", "is_drum", "track")
        return dataclasses.replace(self, **{name: getattr(self, name)[mask] for name in fields})

    def pitched(self) -> Piece:
        """The piece without drum notes (drum 'pitches' are instruments, not pitches)."""
        return self.select(~self.is_drum)

    def bar_starts(self, until: float | None = None) -> np.ndarray:
        """Positions of bar lines in quarter notes, from 0 up to (not including) ``until`` (default: duration).

        A bar lasts ``numerator * 4 / denominator`` quarter notes of the time signature in force; a time
        signature that changes mid-bar starts a new bar where it changes (as MIDI files written by notation
        programs do).
        """
        until = self.duration if until is None else until
        signatures = self.time_signatures
        bars: list[np.ndarray] = []
        for index, (position, numerator, denominator) in enumerate(signatures):
            segment_end = signatures[index + 1, 0] if index + 1 < len(signatures) else until
            segment_end = min(segment_end, until)
            if segment_end <= position:
                continue
            bar_length = numerator * 4.0 / denominator
            bars.append(np.arange(position, segment_end - 1e-9, bar_length))
        return np.concatenate(bars) if bars else np.zeros(0)

    def quarters_to_seconds(self, quarters: np.ndarray | float) -> np.ndarray:
        """Map positions in quarter notes to seconds through the tempo map."""
        return _quarters_to_seconds(np.asarray(quarters, dtype=np.float64), self.tempos)


def _quarters_to_seconds(quarters: np.ndarray, tempos: np.ndarray) -> np.ndarray:
    if len(tempos) == 1:  # one tempo for the whole piece (most files)
        return quarters * (60.0 / tempos[0, 1])
    positions, bpm = tempos[:, 0], tempos[:, 1]
    seconds_at_change = np.concatenate([[0.0], np.cumsum(np.diff(positions) * 60.0 / bpm[:-1])])
    segment = np.searchsorted(positions, quarters, side="right") - 1
    segment = np.clip(segment, 0, len(positions) - 1)
    return seconds_at_change[segment] + (quarters - positions[segment]) * 60.0 / bpm[segment]


def _check_header(data: bytes, path: str) -> None:
    """Reasons a person understands for files that are not Standard MIDI Files at all."""
    if len(data) == 0:
        raise MidiError(path, "the file is empty (0 bytes)")
    if len(data) < 14 and b"MThd".startswith(data[:4]):
        raise MidiError(path, f"the file is truncated: {len(data)} bytes, shorter than a MIDI header")
    if data[:4] != b"MThd":
        if data[:4] == b"RIFF" and data[8:12] == b"RMID":
            raise MidiError(path, "RIFF-wrapped MIDI (.rmi) is not supported; extract the MThd data first")
        looks_like_text = all(32 <= byte < 127 or byte in (9, 10, 13) for byte in data[:256])
        if looks_like_text:
            raise MidiError(path, "this is a text file, not a MIDI file (no 'MThd' header)")
        raise MidiError(path, "not a MIDI file: it does not start with the 'MThd' header")
    if len(data) < 14:
        raise MidiError(path, f"the file is truncated: {len(data)} bytes, shorter than a MIDI header")
    midi_format = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if midi_format == 2:
        raise MidiError(path, "type-2 MIDI (independent sequences in one file) is not supported; "
                              "save it as type 0 or 1")
    if midi_format > 2:
        raise MidiError(path, f"unknown MIDI format type {midi_format} in the header (expected 0, 1 or 2)")
    if division & 0x8000:
        raise MidiError(path, "SMPTE time division (frames per second) is not supported; "
                              "save the file with ticks per quarter note")
    if division == 0:
        raise MidiError(path, "the header says 0 ticks per quarter note, so no note has a time")


def _parse(data: bytes, path: str):
    import symusic  # noqa: PLC0415  (imported lazily: only readers pay for it)

    try:
        return symusic.Score.from_midi(data)
    except Exception as error:  # symusic raises RuntimeError with its own wording
        message = str(error).replace("MiniMidi: ", "").replace(": iostream error", "")
        lowered = message.lower()
        if any(word in lowered for word in ("chunk length", "remaining", "size", "eof", "end of file")):
            raise MidiError(path, f"the file is truncated or corrupt ({message})") from None
        raise MidiError(path, f"the MIDI data is corrupt ({message})") from None


def _tempo_map(score, path: str, tpq: int, config: ReaderConfig) -> np.ndarray:
    tempo_events = score.tempos.numpy()
    ticks = tempo_events["time"].astype(np.float64)
    microseconds = tempo_events["mspq"].astype(np.float64)
    for tick, value in zip(ticks, microseconds, strict=True):
        if value <= 0:
            raise MidiError(path, f"tempo of zero at tick {int(tick)} (0 microseconds per quarter note)")
        bpm = 60_000_000.0 / value
        if not config.min_bpm <= bpm <= config.max_bpm:
            raise MidiError(path, f"implausible tempo of {bpm:.6g} BPM at tick {int(tick)} "
                                  f"(accepted: {config.min_bpm:g}-{config.max_bpm:g} BPM)")
    if len(ticks) == 0 or ticks[0] > 0:  # MIDI's default tempo until the first change
        ticks = np.concatenate([[0.0], ticks])
        microseconds = np.concatenate([[500_000.0], microseconds])
    # keep the last tempo set at any one tick
    keep = np.concatenate([ticks[1:] != ticks[:-1], [True]])
    return np.column_stack([ticks[keep] / tpq, 60_000_000.0 / microseconds[keep]])


def _time_signatures(score, path: str, tpq: int) -> np.ndarray:
    rows = [(ts.time / tpq, ts.numerator, ts.denominator) for ts in score.time_signatures]
    rows = [row for row in rows if row[1] > 0 and row[2] > 0]
    if not rows or rows[0][0] > 0:
        rows.insert(0, (0.0, 4, 4))
    table = np.array(rows, dtype=np.float64)
    keep = np.concatenate([table[1:, 0] != table[:-1, 0], [True]])
    return table[keep]


def _too_big(size: int, config: ReaderConfig) -> str:
    return f"the file is {size / 2**20:.1f} MiB, over the {config.max_bytes / 2**20:.0f} MiB limit"


def _not_regular(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "a folder, not a MIDI file (its name ends in a MIDI suffix)"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file: it is not read, as reading would wait for a writer"
    if not stat.S_ISREG(mode):
        return "not a regular file (a device or a socket)"
    return None


def _read_file(file: Path, path: str, config: ReaderConfig) -> bytes:
    """The bytes of ``file``; every reason it cannot be read becomes a :class:`MidiError`."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        if os.path.islink(file):
            raise MidiError(path, f"a symbolic link to {os.readlink(file)}, which does not exist") from None
        raise MidiError(path, "no such file") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise MidiError(path, "a symbolic link loop (the link leads back to itself)") from None
        raise MidiError(path, f"cannot be read ({error.strerror or error})") from None
    problem = _not_regular(info.st_mode)
    if problem:
        raise MidiError(path, problem)
    if info.st_size > config.max_bytes:
        raise MidiError(path, _too_big(info.st_size, config))
    try:  # O_NONBLOCK: if the file was swapped for a named pipe since stat, open returns instead of waiting
        descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        raise MidiError(path, "permission denied: the file cannot be read") from None
    except OSError as error:
        raise MidiError(path, f"cannot be opened ({error.strerror or error})") from None
    try:
        problem = _not_regular(os.fstat(descriptor).st_mode)
        if problem:
            raise MidiError(path, problem)
        chunks, size = [], 0
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            while size <= config.max_bytes and (chunk := handle.read(1 << 20)):  # a file growing while read stops
                chunks.append(chunk)
                size += len(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise MidiError(path, f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(descriptor)


def _sustained(notes: dict[str, np.ndarray], pedals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Note durations (ticks) lengthened by the sustain pedal: a note that ends while the pedal is down lasts
    until the pedal is lifted, or until the same pitch starts again, whichever comes first."""
    if not len(pedals["time"]):
        return notes
    down = pedals["time"].astype(np.int64)
    up = down + pedals["duration"].astype(np.int64)
    start = notes["time"].astype(np.int64)
    end = start + notes["duration"].astype(np.int64)
    held = np.searchsorted(down, end, side="right") - 1  # the last pedal pressed at or before the release
    inside = (held >= 0) & (end < up[np.maximum(held, 0)])
    new_end = np.where(inside, up[np.maximum(held, 0)], end)
    order = np.lexsort((start, notes["pitch"]))  # the next onset of the same pitch caps the extension
    pitch_sorted = notes["pitch"][order]
    next_start = np.full(len(start), np.iinfo(np.int64).max)
    same = pitch_sorted[1:] == pitch_sorted[:-1]
    next_start[order[:-1][same]] = start[order[1:][same]]
    new_end = np.maximum(np.minimum(new_end, next_start), end)
    return {**notes, "duration": (new_end - start).astype(notes["duration"].dtype)}


def read_midi(source: str | Path | bytes, *, name: str | None = None,
              config: ReaderConfig = ReaderConfig()) -> Piece:
    """Read a Standard MIDI File into a :class:`Piece`.

    Parameters
    ----------
    source
        A path, or the file's bytes (then ``name`` names it in errors, e.g. an upload's file name).
    config
        Limits on what is accepted.

    Raises
    ------
    MidiError
        When the file is missing, not a regular file (a folder, a named pipe, a dangling link or a link loop),
        cannot be read (permission, I/O error), is empty, not MIDI, truncated, type 2, over a limit of
        ``config``, has a zero or implausible tempo, has no notes, or (with ``config.require_pitched``) only
        drum notes. A named pipe is never opened for reading, so nothing waits for a writer.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        path = name or "<bytes>"
    else:
        path = str(source) if name is None else name
        data = _read_file(Path(source), path, config)
    if len(data) > config.max_bytes:
        raise MidiError(path, _too_big(len(data), config))
    _check_header(data, path)
    score = _parse(data, path)
    tpq = int(score.ticks_per_quarter)
    tempos = _tempo_map(score, path, tpq, config)
    time_signatures = _time_signatures(score, path, tpq)

    n_notes = sum(int(track.note_num()) for track in score.tracks)
    if n_notes > config.max_notes:
        raise MidiError(path, f"the file has {n_notes:,} notes, over the limit of {config.max_notes:,} (about "
                              f"{BYTES_PER_NOTE * n_notes / 2**20:,.0f} MB to score; raise ReaderConfig.max_notes "
                              "to accept it)")
    arrays = [(index, track, track.notes.numpy()) for index, track in enumerate(score.tracks)]
    arrays = [(index, track, notes) for index, track, notes in arrays if len(notes["time"])]
    if config.sustain_pedal:
        arrays = [(index, track, _sustained(notes, track.pedals.numpy())) for index, track, notes in arrays]
    if not arrays:
        raise MidiError(path, "the file has no notes (no note-on with a matching note-off)")
    counts = [len(notes["time"]) for _, _, notes in arrays]
    start_ticks = np.concatenate([notes["time"] for _, _, notes in arrays]).astype(np.int64)
    duration_ticks = np.concatenate([notes["duration"] for _, _, notes in arrays]).astype(np.int64)
    pitch = np.concatenate([notes["pitch"] for _, _, notes in arrays]).astype(np.int16)
    velocity = np.concatenate([notes["velocity"] for _, _, notes in arrays]).astype(np.int16)
    program = np.repeat(np.array([track.program for _, track, _ in arrays], dtype=np.int16), counts)
    is_drum = np.repeat(np.array([bool(track.is_drum) for _, track, _ in arrays]), counts)
    track_index = np.repeat(np.array([index for index, _, _ in arrays], dtype=np.int16), counts)

    keep = (duration_ticks > 0) & (velocity > 0)
    if not keep.all():
        if config.require_pitched and not np.any(keep & ~is_drum):
            if np.any(keep & is_drum):
                raise MidiError(path, "the file has only drum notes (channel 10): nothing pitched to score")
            raise MidiError(path, "the file has no notes of positive length")
        if not np.any(keep):
            raise MidiError(path, "the file has no notes of positive length")
        start_ticks, duration_ticks, pitch, velocity = (start_ticks[keep], duration_ticks[keep], pitch[keep],
                                                         velocity[keep])
        program, is_drum, track_index = program[keep], is_drum[keep], track_index[keep]
    elif config.require_pitched and is_drum.all():
        raise MidiError(path, "the file has only drum notes (channel 10): nothing pitched to score")

    length = float((start_ticks + duration_ticks).max()) / tpq
    sounding = float(duration_ticks.sum()) / tpq
    if sounding > config.max_note_quarters:
        raise MidiError(path, f"the notes last {sounding:,.0f} quarter notes in all, over the limit of "
                              f"{config.max_note_quarters:,.0f} (ReaderConfig.max_note_quarters)")
    if length > config.max_quarters:
        raise MidiError(path, f"the piece lasts {length:,.0f} quarter notes (to the end of its last note), over the "
                              f"limit of {config.max_quarters:,.0f} (ReaderConfig.max_quarters); a stray note far "
                              "after the music often causes this")
    order = np.argsort(start_ticks * 128 + pitch, kind="stable")  # by start, then pitch
    start_ticks, end_ticks = start_ticks[order], start_ticks[order] + duration_ticks[order]
    control_ticks = [int(track.controls.numpy()["time"].max()) for track in score.tracks if len(track.controls)]
    start, end = start_ticks / tpq, end_ticks / tpq
    seconds = _quarters_to_seconds(np.concatenate([start, end]), tempos)
    return Piece(
        path=path,
        pitch=pitch[order],
        start=start,
        end=end,
        start_seconds=seconds[: start.size],
        end_seconds=seconds[start.size:],
        velocity=velocity[order],
        program=program[order],
        is_drum=is_drum[order],
        track=track_index[order],
        ticks_per_quarter=tpq,
        tempos=tempos,
        time_signatures=time_signatures,
        controls_end=max(control_ticks) / tpq if control_ticks else 0.0,
    )


_NOTE_FIELDS = ("pitch", "start", "end", "start_seconds", "end_seconds", "velocity", "program", "is_drum", "track")


def check_piece(piece: Piece) -> None:
    """Raise :class:`MidiError` naming the first thing that makes ``piece`` unwritable as MIDI.

    A valid piece has note arrays of one length; pitches, velocities (1..127) and programs in MIDI range;
    finite times with ``0 <= start < end``; a tempo map whose first row is at 0 with positive tempi in
    increasing positions; time signatures at increasing positions from 0 with a positive numerator and a
    power-of-two denominator.
    """
    name = piece.path
    lengths = {field: np.shape(getattr(piece, field)) for field in _NOTE_FIELDS}
    if len({shape for shape in lengths.values()}) != 1 or len(lengths["pitch"]) != 1:
        raise MidiError(name, f"note arrays differ in shape: {lengths}")
    for field, low, high in (("pitch", 0, 127), ("velocity", 1, 127), ("program", 0, 127)):
        values = np.asarray(getattr(piece, field))
        if values.size and (values.min() < low or values.max() > high):
            bad = values[(values < low) | (values > high)][0]
            raise MidiError(name, f"{field} {int(bad)} is outside MIDI's range {low}..{high}")
    start, end = np.asarray(piece.start, dtype=np.float64), np.asarray(piece.end, dtype=np.float64)
    if start.size:
        if not (np.isfinite(start).all() and np.isfinite(end).all()):
            raise MidiError(name, "a note starts or ends at a time that is not a finite number")
        if start.min() < 0:
            raise MidiError(name, f"a note starts before time 0 (at {start.min():g} quarter notes)")
        short = np.flatnonzero(end <= start)
        if short.size:
            index = int(short[0])
            raise MidiError(name, f"note {index} (pitch {int(piece.pitch[index])}) ends at {end[index]:g}, not "
                                  f"after its start {start[index]:g} (quarter notes)")
    tempos = np.asarray(piece.tempos, dtype=np.float64)
    if tempos.ndim != 2 or tempos.shape[1] != 2 or len(tempos) == 0 or tempos[0, 0] != 0:
        raise MidiError(name, "the tempo map must be rows of [position, BPM] starting at position 0")
    if not (np.isfinite(tempos).all() and (tempos[:, 1] > 0).all() and (np.diff(tempos[:, 0]) > 0).all()):
        raise MidiError(name, "tempi must be positive BPM at increasing positions")
    signatures = np.asarray(piece.time_signatures, dtype=np.float64)
    if signatures.ndim != 2 or signatures.shape[1] != 3 or len(signatures) == 0 or signatures[0, 0] != 0:
        raise MidiError(name, "time signatures must be rows of [position, numerator, denominator] from position 0")
    if (np.diff(signatures[:, 0]) <= 0).any():
        raise MidiError(name, "time signatures must be at increasing positions")
    for position, numerator, denominator in signatures:
        power = np.log2(denominator) if denominator > 0 else -1.0
        if numerator < 1 or numerator != int(numerator) or power != int(power) or not 0 <= power <= 6:
            raise MidiError(name, f"time signature {numerator:g}/{denominator:g} at {position:g} is not writable "
                                  "(numerator a positive integer, denominator 1, 2, 4, ..., 64)")


def piece_from_notes(pitch: np.ndarray | list[int], start: np.ndarray | list[float], end: np.ndarray | list[float], *,
                     velocity: np.ndarray | list[int] | int = 80, program: np.ndarray | list[int] | int = 0,
                     is_drum: np.ndarray | list[bool] | bool = False, track: np.ndarray | list[int] | int = 0,
                     tempos: np.ndarray | float = 120.0,
                     time_signatures: np.ndarray | tuple[int, int] = (4, 4),
                     ticks_per_quarter: int = 480, path: str = "<generated>") -> Piece:
    """A :class:`Piece` from note lists in quarter notes (what decoders and baselines produce).

    ``tempos`` is one BPM or a ``(k, 2)`` tempo map; ``time_signatures`` one ``(numerator, denominator)``
    or a ``(m, 3)`` table. Scalars for velocity, program, drum flag and track apply to every note. Notes are
    sorted by start, then pitch, as :func:`read_midi` sorts them; seconds come from the tempo map.
    """
    pitch = np.asarray(pitch, dtype=np.int16).reshape(-1)
    n = pitch.size

    def column(value, dtype) -> np.ndarray:
        array = np.asarray(value, dtype=dtype)
        return np.full(n, array, dtype=dtype) if array.ndim == 0 else array.reshape(-1)

    start_q, end_q = column(start, np.float64), column(end, np.float64)
    tempo_map = (np.array([[0.0, float(tempos)]]) if np.ndim(tempos) == 0
                 else np.asarray(tempos, dtype=np.float64).reshape(-1, 2))
    signatures = np.asarray(time_signatures, dtype=np.float64)
    if signatures.ndim == 1:
        signatures = np.concatenate([[0.0], signatures]).reshape(1, 3)
    columns = {"velocity": column(velocity, np.int16), "program": column(program, np.int16),
               "is_drum": column(is_drum, bool), "track": column(track, np.int16)}
    order = np.lexsort((pitch, start_q)) if n else np.zeros(0, dtype=np.int64)
    start_q, end_q, pitch = start_q[order], end_q[order], pitch[order]
    columns = {key: value[order] for key, value in columns.items()}
    seconds = _quarters_to_seconds(np.concatenate([start_q, end_q]), tempo_map) if n else np.zeros(0)
    return Piece(path=path, pitch=pitch, start=start_q, end=end_q, start_seconds=seconds[:n], end_seconds=seconds[n:],
                 ticks_per_quarter=int(ticks_per_quarter), tempos=tempo_map, time_signatures=signatures, **columns)


def _cut_same_pitch_overlaps(pitch: np.ndarray, start: np.ndarray, end: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the notes to write and their end ticks, so no two notes of one pitch overlap (one track).

    MIDI cannot tell which note-off belongs to which of two overlapping notes of one pitch, so readers pair
    them differently. Two notes of one pitch at the same onset become one (the longer); a note still
    sounding when its pitch starts again ends there. Every onset is kept, and the file reads back as written.
    """
    order = np.lexsort((-end, start, pitch))
    p, s, e = pitch[order], start[order], end[order]
    unique = np.concatenate([[True], (p[1:] != p[:-1]) | (s[1:] != s[:-1])]) if len(p) else np.zeros(0, bool)
    order, p, s, e = order[unique], p[unique], s[unique], e[unique].copy()
    overlap = np.flatnonzero((p[1:] == p[:-1]) & (s[1:] < e[:-1]))
    e[overlap] = s[overlap + 1]
    return order, e


def write_midi(piece: Piece, path: str | Path, *, ticks_per_quarter: int | None = None) -> Path:
    """Write ``piece`` as a type-1 Standard MIDI File and return its path.

    One MIDI track per distinct (``track``, ``program``, ``is_drum``) of the notes, drums on channel 10;
    the tempo map and time signatures go into the file as they are. Times are rounded to the nearest tick
    of ``ticks_per_quarter`` (default: the piece's own), and a note never gets shorter than one tick. The
    folder is created when missing; the file is written whole or not at all.

    Raises
    ------
    MidiError
        When :func:`check_piece` finds the piece unwritable (named by ``path``).
    """
    import symusic  # noqa: PLC0415

    path = Path(path)
    check_piece(piece)
    tpq = int(ticks_per_quarter or piece.ticks_per_quarter or 480)
    score = symusic.Score(tpq)
    for position, bpm in piece.tempos:
        score.tempos.append(symusic.Tempo(int(round(position * tpq)), mspq=int(round(60_000_000.0 / bpm))))
    for position, numerator, denominator in piece.time_signatures:
        score.time_signatures.append(symusic.TimeSignature(int(round(position * tpq)), int(numerator),
                                                           int(denominator)))
    start_ticks = np.rint(np.asarray(piece.start) * tpq).astype(np.int64)
    end_ticks = np.maximum(np.rint(np.asarray(piece.end) * tpq).astype(np.int64), start_ticks + 1)
    keys = np.stack([np.asarray(piece.track, dtype=np.int64), np.asarray(piece.program, dtype=np.int64),
                     np.asarray(piece.is_drum, dtype=np.int64)], axis=1) if piece.n_notes else np.zeros((0, 3))
    for track_index, program, drum in np.unique(keys, axis=0).astype(int):
        mask = (keys[:, 0] == track_index) & (keys[:, 1] == program) & (keys[:, 2] == drum)
        pitch, starts = np.asarray(piece.pitch)[mask].astype(np.int64), start_ticks[mask]
        kept, ends = _cut_same_pitch_overlaps(pitch, starts, end_ticks[mask])
        track = symusic.Track(f"track {track_index}", int(program), bool(drum))
        track.notes = symusic.Note.from_numpy(starts[kept].astype(np.int32), (ends - starts[kept]).astype(np.int32),
                                              pitch[kept].astype(np.int8),
                                              np.asarray(piece.velocity)[mask][kept].astype(np.int8))
        score.tracks.append(track)
    data = score.dumps_midi()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path
