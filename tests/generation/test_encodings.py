"""Every encoding on hand-built pieces with known encodings; identity where lossless; dict round trips;
decoding anything a model can sample never raises."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation import check_piece, piece_from_notes, read_midi, write_midi
from generation.abc import AbcTune, normalise_tune
from generation.encodings import ENCODINGS, encoding_from_dict, make_encoding
from generation.encodings.biaxial import note_inputs
from generation.encodings.notewise_root import chord_root
from generation.errors import GenerationError


def _piece(notes, **options):
    pitch, start, end = zip(*notes, strict=True)
    return piece_from_notes(list(pitch), list(start), list(end), **options)


def _notes(piece) -> list[tuple[int, float, float]]:
    return sorted((int(p), round(float(s), 9), round(float(e), 9))
                  for p, s, e in zip(piece.pitch, piece.start, piece.end, strict=True))


# C-E-G for a quarter, D for an eighth, an eighth rest, E for a quarter (quarter notes)
CHORDS = [(60, 0, 1), (64, 0, 1), (67, 0, 1), (62, 1, 1.5), (64, 2, 3)]
MELODY = [(60, 0, 0.5), (62, 0.75, 1.0), (64, 1.0, 2.0)]
TUNE = AbcTune("tune.abc", "X:7\nT:A tune\nC:someone\nM:4/4\nL:1/4\nK:C\n% a comment\nCDEF|G4|]\n", "tune.abc")


def test_notewise_chord_tokens_and_decoding() -> None:
    piece = _piece(CHORDS)
    encoding = make_encoding("notewise-chord").fit([piece])
    assert encoding.symbols(piece) == [("60.64.67", "1"), ("62", "1"), ("64", "1")]
    assert encoding.vocabularies["pitch"].symbols == ("60.64.67", "62", "64")
    assert encoding.encode(piece).tolist() == [[2, 2], [3, 2], [4, 2]]
    decoded = encoding.decode(encoding.encode(piece))
    # the rest lengthens the D before it (no rest token); onsets and pitches are exact
    assert _notes(decoded) == [(60, 0, 1), (62, 1, 2), (64, 0, 1), (64, 2, 3), (67, 0, 1)]
    assert encoding.model_io().vocab_sizes == (5, 3) and encoding.model_io().stream_names == ("pitch", "duration")


def test_notewise_root_reduces_chords_with_the_chord_detector() -> None:
    assert chord_root((52, 55, 60)) == 60  # C major in first inversion: root C, at its lowest C
    assert chord_root((62, 65, 69, 72)) == 62  # D minor seventh
    assert chord_root((64, 67)) == 64  # E-G: E minor (the bass breaks the tie with C major)
    assert chord_root((48, 60)) == 48  # one pitch class: the lowest note
    piece = _piece(CHORDS)
    encoding = make_encoding("notewise-root").fit([piece])
    assert encoding.symbols(piece) == [("60", "1"), ("62", "1"), ("64", "1")]
    assert _notes(encoding.decode(encoding.encode(piece))) == [(60, 0, 1), (62, 1, 2), (64, 2, 3)]


def test_notewise_root_rest_has_rest_tokens_for_silences() -> None:
    piece = _piece([(60, 1, 2), (64, 1, 2), (67, 1, 2), (62, 2, 2.5), (64, 3, 4)])
    encoding = make_encoding("notewise-root-rest").fit([piece])
    assert encoding.symbols(piece) == [("r", "1"), ("60", "1"), ("62", "1/2"), ("r", "1/2"), ("64", "1")]
    assert encoding.vocabularies["pitch"].symbols[0] == "r"
    assert _notes(encoding.decode(encoding.encode(piece))) == [(60, 1, 2), (62, 2, 2.5), (64, 3, 4)]


def test_multilabel_frames_take_the_pitches_sounding_at_each_step_onset() -> None:
    piece = _piece([(60, 0, 0.5), (64, 0, 0.25), (83, 0.25, 0.75), (62, 0.5, 0.6)])
    encoding = make_encoding("multilabel")
    roll = encoding.encode(piece)
    assert roll.shape == (3, 24) and roll.dtype == np.uint8
    assert [np.flatnonzero(row).tolist() for row in roll] == [[0, 4], [0, 23], [2, 23]]
    assert _notes(encoding.decode(roll)) == [(60, 0, 0.5), (62, 0.5, 0.75), (64, 0, 0.25), (83, 0.25, 0.75)]
    assert encoding.model_io().n_pitches == 24 and encoding.model_io().input_kind == "multihot"
    piano = make_encoding("multilabel", pitch_range=(21, 108), step=1.0)
    assert piano.encode(piece).shape == (1, 88)


def test_multilabel_merges_repeated_notes_without_a_gap() -> None:
    piece = _piece([(60, 0, 0.25), (60, 0.25, 0.5)])
    encoding = make_encoding("multilabel")
    assert _notes(encoding.decode(encoding.encode(piece))) == [(60, 0, 0.5)]


def test_multilabel_at_fs_reads_seconds() -> None:
    piece = _piece([(60, 0, 1), (62, 1, 2)], tempos=60.0)  # one quarter note = 1 s
    encoding = make_encoding("multilabel", fs=2)
    assert [np.flatnonzero(row).tolist() for row in encoding.encode(piece)] == [[0], [0], [2], [2]]
    decoded = encoding.decode(encoding.encode(piece), tempo=60.0)
    assert _notes(decoded) == [(60, 0, 1), (62, 1, 2)]


def test_pianoroll_tokens_one_token_per_distinct_frame() -> None:
    piece = _piece([(60, 0, 1), (64, 0, 0.5), (67, 1.5, 2)])  # 120 BPM: a quarter note is 0.5 s
    encoding = make_encoding("pianoroll-tokens", fs=4).fit([piece])  # a frame is an eighth note here
    assert encoding.symbols(piece) == [("60.64",), ("60",), ("empty",), ("67",)]
    assert encoding.vocabularies["token"].symbols == ("empty", "60", "67", "60.64")
    assert _notes(encoding.decode(encoding.encode(piece))) == [(60, 0, 1), (64, 0, 0.5), (67, 1.5, 2)]


def test_pianoroll_tokens_lose_notes_shorter_than_a_frame_at_low_fs() -> None:
    piece = _piece([(60, 0, 0.125), (62, 0.125, 0.25), (64, 0.25, 1)])
    low = make_encoding("pianoroll-tokens", fs=2).fit([piece])
    high = make_encoding("pianoroll-tokens", fs=32).fit([piece])
    assert len(low.decode(low.encode(piece)).pitch) < 3
    assert _notes(high.decode(high.encode(piece))) == _notes(piece)


def test_folk_steps_tokens() -> None:
    piece = _piece(MELODY)
    encoding = make_encoding("folk-steps").fit([piece])
    assert [row[0] for row in encoding.symbols(piece)] == ["60", "_", "r", "62", "64", "_", "_", "_", "/"]
    assert encoding.vocabularies["token"].symbols == ("/", "_", "r", "60", "62", "64")
    assert _notes(encoding.decode(encoding.encode(piece))) == _notes(piece)


def test_folk_steps_refuses_a_polyphonic_piece_with_a_reason() -> None:
    reason = make_encoding("folk-steps").unencodable(_piece(CHORDS))
    assert reason is not None and "monophonic" in reason


def test_abc_chars_encodes_the_normal_form_between_start_and_end() -> None:
    assert normalise_tune(TUNE.text) == "M:4/4\nL:1/4\nK:C\nCDEF|G4|]\n"
    encoding = make_encoding("abc-chars").fit([TUNE])
    ids = encoding.encode(TUNE)
    symbols = [encoding.vocabularies["token"].symbol(token) for token in ids[:, 0]]
    assert symbols[0] == "<s>" and symbols[-1] == "</s>" and "".join(symbols[1:-1]) == normalise_tune(TUNE.text)
    decoded = encoding.decode_with_repairs(ids)
    assert decoded.text == normalise_tune(TUNE.text) and decoded.repairs == {}
    assert _notes(decoded.piece) == [(60, 0, 1), (62, 1, 2), (64, 2, 3), (65, 3, 4), (67, 4, 8)]


def test_abc_chars_decodes_unparsable_text_to_an_empty_piece_and_counts_it() -> None:
    encoding = make_encoding("abc-chars").fit([AbcTune("bad", "M:4/4\nL:1/0\nK:C\nCDEF|\n", "bad.abc")])
    decoded = encoding.decode_with_repairs(encoding.encode(AbcTune("bad", "M:4/4\nL:1/0\nK:C\nCDEF|\n", "b")))
    assert decoded.piece.n_notes == 0
    assert decoded.repairs == {"ABC text that music21 cannot parse (decoded as an empty piece)": 1}


def test_biaxial_state_matrix_and_bar_positions() -> None:
    piece = _piece([(60, 0, 0.5), (60, 0.5, 0.75), (62, 0.25, 0.5)], time_signatures=(1, 4))  # 1/4: 4 steps a bar
    encoding = make_encoding("biaxial", pitch_range=(60, 71))  # 12 pitches
    array = encoding.encode(piece)
    assert array.shape == (3, 25)
    play, articulate, position = array[:, :12], array[:, 12:24], array[:, 24]
    assert [np.flatnonzero(row).tolist() for row in play] == [[0], [0, 2], [0]]
    assert [np.flatnonzero(row).tolist() for row in articulate] == [[0], [2], [0]]
    assert position.tolist() == [0, 1, 2]
    assert _notes(encoding.decode(array)) == _notes(piece)  # the re-struck C stays two notes


def test_biaxial_sampled_roll_is_the_multilabel_roll_with_onsets() -> None:
    # an eighth at 1.5 sounds at no quarter-note onset; 62 re-struck at 2 articulates again; 64 held 0-3
    piece = _piece([(60, 0, 1), (62, 1, 2), (62, 2, 3), (64, 0, 3), (65, 1.5, 2), (67, 0.5, 2)])
    sampled = make_encoding("biaxial", step=1.0, pitch_range=(60, 71), roll="sampled")
    array = sampled.encode(piece)
    roll = make_encoding("multilabel", step=1.0, pitch_range=(60, 71)).encode(piece)
    np.testing.assert_array_equal(array[:, :12], roll)
    assert [np.flatnonzero(row).tolist() for row in array[:, 12:24]] == [[0, 4], [2, 7], [2]]
    assert _notes(sampled.decode(array)) == [(60, 0, 1), (62, 1, 2), (62, 2, 3), (64, 0, 3), (67, 1, 2)]
    assert sampled.declared_preprocess().quantize is None  # the piece is sampled as it is
    assert make_encoding("biaxial", step=1.0).declared_preprocess().quantize == 1.0
    with pytest.raises(GenerationError, match="roll must be"):
        make_encoding("biaxial", roll="nearest")


def test_biaxial_play_only_derives_articulation_from_the_roll() -> None:
    # the same piece as above: 62 re-struck at 2 merges with the 62 at 1 once articulation comes from the roll
    piece = _piece([(60, 0, 1), (62, 1, 2), (62, 2, 3), (64, 0, 3), (65, 1.5, 2), (67, 0.5, 2)])
    play_only = make_encoding("biaxial", step=1.0, pitch_range=(60, 71), roll="sampled", play_only=True)
    array = play_only.encode(piece)
    roll = make_encoding("multilabel", step=1.0, pitch_range=(60, 71)).encode(piece)
    np.testing.assert_array_equal(array[:, :12], roll)
    assert [np.flatnonzero(row).tolist() for row in array[:, 12:24]] == [[0, 4], [2, 7], []]
    assert _notes(play_only.decode(array)) == [(60, 0, 1), (62, 1, 3), (64, 0, 3), (67, 1, 2)]
    sampled_frames = np.stack([array[:, :12], np.zeros_like(array[:, :12])], axis=-1)  # what the model samples
    assert _notes(play_only.decode(sampled_frames)) == _notes(play_only.decode(array))  # articulation ignored
    assert play_only.model_io().articulation is False
    assert make_encoding("biaxial").model_io().articulation is True
    assert encoding_from_dict(json.loads(json.dumps(play_only.to_dict()))).config.play_only is True
    with pytest.raises(GenerationError, match="play_only must be"):
        make_encoding("biaxial", play_only="yes")


def test_biaxial_model_state_of_a_drawn_frame() -> None:
    drawn = np.zeros((1, 12, 2), np.float32)
    drawn[0, [0, 4], 0] = 1  # C and E drawn, articulation left 0 as a play-only model leaves it
    before = np.zeros((1, 12, 2), np.float32)
    before[0, 4, 0] = 1  # E sounded at the step before
    play_only = make_encoding("biaxial", pitch_range=(60, 71), play_only=True)
    assert np.flatnonzero(play_only.model_state(drawn, before)[0, :, 1]).tolist() == [0]  # only C starts
    assert np.flatnonzero(play_only.model_state(drawn)[0, :, 1]).tolist() == [0, 4]  # after silence both do
    assert make_encoding("biaxial", pitch_range=(60, 71)).model_state(drawn, before) is drawn


def test_biaxial_note_inputs_by_hand() -> None:
    previous = np.zeros((1, 12, 2), dtype=np.int16)
    previous[0, 0] = [1, 1]  # C played and articulated at the previous step
    previous[0, 4] = [1, 0]  # E held
    features = note_inputs(previous, np.array([5]), low=60, beat_bits=4)
    assert features.shape == (1, 12, 79)
    e = features[0, 4]  # the note E (pitch 64)
    assert e[0] == pytest.approx(4 / 11)
    assert np.flatnonzero(e[1:13]).tolist() == [4]  # pitch class E
    vicinity = e[13:63].reshape(25, 2)  # offsets -12..+12, [play, articulate]
    assert vicinity[12 - 4].tolist() == [1, 1] and vicinity[12].tolist() == [1, 0]
    assert np.count_nonzero(vicinity) == 3
    context = e[63:75]  # index i counts pitch class (E + i) mod 12 played: E at i=0, C at i=8
    assert np.flatnonzero(context).tolist() == [0, 8]
    assert e[75:79].tolist() == [1, 0, 1, 0]  # position 5 = binary 0101, lowest digit first
    assert make_encoding("biaxial").model_io().n_features == 79


def test_biaxial_windows_predict_every_step_from_the_previous_state() -> None:
    piece = _piece([(60, 0, 0.5), (62, 0.5, 0.75)])
    encoding = make_encoding("biaxial", pitch_range=(60, 71))
    array = encoding.encode(piece)
    inputs, targets = encoding.step_window(array, 0, 3)
    assert inputs.shape == (3, 12, 79) and targets.shape == (3, 12, 2)
    assert targets[0, 0].tolist() == [1, 1] and targets[1, 0].tolist() == [1, 0] and targets[2, 2].tolist() == [1, 1]
    assert not inputs[0, :, 13:63].any()  # silence before the first step
    assert inputs[1, 0, 13 + 2 * 12:13 + 2 * 12 + 2].tolist() == [1, 1]  # C's own previous state
    later, _ = encoding.step_window(array, 1, 2)
    np.testing.assert_array_equal(later, inputs[1:])


LOSSLESS = {"notewise-chord": CHORDS[:3] + [(62, 1, 2), (64, 2, 3)], "folk-steps": MELODY,
            "biaxial": CHORDS + [(60, 3, 3.25), (60, 3.25, 4)], "notewise-root-rest": MELODY}


@pytest.mark.parametrize("name", sorted(LOSSLESS))
def test_lossless_encodings_decode_to_the_same_notes(name: str) -> None:
    piece = _piece(LOSSLESS[name])
    encoding = make_encoding(name).fit([piece])
    decoded = encoding.decode_with_repairs(encoding.encode(piece))
    assert _notes(decoded.piece) == _notes(piece) and decoded.repairs == {}


def _items(name: str):
    if ENCODINGS[name].source == "abc":
        return [TUNE]
    return [_piece(CHORDS), _piece(MELODY)]


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_dict_round_trip_rebuilds_the_same_encoding(name: str, tmp_path: Path) -> None:
    encoding = make_encoding(name)
    items = [item for item in _items(name) if encoding.unencodable(item) is None]
    encoding.fit(items)
    path = tmp_path / "encoding.json"
    path.write_text(json.dumps(encoding.to_dict()))
    again = encoding_from_dict(json.loads(path.read_text()))
    assert type(again) is type(encoding) and again.config == encoding.config
    assert again.to_dict() == encoding.to_dict()
    assert again.to_dict()["kind"] == name and again.to_dict()["format"] == encoding.format_version
    for item in items:
        np.testing.assert_array_equal(again.encode(item), encoding.encode(item))
    assert again.model_io() == encoding.model_io()


def test_from_dict_refuses_another_kind_and_a_newer_format() -> None:
    data = make_encoding("folk-steps").to_dict()
    with pytest.raises(GenerationError, match="not 'biaxial'"):
        ENCODINGS["biaxial"].from_dict(data)
    with pytest.raises(GenerationError, match="newer"):
        encoding_from_dict({**data, "format": 99})
    with pytest.raises(GenerationError, match="unknown encoding"):
        encoding_from_dict({**data, "kind": "midi-like"})
    with pytest.raises(GenerationError, match="unknown option"):
        encoding_from_dict({**data, "config": {"stepp": 1}})


def test_options_that_do_not_apply_are_named() -> None:
    with pytest.raises(GenerationError, match="--fs do not apply to notewise-chord"):
        make_encoding("notewise-chord", fs=8)
    with pytest.raises(GenerationError, match="pitch range"):
        make_encoding("multilabel", pitch_range=(90, 80))


def _random_arrays(encoding, rng: np.random.Generator, n: int):
    io = encoding.model_io()
    for _ in range(n):
        steps = int(rng.integers(0, 60))
        if io.input_kind == "tokens":
            ids = rng.integers(-3, max(io.vocab_sizes) + 5, size=(steps, len(io.vocab_sizes)))
            yield ids
            yield ids.astype(np.float64) + rng.normal(0, 0.3, size=ids.shape)  # fuzzy ids
        elif io.input_kind == "multihot":
            yield rng.random((steps, io.n_pitches))
        else:
            yield rng.random((steps, io.n_pitches, 2))
            yield (rng.random((steps, 2 * io.n_pitches + 1)) > 0.5).astype(np.int16)


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_decoding_random_sequences_never_raises(name: str, tmp_path: Path) -> None:
    encoding = make_encoding(name)
    encoding.fit([item for item in _items(name) if encoding.unencodable(item) is None])
    rng = np.random.default_rng(0)
    repaired = 0
    for index, array in enumerate(_random_arrays(encoding, rng, 3 if name == "abc-chars" else 25)):
        decoded = encoding.decode_with_repairs(array)
        repaired += decoded.n_repairs
        check_piece(decoded.piece)  # writable as MIDI
        if decoded.piece.n_notes and index < 3:
            read_midi(write_midi(decoded.piece, tmp_path / f"{index}.mid"))
    assert repaired > 0  # random ids always contain padding, unknown or out-of-range ids


def test_decoding_nan_and_empty_input() -> None:
    for name in ("notewise-chord", "folk-steps", "pianoroll-tokens"):
        encoding = make_encoding(name).fit([_piece(MELODY)])
        decoded = encoding.decode_with_repairs(np.array([[np.nan] * len(encoding.model_io().vocab_sizes)]))
        assert decoded.piece.n_notes == 0 and decoded.n_repairs >= 1
        assert encoding.decode(np.zeros((0, len(encoding.model_io().vocab_sizes)), dtype=np.int64)).n_notes == 0
    multilabel = make_encoding("multilabel")
    decoded = multilabel.decode_with_repairs(np.full((4, 24), np.nan))
    assert decoded.piece.n_notes == 0 and decoded.repairs["not-a-number values read as off"] == 96


def test_folk_steps_repairs_a_hold_after_a_rest_and_stops_at_the_end_symbol() -> None:
    encoding = make_encoding("folk-steps").fit([_piece(MELODY)])
    vocabulary = encoding.vocabularies["token"]
    ids = vocabulary.ids(["_", "60", "_", "r", "_", "62", "/", "64", "_"])
    decoded = encoding.decode_with_repairs(ids)
    assert _notes(decoded.piece) == [(60, 0.25, 0.75), (62, 1.25, 1.5)]
    assert decoded.repairs == {"hold without a sounding note read as a rest": 2,
                               "steps after the end-of-song symbol dropped": 2}


def test_biaxial_repairs_a_hold_after_a_rest_and_articulation_without_play() -> None:
    encoding = make_encoding("biaxial", pitch_range=(60, 71))
    sampled = np.zeros((3, 12, 2))
    sampled[0, 0] = [1, 0]  # held, but nothing sounded before: a new note
    sampled[1, 0] = [1, 0]
    sampled[2, 3] = [0, 1]  # articulated, not played: ignored
    decoded = encoding.decode_with_repairs(sampled)
    assert _notes(decoded.piece) == [(60, 0, 0.5)]
    assert decoded.repairs == {"articulate without play ignored": 1,
                               "hold after a rest (or at the start) read as a new note": 1}


def test_token_decoding_counts_unknown_and_out_of_range_ids() -> None:
    encoding = make_encoding("notewise-chord").fit([_piece(CHORDS)])
    decoded = encoding.decode_with_repairs(np.array([[2, 2], [1, 2], [99, -4], [0, 0], [3, 2]]))
    assert _notes(decoded.piece) == [(60, 0, 1), (62, 2, 3), (64, 0, 1), (67, 0, 1)]  # unknown pitch = a rest
    assert decoded.repairs["pitch: unknown-symbol ids"] == 1
    assert decoded.repairs["pitch: ids outside the vocabulary"] == 1
    assert decoded.repairs["duration: ids outside the vocabulary"] == 1
    assert decoded.repairs["rows without a usable pitch or duration dropped"] == 2
    with pytest.raises(GenerationError, match="shape"):
        encoding.decode(np.zeros((3, 3), dtype=np.int64))


def test_encode_maps_unseen_symbols_to_unknown() -> None:
    encoding = make_encoding("notewise-chord").fit([_piece(MELODY)])
    ids = encoding.encode(_piece(CHORDS))
    assert ids[0, 0] == 1 and encoding.unknown_count(ids) >= 1


def test_unencodable_names_notes_outside_the_window() -> None:
    reason = make_encoding("multilabel").unencodable(_piece([(40, 0, 1), (60, 1, 2)]))
    assert reason is not None and "1 note(s) outside the pitch window 60-83" in reason


def test_write_midi_goes_through_the_projects_writer(tmp_path: Path) -> None:
    piece = _piece(MELODY)
    encoding = make_encoding("folk-steps").fit([piece])
    decoded = encoding.write_midi(encoding.encode(piece), tmp_path / "song.mid", tempo=90.0)
    again = read_midi(tmp_path / "song.mid")
    assert _notes(again) == _notes(piece) == _notes(decoded.piece)
    assert again.tempos[0, 1] == pytest.approx(90.0, rel=1e-4)


@pytest.mark.parametrize("text", ["M:3/3\nL:1/4\nK:C\nCDE|\n", "Q:1/4=-30\nM:4/4\nL:1/4\nK:C\nCDE|\n"])
def test_abc_reader_leaves_out_what_midi_cannot_hold(text: str) -> None:
    from generation.abc import abc_to_piece

    piece = abc_to_piece(text)
    check_piece(piece)  # writable: 4/4 and 120 BPM stand in for the unwritable signature and tempo
    assert piece.pitch.tolist() == [60, 62, 64]
