"""Every architecture on the input kinds it reads: trains, is causal where it claims to be, steps like it
runs, and never reads the target it predicts."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.utils.data import default_collate

from generation.config import TrainConfig
from generation.errors import GenerationError
from generation.evaluate import predict
from generation.models import ARCHITECTURES, build_model
from tests.generation.synthetic import (
    biaxial_io,
    biaxial_roll,
    frame_io,
    periodic_roll,
    periodic_tokens,
    token_io,
)

TINY = TrainConfig(hidden=16, layers=2, embedding_dim=8, window=8, conv_filters=16, dense_units=4,
                   time_hidden=(8, 8), note_hidden=(8, 4), heads=2, keep=0.9)


def data(kind: str, mode: str):
    if kind == "tokens":
        return periodic_tokens([1, 2, 3, 4, 5], 40, 8, mode, durations=[1, 2]), token_io(7, streams=2)
    if kind == "multihot":
        return periodic_roll([[0], [1, 2], [3]], 5, 40, 8, mode), frame_io(5)
    return biaxial_roll([[0], [1, 2], [3]], 5, 40, 8), biaxial_io(5)


def cases():
    for arch, spec in ARCHITECTURES.items():
        for kind in spec.input_kinds:
            modes = ["many-to-many"] if kind == "biaxial" else (
                ["many-to-one", "many-to-many"] if spec.many_to_many else ["many-to-one"])
            for mode in modes:
                for attention in ([False, True] if arch not in ("biaxial", "transformer") else [False]):
                    label = f"{arch}-{kind}-{mode}{'-att' if attention else ''}"
                    yield pytest.param(arch, kind, mode, attention, id=label)


@pytest.mark.parametrize(("arch", "kind", "mode", "attention"), list(cases()))
def test_every_architecture_trains_two_steps_and_every_parameter_learns(arch, kind, mode, attention):
    torch.manual_seed(0)
    dataset, model_io = data(kind, mode)
    model = build_model(arch, model_io, replace(TINY, attention=attention, recurrent_keep=0.9))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    batch = default_collate([dataset[i] for i in range(6)])
    losses = []
    for _ in range(2):
        optimizer.zero_grad()
        loss = model.loss(predict(model, model, batch["inputs"], batch["targets"]), batch["targets"])
        loss.backward()
        missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert missing == []  # DDP needs every parameter in the graph; a dead module would be a bug
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert all(not torch.equal(before[name], p) for name, p in model.named_parameters())


def test_unknown_architecture_and_wrong_input_kind_are_clear_errors():
    with pytest.raises(GenerationError, match="unknown architecture 'gru'.*lstm"):
        build_model("gru", token_io(5), TINY)
    with pytest.raises(GenerationError, match="transformer.*tokens.*'multihot'"):
        build_model("transformer", frame_io(5), TINY)
    with pytest.raises(GenerationError, match="biaxial.*biaxial.*'tokens'"):
        build_model("biaxial", token_io(5), TINY)


CAUSAL = [("lstm", False), ("stacked", False), ("stacked", True), ("rnn", True), ("transformer", False)]


@pytest.mark.parametrize(("arch", "attention"), CAUSAL)
def test_many_to_many_outputs_do_not_depend_on_later_inputs(arch, attention):
    torch.manual_seed(0)
    model = build_model(arch, token_io(9), replace(TINY, attention=attention)).eval()
    inputs = torch.randint(1, 9, (2, 12, 1))
    changed = inputs.clone()
    changed[:, 7:] = torch.randint(1, 9, (2, 5, 1))
    (a,), (b,) = model(inputs), model(changed)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(a[:, 7:], b[:, 7:])


def test_biaxial_time_axis_is_causal():
    torch.manual_seed(0)
    dataset, model_io = data("biaxial", "many-to-many")
    model = build_model("biaxial", model_io, TINY).eval()
    item = dataset[0]
    inputs, targets = item["inputs"][None], item["targets"][None]
    changed = inputs.clone()
    changed[:, 5:] = torch.rand_like(changed[:, 5:])
    a, b = model(inputs, targets=targets), model(changed, targets=targets)
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-6)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


@pytest.mark.parametrize(("arch", "attention", "steps"), [
    ("lstm", False, 12), ("stacked", True, 20), ("rnn", False, 12), ("transformer", False, 20)])
def test_stepping_one_token_at_a_time_gives_the_forward_pass(arch, attention, steps):
    """The sampler's state (h, c), attention cache or KV cache gives what the full forward pass gives, also
    past the window (attention span / transformer context = 8 here)."""
    torch.manual_seed(0)
    model = build_model(arch, token_io(9, streams=2), replace(TINY, attention=attention)).eval()
    inputs = torch.randint(1, 9, (3, steps, 2))
    full = model(inputs)
    state = model.init_state(3, "cpu")
    for t in range(steps):
        hidden, state = model.step(inputs[:, t], state)
        for s, logits in enumerate(model.head(hidden)):
            assert torch.allclose(logits, full[s][:, t], atol=1e-5), (t, s)


@pytest.mark.parametrize("arch", ["bilstm", "cnn-lstm", "hybrid"])
def test_window_models_step_by_re_reading_their_window(arch):
    torch.manual_seed(0)
    model = build_model(arch, token_io(9), TINY).eval()
    sequence = torch.randint(1, 9, (2, 11, 1))
    state = model.init_state(2, "cpu")
    for t in range(11):
        hidden, state = model.step(sequence[:, t], state)
    (expected,) = model(sequence[:, -8:], last_only=True)
    (got,) = model.head(hidden)
    assert torch.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("arch", ["bilstm", "cnn-lstm", "hybrid"])
def test_window_models_never_see_their_target(arch):
    """The Bi-LSTM (and the convolutional models) read the context window only: changing the target leaves
    the prediction where it was, changing the context moves it, and the shifted sequence is refused."""
    torch.manual_seed(0)
    dataset, model_io = data("tokens", "many-to-one")
    model = build_model(arch, model_io, TINY).eval()
    batch = default_collate([dataset[i] for i in range(4)])
    inputs, targets = batch["inputs"], batch["targets"]
    other_targets = (targets % 5) + 1
    a = predict(model, model, inputs, targets)
    b = predict(model, model, inputs, other_targets)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert model.loss(a, targets) != model.loss(b, other_targets)  # the targets did change
    moved = inputs.clone()
    moved[:, -1] = (moved[:, -1] % 5) + 1
    c = predict(model, model, moved, targets)
    assert not torch.allclose(a[0], c[0])
    shifted, _ = data("tokens", "many-to-many")
    many = default_collate([shifted[i] for i in range(4)])
    with pytest.raises(GenerationError, match="many-to-one"):
        predict(model, model, many["inputs"], many["targets"])


def test_bilstm_reads_the_window_in_both_directions():
    """The first step of the window reaches the prediction through the backward direction's final state."""
    torch.manual_seed(0)
    model = build_model("bilstm", token_io(9), replace(TINY, layers=1)).eval()
    embedded = model.input(torch.randint(1, 9, (1, 8, 1))).detach().requires_grad_(True)
    outputs, _ = model.rnn(embedded)
    backward_part = outputs[:, 0, model.hidden:].sum()
    backward_part.backward()
    assert embedded.grad[:, -1].abs().sum() > 0  # the backward state at step 0 has read the last step


