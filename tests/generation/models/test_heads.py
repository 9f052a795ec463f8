"""Heads' losses and statistics on values worked out by hand, and the sampling policy."""

from __future__ import annotations

import math

import pytest
import torch

from generation.models.heads import MultiHotHead, TokenHeads, top_k_stats
from generation.models.io import IGNORE_INDEX, ModelIO
from generation.models.policy import SamplingPolicy

TWO_STREAMS = ModelIO("tokens", vocab_sizes=(4, 3), stream_names=("pitch", "duration"))


def test_token_loss_is_the_sum_of_the_streams_mean_cross_entropy_over_real_targets():
    heads = TokenHeads(2, TWO_STREAMS)
    logits = (torch.zeros(3, 4), torch.zeros(3, 3))  # uniform: ln 4 and ln 3 nats per token
    targets = torch.tensor([[1, 2], [3, IGNORE_INDEX], [2, 1]])
    assert heads.loss(logits, targets).item() == pytest.approx(math.log(4) + math.log(3))
    totals = {k: v.item() for k, v in heads.stats(logits, targets).items()}
    assert totals["pitch_count"] == 3 and totals["duration_count"] == 2
    metrics = heads.summarize(totals)
    assert metrics["pitch_nll"] == pytest.approx(math.log(4))
    assert metrics["duration_nll"] == pytest.approx(math.log(3))
    assert metrics["loss"] == pytest.approx(math.log(4) + math.log(3))


def test_token_accuracy_per_head_and_their_mean():
    heads = TokenHeads(2, TWO_STREAMS)
    pitch = torch.tensor([[0.0, 5, 0, 0], [0, 0, 5, 0]])  # argmax 1, 2
    duration = torch.tensor([[0.0, 0, 5], [0, 0, 5]])  # argmax 2, 2
    targets = torch.tensor([[1, 2], [3, 1]])
    metrics = heads.summarize({k: v.item() for k, v in heads.stats((pitch, duration), targets).items()})
    assert metrics["pitch_accuracy"] == 0.5 and metrics["duration_accuracy"] == 0.5
    assert metrics["accuracy"] == 0.5


def test_multihot_loss_is_nats_per_frame_and_skips_padding_frames():
    head = MultiHotHead(2, ModelIO("multihot", n_pitches=3))
    logits = torch.zeros(1, 3, 3)  # p = 0.5 everywhere: 3 ln 2 per frame whatever the frame
    targets = torch.tensor([[[1.0, 0, 1], [0, 0, 0], [-100, -100, -100]]])
    assert head.loss(logits, targets).item() == pytest.approx(3 * math.log(2))
    totals = {k: v.item() for k, v in head.stats(logits, targets).items()}
    assert totals["n_frames"] == 2
    # expected counts with p = 0.5: TP = 0.5 * 2 sounding, FP = 0.5 * 4 silent, FN = 0.5 * 2
    assert (totals["tp"], totals["fp"], totals["fn"]) == pytest.approx((1.0, 2.0, 1.0))
    metrics = head.summarize(totals)
    assert metrics["frame_nll"] == pytest.approx(3 * math.log(2))
    assert metrics["frame_accuracy"] == pytest.approx(1 / 4)


def test_multilabel_top3_accuracy_by_hand():
    logits = torch.tensor([[3.0, 2, 1, 0], [0, 1, 2, 3], [0, 0, 0, 0]])
    targets = torch.tensor([[1.0, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]])
    stats = top_k_stats(logits, targets, 3)
    # frame 1: top3 = keys 0,1,2, one of its 2 sounding keys -> 1/2; frame 2: 3 of 4 sounding, k = 3 -> 1;
    # frame 3 has nothing sounding and is not counted
    assert stats["topk_frames"].item() == 2
    assert stats["topk_hits"].item() == pytest.approx(1.5)


def generator(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def test_temperature_near_zero_is_argmax_and_padding_is_never_drawn():
    logits = torch.tensor([[9.0, 1.0, 3.0, 2.0]] * 4)
    ids, logp = SamplingPolicy(temperatures=(0.0,), generator=generator()).categorical(logits)
    assert ids.tolist() == [2, 2, 2, 2]  # id 0 (padding) is the largest but never drawn
    expected = torch.log_softmax(torch.tensor([-math.inf, 1.0, 3.0, 2.0]), -1)[2]
    assert torch.allclose(logp, expected.expand(4))


def test_top_k_and_top_p_restrict_the_draws_but_not_the_log_likelihood():
    logits = torch.log(torch.tensor([[1e-9, 0.5, 0.3, 0.15, 0.05]])).repeat(2000, 1)
    top2, _ = SamplingPolicy(top_k=2, generator=generator()).categorical(logits)
    assert set(top2.tolist()) == {1, 2}
    nucleus, logp = SamplingPolicy(top_p=0.75, generator=generator()).categorical(logits)
    assert set(nucleus.tolist()) == {1, 2}  # 0.5 < 0.75, 0.5 + 0.3 reaches it
    full = torch.log_softmax(logits[0].clone().index_fill_(0, torch.tensor([0]), -math.inf), -1)
    assert torch.allclose(logp, full[nucleus])
    everything, _ = SamplingPolicy(generator=generator()).categorical(logits)
    assert set(everything.tolist()) == {1, 2, 3, 4}


def test_per_stream_temperatures():
    policy = SamplingPolicy(temperatures=(0.0, 1.0), generator=generator())
    logits = torch.tensor([[0.0, 1.0, 1.1, 1.2]] * 500)
    assert set(policy.categorical(logits, 0)[0].tolist()) == {3}
    assert set(policy.categorical(logits, 1)[0].tolist()) == {1, 2, 3}


def test_bernoulli_threshold_argmax_and_draws():
    logits = torch.logit(torch.tensor([[0.2, 0.35, 0.6, 0.9]]))
    bits, logp = SamplingPolicy(threshold=0.3).bernoulli(logits)
    assert bits.tolist() == [[0.0, 1.0, 1.0, 1.0]]
    assert torch.allclose(logp, torch.log(torch.tensor([[0.8, 0.35, 0.6, 0.9]])))
    assert SamplingPolicy(temperatures=(0.0,)).bernoulli(logits)[0].tolist() == [[0.0, 0.0, 1.0, 1.0]]
    draws, _ = SamplingPolicy(generator=generator()).bernoulli(logits.repeat(4000, 1))
    assert draws.mean(0).tolist() == pytest.approx([0.2, 0.35, 0.6, 0.9], abs=0.03)
