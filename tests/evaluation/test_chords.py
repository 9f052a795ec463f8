"""Chord labels, Roman numerals and progression statistics on block-chord fixtures (120 BPM, so one quarter
note lasts 0.5 s)."""

from __future__ import annotations

import io
import math

import pretty_midi
import pytest

from evaluation.harmony import ChordSegment, chord_statistics, detect_chords, key_from_name, roman_numeral
from evaluation.midi_io import ReaderConfig, read_midi

D, G, A = [50, 54, 57, 62], [55, 59, 62, 67], [45, 57, 61, 64]  # D major I, IV, V voicings


def _piece(
    chords: list[list[int]],
    quarters: float = 1.0,
    *,
    drums: bool = False,
    gaps: set[int] = frozenset(),
    time_signature: tuple[int, int] | None = None,
):
    """Block chords of ``quarters`` each at 120 BPM; indices in ``gaps`` are left silent."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    if time_signature:
        midi.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    piano = pretty_midi.Instrument(program=0)
    seconds = quarters / 2
    for index, pitches in enumerate(chords):
        if index in gaps:
            continue
        for pitch in pitches:
            piano.notes.append(
                pretty_midi.Note(velocity=80, pitch=pitch, start=index * seconds, end=(index + 1) * seconds)
            )
    midi.instruments.append(piano)
    if drums:  # kick, snare and hi-hat on every eighth, longer than the piano part would not matter either
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for step in range(int(len(chords) * seconds * 4)):
            for pitch in (36, 38, 42, 46):
                kit.notes.append(
                    pretty_midi.Note(velocity=120, pitch=pitch, start=step / 4, end=step / 4 + 0.25)
                )
        midi.instruments.append(kit)
    buffer = io.BytesIO()
    midi.write(buffer)
    return read_midi(buffer.getvalue(), name="fixture.mid")


def _labels(segments: list[ChordSegment]) -> list[str]:
    return [segment.label for segment in segments]


def test_one_four_five_one_in_d_major() -> None:
    segments = detect_chords(_piece([D, G, A, D]))
    assert _labels(segments) == ["D:maj", "G:maj", "A:maj", "D:maj"]
    assert [segment.roman for segment in segments] == ["I", "IV", "V", "I"]
    assert [(s.start, s.end, s.start_seconds, s.end_seconds) for s in segments[:2]] == [
        (0.0, 1.0, 0.0, 0.5),
        (1.0, 2.0, 0.5, 1.0),
    ]
    assert [(s.root, s.quality, s.bass) for s in segments[:3]] == [
        (2, "maj", 2),
        (7, "maj", 7),
        (9, "maj", 9),
    ]


def test_per_bar_windows_and_seconds() -> None:
    segments = detect_chords(_piece([D, G, A, D], quarters=4.0), per="bar")
    assert _labels(segments) == ["D:maj", "G:maj", "A:maj", "D:maj"]
    assert [(s.start, s.end) for s in segments] == [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0)]
    assert segments[-1].end_seconds == pytest.approx(8.0)


def test_bars_follow_the_time_signature() -> None:
    segments = detect_chords(_piece([D, G], quarters=3.0, time_signature=(3, 4)), per="bar")
    assert [(s.label, s.start, s.end) for s in segments] == [("D:maj", 0.0, 3.0), ("G:maj", 3.0, 6.0)]


def test_merge_joins_equal_neighbours() -> None:
    piece = _piece([D, D, G, G, G])
    assert [(s.label, s.start, s.end) for s in detect_chords(piece)] == [
        ("D:maj", 0.0, 2.0),
        ("G:maj", 2.0, 5.0),
    ]
    assert _labels(detect_chords(piece, merge=False)) == ["D:maj"] * 2 + ["G:maj"] * 3


def test_ii7_v7_imaj7_in_c() -> None:
    from evaluation.harmony import estimate_key

    piece = _piece([[50, 53, 57, 60], [43, 53, 59, 62], [48, 52, 55, 59]])
    assert estimate_key(piece).name == "C major"  # numerals relative to the detected key
    segments = detect_chords(piece)
    assert _labels(segments) == ["D:min7", "G:7", "C:maj7"]
    assert [segment.roman for segment in segments] == ["ii7", "V7", "Imaj7"]
    (iii7,) = detect_chords(_piece([[52, 55, 59, 62]]), key=key_from_name("C major"))
    assert (iii7.label, iii7.roman) == ("E:min7", "iii7")


def test_inversions_keep_the_root_and_write_the_bass() -> None:
    segments = detect_chords(
        _piece([[52, 55, 60], [43, 48, 52], [47, 50, 53, 55], [48, 52, 55, 58]]), merge=False
    )
    assert _labels(segments) == ["C:maj/3", "C:maj/5", "G:7/3", "C:7"]
    assert [segment.bass for segment in segments[:3]] == [4, 7, 11]
    assert all(segment.root == 0 for segment in segments[:2]) and segments[2].root == 7


def test_a_minor_progressions() -> None:
    am, dm, e, e7 = [45, 57, 60, 64], [50, 57, 62, 65], [52, 56, 59, 64], [40, 56, 62, 64]
    for chords, labels, romans in [
        ([am, dm, e, am], ["A:min", "D:min", "E:maj", "A:min"], ["i", "iv", "V", "i"]),
        ([am, dm, e7, am], ["A:min", "D:min", "E:7", "A:min"], ["i", "iv", "V7", "i"]),
    ]:
        piece = _piece(chords)
        from evaluation.harmony import estimate_key

        assert estimate_key(piece).name == "A minor"
        segments = detect_chords(piece)
        assert _labels(segments) == labels
        assert [segment.roman for segment in segments] == romans


@pytest.mark.parametrize(
    ("pitches", "label", "roman"),
    [
        ([59, 62, 65], "B:dim", "viio"),
        ([48, 52, 56], "C:aug", "I+"),
        ([48, 50, 55], "C:sus2", "Isus2"),
        ([48, 53, 55], "C:sus4", "Isus4"),
        ([59, 62, 65, 68], "B:dim7", "viio7"),
        ([59, 62, 65, 69], "B:hdim7", "vii/o7"),
        ([48, 51, 55, 59], "C:minmaj7", "imaj7"),
        ([46, 50, 53], "Bb:maj", "bVII"),
        ([54, 58, 61], "F#:maj", "#IV"),
    ],
)
def test_other_templates(pitches: list[int], label: str, roman: str) -> None:
    (segment,) = detect_chords(_piece([pitches]), key=key_from_name("C major"))
    assert (segment.label, segment.roman) == (label, roman)


def _notes(notes: list[tuple[int, float, float]]):
    """A piece of (pitch, start, end) notes in quarter notes (one piano track, 120 BPM, 4/4)."""
    from evaluation import piece_from_notes

    pitch, start, end = zip(*notes, strict=True)
    return piece_from_notes(list(pitch), list(start), list(end))


def _block(pitches: tuple[int, ...], start: float, end: float) -> list[tuple[int, float, float]]:
    return [(pitch, start, end) for pitch in pitches]


def test_a_faint_seventh_does_not_make_a_seventh_chord() -> None:
    # C E G on three beats; B for the last sixteenth of beat 1: a triad; B from the onset of beat 2 for half of
    # it: maj7; B entering off the beat for the second half of beat 3 (a passing seventh): still a triad
    notes = [note for beat in range(3) for note in _block((48, 52, 55), beat, beat + 1)]
    notes += [(59, 0.875, 1.0), (59, 1.0, 1.5), (59, 2.5, 3.0)]
    assert _labels(detect_chords(_notes(notes), merge=False)) == ["C:maj", "C:maj7", "C:maj"]
    # weighting every note by its duration alone, the passing seventh makes a maj7 chord as well
    assert _labels(detect_chords(_notes(notes), merge=False, offbeat_weight=1.0)) == ["C:maj", "C:maj7", "C:maj7"]


def test_a_suspension_is_labelled_as_the_chord_it_resolves_to() -> None:
    # beat 1: C G C with F resolving to E after a dotted eighth (4-3 within the beat); beats 2-3: C F G held
    # for a whole beat, resolving to C E G on beat 3; beat 4: a real sus4 on F (no third follows), then C
    notes = _block((48, 55, 60), 0, 1) + [(65, 0.0, 0.75), (64, 0.75, 1.0)]
    notes += _block((48, 53, 55), 1, 2) + _block((48, 52, 55), 2, 3)
    notes += _block((53, 58, 60), 3, 4) + _block((48, 52, 55), 4, 5)
    segments = detect_chords(_notes(notes), merge=False, key=key_from_name("C major"))
    assert _labels(segments) == ["C:maj", "C:maj", "C:maj", "F:sus4", "C:maj"]
    assert [segment.roman for segment in segments] == ["I", "I", "I", "IVsus4", "I"]


def test_the_bass_is_the_lowest_chord_tone_on_the_beat_not_a_passing_note() -> None:
    # upper voices E G C for two beats. Beat 1: the bass plays C, then a passing B below it (off the beat):
    # the bass is C. Beat 2: the bass starts on a passing B, then reaches C: the bass is still C, the chord
    # tone (the lowest note lasting 1/8 of the beat was B in both beats before)
    notes = _block((64, 67, 72), 0, 2) + [(48, 0.0, 0.5), (47, 0.5, 1.0), (47, 1.0, 1.5), (48, 1.5, 2.0)]
    segments = detect_chords(_notes(notes), merge=False)
    assert [(segment.label, segment.bass) for segment in segments] == [("C:maj", 0), ("C:maj", 0)]
    # a chord tone on the beat stays the bass: E below the root makes a first inversion
    inverted = detect_chords(_notes(_block((60, 67, 72), 0, 1) + [(52, 0.0, 1.0)]))
    assert [(segment.label, segment.bass) for segment in inverted] == [("C:maj/3", 4)]


def test_local_keys_follow_a_modulation() -> None:
    # C: I IV V7 I, then G: I IV V7 I I (with F#), each chord one bar of 4/4
    c, f, g7 = (48, 64, 67, 72), (53, 65, 69, 72), (43, 62, 65, 71)
    g, cc, d7 = (43, 62, 67, 71), (48, 64, 67, 72), (50, 62, 66, 72)
    progression = [c, f, g7, c, g, cc, d7, g, g]
    notes = [note for bar, chord in enumerate(progression) for note in _block(chord, 4 * bar, 4 * bar + 4)]
    piece = _notes(notes)
    local = detect_chords(piece, per="bar", key_scope="local", merge=False)
    # G and C are common to both keys: the modulation is heard at D7, the first F#
    assert [segment.key for segment in local] == ["C major"] * 6 + ["G major"] * 3
    assert [segment.roman for segment in local] == ["I", "IV", "V7", "I", "V", "I", "V7", "I", "I"]
    whole = detect_chords(piece, per="bar", key_scope="global")
    assert len({segment.key for segment in whole}) == 1
    with pytest.raises(ValueError, match="key_scope must be 'global' or 'local'"):
        detect_chords(piece, key_scope="modulating")


def test_drums_are_ignored() -> None:
    plain = detect_chords(_piece([D, G, A, D]))
    drummed = detect_chords(_piece([D, G, A, D], drums=True))
    assert drummed == plain


def test_empty_windows_and_lone_notes_are_no_chord() -> None:
    segments = detect_chords(_piece([D, D, G, [60], A], gaps={1}), key=key_from_name("D major"))
    assert _labels(segments) == ["D:maj", "N", "G:maj", "N", "A:maj"]
    silent = segments[1]
    assert (silent.root, silent.quality, silent.bass, silent.roman) == (None, "", None, "")
    assert (silent.start_seconds, silent.end_seconds) == (0.5, 1.0)


@pytest.mark.parametrize(
    ("root", "quality", "key", "roman"),
    [
        (7, "7", "C major", "V7"),
        (10, "maj", "C major", "bVII"),
        (6, "dim7", "C major", "#ivo7"),
        (8, "maj", "C major", "bVI"),
        (1, "maj", "C major", "bII"),
        (4, "min", "C major", "iii"),
        (3, "maj", "C minor", "III"),
        (8, "maj", "C minor", "VI"),
        (11, "dim", "C minor", "viio"),
        (10, "maj", "C minor", "bVII"),
        (7, "maj", "C minor", "V"),
        (0, "min7", "C minor", "i7"),
        (9, "aug", "A major", "I+"),
        (2, "hdim7", "C minor", "ii/o7"),
    ],
)
def test_roman_numerals(root: int, quality: str, key: str, roman: str) -> None:
    assert roman_numeral(root, quality, key_from_name(key)) == roman


@pytest.mark.parametrize(
    ("pitch_class", "key", "name"),
    [
        (10, "C major", "Bb"),  # bVII
        (6, "C major", "F#"),  # #IV
        (3, "G minor", "Eb"),  # VI
        (10, "G minor", "Bb"),  # III
        (6, "G minor", "F#"),  # leading tone
        (0, "C# minor", "B#"),  # leading tone
        (11, "Db major", "Cb"),  # bVII
        (2, "G# minor", "D"),  # #IV would be C##: single-accidental name instead
        (9, "A minor", "A"),
    ],
)
def test_roots_are_spelled_for_the_key(pitch_class: int, key: str, name: str) -> None:
    from evaluation.chords import spell_root

    assert spell_root(pitch_class, key_from_name(key)) == name


def test_chord_labels_in_a_flat_key_use_flats() -> None:
    # G minor: i, VI (Eb), III (Bb), V -> no D#/A# spellings
    gm, eb, bb, d = [43, 55, 58, 62], [51, 55, 58, 63], [46, 53, 58, 62], [50, 54, 57, 62]
    segments = detect_chords(_piece([gm, eb, bb, d, gm]), key=key_from_name("G minor"))
    assert _labels(segments) == ["G:min", "Eb:maj", "Bb:maj", "D:maj", "G:min"]
    assert [segment.roman for segment in segments] == ["i", "VI", "III", "V", "i"]


def _segments(labels: list[str], lengths: list[float] | None = None) -> list[ChordSegment]:
    lengths = lengths or [1.0] * len(labels)
    result, time = [], 0.0
    for label, length in zip(labels, lengths, strict=True):
        root = None if label == "N" else 0
        result.append(
            ChordSegment(
                time,
                time + length,
                time / 2,
                (time + length) / 2,
                label,
                root,
                "" if label == "N" else "maj",
                root,
                "",
            )
        )
        time += length
    return result


def test_chord_statistics_by_hand() -> None:
    # sequence after dropping N and merging repeats: C F C F G C (n = 6)
    # trigrams: CFC, FCF, CFG, FGC -> 4 distinct of n - 2 = 4 -> CPI 1.0
    labels = ["C:maj", "F:maj", "C:maj", "F:maj", "N", "F:maj", "G:maj", "C:maj"]
    stats = chord_statistics(_segments(labels, [1, 1, 1, 1, 2, 1, 1, 4]))
    assert stats == {
        "n_chords": 6.0,
        "n_unique_chords": 3.0,
        "chord_change_rate": pytest.approx(5 / 12),
        "no_chord_rate": pytest.approx(2 / 12),
        "chord_progression_irregularity": 1.0,
    }
    # C G C G C G: trigrams CGC, GCG -> 2 distinct / 4
    assert chord_statistics(_segments(["C:maj", "G:maj"] * 3))["chord_progression_irregularity"] == 0.5


def test_chord_statistics_undefined_cases() -> None:
    empty = chord_statistics([])
    assert (
        empty["n_chords"] == 0.0
        and math.isnan(empty["no_chord_rate"])
        and math.isnan(empty["chord_change_rate"])
    )
    silent = chord_statistics(_segments(["N"]))
    assert silent["no_chord_rate"] == 1.0 and silent["chord_change_rate"] == 0.0
    assert math.isnan(silent["chord_progression_irregularity"])


def test_bad_window_name() -> None:
    with pytest.raises(ValueError, match="per must be 'beat' or 'bar'"):
        detect_chords(_piece([D]), per="half")


def test_a_drum_only_piece_has_no_segments() -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes += [pretty_midi.Note(velocity=100, pitch=p, start=0.0, end=1.0) for p in (36, 40, 43)]
    midi.instruments.append(kit)
    buffer = io.BytesIO()
    midi.write(buffer)
    piece = read_midi(buffer.getvalue(), config=ReaderConfig(require_pitched=False))
    assert detect_chords(piece) == []
    assert chord_statistics([])["n_chords"] == 0.0
