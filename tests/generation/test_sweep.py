"""Sweep grids: parsing, points, best-of-run from metrics.csv, and the pivoted table."""

from __future__ import annotations

from pathlib import Path

import pytest

from generation.errors import GenerationError
from generation.sweep import SweepPoint, best_of_run, grid_points, parse_grid, write_sweep_table


def test_parse_grid_keeps_order_and_normalises_names() -> None:
    assert parse_grid(["hidden=64,256,512", "--keep=1, 0.5,0.3", "batch-size=8"]) == {
        "hidden": ["64", "256", "512"], "keep": ["1", "0.5", "0.3"], "batch_size": ["8"]}


@pytest.mark.parametrize("items", [[], ["hidden"], ["hidden="], ["=1,2"], ["a=1", "a=2"]])
def test_bad_grids_are_refused(items: list[str]) -> None:
    with pytest.raises(GenerationError):
        parse_grid(items)


def test_grid_points_are_the_cartesian_product_first_key_slowest() -> None:
    points = grid_points({"hidden": ["64", "256"], "keep": ["1", "0.5", "0.3"]})
    assert [p.values for p in points][:4] == [{"hidden": "64", "keep": "1"}, {"hidden": "64", "keep": "0.5"},
                                              {"hidden": "64", "keep": "0.3"}, {"hidden": "256", "keep": "1"}]
    assert len(points) == 6
    assert points[1].name == "hidden-64_keep-0.5"
    assert points[1].flags() == ["--hidden", "64", "--keep", "0.5"]
    assert SweepPoint({"attention": "true", "batch_size": "8"}).flags() == ["--attention", "--batch-size", "8"]
    assert SweepPoint({"attention": "false"}).flags() == ["--no-attention"]


def test_best_of_run_reads_the_best_epoch(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("epoch,val_loss,val_accuracy,seconds\n1,2.0,0.30,10\n2,1.5,0.45,11\n"
                                          "3,1.7,0.40,12\n", encoding="utf-8")
    assert best_of_run(tmp_path, "val_accuracy", "max") == {"best": 0.45, "epoch": 2, "seconds": 33.0}
    assert best_of_run(tmp_path, "val_loss", "min") == {"best": 1.5, "epoch": 2, "seconds": 33.0}
    assert best_of_run(tmp_path, "missing", "max") == {"best": None, "epoch": None, "seconds": None}
    assert best_of_run(tmp_path / "nothing", "val_loss", "min")["best"] is None


def test_sweep_table_pivots_on_the_first_two_keys(tmp_path: Path) -> None:
    rows = [{"hidden": h, "keep": k, "best": 0.1 * i, "epoch": 1, "seconds": 2.0, "status": 0}
            for i, (h, k) in enumerate([("64", "1"), ("64", "0.5"), ("256", "1"), ("256", "0.5")])]
    rows[3]["best"] = None
    csv_path, html_path = write_sweep_table(rows, ["hidden", "keep"], tmp_path, metric="val_accuracy")
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "hidden,keep,best,epoch,seconds,status"
    assert lines[2] == "64,0.5,0.1,1,2.0,0"
    page = html_path.read_text(encoding="utf-8")
    assert "<th>hidden = 256</th><td>0.2000</td><td>failed</td>" in page
    assert "plotly" in page
