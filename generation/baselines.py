"""Baseline generators the LSTM models must beat.

``MarkovChordModel`` is a first-order Markov chain over *chords*, where a chord is the set of pitches
sounding at the start of each beat (one quarter note) of the training pieces; the piano-roll baseline of
Boulanger-Lewandowski et al. (2012) samples JSB chorales at the same one-frame-per-quarter resolution.

It is fitted from :class:`evaluation.Piece` objects (drums excluded), sampled with an explicit
``numpy.random.Generator`` and written back to MIDI with notes tied across beats when a pitch is held.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation import Piece, piece_from_notes, write_midi
from generation.encodings.grid import Chord, chords_per_beat  # the chord reading lives with the encodings

__all__ = ["Chord", "MarkovChordModel", "MarkovFrameScores", "chords_per_beat", "chords_to_midi", "chords_to_piece",
           "fit_markov", "markov_frame_scores", "sample_chords"]


@dataclass(frozen=True)
class MarkovChordModel:
    """A first-order Markov chain over chords.

    ``states`` lists every chord seen; ``transitions[i, j]`` counts chord j following chord i; ``initial[i]``
    counts pieces starting with chord i. Probabilities are the row-normalised counts (no smoothing: the chain
    only moves along transitions seen in training).
    """

    states: tuple[Chord, ...]
    transitions: np.ndarray  # (n_states, n_states) float64 counts
    initial: np.ndarray  # (n_states,) float64 counts

    def to_json(self) -> str:
        rows, cols = np.nonzero(self.transitions)
        return json.dumps({
            "states": [list(state) for state in self.states],
            "transitions": [[int(r), int(c), float(self.transitions[r, c])] for r, c in zip(rows, cols, strict=True)],
            "initial": self.initial.tolist(),
        })

    @classmethod
    def from_json(cls, text: str) -> MarkovChordModel:
        data = json.loads(text)
        states = tuple(tuple(state) for state in data["states"])
        transitions = np.zeros((len(states), len(states)))
        for row, col, count in data["transitions"]:
            transitions[row, col] = count
        return cls(states, transitions, np.asarray(data["initial"], dtype=np.float64))


def fit_markov(sequences: Iterable[Sequence[Chord]]) -> MarkovChordModel:
    """Count chord-to-chord transitions in the given chord sequences (one sequence per piece)."""
    index: dict[Chord, int] = {}
    pairs: list[tuple[int, int]] = []
    starts: list[int] = []
    for sequence in sequences:
        ids = [index.setdefault(chord, len(index)) for chord in sequence]
        if not ids:
            continue
        starts.append(ids[0])
        pairs.extend(zip(ids[:-1], ids[1:], strict=True))
    if not starts:
        raise ValueError("fit_markov needs at least one non-empty chord sequence")
    n_states = len(index)
    transitions = np.zeros((n_states, n_states))
    if pairs:
        np.add.at(transitions, tuple(np.array(pairs).T), 1.0)
    initial = np.bincount(starts, minlength=n_states).astype(np.float64)
    return MarkovChordModel(tuple(index), transitions, initial)


def sample_chords(model: MarkovChordModel, n_beats: int, rng: np.random.Generator) -> list[Chord]:
    """Sample ``n_beats`` chords; a chord never followed by anything in training restarts the chain."""
    initial = model.initial / model.initial.sum()
    state = int(rng.choice(len(model.states), p=initial))
    chords = [model.states[state]]
    for _ in range(n_beats - 1):
        row = model.transitions[state]
        total = row.sum()
        state = int(rng.choice(len(row), p=row / total)) if total > 0 else int(rng.choice(len(initial), p=initial))
        chords.append(model.states[state])
    return chords


def chords_to_piece(chords: Sequence[Chord], *, tempo_bpm: float = 80.0, beat: float = 1.0, program: int = 0,
                    velocity: int = 80) -> Piece:
    """Chords (one per ``beat`` quarter notes) as a one-track piece; a pitch held over consecutive beats is one
    note."""
    pitches, starts, ends = [], [], []
    open_notes: dict[int, int] = {}  # pitch -> beat index where it started
    for index, chord in enumerate([*chords, ()]):
        current = set(chord)
        for pitch in [p for p in open_notes if p not in current]:
            pitches.append(pitch)
            starts.append(open_notes.pop(pitch) * beat)
            ends.append(index * beat)
        for pitch in current:
            open_notes.setdefault(pitch, index)
    return piece_from_notes(pitches, starts, ends, velocity=velocity, program=program, tempos=tempo_bpm)


def chords_to_midi(chords: Sequence[Chord], path: Path, *, tempo_bpm: float = 80.0, beat: float = 1.0,
                   program: int = 0, velocity: int = 80) -> Path:
    """Write chords (one per beat) as a piano MIDI file through :func:`evaluation.write_midi`."""
    piece = chords_to_piece(chords, tempo_bpm=tempo_bpm, beat=beat, program=program, velocity=velocity)
    return write_midi(dataclasses.replace(piece, path=str(path)), path)


def generate_markov_set(training_files: Sequence[Path], out_dir: Path, *, n_pieces: int = 12, n_beats: int = 48,
                        seed: int = 0, tempo_bpm: float = 80.0, progress: bool = True,
                        ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Fit the Markov chord baseline on MIDI files and write ``n_pieces`` samples of ``n_beats`` beats.

    Returns the written files and the training files that could not be read (path, reason); the model is
    saved beside the samples as ``markov_model.json``.
    """
    from tqdm import tqdm  # noqa: PLC0415

    from evaluation import MidiError, read_midi  # noqa: PLC0415

    sequences, skipped = [], []
    for path in tqdm(training_files, desc="reading training pieces", disable=not progress, unit="file"):
        try:
            sequences.append(chords_per_beat(read_midi(path)))
        except MidiError as error:
            skipped.append((Path(path), error.reason))
    model = fit_markov(sequences)
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "markov_model.json").write_text(model.to_json())
    written = [chords_to_midi(sample_chords(model, n_beats, rng), out_dir / f"markov_{index:03d}.mid",
                              tempo_bpm=tempo_bpm)
               for index in range(n_pieces)]
    return written, skipped