def test_hybrid_needs_its_window_length():
    model = build_model("hybrid", token_io(9), TINY)
    with pytest.raises(GenerationError, match="window = 8"):
        model(torch.randint(1, 9, (2, 6, 1)), last_only=True)


def test_embeddings_sum_or_concatenate_streams_and_padding_embeds_to_zero():
    from generation.models.embedding import TokenEmbedding

    concat = TokenEmbedding((5, 3), 4, "concat")
    total = TokenEmbedding((5, 3), 4, "sum")
    ids = torch.tensor([[[2, 1], [0, 0]]])
    assert concat(ids).shape == (1, 2, 8) and total(ids).shape == (1, 2, 4)
    assert torch.equal(concat(ids)[0, 1], torch.zeros(8))
    expected = total.tables[0].weight[2] + total.tables[1].weight[1]
    assert torch.allclose(total(ids)[0, 0], expected)
    with pytest.raises(GenerationError, match="'mean'"):
        TokenEmbedding((5,), 4, "mean")


def test_keep_is_the_share_of_units_kept():
    model = build_model("stacked", token_io(9), replace(TINY, keep=0.7))
    assert model.dropout.p == pytest.approx(0.3) and model.rnn.dropout == pytest.approx(0.3)
    assert model.weight_drop == 0.0
    assert build_model("lstm", token_io(9), replace(TINY, recurrent_keep=0.6)).weight_drop == pytest.approx(0.4)


def test_recurrent_dropconnect_acts_in_training_only():
    torch.manual_seed(0)
    model = build_model("lstm", token_io(9), replace(TINY, keep=1.0, recurrent_keep=0.5))
    inputs = torch.randint(1, 9, (2, 8, 1))
    model.train()
    a, b = model(inputs)[0], model(inputs)[0]
    assert not torch.allclose(a, b)  # a new mask on the hidden-to-hidden weights each batch
    model.eval()
    assert torch.equal(model(inputs)[0], model(inputs)[0])


@pytest.mark.parametrize("arch", ["biaxial", "transformer"])
def test_attention_is_refused_where_there_are_no_recurrent_outputs(arch):
    model_io = biaxial_io(5) if arch == "biaxial" else token_io(5)
    with pytest.raises(GenerationError, match=f"--attention.*{arch}"):
        build_model(arch, model_io, replace(TINY, attention=True))
