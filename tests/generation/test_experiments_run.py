"""The experiment runner on a corpus built in code: real training that learns, samples scored against both
references, rankings over seeds, runs reused on a second call, and the same numbers from parallel workers.

The corpus: block chords, one per beat, cycling through four chords (C, Dm, G/B, Am; each piece shifted by a
few semitones), in train/ validation/ test/ folders. A one-frame-per-beat multi-label model that has learned
the cycle predicts most keys of the next frame, so its expected frame accuracy is far above a model that
has not (the uniform model gives 0.5 to each of the 24 keys: expected TP 1.5, FP 10.5, FN 1.5, accuracy
1.5 / 13.5 = 0.11)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from generation.experiments_runner import run_experiment
from tunelab.testing.corpora import write_chord_cycle_corpus

EXPERIMENT = """
title = "Cycle"
question = "Does an LSTM learn a chord cycle better than an RNN?"
order = 1
corpora = ["{corpus}"]
columns = ["val_frame_accuracy", "test_frame_nll", "classifier_accuracy"]
figures = ["benchmark", "loss_curves"]
[[rank]]
metric = "val_frame_accuracy"
higher_is_better = true
[train]
encoding = "multilabel"
encoding_options = {{ step = 1.0, transpose = "none" }}
mode = "many-to-many"
window = 8
hidden = 24
embedding_dim = 8
batch_size = 4
keep = 1.0
learning_rate = 0.03
epochs = 25
patience = 0
device = "cpu"
[sample]
n = 6
steps = 24
[[variants]]
name = "lstm"
arch = "lstm"
[[variants]]
name = "rnn"
arch = "rnn"
layers = 1
[sizes.quick]
seeds = 2
[sizes.full]
seeds = 3
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("experiment")
    corpus = write_chord_cycle_corpus(root / "cycle", {"train": [0, 2, -2, 1, -1, 3, -3, 4], "validation": [0, 2],
                                                       "test": [0, 1, -1]})
    experiments = root / "experiments"
    experiments.mkdir()
    (experiments / "cycle.toml").write_text(EXPERIMENT.format(corpus=corpus.as_posix()), encoding="utf-8")
    return {"root": root, "corpus": corpus, "experiments": experiments, "cache": root / "cache"}


@pytest.fixture(scope="module")
def first(setup: dict[str, Path]):
    return run_experiment("cycle", "quick", out_dir=setup["root"] / "out", experiments_dir=setup["experiments"],
                          cache_dir=setup["cache"], data_dir=setup["root"], progress=False)


def test_every_variant_and_seed_is_trained_evaluated_sampled_and_scored(first) -> None:
    records = first.records
    assert [(r["variant"], r["seed"]) for r in records] == [("lstm", 0), ("lstm", 1), ("rnn", 0), ("rnn", 1)]
    for record in records:
        metrics = record["metrics"]
        assert "error" not in record
        assert metrics["epochs_run"] == 25
        assert 0.0 < metrics["test_frame_nll"] < 24 * math.log(2)  # below the uniform model of 24 keys
        assert metrics["samples"] == 6 and metrics["samples_with_notes"] > 0
        for prefix in ("", "encoded_"):
            assert 0.0 <= metrics[f"{prefix}classifier_accuracy"] <= 1.0
            assert math.isfinite(metrics[f"{prefix}mean_overlap"])
        assert record["human_reference"] == 3 and record["encoded_reference"] == 3
    lstm = [r["metrics"]["val_frame_accuracy"] for r in records if r["variant"] == "lstm"]
    assert min(lstm) > 0.5  # it learned the cycle
    assert lstm[0] != lstm[1]  # two seeds, two different runs
    assert records[0]["baselines"]["uniform"]["frame_nll"] == pytest.approx(24 * math.log(2))
    assert set(records[0]["baselines"]) == {"uniform", "independent-bernoulli", "markov-chord"}
    assert set(records[1]["baselines"]) == {"uniform"}  # the fitted baselines once per variant (they need no seed)


def test_results_csv_json_and_the_report_hold_the_runs_figures(first) -> None:
    results = json.loads(first.results.read_text(encoding="utf-8"))
    assert results["seeds"] == 2 and results["size"] == "quick" and "cores" in results["machine"]
    ranking = results["rankings"][0]["ranking"]
    assert {v["name"] for v in ranking["variants"]} == {"lstm", "rnn"}
    assert all(v["n"] == 2 and v["ci_low"] is not None for v in ranking["variants"])
    csv_text = (first.folder / "results.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].startswith("experiment,corpus,variant,seed,arch,encoding,")
    assert len(csv_text.splitlines()) == 5
    html = first.report.read_text(encoding="utf-8")
    assert "Cycle" in html and "baseline: uniform" in html
    lstm_nll = [r["metrics"]["test_frame_nll"] for r in first.records if r["variant"] == "lstm"]
    assert f"{sum(lstm_nll) / 2:.3f} ± " in html


def test_a_second_call_reuses_every_run(setup: dict[str, Path], first, monkeypatch: pytest.MonkeyPatch) -> None:
    import generation.workflow

    def trained_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(generation.workflow, "train_from_corpus", trained_again)
    again = run_experiment("cycle", "quick", out_dir=setup["root"] / "out", experiments_dir=setup["experiments"],
                           cache_dir=setup["cache"], data_dir=setup["root"], progress=False)
    assert [r["metrics"] for r in again.records] == [r["metrics"] for r in first.records]


def test_parallel_workers_give_the_numbers_of_one_process(setup: dict[str, Path], first) -> None:
    parallel = run_experiment("cycle", "quick", out_dir=setup["root"] / "parallel", seeds=1, jobs=2, threads=1,
                              experiments_dir=setup["experiments"], cache_dir=setup["cache"], data_dir=setup["root"],
                              progress=False)
    assert [(r["variant"], r["seed"]) for r in parallel.records] == [("lstm", 0), ("rnn", 0)]
    serial = {r["variant"]: r["metrics"] for r in first.records if r["seed"] == 0}
    for record in parallel.records:
        assert record["metrics"]["val_loss"] == pytest.approx(serial[record["variant"]]["val_loss"], rel=1e-5)


def test_more_epochs_continue_the_finished_runs_instead_of_starting_again(setup: dict[str, Path], first,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import generation.workflow

    calls = []
    real = generation.workflow.train_from_corpus

    def continued(*args: object, **kwargs: object):
        calls.append(kwargs["resume"])
        return real(*args, **kwargs)

    monkeypatch.setattr(generation.workflow, "train_from_corpus", continued)

    out = setup["root"] / "longer"
    shutil.copytree(setup["root"] / "out", out)
    longer = setup["root"] / "experiments-longer"
    longer.mkdir()
    text = (setup["experiments"] / "cycle.toml").read_text(encoding="utf-8").replace("epochs = 25", "epochs = 27")
    (longer / "cycle.toml").write_text(text, encoding="utf-8")
    result = run_experiment("cycle", "quick", out_dir=out, seeds=1, experiments_dir=longer, cache_dir=setup["cache"],
                            data_dir=setup["root"], progress=False)
    for record in result.records:
        assert record["metrics"]["epochs_run"] == 27
        before = next(r for r in first.records if r["variant"] == record["variant"] and r["seed"] == 0)
        assert record["curves"][:25] == before["curves"]  # the first 25 epochs are the ones trained before
    assert calls == [True, True]
