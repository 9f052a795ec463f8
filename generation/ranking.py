"""Rank model variants by a metric measured over several seeds, with confidence intervals, and say which
variants cannot be told apart.

Each variant's figure is the mean over its seeds with a Student-t confidence interval (n - 1 degrees of
freedom). Two variants are *separable* when Welch's unequal-variance t-test rejects equal means at level
``alpha`` after Holm's correction over all pairs (Holm 1979); adjacent variants in the ranking that are not
separable are reported as such, so a table never suggests an order the seeds do not support. With one seed a
variant has no interval and no pair involving it is called separable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["PairTest", "RankedVariant", "Ranking", "rank_variants"]


@dataclass(frozen=True)
class RankedVariant:
    """One variant's place: mean over ``n`` seeds, sample standard deviation and the CI of the mean."""

    name: str
    rank: int
    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    values: tuple[float, ...]


@dataclass(frozen=True)
class PairTest:
    """Welch's t-test between two variants; ``p_holm`` is Holm-adjusted over all pairs."""

    a: str
    b: str
    difference: float  # mean(a) - mean(b)
    p: float | None
    p_holm: float | None
    separable: bool


@dataclass(frozen=True)
class Ranking:
    metric: str
    higher_is_better: bool
    confidence: float
    alpha: float
    variants: tuple[RankedVariant, ...]
    pairs: tuple[PairTest, ...]

    def not_separable(self) -> list[tuple[str, str]]:
        """Adjacent pairs in the ranking that the seeds cannot tell apart."""
        lookup = {frozenset((p.a, p.b)): p for p in self.pairs}
        out = []
        for first, second in zip(self.variants, self.variants[1:], strict=False):
            pair = lookup.get(frozenset((first.name, second.name)))
            if pair is None or not pair.separable:
                out.append((first.name, second.name))
        return out

    def sentences(self) -> list[str]:
        """The ranking in words, e.g. 'stacked (0.612 [0.60, 0.62], 3 seeds) is not separable from lstm ...'."""
        lines = []
        for first, second in self.not_separable():
            lines.append(f"{first} and {second} are not separable on {self.metric} "
                         f"(Welch t-test, Holm-adjusted, alpha {self.alpha:g}).")
        return lines

    def to_dict(self) -> dict:
        return {"metric": self.metric, "higher_is_better": self.higher_is_better, "confidence": self.confidence,
                "alpha": self.alpha, "variants": [asdict(v) for v in self.variants],
                "pairs": [asdict(p) for p in self.pairs], "not_separable": self.not_separable(),
                "sentences": self.sentences()}


def _t_interval(values: np.ndarray, confidence: float) -> tuple[float | None, float | None, float | None]:
    from scipy import stats  # noqa: PLC0415

    if len(values) < 2:
        return None, None, None
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1)) * std / math.sqrt(len(values))
    mean = float(values.mean())
    return std, mean - half, mean + half


def _spread_variance(values: np.ndarray) -> float:
    """Sample variance, 0 when the values agree up to rounding (1e-9 of their size)."""
    scale = max(1.0, float(np.abs(values).max()))
    return 0.0 if float(np.ptp(values)) <= 1e-9 * scale else float(values.var(ddof=1))


def _welch(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided p value of Welch's t-test (Welch 1947), as scipy's ``ttest_ind(equal_var=False)``; groups
    whose values agree up to rounding count as having no spread."""
    from scipy import stats  # noqa: PLC0415

    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = _spread_variance(a) / len(a), _spread_variance(b) / len(b)
    difference = float(a.mean() - b.mean())
    if va + vb == 0:
        return 1.0 if math.isclose(float(a.mean()), float(b.mean()), rel_tol=1e-9, abs_tol=1e-12) else 0.0
    t = difference / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))


def _holm(pvalues: Sequence[float | None]) -> list[float | None]:
    present = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, index) in enumerate(sorted(present)):
        running = max(running, min(1.0, (len(present) - rank) * p))
        out[index] = running
    return out


def rank_variants(results: Iterable[tuple[str, float]], *, metric: str, higher_is_better: bool = True,
                  confidence: float = 0.95, alpha: float = 0.05) -> Ranking:
    """Rank variants from ``(variant name, value of one seed)`` pairs; NaN values are dropped."""
    by_name: dict[str, list[float]] = {}
    for name, value in results:
        if value is not None and not math.isnan(float(value)):
            by_name.setdefault(name, []).append(float(value))
        else:
            by_name.setdefault(name, [])
    stats_of = {}
    for name, values in by_name.items():
        array = np.asarray(values, dtype=np.float64)
        std, low, high = _t_interval(array, confidence)
        stats_of[name] = (array, float(array.mean()) if len(array) else math.nan, std, low, high)
    sign = -1.0 if higher_is_better else 1.0
    order = sorted(stats_of, key=lambda n: (math.isnan(stats_of[n][1]), sign * stats_of[n][1]
                                            if not math.isnan(stats_of[n][1]) else 0.0, n))
    variants = tuple(RankedVariant(name, rank + 1, len(stats_of[name][0]), stats_of[name][1], stats_of[name][2],
                                   stats_of[name][3], stats_of[name][4], tuple(stats_of[name][0].tolist()))
                     for rank, name in enumerate(order))
    pairs_raw = [(a, b, _welch(stats_of[a][0], stats_of[b][0])) for i, a in enumerate(order) for b in order[i + 1:]]
    adjusted = _holm([p for _, _, p in pairs_raw])
    pairs = tuple(PairTest(a, b, stats_of[a][1] - stats_of[b][1], p, q, q is not None and q < alpha)
                  for (a, b, p), q in zip(pairs_raw, adjusted, strict=True))
    return Ranking(metric, higher_is_better, confidence, alpha, variants, pairs)