@dataclass(frozen=True)
class MarkovFrameScores:
    """The Markov chord chain as a frame model: NLL in nats per predicted frame, expected frame accuracy
    TP / (TP + FP + FN) and the number of frames scored (the units of :mod:`generation.evaluate`)."""

    frame_nll: float
    frame_accuracy: float
    n_frames: int
    states: int  # chords seen in training

    def to_dict(self) -> dict[str, float]:
        return {"frame_nll": self.frame_nll, "frame_accuracy": self.frame_accuracy, "n_frames": self.n_frames,
                "states": self.states}


def markov_frame_scores(train_rolls: Iterable[np.ndarray], eval_rolls: Iterable[np.ndarray],
                        key_probs: np.ndarray) -> MarkovFrameScores:
    """Score the first-order chain over chords (the chain of :class:`MarkovChordModel`, one chord = the set of
    keys on in a frame) on every frame after the first of each evaluation roll (N_i, P).

    The chain alone gives probability 0 to any transition it never saw, so it is interpolated with the
    independent Bernoulli model ``key_probs`` (P,) Witten-Bell style (Witten & Bell 1991): after chord x,
    P(y | x) = lam * c(x, y) / c(x) + (1 - lam) * prod_k Bernoulli(y_k; key_probs_k), lam = c(x) / (c(x) + t(x))
    with t(x) the number of distinct chords seen after x (lam = 0 for a chord never seen as a predecessor).
    Expected accuracy uses each key's marginal probability under that mixture.
    """
    key_probs = np.clip(np.asarray(key_probs, dtype=np.float64), 1e-12, 1 - 1e-12)
    counts: dict[tuple[int, ...], dict[tuple[int, ...], int]] = {}
    states: set[tuple[int, ...]] = set()
    for roll in train_rolls:
        chords = [tuple(np.flatnonzero(row).tolist()) for row in np.asarray(roll) > 0.5]
        states.update(chords)
        for before, after in zip(chords[:-1], chords[1:], strict=True):
            successors = counts.setdefault(before, {})
            successors[after] = successors.get(after, 0) + 1
    log_on, log_off = np.log(key_probs), np.log1p(-key_probs)
    nll = tp = fp = fn = 0.0
    n = 0
    for roll in eval_rolls:
        frames = np.asarray(roll) > 0.5
        for previous, frame in zip(frames[:-1], frames[1:], strict=True):
            successors = counts.get(tuple(np.flatnonzero(previous).tolist()), {})
            total = sum(successors.values())
            lam = total / (total + len(successors)) if total else 0.0
            bernoulli = float(np.where(frame, log_on, log_off).sum())
            chain = successors.get(tuple(np.flatnonzero(frame).tolist()), 0) / total if total else 0.0
            from_chain = math.log(lam * chain) if chain > 0 else -math.inf
            nll -= float(np.logaddexp(from_chain, math.log(1.0 - lam) + bernoulli))
            marginal = (1.0 - lam) * key_probs
            for chord, count in successors.items():
                marginal[list(chord)] += lam * count / total
            tp += float(marginal[frame].sum())
            fp += float(marginal[~frame].sum())
            fn += float((1.0 - marginal[frame]).sum())
            n += 1
    if n == 0:
        return MarkovFrameScores(math.nan, math.nan, 0, len(states))
    denominator = tp + fp + fn
    return MarkovFrameScores(nll / n, tp / denominator if denominator else math.nan, n, len(states))
