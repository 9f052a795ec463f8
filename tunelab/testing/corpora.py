"""Real files for benchmarks: the Bach chorale corpus, built once by ``data`` (not timed)."""

from __future__ import annotations

import sys
from pathlib import Path


def chorale_files(n: int, jobs: int = 2) -> list[Path]:
    """The first ``n`` chorales (at most 350) of ``data/bach-chorales``, building the corpus if it is missing."""
    from data import build_corpus, corpus_files  # noqa: PLC0415

    files = corpus_files(build_corpus("bach-chorales", jobs=jobs))
    if len(files) < n:
        print(f"only {len(files)} chorales exist; using all of them", file=sys.stderr)
    return files[:n]


#: the four block chords (C, Dm, G/B, Am over MIDI 57-69) the small training corpora of the tests cycle through
CHORD_CYCLE: tuple[tuple[int, ...], ...] = ((60, 64, 67), (62, 65, 69), (59, 62, 67), (57, 60, 64))


def chord_cycle_piece(shift: int = 0, beats: int = 24, chords: tuple[tuple[int, ...], ...] = CHORD_CYCLE):
    """A piece of one block chord per beat (quarter notes), cycling through ``chords`` transposed by ``shift``
    semitones, at 100 BPM: every frame and token of it can be worked out by hand."""
    from evaluation import piece_from_notes  # noqa: PLC0415

    pitch, start, end = [], [], []
    for beat in range(beats):
        for note in chords[beat % len(chords)]:
            pitch.append(note + shift)
            start.append(float(beat))
            end.append(beat + 1.0)
    return piece_from_notes(pitch, start, end, tempos=100.0)


def write_chord_cycle_corpus(folder: Path, shifts: dict[str, list[int]], beats: int = 24) -> Path:
    """A plain corpus folder with one sub-folder per split (``train/``, ...), one chord-cycle piece per shift
    (``<split><i>.mid``). Returns ``folder``."""
    from evaluation import write_midi  # noqa: PLC0415

    for split, split_shifts in shifts.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        for i, shift in enumerate(split_shifts):
            write_midi(chord_cycle_piece(shift, beats), folder / split / f"{split}{i}.mid")
    return folder
