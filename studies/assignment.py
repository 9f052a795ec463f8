"""Balanced, reproducible trial lists for one participant (pure functions, explicit numpy Generator).

Conventions: positions are 0-based; practice trials come first, then the main trials with the attention
checks inserted at random positions. For ``turing`` and ``rating`` each trial plays one clip, for
``ab-preference`` two (``clip_ids = (A, B)``).

Balancing (the usual design of listening tests, e.g. ITU-R BS.1534 MUSHRA's randomised presentation and
the counterbalancing advice of Bech & Zacharov, *Perceptual Audio Evaluation*, 2006):

* human and computer clips in equal numbers (an odd count gives the extra trial to a random kind);
* within a kind, the trials are spread as evenly as possible over the groups (water filling: every group
  gets ``n // G`` and the remainder goes to random groups that still have unused clips);
* within a group the least-exposed clips (fewest earlier participants) are taken first, ties broken at
  random, so exposure stays balanced across participants;
* ab-preference pairs one human with one computer clip and puts the human clip first in half the pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from studies.errors import StudyError

KINDS = ("human", "computer")


@dataclass(frozen=True)
class StimulusInfo:
    """What assignment needs to know about one stored clip."""

    clip_id: str
    kind: str  # "human" | "computer"
    group: str


@dataclass(frozen=True)
class Trial:
    """One trial of a participant: the clip(s) to play and, for checks, the expected answer."""

    position: int
    clip_ids: tuple[str, ...]
    is_attention_check: bool = False
    expected: str | None = None
    is_practice: bool = False


def answer_options(test_type: str) -> tuple[str, ...]:
    """Allowed answers: turing → human/computer, ab-preference → A/B, rating → "1".."5"."""
    if test_type == "turing":
        return ("human", "computer")
    if test_type == "ab-preference":
        return ("A", "B")
    if test_type == "rating":
        return ("1", "2", "3", "4", "5")
    raise StudyError(f"unknown test type {test_type!r}; use turing, ab-preference or rating")


def _water_fill(n: int, capacities: Sequence[int], rng: np.random.Generator) -> list[int]:
    """Spread ``n`` items over bins as evenly as the capacities allow; ties go to random bins."""
    if n > sum(capacities):
        raise StudyError(
            f"cannot pick {n} clips from {sum(capacities)} available; lower trials_per_participant"
        )
    counts = [0] * len(capacities)
    remaining = n
    while remaining:
        open_bins = [i for i, c in enumerate(capacities) if counts[i] < c]
        level = min(counts[i] for i in open_bins)
        lowest = [i for i in open_bins if counts[i] == level]
        if len(lowest) > remaining:
            lowest = [lowest[j] for j in rng.permutation(len(lowest))[:remaining]]
        for i in lowest:
            counts[i] += 1
        remaining -= len(lowest)
    return counts


def _least_exposed(
    pool: Sequence[StimulusInfo], k: int, rng: np.random.Generator, exposure: Mapping[str, int]
) -> list[StimulusInfo]:
    tie = rng.random(len(pool))
    order = sorted(range(len(pool)), key=lambda i: (exposure.get(pool[i].clip_id, 0), tie[i]))
    return [pool[i] for i in order[:k]]


def pick_balanced(
    pool: Sequence[StimulusInfo], n: int, rng: np.random.Generator, exposure: Mapping[str, int]
) -> list[StimulusInfo]:
    """``n`` distinct clips of ``pool`` spread evenly over its groups, least exposed first."""
    groups = sorted({s.group for s in pool})
    by_group = [[s for s in pool if s.group == g] for g in groups]
    counts = _water_fill(n, [len(b) for b in by_group], rng)
    picked: list[StimulusInfo] = []
    for members, k in zip(by_group, counts, strict=True):
        picked.extend(_least_exposed(members, k, rng, exposure))
    return picked


def _split_kinds(n: int, available: Mapping[str, int], rng: np.random.Generator) -> dict[str, int]:
    """Equal human/computer counts, the odd one to a random kind; overflow goes to the other kind."""
    want = {k: n // 2 for k in KINDS}
    if n % 2:
        want[KINDS[int(rng.integers(2))]] += 1
    for kind, other in (KINDS, KINDS[::-1]):
        over = want[kind] - available.get(kind, 0)
        if over > 0:
            want[kind] -= over
            want[other] += over
    if any(want[k] > available.get(k, 0) for k in KINDS):
        raise StudyError(f"cannot pick {n} clips from {dict(available)}; lower trials_per_participant")
    return want


def _attention(
    test_type: str,
    stimuli: Sequence[StimulusInfo],
    rng: np.random.Generator,
    used: set[str] | frozenset[str] = frozenset(),
) -> Trial:
    """A check on a random clip (pair), preferring clips the main trials do not use."""
    options = answer_options(test_type)
    expected = options[int(rng.integers(len(options)))]

    def pool(kind: str | None) -> list[StimulusInfo]:
        same = [s for s in stimuli if kind is None or s.kind == kind]
        unused = [s for s in same if s.clip_id not in used]
        return unused or same

    if test_type == "ab-preference":
        humans, computers = pool("human"), pool("computer")
        pair = (
            humans[int(rng.integers(len(humans)))].clip_id,
            computers[int(rng.integers(len(computers)))].clip_id,
        )
        clip_ids = pair if rng.random() < 0.5 else pair[::-1]
    else:
        candidates = pool(None)
        clip_ids = (candidates[int(rng.integers(len(candidates)))].clip_id,)
    return Trial(position=-1, clip_ids=clip_ids, is_attention_check=True, expected=expected)


def _main_trials(
    test_type: str,
    stimuli: Sequence[StimulusInfo],
    n: int,
    rng: np.random.Generator,
    exposure: Mapping[str, int],
) -> list[Trial]:
    pools = {k: [s for s in stimuli if s.kind == k] for k in KINDS}
    if test_type == "ab-preference":
        humans = pick_balanced(pools["human"], n, rng, exposure)
        computers = pick_balanced(pools["computer"], n, rng, exposure)
        humans = [humans[i] for i in rng.permutation(n)]
        human_first = np.array(
            [True] * (n // 2) + [False] * (n // 2) + ([bool(rng.integers(2))] if n % 2 else [])
        )
        rng.shuffle(human_first)
        return [
            Trial(-1, (h.clip_id, c.clip_id) if first else (c.clip_id, h.clip_id))
            for h, c, first in zip(humans, computers, human_first, strict=True)
        ]
    counts = _split_kinds(n, {k: len(v) for k, v in pools.items()}, rng)
    chosen = [s for k in KINDS for s in pick_balanced(pools[k], counts[k], rng, exposure)]
    return [Trial(-1, (chosen[i].clip_id,)) for i in rng.permutation(len(chosen))]


def assign_trials(
    stimuli: Sequence[StimulusInfo],
    n_trials: int,
    n_attention: int,
    rng: np.random.Generator,
    exposure_counts: Mapping[str, int] | None = None,
    *,
    test_type: str = "turing",
    n_practice: int = 0,
) -> list[Trial]:
    """Trial list of one participant.

    Parameters
    ----------
    stimuli : every clip of the study (clip id, kind, group).
    n_trials : main trials (pairs for ab-preference).
    n_attention : attention checks (expected answer stated in the prompt), at random positions.
    rng : the only source of randomness; the same seed and exposure give the same list.
    exposure_counts : clip id → number of earlier participants that got it (missing = 0).
    test_type : "turing" | "ab-preference" | "rating".
    n_practice : practice trials put first (random clips, not balanced, no expected answer).

    Returns
    -------
    list of Trial with positions 0 .. n_practice + n_trials + n_attention − 1.
    """
    answer_options(test_type)
    if not stimuli:
        raise StudyError("the study has no stimuli; add files to its stimulus folders")
    exposure = exposure_counts or {}
    main = _main_trials(test_type, stimuli, n_trials, rng, exposure)
    total_main = n_trials + n_attention
    checks = (
        set(int(p) for p in rng.choice(total_main, size=n_attention, replace=False)) if n_attention else set()
    )
    used = {c for t in main for c in t.clip_ids}
    body: list[Trial] = []
    it = iter(main)
    for pos in range(total_main):
        body.append(_attention(test_type, stimuli, rng, used) if pos in checks else next(it))
    practice = []
    for _ in range(n_practice):
        t = _attention(test_type, stimuli, rng, used)
        practice.append(Trial(-1, t.clip_ids, is_practice=True))
    return [
        Trial(i, t.clip_ids, t.is_attention_check, t.expected, t.is_practice)
        for i, t in enumerate(practice + body)
    ]
