"""Distances: expected values worked out by hand (bits unless stated)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evaluation.distances as distances
from evaluation.distances import (
    DistanceConfig,
    classifier_two_sample_test,
    corpus_histogram,
    inter_set_distances,
    intra_set_distances,
    js_distance,
    kde_kl_and_overlap,
    kl_divergence,
)


def test_kl_divergence_by_hand() -> None:
    # 0.5 log2(0.5/0.25) + 0.5 log2(0.5/0.75) = 0.5 - 0.29248 = 0.207519 bits
    assert kl_divergence([0.5, 0.5], [0.25, 0.75], smoothing=0) == pytest.approx(0.2075187, abs=1e-6)
    assert kl_divergence([0.5, 0.5], [0.25, 0.75], smoothing=0, base=math.e) == pytest.approx(
        0.2075187 * math.log(2), abs=1e-6
    )
    # counts are normalised: same as the probabilities
    assert kl_divergence([2, 2], [1, 3], smoothing=0) == pytest.approx(0.2075187, abs=1e-6)
    assert kl_divergence([3, 1], [3, 1]) == 0.0  # exact: p log(p / p) is p log 1 = 0 term by term


def test_kl_smoothing_keeps_it_finite() -> None:
    assert math.isinf(kl_divergence([1, 0], [0, 1], smoothing=0))
    # smoothing 1: p = [2/3, 1/3], q = [1/3, 2/3] -> 2/3 * 1 + 1/3 * (-1) = 1/3
    assert kl_divergence([1, 0], [0, 1], smoothing=1) == pytest.approx(1 / 3)
    assert math.isnan(kl_divergence([0, 0], [1, 1], smoothing=0))
    with pytest.raises(ValueError, match="differ in shape"):
        kl_divergence([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=">= 0"):
        kl_divergence([-1, 2], [1, 2])


def test_js_distance_by_hand() -> None:
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_distance([3, 1], [6, 2]) == pytest.approx(0.0, abs=1e-7)
    # M = [.75, .25]; KL(P||M) = 0.415037, KL(Q||M) = 0.207519; JSD = 0.311278; distance = sqrt
    assert js_distance([1, 0], [0.5, 0.5]) == pytest.approx(math.sqrt(0.311278), abs=1e-5)
    assert js_distance([1, 0], [0.5, 0.5]) == pytest.approx(js_distance([0.5, 0.5], [1, 0]))


def test_corpus_histogram_pools_counts() -> None:
    np.testing.assert_allclose(corpus_histogram([[2, 0], [0, 2], [1, 1]]), [0.5, 0.5])
    np.testing.assert_allclose(corpus_histogram([[1, 0], [0, 1]], weights=np.array([3, 1])), [0.75, 0.25])
    np.testing.assert_allclose(corpus_histogram([[1, 0], [np.nan, 1]]), [1.0, 0.0])
    assert np.isnan(corpus_histogram(np.zeros((0, 3)))).all()


def test_intra_and_inter_set_distances() -> None:
    np.testing.assert_allclose(intra_set_distances(np.array([0.0, 1.0, 3.0])), [[1, 3], [1, 2], [3, 2]])
    np.testing.assert_allclose(inter_set_distances(np.array([0.0, 1.0]), np.array([3.0])), [[3], [2]])
    np.testing.assert_allclose(intra_set_distances(np.array([[0.0, 0.0], [3.0, 4.0]])), [[5], [5]])
    # arrays per piece are flattened; NaN pieces are dropped
    matrices = np.array([np.zeros((2, 2)), np.ones((2, 2)), np.full((2, 2), np.nan)])
    np.testing.assert_allclose(intra_set_distances(matrices), [[2], [2]])
    assert intra_set_distances(np.array([1.0])).shape == (1, 0)


def test_kde_identical_and_constant_samples() -> None:
    sample = np.random.default_rng(1).normal(size=300)
    same = kde_kl_and_overlap(sample, sample)
    assert same["kl"] == pytest.approx(0.0, abs=1e-9) and same["overlap"] == pytest.approx(1.0)
    equal_constants = kde_kl_and_overlap(np.full(20, 3.0), np.full(30, 3.0))
    # two KDEs summed over 20 and 30 equal points: equal up to rounding, not bit for bit (another machine's
    # SIMD summation order gave 9.5e-18), so the KL is 0 within rounding
    assert set(equal_constants) == {"kl", "overlap"}
    assert equal_constants["kl"] == pytest.approx(0.0, abs=1e-12)
    assert equal_constants["overlap"] == pytest.approx(1.0)
    different = kde_kl_and_overlap(np.zeros(20), np.ones(20))
    assert different["overlap"] < 1e-6 and 10 < different["kl"] < 25  # finite thanks to the smoothing
    mixed = kde_kl_and_overlap(np.zeros(20), sample)
    assert 0 < mixed["overlap"] < 0.5 and np.isfinite(mixed["kl"])
    assert math.isnan(kde_kl_and_overlap(np.array([1.0]), sample)["kl"])


def test_kde_matches_gaussian_theory_on_one_grid() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20000), rng.normal(1, 1, 20000)
    result = kde_kl_and_overlap(a, b, base=math.e)
    # KDE variance 1 + h^2 with Scott's h = 20000^(-1/5) = 0.138: KL = 1 / (2 * 1.019) = 0.491 nats,
    # overlap = 2 Phi(-0.5 / sqrt(1.019)) = 0.620. (Without smoothing the sparse tails of a KDE make KL
    # blow up: the reason for the smoothing.)
    assert result["kl"] == pytest.approx(0.491, abs=0.04)
    assert result["overlap"] == pytest.approx(0.620, abs=0.02)
    # one shared grid makes the overlap symmetric even for far-apart samples (mgeval's bug broke this)
    far = rng.normal(8, 0.2, 500)
    assert kde_kl_and_overlap(a, far)["overlap"] == pytest.approx(kde_kl_and_overlap(far, a)["overlap"])


def test_binned_kde_agrees_with_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    a, b = rng.exponential(size=3000), 1.5 * rng.exponential(size=3000)
    monkeypatch.setattr(distances, "EXACT_KDE_LIMIT", 0)
    binned = kde_kl_and_overlap(a, b)
    monkeypatch.setattr(distances, "EXACT_KDE_LIMIT", 10**12)
    exact = kde_kl_and_overlap(a, b)
    assert binned["overlap"] == pytest.approx(exact["overlap"], abs=1e-3)
    assert binned["kl"] == pytest.approx(exact["kl"], abs=1e-3)


def test_wilson_interval_by_hand() -> None:
    low, high = distances._wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))


def test_classifier_two_sample_test() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(80, 4))
    same = classifier_two_sample_test(rng.normal(size=(120, 4)), reference, seed=0)
    assert same.n_per_set == 80 and same.folds == 5  # larger set subsampled to the smaller
    assert 0.35 < same.accuracy < 0.65 and same.p_value > 0.01
    assert same.ci_low < same.accuracy < same.ci_high
    shifted = rng.normal(size=(80, 4)) + 3.0
    shifted[::7, 0] = np.nan  # imputed with medians
    different = classifier_two_sample_test(shifted, reference, seed=0)
    assert different.accuracy > 0.95 and different.p_value < 1e-10
    assert different.n_correct == round(different.accuracy * 160)
    forest = classifier_two_sample_test(shifted, reference, seed=0, classifier="random_forest")
    assert forest.accuracy > 0.9 and forest.classifier == "random_forest"
    assert (
        classifier_two_sample_test(shifted, reference, seed=3).to_dict()
        == classifier_two_sample_test(shifted, reference, seed=3).to_dict()
    )
    assert math.isnan(classifier_two_sample_test(shifted[:1], reference).accuracy)


def test_config_from_toml(tmp_path) -> None:
    path = tmp_path / "distances.toml"
    path.write_text('[distances]\nsmoothing = 0.001\nlog_base = 2.718281828459045\nclassifier = "random_forest"\n')
    config = DistanceConfig.from_toml(path)
    assert config == DistanceConfig(smoothing=0.001, log_base=math.e, classifier="random_forest")
    path.write_text("grid_points = 200\nfolds = 3\n")
    assert DistanceConfig.from_toml(path).grid_points == 200
    path.write_text("gridpoints = 200\n")
    with pytest.raises(ValueError, match="unknown setting"):
        DistanceConfig.from_toml(path)
    with pytest.raises(ValueError, match="classifier"):
        DistanceConfig(classifier="svm")
