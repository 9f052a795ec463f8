"""Set-level comparison of feature distributions: pure numpy/scipy/scikit-learn, no I/O.

Conventions (one place, used by every function here):

- Logarithms are base ``DistanceConfig.log_base``; the default 2 gives **bits** (``math.e`` gives nats).
- Histograms may be counts or probabilities; they are normalised here. KL divergence uses **additive
  smoothing**: ``smoothing`` is added to every bin of both distributions before normalising, so KL stays
  finite when one histogram has an empty bin the other uses (default 1e-6; 0 disables it and KL may be inf).
- Undefined results (empty input, fewer than two usable values) are ``float("nan")``.

Measures and their sources:

- :func:`kl_divergence` -- Kullback & Leibler (1951), discrete.
- :func:`js_distance` -- Jensen-Shannon distance (square root of the JS divergence, Lin 1991; Endres &
  Schindelin 2003), base 2 so it lies in [0, 1]; ``scipy.spatial.distance.jensenshannon``.
- :func:`intra_set_distances`, :func:`inter_set_distances`, :func:`kde_kl_and_overlap` -- the relative
  evaluation of mgeval (Yang & Lerch 2020, "On the evaluation of generative models in music", Neural
  Computing and Applications 32), with its two bugs fixed: both densities are evaluated on ONE shared grid
  covering the support of both, and the overlap area is integrated over that whole grid (not cut at tails).
- :func:`classifier_two_sample_test` -- Lopez-Paz & Oquab (2017), "Revisiting classifier two-sample tests",
  ICLR.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist, jensenshannon

__all__ = [
    "DistanceConfig",
    "TwoSampleResult",
    "classifier_two_sample_test",
    "corpus_histogram",
    "inter_set_distances",
    "intra_set_distances",
    "js_distance",
    "kde_kl_and_overlap",
    "kl_divergence",
]

#: Bandwidth, as a fraction of the data's scale, of the fixed Gaussian used for a sample whose values are
#: all equal (gaussian_kde cannot estimate a bandwidth from zero variance). See :func:`kde_kl_and_overlap`.
CONSTANT_BANDWIDTH_FRACTION = 0.01


@dataclass(frozen=True)
class DistanceConfig:
    """Settings of the set-level comparison (loadable from TOML with :meth:`from_toml`)."""

    smoothing: float = 1e-6  # added to every histogram bin / grid cell before KL (0 = none)
    log_base: float = 2.0  # 2 = bits, e = nats
    grid_points: int = 1000  # points of the shared grid of the KDE method
    classifier: str = "logistic"  # "logistic" (standardised logistic regression) or "random_forest"
    folds: int = 5  # cross-validation folds of the classifier two-sample test
    seed: int = 0  # seeds every random choice (subsampling, folds, forest)
    max_pieces: int = 200  # pieces per set used by the KDE method (random subset above this; pairs grow as n^2)

    def __post_init__(self) -> None:
        if self.smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {self.smoothing}")
        if self.log_base <= 1:
            raise ValueError(f"log_base must be > 1 (2 for bits, e for nats), got {self.log_base}")
        if self.grid_points < 10:
            raise ValueError(f"grid_points must be >= 10, got {self.grid_points}")
        if self.classifier not in ("logistic", "random_forest"):
            raise ValueError(f"classifier must be 'logistic' or 'random_forest', got {self.classifier!r}")
        if self.folds < 2:
            raise ValueError(f"folds must be >= 2, got {self.folds}")
        if self.max_pieces < 3:
            raise ValueError(f"max_pieces must be >= 3, got {self.max_pieces}")

    @classmethod
    def from_toml(cls, path: str | Path) -> DistanceConfig:
        """Read the fields from TOML (top level or a ``[distances]`` table); unknown keys are errors."""
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        data = data.get("distances", data)
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {unknown}; known settings are {sorted(known)}")
        return cls(**data)


def _distribution(values: np.ndarray | list[float], smoothing: float) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if np.any(array < 0) or not np.all(np.isfinite(array)):
        raise ValueError("a histogram must hold finite values >= 0 (counts or probabilities)")
    array = array + smoothing
    total = array.sum()
    return array / total if total > 0 else np.full_like(array, np.nan)


def kl_divergence(
    p: np.ndarray | list[float], q: np.ndarray | list[float], smoothing: float = 1e-6, base: float = 2.0
) -> float:
    """Kullback-Leibler divergence KL(p || q) = sum_i p_i log(p_i / q_i), in bits for ``base=2``.

    ``p`` and ``q`` are histograms of the same shape (counts or probabilities). ``smoothing`` is added to
    every bin of both before normalising (additive/Laplace smoothing). NaN when either histogram is empty;
    inf when ``smoothing=0`` and q has an empty bin where p has mass.
    """
    p_array, q_array = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p_array.shape != q_array.shape:
        raise ValueError(f"histograms differ in shape: {p_array.shape} vs {q_array.shape}")
    p_dist, q_dist = _distribution(p_array, smoothing), _distribution(q_array, smoothing)
    if np.isnan(p_dist).any() or np.isnan(q_dist).any():
        return float("nan")
    return max(0.0, float(stats.entropy(p_dist, q_dist, base=base)))  # >= 0; clip rounding error


def js_distance(p: np.ndarray | list[float], q: np.ndarray | list[float]) -> float:
    """Jensen-Shannon distance sqrt(JSD(p, q)) with base-2 logarithms, in [0, 1] (0 = identical).

    Symmetric and a metric (Endres & Schindelin 2003); no smoothing is needed. NaN for an empty histogram.
    """
    p_dist, q_dist = _distribution(p, 0.0), _distribution(q, 0.0)
    if p_dist.shape != q_dist.shape:
        raise ValueError(f"histograms differ in shape: {p_dist.shape} vs {q_dist.shape}")
    if np.isnan(p_dist).any() or np.isnan(q_dist).any():
        return float("nan")
    return float(np.clip(jensenshannon(p_dist, q_dist, base=2.0), 0.0, 1.0))


def corpus_histogram(histograms: np.ndarray | list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Corpus-level histogram: the per-piece histograms summed, then normalised to sum to 1.

    ``histograms`` has shape (n_pieces, n_bins). Pass counts to pool notes over the corpus; per-piece
    probabilities with ``weights`` = notes per piece give the same result. Rows holding NaN are skipped.
    An empty corpus gives NaNs.
    """
    matrix = np.asarray(histograms, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"histograms must have shape (n_pieces, n_bins), got {matrix.shape}")
    usable = np.all(np.isfinite(matrix), axis=1)
    weight = np.ones(len(matrix)) if weights is None else np.asarray(weights, dtype=np.float64)
    usable &= np.isfinite(weight)
    total = (matrix[usable] * weight[usable, None]).sum(axis=0)
    mass = total.sum()
    return total / mass if mass > 0 else np.full(matrix.shape[1], np.nan)


