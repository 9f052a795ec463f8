"""End to end through ``python -m generation``: train -> evaluate --json -> sample -> MIDI that reads back, for a
token encoding, multilabel and biaxial; resume; a parallel sweep; activations; evaluation by hand; bad input.

Corpora are built in code: block chords, one per beat (quarter note), in train/ validation/ test/ folders, so
frame counts are known (a 24-beat piece has 24 quarter-note frames, 23 of them predicted)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from evaluation import piece_from_notes, read_midi, write_midi
from generation.__main__ import main
from tunelab.testing.corpora import CHORD_CYCLE, chord_cycle_piece, write_chord_cycle_corpus

CHORDS = CHORD_CYCLE
BEATS = 24
TINY_LSTM = ["--arch", "lstm", "--hidden", "16", "--embedding-dim", "8", "--window", "8", "--batch-size", "8",
             "--learning-rate", "0.01", "--keep", "1", "--device", "cpu", "--no-progress"]
TUNES = ["GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|", "GABc dedB|dedB dedB|c2ec B2dB|A2F2 G4|",
         "d2BG d2BG|c2AF c2AF|B2GB A2FA|G4 G4|", "BAGA B2B2|AGAB A2A2|BAGA B2B2|A2B2 G4|",
         "GABc dedB|c2AF c2AF|B2GB A2FA|G4 G4|", "d2BG dedB|c2ec B2dB|c2A2 A2BA|G4 G4|"]


@pytest.fixture(scope="module")
def chord_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_chord_cycle_corpus(tmp_path_factory.mktemp("chords"),
                                    {"train": [0, 2, -2, 1, -1, 3], "validation": [0], "test": [0, 2]}, beats=BEATS)


@pytest.fixture(scope="module")
def abc_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tunes")
    for split, tunes in (("train", TUNES[:4]), ("validation", TUNES[4:5]), ("test", TUNES[5:])):
        (root / split).mkdir()
        for i, body in enumerate(tunes):
            (root / split / f"t{i}.abc").write_text(f"X:{i + 1}\nT:Tune {i}\nM:4/4\nL:1/8\nK:G\n{body}\n",
                                                  encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prepared")


def run(capsys: pytest.CaptureFixture, *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()  # what earlier commands printed
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train_run(corpus: Path, out: Path, cache: Path, *options: object) -> Path:
    code = main([str(a) for a in ("train", "--corpus", corpus, "--out", out, "--cache", cache, *options)])
    assert code == 0
    return out


def metrics(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def read_back(folder: Path) -> list:
    return [read_midi(path) for path in sorted(folder.glob("sample_*.mid"))]


# ---------------------------------------------------------------- three encodings end to end


def test_token_run_trains_evaluates_and_samples_midi(chord_corpus: Path, cache: Path, tmp_path: Path, capsys):
    run_dir = train_run(chord_corpus, tmp_path / "run", cache, "--encoding", "notewise-chord", *TINY_LSTM,
                        "--epochs", "2")
    assert len(metrics(run_dir)) == 2 and (run_dir / "run.json").is_file()
    code, out, _ = run(capsys, "evaluate", run_dir, "--json")  # the corpus comes from run.json
    record = json.loads(out)
    assert code == 0
    assert {"token_nll", "accuracy", "n_tokens", "pitch_accuracy", "duration_nll"} <= set(record)
    assert record["n_tokens"] == 2 * (BEATS - 1)  # one event per beat, the first not predicted
    assert record["token_nll"] == pytest.approx(record["pitch_nll"] + record["duration_nll"])
    assert set(record["baselines"]) == {"unigram", "2-gram", "3-gram"}
    assert record["baselines"]["3-gram"]["n_tokens"] == record["n_tokens"]
    assert json.loads((run_dir / "evaluation-test.json").read_text())["token_nll"] == record["token_nll"]
    code, out, _ = run(capsys, "sample", run_dir, "--n", 3, "--steps", 12, "--seed", 5, "--out", tmp_path / "s",
                       "--no-progress", "--device", "cpu")
    assert code == 0 and "wrote 3 MIDI files of 3 samples" in out
    pieces = read_back(tmp_path / "s")
    assert len(pieces) == 3 and all(piece.n_notes > 0 for piece in pieces)
    first = json.loads((tmp_path / "s" / "sample_000.json").read_text())
    assert len(first["tokens"]) == first["length"] == 12 and len(first["tokens"][0]) == 2  # pitch, duration
    assert first["settings"]["seed"] == 5 and first["settings"]["encoding"] == "notewise-chord"
    assert first["log_likelihood"] < 0 and first["midi"] == "sample_000.mid"
    run(capsys, "sample", run_dir, "--n", 3, "--steps", 12, "--seed", 5, "--out", tmp_path / "again",
        "--no-progress", "--device", "cpu")
    assert json.loads((tmp_path / "again" / "sample_000.json").read_text())["tokens"] == first["tokens"]


def test_multilabel_chorale_frames_run_end_to_end(chord_corpus: Path, cache: Path, tmp_path: Path, capsys):
    run_dir = train_run(chord_corpus, tmp_path / "run", cache, "--preset", "chorale-frames", "--hidden", "16",
                        "--window", "16", "--epochs", "2", "--batch-size", "4", "--device", "cpu", "--no-progress")
    code, out, _ = run(capsys, "evaluate", run_dir, "--corpus", chord_corpus, "--split", "test", "--json")
    record = json.loads(out)
    assert code == 0 and record["n_frames"] == 2 * (BEATS - 1)
    assert 0 < record["frame_nll"] < 88 * math.log(2) + 5 and 0 <= record["frame_accuracy"] <= 1
    assert record["baselines"]["uniform"]["frame_nll"] == pytest.approx(88 * math.log(2))
    assert {"independent-bernoulli", "markov-chord"} <= set(record["baselines"])
    assert record["published"]["RNN-NADE (Boulanger-Lewandowski et al. 2012)"] == 5.19
    assert "229 train" in record["protocol_difference"]
    code, out, _ = run(capsys, "sample", run_dir, "--n", 2, "--steps", 8, "--threshold", 0.3, "--out",
                       tmp_path / "s", "--device", "cpu", "--no-progress")
    assert code == 0
    record = json.loads((tmp_path / "s" / "sample_000.json").read_text())
    assert len(record["frames"]) == 8 and record["settings"]["threshold"] == 0.3
    openings = {tuple(note + shift for note in CHORDS[0]) for shift in (0, 2, -2, 1, -1, 3)}
    for piece in read_back(tmp_path / "s"):
        assert piece.pitch.min() >= 21 and piece.pitch.max() <= 108
        assert piece.end.max() <= 9.0 + 1e-9  # the opening frame of a training piece + 8 frames
        assert tuple(sorted(piece.pitch[piece.start == 0].tolist())) in openings


def test_biaxial_run_end_to_end(chord_corpus: Path, cache: Path, tmp_path: Path, capsys):
    run_dir = train_run(chord_corpus, tmp_path / "run", cache, "--encoding", "biaxial", "--arch", "biaxial",
                        "--mode", "many-to-many", "--step", "1", "--pitch-range", "48-83", "--roll", "sampled",
                        "--time-hidden", "8,8", "--note-hidden", "8,4", "--window", "12", "--batch-size", "4",
                        "--epochs", "2", "--device", "cpu", "--no-progress")
    code, out, _ = run(capsys, "evaluate", run_dir, "--json")
    record = json.loads(out)
    assert code == 0 and record["n_frames"] == 2 * (BEATS - 1)  # biaxial's first frame is masked, as multilabel
    assert record["frame_nll"] > record["play_nll"] > 0  # the whole frame adds the articulation terms
    assert record["baselines"]["uniform"]["frame_nll"] == pytest.approx(36 * math.log(2))
    primer = tmp_path / "primer.mid"
    write_midi(chord_cycle_piece(0, beats=3), primer)
    code, _, _ = run(capsys, "sample", run_dir, "--n", 2, "--steps", 6, "--primer", primer, "--out", tmp_path / "s",
                     "--device", "cpu", "--no-progress")
    assert code == 0
    for piece in read_back(tmp_path / "s"):
        assert piece.end.max() <= 9.0 + 1e-9  # 3 primer beats + at most 6 generated
        assert {60, 64, 67} <= set(piece.pitch[piece.start == 0].tolist())  # the primer is kept
    record = json.loads((tmp_path / "s" / "sample_001.json").read_text())
    assert len(record["frames"]) == 6 and set(record["frames"][0]) == {"play", "articulate"}


def test_play_only_biaxial_run_scores_and_samples_the_roll(chord_corpus: Path, cache: Path, tmp_path: Path,
                                                           capsys):
    run_dir = train_run(chord_corpus, tmp_path / "run", cache, "--encoding", "biaxial", "--arch", "biaxial",
                        "--mode", "many-to-many", "--step", "1", "--pitch-range", "48-83", "--roll", "sampled",
                        "--play-only", "--time-hidden", "8", "--note-hidden", "8,4", "--window", "12",
                        "--batch-size", "4", "--epochs", "2", "--device", "cpu", "--no-progress")
    code, out, _ = run(capsys, "evaluate", run_dir, "--json")
    record = json.loads(out)
    assert code == 0 and record["n_frames"] == 2 * (BEATS - 1)
    assert "play_nll" not in record and "NLL of the play roll" in record["protocol"]
    assert 0 < record["frame_nll"] < 36 * math.log(2) * 1.5
    code, _, _ = run(capsys, "sample", run_dir, "--n", 3, "--steps", 8, "--out", tmp_path / "s", "--device", "cpu",
                     "--no-progress")
    assert code == 0
    for i in range(3):
        frames = json.loads((tmp_path / "s" / f"sample_{i:03d}.json").read_text())["frames"]
        before: set[int] = set()
        for frame in frames:  # a key articulates exactly when it starts sounding
            assert set(frame["articulate"]) == set(frame["play"]) - before
            before = set(frame["play"])


# ---------------------------------------------------------------- resume, sweep, activations


def test_resume_through_the_cli_continues_the_same_run(chord_corpus: Path, cache: Path, tmp_path: Path):
    options = ("--preset", "chorale-frames", "--hidden", "12", "--window", "16", "--batch-size", "2", "--device",
               "cpu", "--no-progress")
    whole = train_run(chord_corpus, tmp_path / "whole", cache, *options, "--epochs", "4")
    part = train_run(chord_corpus, tmp_path / "part", cache, *options, "--epochs", "2")
    assert main(["train", "--resume", "--out", str(part), "--epochs", "4", "--cache", str(cache),
                 "--no-progress"]) == 0  # corpus and settings from the run folder
    resumed, straight = metrics(part), metrics(whole)
    assert [r["epoch"] for r in resumed] == ["1", "2", "3", "4"]
    for a, b in zip(resumed, straight, strict=True):
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), rel=1e-5)
        assert float(a["train_loss"]) == pytest.approx(float(b["train_loss"]), rel=1e-5)


def test_parallel_sweep_of_two_points_writes_the_table(chord_corpus: Path, cache: Path, tmp_path: Path, capsys):
    code, out, _ = run(capsys, "sweep", "--grid", "hidden=8,12", "--parallel", 2, "--out", tmp_path / "grid",
                       "--metric", "val_frame_nll", "--mode", "min", "--no-progress", "--", "--corpus",
                       chord_corpus, "--cache", cache, "--preset", "chorale-frames", "--window", "16", "--epochs", 1,
                       "--device", "cpu")
    assert code == 0, out
    with (tmp_path / "grid" / "sweep.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["hidden"] for row in rows] == ["8", "12"] and all(row["status"] == "0" for row in rows)
    for row in rows:
        written = metrics(tmp_path / "grid" / f"hidden-{row['hidden']}")
        assert float(row["best"]) == pytest.approx(float(written[0]["val_frame_nll"]))
    assert "<td>12</td>" in (tmp_path / "grid" / "sweep.html").read_text() and "hidden=12" in out


def test_abc_character_model_samples_abc_and_draws_activations(abc_corpus: Path, cache: Path, tmp_path: Path,
                                                               capsys):
    run_dir = train_run(abc_corpus, tmp_path / "run", cache, "--encoding", "abc-chars", *TINY_LSTM, "--mode",
                        "many-to-many", "--window", "32", "--epochs", "2", "--layers", "2", "--arch", "stacked")
    code, out, _ = run(capsys, "sample", run_dir, "--n", 2, "--steps", 40, "--out", tmp_path / "s", "--seed", 1,
                       "--device", "cpu", "--no-progress")
    assert code == 0 and "ABC samples parse with music21" in out
    summary = json.loads((tmp_path / "s" / "samples.json").read_text())
    assert 0.0 <= summary["abc_parse_share"] <= 1.0
    text = (tmp_path / "s" / "sample_000.abc").read_text()
    record = json.loads((tmp_path / "s" / "sample_000.json").read_text())
    assert text.startswith("X:1\n") and text.endswith(record["text"])
    assert record["symbols"][0][0] != "<s>"  # the start symbol is the primer, not a generated step
    # temperature near 0 is the argmax: the seed no longer matters
    for seed in (1, 2):
        run(capsys, "sample", run_dir, "--n", 1, "--steps", 20, "--temperature", 0, "--seed", seed, "--out",
            tmp_path / f"argmax{seed}", "--device", "cpu", "--no-progress")
    assert json.loads((tmp_path / "argmax1" / "sample_000.json").read_text())["tokens"] == \
        json.loads((tmp_path / "argmax2" / "sample_000.json").read_text())["tokens"]
    code, _, _ = run(capsys, "sample", run_dir, "--n", 1, "--steps", 10, "--primer-abc", r"M:4/4\nL:1/8\nK:G\nGABc",
                     "--out", tmp_path / "primed", "--device", "cpu", "--no-progress")
    primed = json.loads((tmp_path / "primed" / "sample_000.json").read_text())
    first = primed["symbols"][0][0]  # the tune goes on where the primer stops, on its line
    assert code == 0 and primed["text"].startswith("M:4/4\nL:1/8\nK:G\nGABc" + ("" if first == "</s>" else first))
    assert primed["length"] <= 10
    tune = abc_corpus / "test" / "t0.abc"
    code, out, _ = run(capsys, "activations", run_dir, "--input", tune, "--layer", 1, "--out", tmp_path / "a.html")
    assert code == 0 and "16 units" in out
    page = (tmp_path / "a.html").read_text()
    assert "plotly" in page and "unit 15" in page and "layer 1 of 2" in page
    code, _, err = run(capsys, "activations", run_dir, "--input", tune, "--layer", 3)
    assert code == 2 and "--layer must be 1..2" in err


# ---------------------------------------------------------------- evaluation worked out by hand


def test_evaluate_on_hand_made_frames_matches_the_hand_computation(tmp_path: Path, capsys):
    """12 keys (MIDI 60-71), one frame per quarter note. The model ignores its input: key probabilities
    p = 0.2, 0.6, 0.7 for keys 60-62 and 0.5 for the other 9. Test piece frames {60,62} {} {60,61} {61,62}:
    the last 3 are scored. Training piece frames {60} {60,61} {} {62} fit the baselines."""
    from generation.checkpoint import save_checkpoint
    from generation.config import TrainConfig
    from generation.encodings import make_encoding
    from generation.models import build_model

    corpus = tmp_path / "corpus"
    notes = {"train": [(60, 0, 2), (61, 1, 2), (62, 3, 4)], "validation": [(60, 0, 1)],
             "test": [(60, 0, 1), (62, 0, 1), (60, 2, 3), (61, 2, 4), (62, 3, 4)]}
    for split, triples in notes.items():
        (corpus / split).mkdir(parents=True)
        pitch, start, end = zip(*triples, strict=True)
        write_midi(piece_from_notes(list(pitch), list(map(float, start)), list(map(float, end))),
                   corpus / split / "piece.mid")
    encoding = make_encoding("multilabel", step=1.0, pitch_range=(60, 71)).fit([])
    config = TrainConfig(arch="lstm", encoding="multilabel", encoding_options={"step": 1.0, "low": 60, "high": 71},
                         mode="many-to-many", hidden=4, keep=1.0)
    model = build_model("lstm", encoding.model_io(), config)
    p = np.array([0.2, 0.6, 0.7] + [0.5] * 9)
    with torch.no_grad():
        model.head.layer.weight.zero_()
        model.head.layer.bias.copy_(torch.logit(torch.tensor(p, dtype=torch.float32)))
    save_checkpoint(tmp_path / "run" / "best.pt", model=model, config=config, model_io=encoding.model_io(),
                    encoding=encoding.to_dict(), epoch=1)
    code, out, err = run(capsys, "evaluate", tmp_path / "run", "--corpus", corpus, "--json", "--device", "cpu",
                         "--no-progress")
    assert code == 0, err
    record = json.loads(out)
    ln2 = math.log(2)
    frame1 = -(math.log(0.8) + math.log(0.4) + math.log(0.3)) + 9 * ln2  # {}
    frame2 = -(math.log(0.2) + math.log(0.6) + math.log(0.3)) + 9 * ln2  # {60, 61}
    frame3 = -(math.log(0.8) + math.log(0.6) + math.log(0.7)) + 9 * ln2  # {61, 62}
    assert record["n_frames"] == 3
    assert record["frame_nll"] == pytest.approx((frame1 + frame2 + frame3) / 3, rel=1e-5)
    tp, fn = (0.2 + 0.6) + (0.6 + 0.7), (0.8 + 0.4) + (0.4 + 0.3)
    fp = 3 * p.sum() - tp
    assert record["frame_accuracy"] == pytest.approx(tp / (tp + fp + fn), rel=1e-5)
    baselines = record["baselines"]
    assert baselines["uniform"]["frame_nll"] == pytest.approx(12 * ln2)
    # independent Bernoulli from the 3 predicted training frames {60,61} {} {62}: (k + 1) / (3 + 2)
    on, off = math.log(2 / 5), math.log(3 / 5)  # keys 60-62 were on once each
    rest = 9 * math.log(4 / 5)  # the other 9 keys: never on, p = 1/5
    bern1 = -(3 * off + rest)
    bern2 = -(2 * on + off + rest)
    bern3 = -(off + 2 * on + rest)
    assert baselines["independent-bernoulli"]["frame_nll"] == pytest.approx((bern1 + bern2 + bern3) / 3)
    # Markov chord chain: {60,62} was never a predecessor (lam 0); {} and {60,61} were, once each, followed by
    # a chord other than the test's (lam 1/2, chain probability 0)
    assert baselines["markov-chord"]["frame_nll"] == pytest.approx((bern1 + bern2 + bern3 + 2 * ln2) / 3)


def test_presets_are_listed_and_shown(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("chorale-frames"))
    assert "lstm on multilabel" in line and "Boulanger-Lewandowski" in line
    code, out, _ = run(capsys, "presets", "chorale-frames")
    assert code == 0 and "step = 1.0" in out and "high = 108" in out and 'encoding = "multilabel"' in out
    code, _, err = run(capsys, "presets", "nope")
    assert code == 2 and "unknown preset 'nope'" in err


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("options", "message"), [
    (["--encoding", "biaxial", "--arch", "lstm"], "cannot read the biaxial encoding"),
    (["--encoding", "multilabel", "--arch", "transformer"], "cannot read the multilabel encoding"),
    (["--encoding", "notewise-chord", "--arch", "bilstm", "--mode", "many-to-many"], "Use --mode many-to-one"),
    (["--encoding", "multilabel", "--encoding-option", "stepp=1"], "encoding option 'stepp'"),
    (["--encoding", "no-such"], "unknown encoding 'no-such'"),
    (["--preset", "no-such"], "unknown preset 'no-such'"),
])
def test_bad_training_requests_exit_2_before_any_work(chord_corpus: Path, tmp_path: Path, capsys, options, message):
    code, _, err = run(capsys, "train", "--corpus", chord_corpus, "--out", tmp_path / "r", "--cache",
                       tmp_path / "c", *options)
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "c").exists()  # nothing was prepared


def test_a_bad_request_in_a_real_process_is_one_error_line_and_no_traceback(chord_corpus: Path, tmp_path: Path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "generation", "train", "--corpus", str(chord_corpus), "--out",
                           str(tmp_path / "r"), "--encoding", "biaxial", "--arch", "lstm"], capture_output=True,
                          text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: architecture 'lstm' cannot read the biaxial encoding")


def test_unknown_config_key_and_missing_gpu_are_errors(chord_corpus: Path, tmp_path: Path, capsys, monkeypatch):
    config = tmp_path / "mine.toml"
    config.write_text("hidden = 8\nhiden = 9\n", encoding="utf-8")
    code, _, err = run(capsys, "train", "--corpus", chord_corpus, "--out", tmp_path / "r", "--config", config)
    assert code == 2 and "mine.toml: unknown key 'hiden'" in err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(capsys, "train", "--corpus", chord_corpus, "--out", tmp_path / "r", "--encoding",
                       "multilabel", "--device", "cuda", "--cache", tmp_path / "c")
    assert code == 2 and "--device cuda: torch sees no CUDA GPU" in err


def test_bad_sampling_and_evaluation_requests(chord_corpus: Path, cache: Path, tmp_path: Path, capsys):
    code, _, err = run(capsys, "sample", tmp_path / "nothing", "--out", tmp_path / "s")
    assert code == 2 and "no checkpoint there" in err
    code, _, err = run(capsys, "evaluate", tmp_path / "nothing", "--corpus", chord_corpus)
    assert code == 2 and "no checkpoint there" in err
    run_dir = train_run(chord_corpus, tmp_path / "run", cache, "--preset", "chorale-frames", "--hidden", "8",
                        "--window", "16", "--epochs", "1", "--device", "cpu", "--no-progress")
    code, _, err = run(capsys, "sample", run_dir, "--out", tmp_path / "s", "--duration-temperature", "0.5")
    assert code == 2 and "no duration head" in err
    code, _, err = run(capsys, "sample", run_dir, "--out", tmp_path / "s", "--primer", tmp_path / "missing.mid")
    assert code == 2 and "no such primer file" in err
    code, _, err = run(capsys, "evaluate", run_dir, "--corpus", tmp_path / "no-corpus")
    assert code == 2 and err.startswith("error: ")
