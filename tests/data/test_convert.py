from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest
from music21 import bar, environment, meter, note, stream

from data import build, convert
from data.convert import WriteError, convert_piece, write_score_midi
from data.sources import PieceSource


def _pitches(path) -> list[int]:
    pm = pretty_midi.PrettyMIDI(str(path))
    notes = sorted((n.start, n.pitch) for inst in pm.instruments for n in inst.notes)
    return [p for _, p in notes]


def _part(n_measures: int, ts: meter.TimeSignature | None = None) -> stream.Part:
    p = stream.Part()
    for i in range(n_measures):
        m = stream.Measure(number=i + 1)
        if ts is not None:
            m.insert(0, ts)  # the same object in every measure, as music21's ABC reader does
        m.append(note.Note(60 + i, quarterLength=3 if ts is not None else 4))
        p.append(m)
    return p


def test_convert_abc_tune_writes_midi_and_abc(tmp_path):
    text = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|\n"
    res = convert_piece(PieceSource("scale", "toy.abc#X:1", "toy.abc", text, "Scale"), tmp_path)
    assert res.ok and res.repairs == () and res.title == "Scale"
    assert (res.midi, res.abc) == ("scale.mid", "scale.abc")
    assert _pitches(tmp_path / "scale.mid") == [60, 62, 64, 65, 67, 69, 71, 72]
    assert (tmp_path / "scale.abc").read_text(encoding="utf-8") == text


def test_convert_reports_unreadable_and_empty_pieces(tmp_path):
    bad = convert_piece(PieceSource("bad", "missing.krn", str(tmp_path / "missing.krn")), tmp_path)
    assert not bad.ok and bad.reason.startswith("music21 could not read the score")
    empty = convert_piece(PieceSource("empty", "e.abc#X:1", "e.abc", "X:1\nT:Rests\nL:1/4\nK:C\nz4|\n"), tmp_path)
    assert not empty.ok and "no notes" in empty.reason
    assert not (tmp_path / "empty.mid").exists() and not (tmp_path / "bad.mid").exists()


def test_badly_formed_repeats_are_removed_and_recorded(tmp_path):
    p = _part(4)
    ms = list(p.getElementsByClass(stream.Measure))
    ms[0].leftBarline = bar.Repeat(direction="start")
    ms[1].leftBarline = bar.Repeat(direction="start")  # two starts before one end: music21 cannot expand
    ms[2].rightBarline = bar.Repeat(direction="end")
    score = stream.Score([p])
    with pytest.raises(Exception, match="badly formed repeats"):
        score.write("midi", fp=str(tmp_path / "plain.mid"))
    repairs = write_score_midi(score, tmp_path / "r.mid")
    assert len(repairs) == 1 and repairs[0].startswith("removed 3 repeat signs")
    assert _pitches(tmp_path / "r.mid") == [60, 61, 62, 63]  # played once through


def test_shared_time_signature_is_copied_and_recorded(tmp_path):
    score = stream.Score([_part(3, meter.TimeSignature("3/4"))])
    with pytest.raises(Exception, match="already found in this Stream"):
        score.write("midi", fp=str(tmp_path / "plain.mid"))
    repairs = write_score_midi(score, tmp_path / "s.mid")
    assert len(repairs) == 1 and repairs[0].startswith("copied 2 time/key signatures")
    assert _pitches(tmp_path / "s.mid") == [60, 61, 62]


def test_write_error_leaves_no_file(tmp_path, monkeypatch):
    def broken(score):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(convert, "_render", broken)
    with pytest.raises(WriteError, match="could not write MIDI \\(RuntimeError: disk on fire\\)"):
        write_score_midi(stream.Score([_part(2)]), tmp_path / "x.mid")
    assert not (tmp_path / "x.mid").exists()


def test_the_midi_is_written_by_the_one_writer(tmp_path, monkeypatch):
    from evaluation import midi_io

    written = []

    def spy(piece, path):
        written.append(path)
        return midi_io.write_midi(piece, path)

    monkeypatch.setattr(convert, "write_midi", spy)
    assert write_score_midi(stream.Score([_part(2)]), tmp_path / "w.mid") == ()
    assert written == [tmp_path / "w.mid"] and _pitches(tmp_path / "w.mid") == [60, 61]


