"""Experiment files: the shipped ones load with both sizes, precedence of settings, grids, bad files; the
rankings of records and the report built from hand-made results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from generation.errors import GenerationError
from generation.experiments import EXPERIMENTS_DIR, experiment_names, load_experiment
from generation.experiments_report import mean_ci, write_report
from generation.experiments_runner import rank_records

SHIPPED = ["notewise-variants", "attention", "cnn-lstm", "hidden-keep-grid", "lstm-vs-rnn-abc", "chorale-benchmark",
           "folk-steps", "ranking"]


def test_the_eight_experiments_ship_in_report_order_with_three_seeds_in_the_full_size() -> None:
    assert experiment_names() == SHIPPED
    for name in SHIPPED:
        experiment = load_experiment(name)
        if experiment.kind == "variants":
            assert experiment.size("full").seeds >= 3
            assert len(experiment.variants_for("full")) >= 2
            assert experiment.ranks, name


def test_the_chorale_benchmark_uses_the_jsb_protocol_for_every_variant() -> None:
    experiment = load_experiment("chorale-benchmark")
    for variant in experiment.variants_for("full"):
        config = experiment.train_config("full", variant, 2)
        assert config.seed == 2
        protocol = {"step": 1.0, "low": 21, "high": 108, "transpose": "c-major-c-minor", "augment": False}
        if config.arch == "biaxial":  # the roll the multilabel models read, predicted alone
            protocol |= {"roll": "sampled", "play_only": True}
        assert config.encoding_options == protocol
    assert [v.train["arch"] for v in experiment.variants_for("full")] == ["lstm", "stacked", "biaxial"]


def test_the_grid_becomes_one_variant_per_point_and_the_quick_size_has_its_own_grid() -> None:
    experiment = load_experiment("hidden-keep-grid")
    full = experiment.variants_for("full")
    assert [v.name for v in full][:3] == ["hidden-64_keep-1", "hidden-64_keep-0.5", "hidden-64_keep-0.3"]
    assert len(full) == 9
    assert {(v.train["hidden"], v.train["keep"]) for v in full} == {(h, k) for h in (64, 256, 512)
                                                                    for k in (1.0, 0.5, 0.3)}
    assert len(experiment.variants_for("quick")) == 4


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = """
title = "t"
corpora = ["some-folder"]
[train]
hidden = 100
window = 16
[[variants]]
name = "a"
hidden = 200
[[variants]]
name = "b"
arch = "rnn"
sample = { steps = 7 }
[sizes.quick]
seeds = 2
train = { epochs = 3, window = 8 }
sample = { n = 3 }
[sizes.full]
seeds = 3
"""


def test_settings_are_layered_defaults_train_variant_then_size(tmp_path: Path) -> None:
    _write(tmp_path, "layers", BASE)
    experiment = load_experiment("layers", tmp_path)
    a, b = experiment.variants_for("quick")
    quick_a = experiment.train_config("quick", a, 1)
    assert (quick_a.hidden, quick_a.window, quick_a.epochs, quick_a.seed) == (200, 8, 3, 1)
    full_b = experiment.train_config("full", b, 0)
    assert (full_b.hidden, full_b.window, full_b.epochs, full_b.arch) == (100, 16, 20, "rnn")
    sample = experiment.sample_config("quick", b, 4)
    assert (sample.n, sample.steps, sample.seed) == (3, 7, 4)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("hidden = 100", "hiden = 3", r"unknown key 'hiden'"),
    ('title = "t"', 'title = "t"\ncolour = 1', r"unknown key 'colour'"),
    ("seeds = 3", 'seeds = 3\n[[rank]]\nmetric = "val_loss"\nvariants = ["zz"]', r"unknown variant 'zz'"),
    ('title = "t"', 'title = "t"\nfigures = ["pie"]', r"unknown figure 'pie'"),
    ("seeds = 3", "seeds = 0", r"seeds must be a whole number >= 1"),
])
def test_a_bad_file_names_itself_and_the_problem(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _write(tmp_path, "bad", BASE.replace(old, new, 1))
    with pytest.raises(GenerationError, match=message) as caught:
        load_experiment("bad", tmp_path)
    assert str(path) in str(caught.value)


def test_an_unknown_experiment_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match="chorale-benchmark"):
        load_experiment("nope", EXPERIMENTS_DIR)


def test_bad_values_of_a_variant_are_caught_before_anything_trains(tmp_path: Path) -> None:
    _write(tmp_path, "neg", BASE.replace("hidden = 200", "hidden = -1"))
    with pytest.raises(GenerationError, match="hidden must be at least 1"):
        load_experiment("neg", tmp_path)


def test_mean_ci_is_the_student_t_interval_of_the_mean() -> None:
    mean, half, n = mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert (mean, n) == (2.0, 3)
    assert half == pytest.approx(4.302652729911275 * 1.0 / math.sqrt(3))  # t(0.975, 2) * s / sqrt(n)
    assert mean_ci([5.0]) == (5.0, None, 1)


def _record(variant: str, seed: int, value: float, corpus: str = "c") -> dict:
    return {"experiment": "e", "variant": variant, "corpus": corpus, "seed": seed, "metrics": {"val_accuracy": value}}


def test_rankings_are_per_corpus_and_say_when_variants_cannot_be_separated() -> None:
    records = [_record("far", s, v) for s, v in enumerate([0.90, 0.91, 0.92])]
    records += [_record("close-a", s, v) for s, v in enumerate([0.50, 0.60, 0.55])]
    records += [_record("close-b", s, v) for s, v in enumerate([0.52, 0.58, 0.56])]
    records += [_record("other", s, v, corpus="d") for s, v in enumerate([0.1, 0.2])]
    rankings = rank_records(records, [{"metric": "val_accuracy", "higher_is_better": True}])
    assert [(r["corpus"], [v["name"] for v in r["ranking"]["variants"]]) for r in rankings] == [
        ("c", ["far", "close-b", "close-a"]), ("d", ["other"])]
    assert [list(pair) for pair in rankings[0]["ranking"]["not_separable"]] == [["close-b", "close-a"]]
    only = rank_records(records, [{"metric": "val_accuracy", "higher_is_better": False, "variants": ["far"]}])
    assert [v["name"] for v in only[0]["ranking"]["variants"]] == ["far"]


def test_the_report_has_a_section_per_experiment_in_order_with_intervals_and_one_plotly(tmp_path: Path) -> None:
    records = [{**_record("lstm", s, v), "metrics": {"val_accuracy": v, "seconds_per_epoch": 2.0},
                "curves": [{"epoch": 1, "train_loss": 2.0, "val_loss": 1.5}]} for s, v in enumerate([0.4, 0.5, 0.6])]
    records += [{**_record("rnn", s, v), "metrics": {"val_accuracy": v, "seconds_per_epoch": 1.0}, "curves": []}
                for s, v in enumerate([0.41, 0.52, 0.58])]
    base = {"question": "q?", "source": "src", "kind": "variants", "size": "full", "seeds": 3, "corpora": {"c": "/c"},
            "limit": None, "figures": ["loss_curves", "seconds_per_epoch"], "notes": ["a note"], "grid": [],
            "wall_seconds": 90.0, "command": "python -m generation experiment x --full", "machine": "test machine",
            "columns": ["val_accuracy"], "ranks": [{"metric": "val_accuracy", "higher_is_better": True}]}
    for order, name in ((2, "second"), (1, "first")):
        folder = tmp_path / name
        folder.mkdir()
        results = {**base, "experiment": name, "title": f"Title {name}", "order": order, "records": records,
                   "rankings": rank_records(records, base["ranks"])}
        (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    html = write_report(tmp_path).read_text(encoding="utf-8")
    assert html.index("Title first") < html.index("Title second")
    assert "0.500 ± 0.248 (3)" in html  # mean of 0.4, 0.5, 0.6 with t(0.975, 2) * 0.1 / sqrt(3)
    ranking = html[html.index("<b>Ranking on validation accuracy"):]
    assert ranking.index("<li>rnn: 0.503") < ranking.index("<li>lstm: 0.500")  # rnn 0.503 ranks above lstm 0.500
    assert "3 seeds <span class='note'>&asymp; not separable from the one above</span></li>" in ranking
    assert "No adjacent pair of this ranking is separable" in ranking
    assert html.count("Plotly.newPlot(") == 4  # loss curves and seconds per epoch, in each experiment
    assert html.count("plotly.js v") == 1  # the library once, inside the file
