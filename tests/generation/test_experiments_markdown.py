"""The experiments' Markdown: tables per corpus, the grid pivot and failed runs, from a hand-written results.json."""

from __future__ import annotations

import json
from pathlib import Path

from generation.experiments_markdown import results_markdown


def _record(hidden: int, keep: float, seed: int, accuracy: float) -> dict:
    return {"corpus": "chorales", "variant": f"hidden-{hidden}_keep-{keep}", "seed": seed,
            "variant_fields": {"hidden": hidden, "keep": keep}, "metrics": {"val_accuracy": accuracy}}


def test_grid_experiment_as_markdown(tmp_path: Path) -> None:
    records = [_record(h, k, s, a) for h, k, base in ((64, 1.0, 0.4), (64, 0.5, 0.3), (256, 1.0, 0.6), (256, 0.5, 0.5))
               for s, a in ((0, base), (1, base + 0.02))]
    records.append({"corpus": "chorales", "variant": "hidden-256_keep-0.5", "seed": 2, "error": "out of memory",
                    "metrics": {}})
    results = {"experiment": "grid", "title": "4. Grid", "order": 4, "kind": "variants", "command": "python -m x",
               "wall_seconds": 90.0, "machine": "2 cores", "finished": "2026-12-01 12:00:00", "records": records,
               "columns": ["val_accuracy"], "figures": ["grid"], "grid": ["hidden", "keep"],
               "ranks": [{"metric": "val_accuracy", "higher_is_better": True}], "rankings": []}
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "results.json").write_text(json.dumps(results), encoding="utf-8")
    text = results_markdown(tmp_path)
    assert "## 4. Grid" in text and "`python -m x`: 9 runs, wall time 1.5 min on 2 cores" in text
    assert "1 runs failed: out of memory" in text
    # mean of (0.6, 0.62) = 0.61; sd = 0.01414, t(0.975, 1) = 12.706 -> half-width 12.706 * 0.01414 / sqrt(2) = 0.127
    assert "| hidden-256_keep-1.0 | 0.610 ± 0.127 (2) |" in text
    assert "| | keep = 1.0 | keep = 0.5 |" in text
    assert "| hidden = 64 | 0.410 ± 0.127 (2) | 0.310 ± 0.127 (2) |" in text
    assert "| hidden = 256 | 0.610 ± 0.127 (2) | 0.510 ± 0.127 (2) |" in text  # the failed seed is left out
