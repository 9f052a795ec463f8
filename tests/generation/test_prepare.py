"""``python -m generation prepare`` and ``encodings``: files, report, splits, augmentation, reruns, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from data import load_manifest
from evaluation import piece_from_notes, write_midi
from generation.__main__ import main
from generation.encodings import ENCODINGS
from generation.prepare import load_prepared


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--no-progress"] if argv[0] in ("prepare", "roundtrip") else list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _melody(path: Path, pitches: list[int], **options) -> Path:
    piece = piece_from_notes(pitches, [0.5 * i for i in range(len(pitches))],
                             [0.5 * (i + 1) for i in range(len(pitches))], **options)
    return write_midi(piece, path)


def test_prepare_writes_encoding_arrays_pieces_and_report(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "prepared"
    code, stdout, _ = _run(capsys, "prepare", "--corpus", str(chorale_corpus), "--encoding", "notewise-chord",
                           "--out", str(out), "--window", "16")
    assert code == 0 and "prepared 20 pieces" in stdout and "many-to-one windows of 16" in stdout
    assert {path.name for path in out.iterdir()} >= {"encoding.json", "arrays.npz", "pieces.json", "report.json"}
    report = json.loads((out / "report.json").read_text())
    assert report["pieces"]["kept"] == {"train": 16, "validation": 2, "test": 2}
    assert report["split_rule"].startswith("manifest split of bach-chorales")
    assert len(report["source_hash"]) == 64
    prepared = load_prepared(out)
    assert report["vocabulary"] == {"pitch": prepared.encoding.model_io().vocab_sizes[0],
                                    "duration": prepared.encoding.model_io().vocab_sizes[1]}
    assert report["sequences"] == {name: len(prepared.sequences[name]) for name in prepared.sequences}
    assert report["steps"]["train"] == sum(len(s) for s in prepared.sequences["train"])
    assert report["windows"]["many-to-one"]["train"] == len(prepared.dataset("train", 16))
    assert report["windows"]["many-to-many"]["test"] == len(prepared.dataset("test", 16, "many-to-many"))
    assert report["unknown_tokens"]["train"] == 0  # fitted on train


def test_no_window_crosses_a_split_boundary(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "prepared"
    assert _run(capsys, "prepare", "--corpus", str(chorale_corpus), "--encoding", "folk-steps", "--out",
                str(out))[0] == 0
    prepared = load_prepared(out)
    manifest = load_manifest(chorale_corpus)
    split_of = {entry.midi: entry.split for entry in manifest.entries}
    ids = {name: {record["id"] for record in prepared.pieces[name]} for name in prepared.pieces}
    assert all(split_of[piece] == name for name, pieces in ids.items() for piece in pieces)
    assert not (ids["train"] & ids["validation"]) and not (ids["train"] & ids["test"])
    for split in ("train", "validation", "test"):
        dataset = prepared.dataset(split, 24, "many-to-many", stride=7)
        sequences = prepared.sequences[split]
        for position in range(len(dataset)):
            piece, start = dataset.window_of(position)
            assert start + 24 < len(sequences[piece]) + 1  # inside its own piece
            np.testing.assert_array_equal(dataset[position]["inputs"].numpy(), sequences[piece][start:start + 24])


def test_augmentation_transposes_training_pieces_only(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "augmented"
    code, stdout, _ = _run(capsys, "prepare", "--corpus", str(chorale_corpus), "--encoding", "folk-steps", "--out",
                           str(out), "--augment")
    assert code == 0 and "transpositions" in stdout
    pieces = json.loads((out / "pieces.json").read_text())
    shifts = {name: [record["transposed"] for record in pieces[name]] for name in pieces}
    assert all(shift == 0 for shift in shifts["validation"] + shifts["test"])
    assert sum(shift != 0 for shift in shifts["train"]) == 11 * 16  # every key from -6 to +5 fits MIDI's range
    report = json.loads((out / "report.json").read_text())
    assert report["pieces"]["augmented_train_sequences"] == 176 and report["sequences"]["train"] == 192


def test_transposition_and_melody_are_reported(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "keys"
    code, stdout, _ = _run(capsys, "prepare", "--corpus", str(chorale_corpus), "--encoding", "folk-steps", "--out",
                           str(out), "--transpose", "c-major-a-minor")
    assert code == 0 and "transposed by" in stdout and "melody track chosen" in stdout
    report = json.loads((out / "report.json").read_text())
    assert len(report["keys"]) == 20 and all(-5 <= entry["shift"] <= 6 for entry in report["keys"])
    assert all("why" in entry and entry["chosen"] for entry in report["melody"])


def test_rerun_with_the_same_sources_and_options_does_nothing(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(chorale_corpus, corpus)
    out = tmp_path / "prepared"
    argv = ("prepare", "--corpus", str(corpus), "--encoding", "multilabel", "--out", str(out))
    assert _run(capsys, *argv)[0] == 0
    stamp = (out / "report.json").stat().st_mtime_ns
    code, stdout, _ = _run(capsys, *argv)
    assert code == 0 and stdout.startswith("up to date")
    assert (out / "report.json").stat().st_mtime_ns == stamp
    assert not _run(capsys, *argv, "--step", "0.5")[1].startswith("up to date")  # other options: redone
    assert json.loads((out / "report.json").read_text())["encoding"]["description"].startswith("step 0.5")
    assert _run(capsys, *argv, "--step", "0.5")[1].startswith("up to date")
    midi = next(corpus.glob("*.mid"))
    midi.write_bytes(midi.read_bytes())  # same bytes: still up to date
    assert _run(capsys, *argv, "--step", "0.5")[1].startswith("up to date")
    _melody(midi, [60, 62, 64, 65])  # new content: redone
    assert not _run(capsys, *argv, "--step", "0.5")[1].startswith("up to date")


def test_plain_folder_is_split_by_piece_with_a_recorded_seed(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    for path in sorted(chorale_corpus.glob("*.mid"))[:10]:
        shutil.copy(path, folder / path.name)
    out = tmp_path / "prepared"
    assert _run(capsys, "prepare", "--corpus", str(folder), "--encoding", "biaxial", "--out", str(out))[0] == 0
    report = json.loads((out / "report.json").read_text())
    assert report["split_rule"] == "by piece, seed 0, fractions 0.8/0.1/0.1"
    assert report["pieces"]["kept"] == {"train": 8, "validation": 1, "test": 1}
    assert "many-to-one" not in report["windows"]  # biaxial trains many-to-many only


def _bad_folder(root: Path) -> Path:
    train, test = root / "train", root / "test"
    train.mkdir(parents=True)
    test.mkdir()
    _melody(train / "good.mid", [60, 62, 64, 65, 67])
    write_midi(piece_from_notes([], [], []), train / "empty.mid")
    _melody(train / "drums.mid", [36, 38, 42], is_drum=True)
    _melody(train / "wide.mid", [30, 62, 100])
    (train / "text.mid").write_text("not a MIDI file")
    _melody(test / "good.mid", [72, 71, 69])
    return root


def test_bad_pieces_are_skipped_with_a_reason(tmp_path: Path, capsys) -> None:
    folder = _bad_folder(tmp_path / "corpus")
    out = tmp_path / "prepared"
    code, stdout, _ = _run(capsys, "prepare", "--corpus", str(folder), "--encoding", "multilabel", "--no-fold",
                           "--out", str(out))
    assert code == 0 and "skipped 4 of 6" in stdout
    dropped = {entry["piece"]: entry["reason"] for entry in
               json.loads((out / "report.json").read_text())["pieces"]["dropped_pieces"]}
    assert set(dropped) == {"train/empty.mid", "train/drums.mid", "train/wide.mid", "train/text.mid"}
    assert "no notes" in dropped["train/empty.mid"]
    assert "drum" in dropped["train/drums.mid"]
    assert "2 note(s) outside the pitch window 60-83" in dropped["train/wide.mid"]
    assert "not a MIDI file" in dropped["train/text.mid"]
    folded = tmp_path / "folded"
    assert _run(capsys, "prepare", "--corpus", str(folder), "--encoding", "multilabel", "--out", str(folded))[0] == 0
    assert json.loads((folded / "report.json").read_text())["folded_notes"] == 2  # folding keeps wide.mid


def test_a_folder_where_nothing_is_usable_exits_2_saying_why(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_midi(piece_from_notes([], [], []), folder / "empty.mid")
    _melody(folder / "drums.mid", [36, 38, 42], is_drum=True)
    (folder / "text.mid").write_text("not a MIDI file")
    code, stdout, stderr = _run(capsys, "prepare", "--corpus", str(folder), "--encoding", "notewise-chord",
                                "--out", str(tmp_path / "out"))
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: nothing usable in") and "all 3 piece(s) were skipped" in stderr
    assert "drum" in stderr
    assert not (tmp_path / "out").exists()
    code, _, stderr = _run(capsys, "prepare", "--corpus", str(tmp_path / "missing"), "--encoding", "biaxial",
                           "--out", str(tmp_path / "out"))
    assert code == 2 and "does not exist" in stderr


def test_bad_options_exit_2_with_a_message(chorale_corpus: Path, tmp_path: Path, capsys) -> None:
    base = ("prepare", "--corpus", str(chorale_corpus), "--out", str(tmp_path / "out"))
    code, _, stderr = _run(capsys, *base, "--encoding", "midi-like")
    assert code == 2 and "unknown encoding 'midi-like'" in stderr
    code, _, stderr = _run(capsys, *base, "--encoding", "notewise-chord", "--fs", "8")
    assert code == 2 and "--fs do not apply to notewise-chord" in stderr
    code, _, stderr = _run(capsys, *base, "--encoding", "abc-chars")
    assert code == 2 and "keeps no ABC text" in stderr
    code, _, stderr = _run(capsys, *base, "--encoding", "multilabel", "--fold-range", "60-65")
    assert code == 2 and "fold range" in stderr


def _abc_folder(root: Path) -> Path:
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    book = ("X:1\nT:One\nM:4/4\nL:1/4\nK:G\nGABc|d4|]\n\n"
            "X:2\nT:Two\nM:3/4\nL:1/8\nK:D\nd2 f2 a2|d6|]\n\n"
            "X:3\nT:Broken\nM:4/4\nL:1/0\nK:C\nCDEF|\n")
    (root / "train" / "book.abc").write_text(book)
    (root / "test" / "single.abc").write_text("X:1\nT:Alone\nM:2/4\nL:1/8\nK:C\nCEGc|c4|]\n")
    return root


def test_abc_chars_reports_the_share_of_tunes_that_parse(tmp_path: Path, capsys) -> None:
    out = tmp_path / "prepared"
    code, stdout, _ = _run(capsys, "prepare", "--corpus", str(_abc_folder(tmp_path / "abc")), "--encoding",
                           "abc-chars", "--out", str(out))
    assert code == 0 and "music21 parsed 3 of 4 tunes (75.0%)" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["abc_parse"] == {"tunes": 4, "parsed": 3, "share": 0.75}
    (broken,) = report["pieces"]["dropped_pieces"]
    assert broken["piece"] == "train/book.abc#X:3" and "music21 cannot parse" in broken["reason"]
    prepared = load_prepared(out)
    assert [record["id"] for record in prepared.pieces["train"]] == ["train/book.abc#X:1", "train/book.abc#X:2"]
    decoded = prepared.encoding.decode_with_repairs(prepared.sequences["train"][0])
    assert decoded.text == "M:4/4\nL:1/4\nK:G\nGABc|d4|]\n" and decoded.piece.pitch.tolist() == [67, 69, 71, 72, 74]
    assert report["unknown_tokens"]["test"] == 3  # C twice and E: characters the training tunes never use
    code, _, stderr = _run(capsys, "prepare", "--corpus", str(tmp_path / "abc"), "--encoding", "abc-chars",
                           "--out", str(out), "--transpose", "c-major-a-minor")
    assert code == 2 and "takes none" in stderr


def test_abc_check_in_worker_processes_gives_the_same_report(tmp_path: Path, capsys) -> None:
    folder = _abc_folder(tmp_path / "abc")
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        assert _run(capsys, "prepare", "--corpus", str(folder), "--encoding", "abc-chars", "--out", str(out),
                    "--jobs", jobs)[0] == 0
        reports.append(json.loads((out / "report.json").read_text()))
    assert reports[0]["abc_parse"] == reports[1]["abc_parse"] == {"tunes": 4, "parsed": 3, "share": 0.75}
    assert reports[0]["pieces"] == reports[1]["pieces"]
    assert reports[0]["source_hash"] == reports[1]["source_hash"]  # --jobs does not change the result


def test_encodings_lists_every_encoding_on_one_line(capsys) -> None:
    code, stdout, _ = _run(capsys, "encodings")
    lines = stdout.strip().splitlines()
    assert code == 0 and len(lines) == len(ENCODINGS) == 8
    assert [line.split()[0] for line in lines] == list(ENCODINGS)
    code, stdout, _ = _run(capsys, "encodings", "--json")
    details = json.loads(stdout)
    assert {entry["name"] for entry in details} == set(ENCODINGS)
    assert next(entry for entry in details if entry["name"] == "folk-steps")["preprocessing"].startswith("melody")


@pytest.mark.parametrize("verb", ["prepare", "roundtrip", "encodings", "markov"])
def test_every_verb_has_help(verb: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0 and "usage: python -m generation" in capsys.readouterr().out
