"""Windows as torch Datasets: shapes of the ModelIO contract, pieces never crossed, determinism by seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from evaluation import piece_from_notes
from generation.datasets import WindowDataset, count_windows, window_starts
from generation.encodings import make_encoding
from generation.errors import GenerationError
from generation.models.io import IGNORE_INDEX


def _melody(pitches: list[int]):
    return piece_from_notes(pitches, [0.25 * i for i in range(len(pitches))],
                            [0.25 * (i + 1) for i in range(len(pitches))])


def _token_sequences():
    """Two pieces of distinct pitches, so every window's origin is visible."""
    a, b = _melody([60, 61, 62, 63, 64, 65]), _melody([70, 71, 72])
    encoding = make_encoding("notewise-chord").fit([a, b])
    return encoding, [encoding.encode(a), encoding.encode(b)]


def test_window_starts_by_mode_stride_and_padding() -> None:
    assert window_starts(6, 3, "many-to-one").tolist() == [0, 1, 2, 3]
    assert window_starts(6, 3, "many-to-one", pad=True).tolist() == [-2, -1, 0, 1, 2, 3]
    assert window_starts(7, 3, "many-to-many").tolist() == [0, 3]
    assert window_starts(7, 3, "many-to-many", pad=True).tolist() == [0, 3, 6]
    assert window_starts(2, 3, "many-to-many").tolist() == []
    assert window_starts(2, 3, "many-to-many", pad=True).tolist() == [0]
    assert window_starts(7, 3, "many-to-many", stride=2).tolist() == [0, 2, 4]
    with pytest.raises(GenerationError, match="window mode"):
        window_starts(5, 2, "one-to-one")


def test_many_to_one_windows_predict_the_next_step_of_the_same_piece() -> None:
    encoding, sequences = _token_sequences()
    dataset = WindowDataset(encoding, sequences, window=3, mode="many-to-one")
    assert len(dataset) == 3 + 0  # piece a: 5 prediction steps -> 3 windows; piece b: 2 steps -> none
    first = dataset[0]
    assert first["inputs"].dtype == torch.int64 and first["inputs"].shape == (3, 2)
    assert first["targets"].shape == (2,)  # both streams: pitch and duration
    np.testing.assert_array_equal(first["inputs"].numpy(), sequences[0][0:3])
    np.testing.assert_array_equal(first["targets"].numpy(), sequences[0][3])
    assert count_windows(encoding, sequences, 3, "many-to-one") == len(dataset)


def test_no_window_crosses_a_piece() -> None:
    encoding, sequences = _token_sequences()
    for mode in ("many-to-one", "many-to-many"):
        dataset = WindowDataset(encoding, sequences, window=2, mode=mode, stride=1)
        for position in range(len(dataset)):
            piece, start = dataset.window_of(position)
            item = dataset[position]
            np.testing.assert_array_equal(item["inputs"].numpy(), sequences[piece][start:start + 2])
            expected = sequences[piece][start + 1:start + 3]
            np.testing.assert_array_equal(item["targets"].numpy(), expected[-1] if mode == "many-to-one" else expected)


def test_many_to_many_targets_are_the_shifted_sequence_and_padding_is_ignored() -> None:
    encoding, sequences = _token_sequences()
    dataset = WindowDataset(encoding, sequences, window=4, mode="many-to-many", pad=True)
    items = [dataset[i] for i in range(len(dataset))]
    assert all(item["inputs"].shape == (4, 2) and item["targets"].shape == (4, 2) for item in items)
    short = next(item for position, item in enumerate(items) if dataset.window_of(position)[0] == 1)
    assert short["inputs"][:2].tolist() == sequences[1][:2].tolist() and short["inputs"][2:].eq(0).all()
    assert short["targets"][:2].tolist() == sequences[1][1:3].tolist()
    assert short["targets"][2:].eq(IGNORE_INDEX).all()
    batch = next(iter(DataLoader(dataset, batch_size=2)))
    assert batch["inputs"].shape == (2, 4, 2) and batch["targets"].shape == (2, 4, 2)


def test_left_padded_many_to_one_windows_make_every_step_a_target() -> None:
    encoding, sequences = _token_sequences()
    dataset = WindowDataset(encoding, sequences[1:], window=4, mode="many-to-one", pad=True)
    assert len(dataset) == 2  # the 3-event piece has 2 prediction steps
    item = dataset[0]
    assert item["inputs"][:3].eq(0).all() and item["inputs"][3].tolist() == sequences[1][0].tolist()
    assert item["targets"].tolist() == sequences[1][1].tolist()


def test_multihot_and_biaxial_shapes() -> None:
    piece = _melody([60, 62, 64, 65, 67, 69, 71, 72])
    multilabel = make_encoding("multilabel")
    dataset = WindowDataset(multilabel, [multilabel.encode(piece)], window=4, mode="many-to-one")
    item = dataset[0]
    assert item["inputs"].dtype == torch.float32 and item["inputs"].shape == (4, 24)
    assert item["targets"].shape == (24,) and item["targets"][7] == 1.0  # the 5th step is G4 = 67
    biaxial = make_encoding("biaxial")
    dataset = WindowDataset(biaxial, [biaxial.encode(piece)], window=4, mode="many-to-many")
    item = dataset[1]
    assert item["inputs"].shape == (4, 78, 79) and item["targets"].shape == (4, 78, 2)
    assert item["targets"][0, 67 - 24].tolist() == [1.0, 1.0]
    with pytest.raises(GenerationError, match="many-to-many only"):
        WindowDataset(biaxial, [biaxial.encode(piece)], window=4, mode="many-to-one")


def test_shuffle_and_subsets_are_deterministic_by_seed() -> None:
    encoding, sequences = _token_sequences()
    sequences = sequences * 5
    one = WindowDataset(encoding, sequences, window=2, shuffle=True, seed=3, max_windows=7)
    two = WindowDataset(encoding, sequences, window=2, shuffle=True, seed=3, max_windows=7)
    other = WindowDataset(encoding, sequences, window=2, shuffle=True, seed=4, max_windows=7)
    assert len(one) == 7
    np.testing.assert_array_equal(one.index, two.index)
    assert not np.array_equal(one.index, other.index)
    plain = WindowDataset(encoding, sequences, window=2)
    assert sorted(map(tuple, WindowDataset(encoding, sequences, window=2, shuffle=True).index.tolist())) == \
        sorted(map(tuple, plain.index.tolist()))
