from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from studies.assignment import StimulusInfo, answer_options, assign_trials, pick_balanced
from studies.errors import StudyError


def table(groups: dict[tuple[str, str], int]) -> list[StimulusInfo]:
    """groups[(kind, group)] = number of clips; ids look like 'human-g1-3'."""
    return [StimulusInfo(f"{k}-{g}-{i}", k, g) for (k, g), n in groups.items() for i in range(n)]


STIM = table({("human", "g1"): 12, ("human", "g2"): 8, ("computer", "g1"): 10, ("computer", "g2"): 10})
KIND = {s.clip_id: s for s in STIM}


def kinds(trials) -> Counter:
    return Counter(KIND[t.clip_ids[0]].kind for t in trials if not t.is_attention_check)


def test_even_trials_are_balanced_over_kinds_and_groups():
    trials = assign_trials(STIM, 10, 0, np.random.default_rng(1))
    assert kinds(trials) == {"human": 5, "computer": 5}
    for kind in ("human", "computer"):
        per_group = Counter(KIND[t.clip_ids[0]].group for t in trials if KIND[t.clip_ids[0]].kind == kind)
        assert sorted(per_group.values()) == [2, 3]  # 5 over 2 groups
    assert len({t.clip_ids[0] for t in trials}) == 10  # no clip twice
    assert [t.position for t in trials] == list(range(10))


def test_odd_count_gives_the_extra_trial_to_a_random_kind():
    seen = set()
    for seed in range(20):
        c = kinds(assign_trials(STIM, 7, 0, np.random.default_rng(seed)))
        assert sorted(c.values()) == [3, 4]
        seen.add(c["human"])
    assert seen == {3, 4}


def test_order_is_random_not_grouped_by_kind():
    orders = {
        tuple(KIND[t.clip_ids[0]].kind for t in assign_trials(STIM, 8, 0, np.random.default_rng(s)))
        for s in range(10)
    }
    assert len(orders) > 3


def test_same_seed_same_trials_other_seed_other_trials():
    a = assign_trials(STIM, 10, 2, np.random.default_rng(42))
    b = assign_trials(STIM, 10, 2, np.random.default_rng(42))
    c = assign_trials(STIM, 10, 2, np.random.default_rng(43))
    assert a == b
    assert a != c


def test_exposure_is_balanced_across_participants():
    stim = table({("human", "g"): 8, ("computer", "g"): 8})
    exposure: Counter = Counter()
    rng = np.random.default_rng(0)
    for participant in range(8):
        for t in assign_trials(stim, 4, 0, rng, dict(exposure)):
            exposure[t.clip_ids[0]] += 1
        if participant == 3:  # 4 participants × 2 per kind = 8 = every clip exactly once
            assert sorted(exposure.values()) == [1] * 16
    assert sorted(exposure.values()) == [2] * 16


def test_least_exposed_clips_are_taken_first():
    stim = table({("human", "g"): 6, ("computer", "g"): 6})
    exposure = {s.clip_id: (5 if s.clip_id.endswith(("0", "1", "2")) else 0) for s in stim}
    trials = assign_trials(stim, 6, 0, np.random.default_rng(3), exposure)
    assert all(exposure[t.clip_ids[0]] == 0 for t in trials)


def test_group_with_few_clips_overflows_to_other_groups():
    stim = table({("human", "small"): 1, ("human", "big"): 9})
    picked = pick_balanced(stim, 6, np.random.default_rng(0), {})
    assert Counter(s.group for s in picked) == {"small": 1, "big": 5}
    with pytest.raises(StudyError, match="cannot pick 11 clips from 10 available"):
        pick_balanced(stim, 11, np.random.default_rng(0), {})


def test_attention_checks_at_random_positions_with_stated_answer():
    positions = set()
    for seed in range(15):
        trials = assign_trials(STIM, 6, 2, np.random.default_rng(seed))
        assert len(trials) == 8 and [t.position for t in trials] == list(range(8))
        checks = [t for t in trials if t.is_attention_check]
        assert len(checks) == 2
        assert all(t.expected in ("human", "computer") for t in checks)
        assert all(t.expected is None for t in trials if not t.is_attention_check)
        main_clips = {t.clip_ids[0] for t in trials if not t.is_attention_check}
        assert not main_clips & {t.clip_ids[0] for t in checks}  # checks use spare clips
        positions.update(t.position for t in checks)
    assert len(positions) >= 6


def test_ab_preference_pairs_human_with_computer_counterbalanced():
    for n in (6, 7):
        trials = assign_trials(STIM, n, 1, np.random.default_rng(n), test_type="ab-preference")
        main = [t for t in trials if not t.is_attention_check]
        assert len(main) == n
        human_first = 0
        for t in main + [t for t in trials if t.is_attention_check]:
            a, b = (KIND[c].kind for c in t.clip_ids)
            assert {a, b} == {"human", "computer"}
            human_first += a == "human" if not t.is_attention_check else 0
        assert human_first in ({n // 2} if n % 2 == 0 else {n // 2, n // 2 + 1})
        used = [c for t in main for c in t.clip_ids]
        assert len(used) == len(set(used)) == 2 * n
        checks = [t for t in trials if t.is_attention_check]
        assert checks[0].expected in ("A", "B")


def test_practice_trials_come_first_and_rating_options():
    trials = assign_trials(STIM, 4, 1, np.random.default_rng(2), test_type="rating", n_practice=2)
    assert [t.is_practice for t in trials] == [True, True, False, False, False, False, False]
    assert all(t.expected is None for t in trials[:2])
    assert answer_options("rating") == ("1", "2", "3", "4", "5")
    check = next(t for t in trials if t.is_attention_check)
    assert check.expected in answer_options("rating")
    with pytest.raises(StudyError, match="unknown test type 'mos'"):
        assign_trials(STIM, 4, 0, np.random.default_rng(0), test_type="mos")