def _as_matrix(values: np.ndarray) -> np.ndarray:
    """(n,) scalars or (n, ...) arrays per piece -> (n, d) float rows."""
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(len(array), int(np.prod(array.shape[1:])))


def intra_set_distances(X: np.ndarray) -> np.ndarray:
    """mgeval's intra-set distances: for each piece, Euclidean distances to every OTHER piece of the set.

    ``X`` has shape (n,) for a scalar feature or (n, ...) for an array feature (flattened). Returns shape
    (n, n - 1): row i holds the distances from piece i to the others (leave-one-out), so every pair appears
    twice, as in mgeval's ``intra_set_eval``. Pieces with NaN in the feature are dropped first.
    """
    matrix = _as_matrix(X)
    matrix = matrix[np.all(np.isfinite(matrix), axis=1)]
    n = len(matrix)
    if n < 2:
        return np.zeros((n, 0))
    full = cdist(matrix, matrix)
    off_diagonal = ~np.eye(n, dtype=bool)
    return full[off_diagonal].reshape(n, n - 1)


def inter_set_distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """mgeval's inter-set distances: Euclidean distance from each piece of X to each of Y, shape (n_x, n_y).

    Pieces with NaN in the feature are dropped first.
    """
    x_matrix, y_matrix = _as_matrix(X), _as_matrix(Y)
    if x_matrix.shape[1] != y_matrix.shape[1]:
        raise ValueError(f"feature sizes differ: {x_matrix.shape[1]} vs {y_matrix.shape[1]}")
    x_matrix = x_matrix[np.all(np.isfinite(x_matrix), axis=1)]
    y_matrix = y_matrix[np.all(np.isfinite(y_matrix), axis=1)]
    return cdist(x_matrix, y_matrix)