def test_pickup_bar_gets_its_own_time_signature_so_bar_lines_fall_where_the_score_has_them(tmp_path):
    # 3/4 tune with a one-quarter pickup: X:1 ... L:1/4, "C | E G c | e3 |" -> pickup C, bars start at quarters 1 and 4.
    text = "X:1\nT:Pickup\nM:3/4\nL:1/4\nK:C\nC | E G c | e3 |]\n"
    res = convert_piece(PieceSource("pickup", "toy.abc#X:1", "toy.abc", text, "Pickup"), tmp_path)
    assert res.ok and res.repairs == (), res.reason
    from evaluation import read_midi

    piece = read_midi(tmp_path / "pickup.mid")
    assert piece.time_signatures.tolist() == [[0.0, 1.0, 4.0], [1.0, 3.0, 4.0]]
    assert piece.bar_starts().tolist() == [0.0, 1.0, 4.0]
    assert piece.start.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_piece_starting_on_the_downbeat_is_left_alone(tmp_path):
    text = "X:1\nT:Downbeat\nM:3/4\nL:1/4\nK:C\nE G c | e3 |]\n"
    res = convert_piece(PieceSource("down", "toy.abc#X:1", "toy.abc", text, "Downbeat"), tmp_path)
    assert res.ok and res.repairs == ()
    from evaluation import read_midi

    assert read_midi(tmp_path / "down.mid").time_signatures.tolist() == [[0.0, 3.0, 4.0]]


def test_a_repeated_section_with_a_short_bar_and_its_own_pickup(tmp_path):
    # pickup C | E G c | e2 :| (2-beat bar) G | (1-beat pickup of the next phrase) c3 |]: repeats expanded,
    # the bars are 0 1 4 6 | 7 10 | 12 13 (today's pickup-only marking puts them at 0 1 4 7 10 13)
    text = "X:1\nT:Split\nM:3/4\nL:1/4\nK:C\nC | E G c | e2 :| G | c3 |]\n"
    res = convert_piece(PieceSource("split", "toy.abc#X:1", "toy.abc", text, "Split"), tmp_path)
    assert res.ok, res.reason
    from evaluation import read_midi

    piece = read_midi(tmp_path / "split.mid")
    assert piece.pitch.tolist() == [60, 64, 67, 72, 76, 60, 64, 67, 72, 76, 67, 72]  # played twice, then on
    assert piece.bar_starts().tolist() == [0.0, 1.0, 4.0, 6.0, 7.0, 10.0, 12.0, 13.0]


def test_pickup_of_a_real_chorale_with_a_conductor_track(tmp_path):
    # bwv148.6 opens with a one-quarter pickup; music21 writes tempo and meter in a track of their own.
    import music21

    from evaluation import read_midi

    score = music21.corpus.parse("bach/bwv148.6")
    assert write_score_midi(score, tmp_path / "c.mid") == ()
    piece = read_midi(tmp_path / "c.mid")
    assert piece.time_signatures[:2].tolist() == [[0.0, 1.0, 4.0], [1.0, 4.0, 4.0]]
    assert piece.bar_starts()[:4].tolist() == [0.0, 1.0, 5.0, 9.0]
    assert sorted(set(piece.track.tolist())) == [0, 1, 2, 3]  # SATB, one track each
    assert set(piece.velocity.tolist()) == {90}  # music21's velocity


def test_music21_parse_cache_is_kept_out_of_tmp(tmp_path, monkeypatch) -> None:
    assert build.CACHE_DIR.is_relative_to(Path(build.__file__).parent)  # data/.cache/music21, not /tmp/music21
    before = environment.Environment()["directoryScratch"]
    seen = []
    monkeypatch.setattr(build, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(build, "convert_piece",
                        lambda src, staging: seen.append(environment.Environment()["directoryScratch"]))
    build._convert_all([object(), object()], tmp_path / "staging", jobs=1, desc="test")
    assert seen == [str(tmp_path / "cache")] * 2  # music21 writes its cache there while converting
    assert environment.Environment()["directoryScratch"] == before  # and the user's setting comes back


def test_grace_notes_are_left_out_not_written_as_long_notes(tmp_path):
    from evaluation import read_midi

    text = "X:1\nT:Grace\nM:4/4\nL:1/4\nK:C\nC{a}DEF|GABc|\n"
    res = convert_piece(PieceSource("grace", "toy.abc#X:1", "toy.abc", text, "Grace"), tmp_path)
    assert res.ok and res.repairs == ("left out 1 grace note(s): music21 would write each as a long note",)
    piece = read_midi(tmp_path / "grace.mid")
    assert piece.pitch.tolist() == [60, 62, 64, 65, 67, 69, 71, 72]  # no A5 (81)
    assert piece.end.max() == 8.0
