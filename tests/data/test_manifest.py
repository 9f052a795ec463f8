from __future__ import annotations

import json

import pytest

from data import DataError, Entry, Failure, Manifest, assign_splits, load_manifest, save_manifest
from data.manifest import check_fractions, split_counts


@pytest.mark.parametrize(
    ("n", "expected"),
    [(10, (8, 1, 1)), (100, (80, 10, 10)), (5, (3, 1, 1)), (3, (1, 1, 1)), (2, (2, 0, 0)), (0, (0, 0, 0))],
)
def test_split_counts_by_hand(n, expected):
    # 5 pieces: round(0.5) = 0 validation/test pieces, raised to 1 each so small corpora can be evaluated
    assert split_counts(n, (0.8, 0.1, 0.1)) == expected


def test_assign_splits_is_deterministic_disjoint_and_order_free():
    ids = [f"p{i:03d}" for i in range(50)]
    a = assign_splits(ids, seed=3)
    assert a == assign_splits(list(reversed(ids)), seed=3)  # depends on the set of ids, not their order
    assert set(a) == set(ids)
    groups = {s: {i for i, v in a.items() if v == s} for s in ("train", "validation", "test")}
    assert [len(groups[s]) for s in ("train", "validation", "test")] == [40, 5, 5]
    assert not (groups["train"] & groups["validation"]) and not (groups["train"] & groups["test"])
    assert not (groups["validation"] & groups["test"])
    assert assign_splits(ids, seed=4) != a  # another seed gives another split


def test_assign_splits_rejects_duplicate_ids():
    with pytest.raises(ValueError, match="unique"):
        assign_splits(["a", "a", "b"], seed=0)


def test_check_fractions_names_the_bad_value():
    assert check_fractions((0.7, 0.2, 0.1)) == (0.7, 0.2, 0.1)
    with pytest.raises(DataError, match=r"0\.5.*summing to 1"):
        check_fractions((0.5, 0.1, 0.1))
    with pytest.raises(DataError, match="non-negative"):
        check_fractions((1.2, -0.1, -0.1))


def _manifest() -> Manifest:
    return Manifest(
        name="toy",
        source={"music21_version": "10.5.1", "corpus_paths": ["toy/*.abc"]},
        created="2026-01-01T00:00:00+00:00",
        seed=7,
        limit=3,
        fractions=(0.8, 0.1, 0.1),
        entries=(
            Entry("a", "a.mid", "Tune A", "train", "toy/a.abc#X:1", "a.abc"),
            Entry("b", "b.mid", "Tune B", "validation", "toy/a.abc#X:2", "b.abc", ("removed 2 repeat signs",)),
            Entry("c", "c.mid", "Tune C", "test", "toy/a.abc#X:3"),
        ),
        failures=(Failure("toy/a.abc#X:4", "music21 could not read the score (bad)"),),
        duplicates=({"source": "toy/a.abc (2)", "same_as": "toy/a.abc (1)"},),
    )


def test_manifest_round_trip(tmp_path):
    m = _manifest()
    path = save_manifest(m, tmp_path)
    assert path == tmp_path / "manifest.json"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk["count"] == 3
    assert on_disk["split"]["train"] == ["a"] and on_disk["split"]["validation"] == ["b"]
    assert on_disk["failures"] == [{"source": "toy/a.abc#X:4", "reason": "music21 could not read the score (bad)"}]
    assert load_manifest(tmp_path) == m


def test_load_manifest_errors_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"has no manifest\.json.*python -m data build"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot read .*manifest\.json.*--force"):
        load_manifest(tmp_path)
    d = _manifest().to_dict()
    d["files"][0]["split"] = "dev"
    (tmp_path / "manifest.json").write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_manifest(tmp_path)
    del d["files"]
    (tmp_path / "manifest.json").write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(DataError, match="not a valid tunelab corpus manifest"):
        load_manifest(tmp_path)