#: Above this many (sample size x grid points) a density is evaluated by linear binning + FFT convolution
#: (Silverman 1982, "Kernel density estimation using the fast Fourier transform") instead of exactly.
EXACT_KDE_LIMIT = 2_000_000


def _bandwidth(sample: np.ndarray, scale: float) -> float:
    """Kernel standard deviation: Scott's rule as scipy.stats.gaussian_kde uses it, n^(-1/5) * std (ddof 1).

    A sample whose values are all equal gets ``CONSTANT_BANDWIDTH_FRACTION * scale`` instead.
    """
    spread = float(np.std(sample, ddof=1)) if len(sample) > 1 else 0.0
    if spread > 0:
        return len(sample) ** (-1.0 / 5.0) * spread
    return CONSTANT_BANDWIDTH_FRACTION * scale


def _evaluate_density(sample: np.ndarray, bandwidth: float, grid: np.ndarray) -> np.ndarray:
    """Gaussian KDE of ``sample`` with kernel std ``bandwidth`` on the uniform ``grid`` (density units)."""
    if len(sample) * len(grid) <= EXACT_KDE_LIMIT:
        if float(np.std(sample)) > 0 and len(sample) > 1:
            kde = stats.gaussian_kde(sample, bw_method=bandwidth / float(np.std(sample, ddof=1)))
            return kde(grid)
        return stats.norm.pdf(grid[:, None], loc=sample[None, :], scale=bandwidth).mean(axis=1)
    from scipy.signal import fftconvolve  # noqa: PLC0415

    step = grid[1] - grid[0]
    position = np.clip((sample - grid[0]) / step, 0, len(grid) - 1)
    lower = np.minimum(np.floor(position).astype(int), len(grid) - 2)
    upper_share = position - lower
    weights = np.bincount(lower, 1.0 - upper_share, minlength=len(grid))
    weights += np.bincount(lower + 1, upper_share, minlength=len(grid))
    offsets = step * np.arange(-(len(grid) - 1), len(grid))
    kernel = stats.norm.pdf(offsets, scale=bandwidth)
    density = fftconvolve(weights, kernel)[len(grid) - 1 : 2 * len(grid) - 1] / len(sample)
    return np.maximum(density, 0.0)


def kde_kl_and_overlap(
    a: np.ndarray, b: np.ndarray, grid_points: int = 1000, smoothing: float = 1e-6, base: float = 2.0
) -> dict[str, float]:
    """KL(P_a || P_b) and the overlap area of two kernel density estimates, on one shared grid.

    mgeval's relative measure (Yang & Lerch 2020), fixed. ``a`` and ``b`` are 1-D samples (e.g. the
    flattened intra-set distances of the reference and the inter-set distances); NaNs are dropped.
    Each sample gets a Gaussian KDE with Scott's bandwidth (``scipy.stats.gaussian_kde``; evaluated by linear
    binning + FFT when sample x grid exceeds ``EXACT_KDE_LIMIT``, error well under 1e-3 in overlap). Both
    densities are evaluated on one grid of ``grid_points`` points from ``min - 3 bw`` to ``max + 3 bw`` over
    the pooled data (bw = the larger bandwidth), turned into cell masses p_i = p(x_i) dx normalised to 1
    (numerical integration), and

    - ``kl`` = sum p_i log(p_i / q_i) after adding ``smoothing`` to every cell (finite; bits for base 2;
      the smoothing matters: a KDE's tails beyond its extreme points fall off fast, so without it KL of two
      KDEs is dominated by, or infinite from, a few tail cells),
    - ``overlap`` = sum min(p_i, q_i), the area under both densities, in [0, 1] (1 = identical).

    A sample whose values are all equal (a constant feature) has no KDE bandwidth: it gets a Gaussian of
    fixed bandwidth ``CONSTANT_BANDWIDTH_FRACTION`` (1%) of the pooled range of both samples (or of
    max(1, |value|) when both are constant). Two equal constants thus give kl 0 and overlap 1; two different
    constants give overlap ~0 and a large, finite kl. Fewer than 2 values in either sample gives NaNs.
    """
    first = np.asarray(a, dtype=np.float64).ravel()
    second = np.asarray(b, dtype=np.float64).ravel()
    first, second = first[np.isfinite(first)], second[np.isfinite(second)]
    if len(first) < 2 or len(second) < 2:
        return {"kl": float("nan"), "overlap": float("nan")}
    pooled = np.concatenate([first, second])
    scale = float(np.ptp(pooled)) or max(1.0, float(np.abs(pooled).max()))
    bandwidth_a, bandwidth_b = _bandwidth(first, scale), _bandwidth(second, scale)
    reach = 3.0 * max(bandwidth_a, bandwidth_b)
    grid = np.linspace(pooled.min() - reach, pooled.max() + reach, grid_points)
    mass_a = _evaluate_density(first, bandwidth_a, grid)
    mass_b = _evaluate_density(second, bandwidth_b, grid)
    if mass_a.sum() <= 0 or mass_b.sum() <= 0:  # pragma: no cover - a density is positive somewhere on its grid
        return {"kl": float("nan"), "overlap": float("nan")}
    mass_a, mass_b = mass_a / mass_a.sum(), mass_b / mass_b.sum()  # uniform grid: dx cancels
    return {
        "kl": kl_divergence(mass_a, mass_b, smoothing=smoothing, base=base),
        "overlap": float(np.clip(np.minimum(mass_a, mass_b).sum(), 0.0, 1.0)),
    }


