"""Bar lines: measures of a (repeat-expanded) score become MIDI time signatures that keep every bar line."""

from __future__ import annotations

import numpy as np
import pytest

from data.bars import ScoreBar, score_bars, signature_for_length, time_signature_table
from evaluation import piece_from_notes


def _bar(start: float, length: float, meter: tuple[int, int] = (3, 4), number: int = 1) -> ScoreBar:
    return ScoreBar(start=start, length=length, meter=meter, number=number, suffix="", padding=0.0)


@pytest.mark.parametrize(
    ("quarters", "denominator", "signature"),
    [(1.0, 4, (1, 4)), (2.0, 4, (2, 4)), (1.5, 8, (3, 8)), (0.5, 8, (1, 8)), (1.0, 2, (1, 4)),
     (0.75, 4, (3, 16)), (3.0, 2, (3, 4)), (6.0, 2, (3, 2))],
)
def test_signature_for_length(quarters: float, denominator: int, signature: tuple[int, int]) -> None:
    assert signature_for_length(quarters, denominator) == signature


def test_a_length_no_signature_has() -> None:
    assert signature_for_length(1 / 3) is None  # a triplet eighth
    assert signature_for_length(0.0) is None


def test_pickups_split_bars_and_endings_get_their_own_signatures() -> None:
    # bwv269's shape: 1-quarter pickup, full 3/4 bars, a 2-beat half bar at the repeat, the repeat's
    # 1-beat pickup, and a 2-beat last bar
    bars = [_bar(0, 1), _bar(1, 3), _bar(4, 3), _bar(7, 2), _bar(9, 1), _bar(10, 3), _bar(13, 2)]
    rows, unwritable = time_signature_table(bars)
    assert rows == [(0, 1, 4), (1, 3, 4), (7, 2, 4), (9, 1, 4), (10, 3, 4), (13, 2, 4)]
    assert unwritable == []
    piece = piece_from_notes([60], [0.0], [15.0], time_signatures=np.array(rows, dtype=float))
    assert piece.bar_starts().tolist() == [0, 1, 4, 7, 9, 10, 13]  # every bar line of the score


def test_a_piece_without_short_bars_has_one_signature() -> None:
    rows, _ = time_signature_table([_bar(4.0 * i, 4.0, (4, 4)) for i in range(5)])
    assert rows == [(0.0, 4, 4)]
    assert time_signature_table([]) == ([(0.0, 4, 4)], [])


def test_a_meter_change_is_kept_and_an_unwritable_bar_reported() -> None:
    bars = [_bar(0, 4, (4, 4)), _bar(4, 1 / 3, (4, 4)), _bar(4 + 1 / 3, 3, (3, 4))]
    rows, unwritable = time_signature_table(bars)
    assert rows == [(0, 4, 4), (4 + 1 / 3, 3, 4)]
    assert unwritable == [bars[1]]


def _score_with_repeat_and_pickup():
    """3/4: pickup (1 quarter) | bar 1 | bar 2, first half (2 beats) :| bar 2a (1-beat pickup) | bar 3."""
    from music21 import bar, meter, note, stream

    part = stream.Part()
    lengths = [(0, "", 1.0, 2.0), (1, "", 3.0, 0.0), (2, "", 2.0, 0.0), (2, "a", 1.0, 2.0), (3, "", 3.0, 0.0)]
    for index, (number, suffix, length, padding) in enumerate(lengths):
        measure = stream.Measure(number=number)
        measure.numberSuffix = suffix or None
        if index == 0:
            measure.insert(0, meter.TimeSignature("3/4"))
        measure.append(note.Note(60 + index, quarterLength=length))
        measure.paddingLeft = padding
        part.append(measure)
    measures = list(part.getElementsByClass(stream.Measure))
    measures[2].rightBarline = bar.Repeat(direction="end")
    return stream.Score([part])


def test_score_bars_of_an_expanded_score_name_the_measures_they_repeat() -> None:
    score = _score_with_repeat_and_pickup()
    bars = score_bars(score.expandRepeats(), score)
    assert [(b.start, b.length) for b in bars] == [(0, 1), (1, 3), (4, 2), (6, 1), (7, 3), (10, 2), (12, 1), (13, 3)]
    assert [(b.number, b.suffix) for b in bars] == [(0, ""), (1, ""), (2, ""), (0, ""), (1, ""), (2, ""),
                                                   (2, "a"), (3, "")]
    assert [b.padding for b in bars][:4] == [2.0, 0.0, 0.0, 2.0]
    assert {b.meter for b in bars} == {(3, 4)}
