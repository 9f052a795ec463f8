"""Bad MIDI files: each is reported with a readable reason, and the good files next to it are still scored."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from evaluation.__main__ import main
from evaluation.midi_io import MidiError, read_midi

NOTE = [
    mido.Message("note_on", note=60, velocity=80, time=0),
    mido.Message("note_off", note=60, velocity=0, time=480),
]


def _mido_bytes(messages: list, midi_type: int = 1) -> bytes:
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=480)
    for _ in range(2 if midi_type == 2 else 1):
        midi.tracks.append(mido.MidiTrack(messages))
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def _pretty_bytes(pitches: list[int], drum: bool = False) -> bytes:
    midi = pretty_midi.PrettyMIDI(initial_tempo=100)
    instrument = pretty_midi.Instrument(program=0, is_drum=drum)
    for index, pitch in enumerate(pitches):
        instrument.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=index * 0.6, end=index * 0.6 + 0.6))
    midi.instruments.append(instrument)
    out = io.BytesIO()
    midi.write(out)
    return out.getvalue()


GOOD = _pretty_bytes([60, 62, 64, 65, 67, 69, 71, 72])

# name -> (file bytes, words the reason must contain)
BAD_FILES = {
    "zero_bytes.mid": (b"", "empty"),
    "random_bytes.mid": (
        b"\x93" + bytes(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8)),
        "not a MIDI file",
    ),
    "truncated.mid": (GOOD[: len(GOOD) // 2], "truncated or corrupt"),
    "text_renamed.mid": (b"X:1\nT:My tune\nK:D\nDEFG|ABcd|\n", "text file"),
    "no_notes.mid": (_mido_bytes([mido.MetaMessage("track_name", name="silence")]), "no notes"),
    "drums_only.mid": (_pretty_bytes([36, 38, 42], drum=True), "only drum notes"),
    "type2.MID": (_mido_bytes(NOTE, midi_type=2), "type-2"),
    "zero_tempo.mid": (_mido_bytes([mido.MetaMessage("set_tempo", tempo=0), *NOTE]), "tempo of zero"),
    "huge_tempo.mid": (_mido_bytes([mido.MetaMessage("set_tempo", tempo=1), *NOTE]), "implausible tempo"),
    "offs_without_ons.midi": (
        _mido_bytes(
            [
                mido.Message("note_off", note=60, velocity=0, time=0),
                mido.Message("note_off", note=64, velocity=0, time=480),
            ]
        ),
        "no notes",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_reader_gives_a_readable_reason(name: str) -> None:
    data, words = BAD_FILES[name]
    with pytest.raises(MidiError, match=words) as caught:
        read_midi(data, name=name)
    assert caught.value.path == name


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_bad_files_are_listed_and_good_files_scored(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "mixed"
    (folder / "nested").mkdir(parents=True)
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "good_1.mid").write_bytes(GOOD)
    (folder / "nested" / "good_2.mid").write_bytes(_pretty_bytes([67, 65, 64, 62, 60, 59, 60]))
    status = main(
        [
            "score",
            "--reference",
            str(folder),
            "--generated",
            f"same={folder}",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert status == 0
    errors = _read_csv(tmp_path / "out" / "errors.csv")
    by_file = {(row["set"], Path(row["file"]).name): row["reason"] for row in errors}
    assert len(errors) == 2 * len(BAD_FILES)
    for name, (_, words) in BAD_FILES.items():
        assert words in by_file[("reference", name)]
        assert words in by_file[("same", name)]
    scored = _read_csv(tmp_path / "out" / "features.csv")
    assert sorted(Path(row["path"]).name for row in scored if row["set"] == "reference") == [
        "good_1.mid",
        "good_2.mid",
    ]
    output = capsys.readouterr().out
    assert "reference: 2 file(s) scored, 10 could not be read" in output


def test_folder_of_only_bad_files_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    status = main(["score", "--reference", str(folder), "--out", str(tmp_path / "out"), "--no-progress"])
    assert status == 2
    message = capsys.readouterr().err
    assert (
        "nothing in the reference folder" in message and "10 .mid/.midi file(s) found, 10 could not be read" in message
    )
    assert len(_read_csv(tmp_path / "out" / "errors.csv")) == len(BAD_FILES)
    assert not (tmp_path / "out" / "report.html").exists()


def test_entries_that_are_not_files_are_reported_not_skipped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import os
    import signal

    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "good.mid").write_bytes(GOOD)
    (folder / "dangling.mid").symlink_to(folder / "gone.mid")
    (folder / "loop.mid").symlink_to(folder / "loop.mid")
    os.mkfifo(folder / "pipe.mid")  # opening it for reading would wait for a writer forever
    (folder / "folder.mid").mkdir()
    (folder / "link_to_folder.MID").symlink_to(folder / "folder.mid", target_is_directory=True)
    signal.alarm(120)  # fail instead of hanging if a named pipe is ever opened
    try:
        status = main(["score", "--reference", str(folder), "--out", str(tmp_path / "out"), "--no-progress"])
    finally:
        signal.alarm(0)
    assert status == 0
    reasons = {Path(row["file"]).name: row["reason"] for row in _read_csv(tmp_path / "out" / "errors.csv")}
    assert set(reasons) == {"dangling.mid", "loop.mid", "pipe.mid", "folder.mid", "link_to_folder.MID"}
    assert "gone.mid, which does not exist" in reasons["dangling.mid"]
    assert "symbolic link loop" in reasons["loop.mid"]
    assert "named pipe" in reasons["pipe.mid"]
    assert "a folder" in reasons["folder.mid"] and "a folder" in reasons["link_to_folder.MID"]
    assert "reference: 1 file(s) scored, 5 could not be read" in capsys.readouterr().out


def test_limits_on_notes_and_length_are_reported() -> None:
    from evaluation.midi_io import ReaderConfig

    data = _pretty_bytes([60, 62, 64, 65, 67, 69, 71, 72])  # 8 notes of 1.2 quarter notes at 100 BPM
    with pytest.raises(MidiError, match="has 8 notes, over the limit of 5"):
        read_midi(data, name="many.mid", config=ReaderConfig(max_notes=5))
    with pytest.raises(MidiError, match=r"lasts 8 quarter notes .* over the limit of 4"):
        read_midi(data, name="long.mid", config=ReaderConfig(max_quarters=4))
    with pytest.raises(MidiError, match="notes last 8 quarter notes in all, over the limit of 2"):
        read_midi(data, name="dense.mid", config=ReaderConfig(max_note_quarters=2))
    assert read_midi(data, config=ReaderConfig(max_notes=8, max_quarters=8, max_note_quarters=8)).n_notes == 8


def test_memory_of_scoring_one_file_stays_within_the_stated_bound(tmp_path: Path) -> None:
    import tracemalloc

    from evaluation import piece_from_notes, write_midi
    from evaluation.features import compute_features
    from evaluation.midi_io import BYTES_PER_BEAT, BYTES_PER_NOTE

    compute_features(read_midi(GOOD))  # imports and caches are not part of a file's cost
    rng = np.random.default_rng(0)
    n = 20_000
    dense = rng.uniform(0, 2_000, n)  # 10 notes a beat, 2,000 beats
    held = rng.uniform(0, 100, 1_000)  # 1,000 notes (one per track and pitch) held for 5,000 beats each
    cases = {
        "dense": piece_from_notes(rng.integers(30, 100, n), dense, dense + rng.choice([0.25, 0.5, 1, 2], n),
                                  track=rng.integers(0, 4, n)),
        "long notes": piece_from_notes(30 + np.arange(1_000) % 70, held, held + 5_000.0,
                                       track=np.arange(1_000) // 70),
    }
    for name, piece in cases.items():
        path = write_midi(piece, tmp_path / f"{name}.mid")
        tracemalloc.start()
        try:
            scored = read_midi(path)
            compute_features(scored)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        if name == "long notes":
            assert np.sum(scored.end - scored.start) > 4_900_000  # millions of (note, beat) overlaps
        bound = BYTES_PER_NOTE * scored.n_notes + BYTES_PER_BEAT * scored.duration + 8 * 2**20
        assert peak <= bound, f"{name}: {peak / 2**20:.1f} MB > {bound / 2**20:.1f} MB"
