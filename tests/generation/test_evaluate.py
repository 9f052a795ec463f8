"""Frame-level NLL and accuracy on hand-made frames, a model whose probabilities are set by hand, and the
baselines (uniform, independent Bernoulli, unigram, Witten-Bell n-gram) worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from generation.config import TrainConfig
from generation.evaluate import (
    NGram,
    baseline_scores,
    bernoulli_fit,
    evaluate,
    evaluate_model,
    frame_scores,
    token_pairs,
    uniform_frame_nll,
)
from generation.models import build_model
from tests.generation.synthetic import ListDataset, frame_io, periodic_tokens, token_io

FRAMES = np.array([[1, 0, 1], [0, 0, 0]])
PROBS = np.array([[0.5, 0.25, 0.8], [0.1, 0.5, 0.5]])


def test_frame_nll_and_expected_accuracy_by_hand():
    scores = frame_scores(PROBS, FRAMES)
    first = -(math.log(0.5) + math.log(0.75) + math.log(0.8))
    second = -(math.log(0.9) + math.log(0.5) + math.log(0.5))
    assert scores.frame_nll == pytest.approx((first + second) / 2)
    tp, fp, fn = 0.5 + 0.8, 0.25 + 0.1 + 0.5 + 0.5, 0.5 + 0.2
    assert scores.frame_accuracy == pytest.approx(tp / (tp + fp + fn))
    assert scores.n_frames == 2


def test_certain_and_wrong_is_infinite_and_bad_frames_are_named():
    assert frame_scores(np.array([1.0, 0.0]), np.array([[0, 0]])).frame_nll == math.inf
    with pytest.raises(ValueError, match="only 0 and 1"):
        frame_scores(PROBS, PROBS)
    assert math.isnan(frame_scores(np.full(3, 0.5), np.zeros((0, 3))).frame_nll)


def test_uniform_model_is_88_ln_2():
    assert uniform_frame_nll(88) == pytest.approx(60.99695, abs=1e-5)  # the 61.0 of the literature
    rng = np.random.default_rng(0)
    frames = (rng.random((7, 88)) < 0.1).astype(float)
    assert frame_scores(np.full(88, 0.5), frames).frame_nll == pytest.approx(88 * math.log(2))


def test_independent_bernoulli_is_add_one_smoothed():
    train = np.array([[1, 0], [1, 1], [0, 0]])
    assert bernoulli_fit(train) == pytest.approx([3 / 5, 2 / 5])


def test_a_model_with_hand_set_probabilities_scores_what_the_formula_says():
    """A 1-layer LSTM whose head ignores its input (weights 0, bias logit p): the frame NLL over one piece of
    4 frames counts the 3 predicted frames (the first has nothing before it)."""
    piece = torch.tensor([[1.0, 0, 1], [0, 0, 0], [1, 1, 0], [0, 1, 1]])
    dataset = ListDataset([{"inputs": piece[:-1], "targets": piece[1:]}])
    model = build_model("lstm", frame_io(3), TrainConfig(hidden=4, keep=1.0)).eval()
    p = np.array([0.2, 0.6, 0.7])
    with torch.no_grad():
        model.head.layer.weight.zero_()
        model.head.layer.bias.copy_(torch.logit(torch.tensor(p, dtype=torch.float32)))
    metrics = evaluate_model(model, dataset)
    expected = frame_scores(p, piece[1:].numpy())
    assert metrics["n_frames"] == 3
    assert metrics["frame_nll"] == pytest.approx(expected.frame_nll, rel=1e-5)
    assert metrics["frame_accuracy"] == pytest.approx(expected.frame_accuracy, rel=1e-5)
    by_hand = -(math.log(0.8) + math.log(0.4) + math.log(0.3)) - (math.log(0.2) + math.log(0.6) + math.log(0.3)) \
        - (math.log(0.8) + math.log(0.6) + math.log(0.7))
    assert metrics["frame_nll"] == pytest.approx(by_hand / 3, rel=1e-5)
    report = evaluate(model, dataset, train_set=dataset)
    assert report.to_dict()["frame_nll"] == pytest.approx(by_hand / 3, rel=1e-5)
    assert report.baselines["uniform"]["frame_nll"] == pytest.approx(3 * math.log(2))
    train_p = bernoulli_fit(piece[1:].numpy())
    assert report.baselines["independent-bernoulli"]["frame_nll"] == pytest.approx(
        frame_scores(train_p, piece[1:].numpy()).frame_nll)
    assert "Boulanger-Lewandowski" in report.protocol


def test_witten_bell_bigram_by_hand():
    model = NGram(order=2, vocab_size=4).fit([(1,), (2,), (1,), (2,)], [2, 3, 2, 1])
    # unigram, add-one over the 3 real tokens: P(2) = 3/7, P(1) = P(3) = 2/7
    assert model.prob((), 2) == pytest.approx(3 / 7)
    # after 1: one type seen twice -> (2 + 1 * 3/7) / (2 + 1)
    assert model.prob((1,), 2) == pytest.approx(17 / 21)
    assert model.prob((1,), 3) == pytest.approx(2 / 21)
    assert sum(model.prob((1,), w) for w in (1, 2, 3)) == pytest.approx(1.0)
    # after 2: two types once each -> (1 + 2 * 2/7) / (2 + 2)
    assert model.prob((2,), 3) == pytest.approx(11 / 28)
    assert model.prob((3,), 2) == pytest.approx(3 / 7)  # unseen history: the unigram


def test_token_pairs_score_exactly_the_targets_a_model_is_scored_on():
    many = ListDataset([{"inputs": torch.tensor([[1], [2], [3]]), "targets": torch.tensor([[2], [3], [-100]])}])
    assert token_pairs(many, 0, 2) == ([(0, 1), (1, 2)], [2, 3])
    one = ListDataset([{"inputs": torch.tensor([[1], [2], [3]]), "targets": torch.tensor([4])}])
    assert token_pairs(one, 0, 2) == ([(2, 3)], [4])


def test_token_baselines_and_model_metrics_per_head():
    train = periodic_tokens([1, 2, 3, 1, 3], 60, 6, durations=[1, 2])
    test = periodic_tokens([1, 2, 3, 1, 3], 30, 6, durations=[1, 2])
    scores = baseline_scores(token_io(4, streams=2), train, test, order=3)
    # a period-5 pattern is determined by two tokens: the trigram is far better than the unigram
    assert scores["3-gram"]["pitch_nll"] < 0.5 < scores["unigram"]["pitch_nll"]
    assert scores["unigram"]["token_nll"] == pytest.approx(scores["unigram"]["pitch_nll"]
                                                           + scores["unigram"]["duration_nll"])
    model = build_model("lstm", token_io(4, streams=2), TrainConfig(hidden=8, embedding_dim=4)).eval()
    report = evaluate(model, test, train)
    record = report.to_dict()
    assert {"token_nll", "accuracy", "pitch_accuracy", "duration_nll", "n_tokens"} <= set(record)
    assert record["n_tokens"] == len(test)
    assert record["token_nll"] == pytest.approx(record["pitch_nll"] + record["duration_nll"])
