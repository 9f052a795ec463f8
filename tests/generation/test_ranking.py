"""Ranking variants over seeds: means, t intervals worked by hand, Welch + Holm separability."""

from __future__ import annotations

import math
import warnings

import pytest

from generation.ranking import rank_variants


def test_means_and_t_intervals_by_hand() -> None:
    # values 1, 2, 3: mean 2, s = 1, t(0.975, 2) = 4.302653, half width 4.302653 / sqrt(3) = 2.484138
    ranking = rank_variants([("a", 1.0), ("a", 2.0), ("a", 3.0)], metric="acc")
    (a,) = ranking.variants
    assert (a.rank, a.n, a.mean, a.std) == (1, 3, 2.0, 1.0)
    assert a.ci_low == pytest.approx(2 - 2.484138, abs=1e-6)
    assert a.ci_high == pytest.approx(2 + 2.484138, abs=1e-6)


def test_clearly_different_variants_are_separable_and_ordered() -> None:
    results = [("low", v) for v in (0.10, 0.11, 0.12)] + [("high", v) for v in (0.50, 0.51, 0.52)]
    ranking = rank_variants(results, metric="acc")
    assert [v.name for v in ranking.variants] == ["high", "low"]
    assert ranking.pairs[0].separable
    assert ranking.not_separable() == []
    lower = rank_variants(results, metric="nll", higher_is_better=False)
    assert [v.name for v in lower.variants] == ["low", "high"]


def test_overlapping_variants_are_said_to_be_not_separable() -> None:
    results = [("a", v) for v in (0.50, 0.55, 0.45)] + [("b", v) for v in (0.52, 0.47, 0.51)]
    ranking = rank_variants(results, metric="acc")
    assert ranking.not_separable() == [(ranking.variants[0].name, ranking.variants[1].name)]
    assert "not separable" in ranking.sentences()[0]


def test_one_seed_gives_no_interval_and_no_separability() -> None:
    ranking = rank_variants([("a", 0.9), ("b", 0.1)], metric="acc")
    assert ranking.variants[0].ci_low is None
    assert ranking.pairs[0].p is None and not ranking.pairs[0].separable


def test_holm_adjusts_over_all_pairs() -> None:
    results = ([("a", v) for v in (1.0, 1.1, 1.2)] + [("b", v) for v in (2.0, 2.1, 2.2)]
               + [("c", v) for v in (3.0, 3.1, 3.2)])
    ranking = rank_variants(results, metric="x")
    raw = sorted(p.p for p in ranking.pairs)
    adjusted = sorted(p.p_holm for p in ranking.pairs)
    assert adjusted[0] == pytest.approx(min(1.0, 3 * raw[0]))
    assert all(q >= p for p, q in zip(raw, adjusted, strict=True))
    assert not any(math.isnan(p.p) for p in ranking.pairs)


def test_seeds_that_agree_up_to_rounding_are_not_separable_and_raise_no_warning() -> None:
    results = [("a", 1.0), ("a", 1.0), ("a", 1.0), ("b", 0.1 + 0.2), ("b", 0.3), ("b", 0.3)]
    same = [("a", 0.1 + 0.2), ("a", 0.3), ("b", 0.3), ("b", 0.3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apart = rank_variants(results, metric="acc")
        tied = rank_variants(same, metric="acc")
        one_flat = rank_variants([("a", 0.1 + 0.2), ("a", 0.3), ("a", 0.3), ("b", 0.2), ("b", 0.25), ("b", 0.3)],
                                 metric="acc")
    assert apart.pairs[0].p == 0.0 and apart.pairs[0].separable
    assert tied.pairs[0].p == 1.0 and not tied.pairs[0].separable
    # a flat group against a spread one: Welch with the flat group's variance 0, t = 0.05 / sqrt(0.0025 / 3)
    # = 1.732 on df = 2, two-sided p = 0.2254
    assert one_flat.pairs[0].p == pytest.approx(0.2254, abs=1e-4)


def test_welch_p_values_are_scipys() -> None:
    from scipy import stats

    a, b = [0.31, 0.35, 0.29, 0.4], [0.2, 0.26, 0.24]
    ranking = rank_variants([("a", v) for v in a] + [("b", v) for v in b], metric="acc")
    assert ranking.pairs[0].p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