@dataclass(frozen=True)
class TwoSampleResult:
    """Outcome of :func:`classifier_two_sample_test`. Accuracy 0.5 = the sets cannot be told apart."""

    accuracy: float  # cross-validated share of pieces classified correctly
    ci_low: float  # 95% Wilson score interval of the accuracy
    ci_high: float
    p_value: float  # exact one-sided binomial test of accuracy > 0.5
    n_per_set: int  # pieces per set after subsampling the larger set
    n_correct: int
    folds: int
    classifier: str

    def to_dict(self) -> dict[str, float | int | str]:
        return dataclasses.asdict(self)


def _wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval of a binomial proportion."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def classifier_two_sample_test(
    X_gen: np.ndarray, X_ref: np.ndarray, seed: int = 0, folds: int = 5, classifier: str = "logistic"
) -> TwoSampleResult:
    """Classifier two-sample test (Lopez-Paz & Oquab 2017): can a classifier tell generated from reference?

    ``X_gen`` (n_gen, d) and ``X_ref`` (n_ref, d) are per-piece feature vectors. The larger set is randomly
    subsampled to the size n of the smaller (balanced classes, so chance is exactly 0.5). NaNs are imputed
    with column medians of the training folds. The classifier is a logistic regression on standardised
    features (``"logistic"``) or a random forest (``"random_forest"``); its accuracy is measured by stratified
    ``folds``-fold cross-validation (every piece predicted once by a model that did not see it).
    Returns the accuracy, its Wilson 95% interval and the exact binomial p value of accuracy > 0.5 over the
    2n predictions (one-sided: below-chance accuracy is not evidence of a difference). Fewer than 2 pieces in
    a set gives NaNs.
    """
    from sklearn.ensemble import RandomForestClassifier  # noqa: PLC0415  (sklearn is slow to import)
    from sklearn.impute import SimpleImputer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    generated, reference = _as_matrix(X_gen), _as_matrix(X_ref)
    n = min(len(generated), len(reference))
    if n < 2:
        nan = float("nan")
        return TwoSampleResult(nan, nan, nan, nan, n, 0, 0, classifier)
    if generated.shape[1] != reference.shape[1]:
        raise ValueError(f"feature sizes differ: {generated.shape[1]} vs {reference.shape[1]}")
    if classifier not in ("logistic", "random_forest"):
        raise ValueError(f"classifier must be 'logistic' or 'random_forest', got {classifier!r}")
    rng = np.random.default_rng(seed)
    generated = generated[np.sort(rng.choice(len(generated), n, replace=False))]
    reference = reference[np.sort(rng.choice(len(reference), n, replace=False))]
    features = np.vstack([generated, reference])
    features[~np.isfinite(features)] = np.nan
    labels = np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)])
    n_folds = min(folds, n)
    if classifier == "logistic":
        model = LogisticRegression(max_iter=2000)
        steps = [SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), model]
    else:
        model = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
        steps = [SimpleImputer(strategy="median", keep_empty_features=True), model]
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    predictions = cross_val_predict(make_pipeline(*steps), features, labels, cv=splitter)
    correct = int((predictions == labels).sum())
    trials = 2 * n
    low, high = _wilson_interval(correct, trials)
    p_value = float(stats.binomtest(correct, trials, 0.5, alternative="greater").pvalue)
    return TwoSampleResult(correct / trials, low, high, p_value, n, correct, n_folds, classifier)
