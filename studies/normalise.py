"""Make MIDI stimuli alike in what a listener hears besides the composition (pure ``Piece -> Piece`` functions).

A Turing test measures whether listeners can tell the *music* apart; a tempo, loudness or instrument that
differs between the sets answers the question for them (see :mod:`studies.cues`). A study file's
``[stimuli]`` table can ask for:

- ``program = 0``: one General MIDI program (0-based, 0 = Acoustic Grand Piano) for every pitched note
  (:func:`with_program`; drum notes stay drums);
- ``mean_velocity = 80``: every piece's velocities scaled so their mean is this value, keeping the piece's
  own dynamics (:func:`with_mean_velocity`);
- ``tempo_bpm = 100``: one constant tempo in quarter notes per minute for every piece, replacing its tempo
  map (:func:`with_tempo`; positions in quarter notes are kept, so the rhythm is the same, only faster or
  slower).

Stimuli are rendered from ``evaluation.read_midi`` → these functions → :func:`cut_piece` (the events a clip
needs) → ``evaluation.write_midi`` → FluidSynth. What that path does not carry, for every MIDI stimulus,
normalised or not: control changes (volume CC7, expression CC11, pan, modulation), pitch bends, aftertouch,
program changes inside a track (each track keeps one program), SysEx, lyrics and markers; channels are
assigned anew by the writer. Notes, velocities, programs, drum tracks, the tempo map and time signatures are
kept, and the sustain pedal (CC64) is played as it sounds: the stimulus reader
(``ReaderConfig(sustain_pedal=True)``) lengthens each note released under the pedal to the pedal's release,
so a piano performance keeps its resonance.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from evaluation import Piece
from studies.errors import StudyError


@dataclass(frozen=True)
class Normalisation:
    """Which listener cues to make equal across all MIDI stimuli of a study (None = leave as it is)."""

    program: int | None = None  # General MIDI program 0..127 for every pitched note
    mean_velocity: float | None = None  # target mean velocity per piece, 1..127
    tempo_bpm: float | None = None  # one constant tempo, quarter notes per minute

    def __post_init__(self) -> None:
        bad = []
        if self.program is not None and (isinstance(self.program, bool) or not isinstance(self.program, int)
                                         or not 0 <= self.program <= 127):
            bad.append(f"program={self.program!r} (use a General MIDI program 0..127, e.g. 0 for piano)")
        if self.mean_velocity is not None and not (isinstance(self.mean_velocity, int | float)
                                                   and not isinstance(self.mean_velocity, bool)
                                                   and 1 <= self.mean_velocity <= 127):
            bad.append(f"mean_velocity={self.mean_velocity!r} (use a velocity 1..127, e.g. 80)")
        if self.tempo_bpm is not None and not (isinstance(self.tempo_bpm, int | float)
                                               and not isinstance(self.tempo_bpm, bool)
                                               and 20 <= self.tempo_bpm <= 400):
            bad.append(f"tempo_bpm={self.tempo_bpm!r} (use quarter notes per minute 20..400, e.g. 100)")
        if bad:
            raise StudyError("bad normalisation: " + "; ".join(bad))

    @property
    def is_identity(self) -> bool:
        return self.program is None and self.mean_velocity is None and self.tempo_bpm is None


def with_program(piece: Piece, program: int) -> Piece:
    """Every pitched note played by General MIDI ``program``; drum notes unchanged."""
    programs = np.where(piece.is_drum, piece.program, np.int16(program)).astype(np.int16)
    return dataclasses.replace(piece, program=programs)


def with_mean_velocity(piece: Piece, target: float) -> Piece:
    """Velocities scaled by ``target / mean(velocity)``, rounded and kept in 1..127 (a no-op without notes).

    The mean after rounding and clipping is within 0.5 of ``target`` unless many notes hit 127.
    """
    if piece.n_notes == 0:
        return piece
    scale = float(target) / float(np.mean(piece.velocity))
    velocity = np.clip(np.rint(piece.velocity * scale), 1, 127).astype(np.int16)
    return dataclasses.replace(piece, velocity=velocity)


def _retimed(piece: Piece, tempos: np.ndarray) -> Piece:
    """``piece`` under another tempo map: seconds recomputed from the quarter-note positions."""
    moved = dataclasses.replace(piece, tempos=tempos)
    return dataclasses.replace(moved, start_seconds=moved.quarters_to_seconds(piece.start),
                               end_seconds=moved.quarters_to_seconds(piece.end))


def with_tempo(piece: Piece, bpm: float) -> Piece:
    """One constant tempo of ``bpm`` quarter notes per minute; every note keeps its position in quarters."""
    return _retimed(piece, np.array([[0.0, float(bpm)]]))


def normalise(piece: Piece, norm: Normalisation) -> Piece:
    """Apply every cue of ``norm`` that is set (program, then velocity, then tempo)."""
    if norm.program is not None:
        piece = with_program(piece, norm.program)
    if norm.mean_velocity is not None:
        piece = with_mean_velocity(piece, norm.mean_velocity)
    if norm.tempo_bpm is not None:
        piece = with_tempo(piece, norm.tempo_bpm)
    return piece


def seconds_to_quarters(piece: Piece, seconds: float) -> float:
    """Position in quarter notes reached after ``seconds`` under the piece's tempo map (inverse of
    :meth:`evaluation.Piece.quarters_to_seconds`)."""
    positions, bpm = piece.tempos[:, 0], piece.tempos[:, 1]
    at_change = piece.quarters_to_seconds(positions)
    segment = int(np.searchsorted(at_change, seconds, side="right") - 1)
    segment = min(max(segment, 0), len(positions) - 1)
    return float(positions[segment] + (seconds - at_change[segment]) * bpm[segment] / 60.0)


def cut_piece(piece: Piece, seconds: float) -> Piece | None:
    """The notes that start before ``seconds``, each ending at the cut at the latest, with the tempo changes
    and time signatures before it; None when the piece ends by then (nothing to cut).

    Rendering the cut piece gives the same audio as the whole piece up to ``seconds`` (FluidSynth renders in
    order and nothing before the cut changes), in less time.
    """
    if piece.n_notes == 0 or piece.duration_seconds <= seconds:
        return None
    cut = seconds_to_quarters(piece, seconds)
    keep = piece.start < cut
    kept = piece.select(keep)
    end = np.minimum(kept.end, cut)
    tempos = piece.tempos[piece.tempos[:, 0] < cut]
    signatures = piece.time_signatures[piece.time_signatures[:, 0] < cut]
    return dataclasses.replace(kept, end=end, end_seconds=piece.quarters_to_seconds(end), tempos=tempos,
                               time_signatures=signatures)
