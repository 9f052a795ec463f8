from __future__ import annotations

import dataclasses

import numpy as np
import pretty_midi
import pytest

from data import CORPORA, DataError, build, build_corpus, build_from_sources, corpus_files, corpus_splits, load_manifest
from data.sources import bach_chorale_sources


@pytest.fixture(scope="module")
def chorales(tmp_path_factory):
    """Four chorales plus bwv277 (badly formed repeats in music21's kern file)."""
    sources, dups = bach_chorale_sources()
    pick = sources[:4] + [s for s in sources if s.id == "bwv277"]
    out = tmp_path_factory.mktemp("corpora") / "chorales"
    m = build_from_sources("bach-chorales", pick, out, duplicates=dups, limit=5, seed=1)
    return out, m


def test_chorale_corpus_converts_bwv277_with_a_recorded_repair(chorales):
    out, m = chorales
    assert m.count == 5 and m.failures == ()
    assert {e.id for e in m.entries} == {"bwv269", "bwv347", "bwv153.1", "bwv86.6", "bwv277"}
    e277 = next(e for e in m.entries if e.id == "bwv277")
    assert e277.source == "bach/bwv277.krn"
    assert len(e277.repairs) == 1 and "badly formed repeats" in e277.repairs[0]
    assert all(e.repairs == () for e in m.entries if e.id != "bwv277")  # exact bar lines are no repair
    pm = pretty_midi.PrettyMIDI(str(out / e277.midi))
    assert len(pm.instruments) == 4  # SATB
    assert e277.title == "Christ lag in Todesbanden (Riemenschneider 15)"
    # Riemenschneider lists some chorales twice; each file is converted once
    assert len(m.duplicates) == 21
    assert load_manifest(out) == m


def test_chorale_splits_are_disjoint_and_match_corpus_files(chorales):
    out, m = chorales
    per_split = {s: corpus_files(out, s) for s in ("train", "validation", "test")}
    assert [len(v) for v in per_split.values()] == [3, 1, 1]
    names = [p.name for v in per_split.values() for p in v]
    assert len(set(names)) == 5
    assert sorted(corpus_files(out)) == sorted(out / e.midi for e in m.entries)
    assert [p.stem for p in per_split["train"]] == m.split_ids("train")


def test_essen_build_keeps_abc_text_and_rebuild_is_a_noop(tmp_path, monkeypatch):
    out = tmp_path / "essen"
    assert build_corpus("essen-folk", out_dir=out, limit=3, seed=2) == out
    m = load_manifest(out)
    assert [e.id for e in m.entries] == ["altdeu10_x1", "altdeu10_x2", "altdeu10_x3"]
    assert [e.source for e in m.entries] == [f"essenFolksong/altdeu10.abc#X:{i}" for i in (1, 2, 3)]
    assert m.entries[0].title == "Das Hildebrandslied"
    abc = (out / m.entries[0].abc).read_text(encoding="utf-8")
    assert abc.startswith("X:1\nT: Das Hildebrandslied\n") and "X:2" not in abc
    assert m.source["corpus_paths"] == ["essenFolksong/*.abc"] and m.limit == 3 and m.seed == 2
    before = (out / "manifest.json").read_bytes(), (out / "manifest.json").stat().st_mtime_ns

    midi_times = {e.midi: (out / e.midi).stat().st_mtime_ns for e in m.entries}

    def no_conversion(*args, **kwargs):
        raise AssertionError("a no-op rebuild converted a piece")

    with monkeypatch.context() as patch:  # the same build again lists and converts nothing
        patch.setattr(build, "convert_piece", no_conversion)
        patch.setattr(build, "build_from_sources", no_conversion)
        patch.setitem(CORPORA, "essen-folk", dataclasses.replace(CORPORA["essen-folk"], list_sources=no_conversion))
        assert build_corpus("essen-folk", out_dir=out, limit=3, seed=2) == out
    assert ((out / "manifest.json").read_bytes(), (out / "manifest.json").stat().st_mtime_ns) == before
    assert {e.midi: (out / e.midi).stat().st_mtime_ns for e in m.entries} == midi_times

    build_corpus("essen-folk", out_dir=out, limit=3, seed=5)  # another seed: rebuilt
    m5 = load_manifest(out)
    assert m5.seed == 5 and [e.id for e in m5.entries] == [e.id for e in m.entries]
    build_corpus("essen-folk", out_dir=out, limit=3, seed=5, force=True)
    assert load_manifest(out).created >= m5.created
    assert not list(tmp_path.glob(".*building*"))  # staging folder cleaned up


def test_parallel_build_gives_the_same_corpus(tmp_path):
    one = build_corpus("essen-folk", out_dir=tmp_path / "one", limit=4, seed=3)
    two = build_corpus("essen-folk", out_dir=tmp_path / "two", limit=4, seed=3, jobs=2)
    m1, m2 = load_manifest(one), load_manifest(two)
    assert m1.entries == m2.entries and len(m1.entries) == 4
    for e in m1.entries:
        assert (one / e.midi).read_bytes() == (two / e.midi).read_bytes()


def test_build_refuses_bad_input(tmp_path):
    with pytest.raises(DataError, match="unknown corpus 'jazz'.*bach-chorales"):
        build_corpus("jazz", out_dir=tmp_path / "x")
    with pytest.raises(DataError, match="limit must be a positive"):
        build_corpus("essen-folk", out_dir=tmp_path / "x", limit=0)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(DataError, match="not empty and holds no corpus manifest"):
        build_corpus("essen-folk", out_dir=tmp_path / "mine", limit=1)
    assert (tmp_path / "mine" / "keep.txt").read_text(encoding="utf-8") == "precious"


def _write_midi(path, pitches):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i, p in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(p), start=0.5 * i, end=0.5 * i + 0.5))
    pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))


def test_corpus_files_on_a_plain_midi_folder(tmp_path):
    _write_midi(tmp_path / "b.mid", np.arange(60, 64))
    _write_midi(tmp_path / "sub" / "a.MIDI", [67])
    _write_midi(tmp_path / "a.midi", [62])
    (tmp_path / "notes.txt").write_text("not midi", encoding="utf-8")
    files = corpus_files(tmp_path)
    assert files == [tmp_path / "a.midi", tmp_path / "b.mid", tmp_path / "sub" / "a.MIDI"]
    assert len(pretty_midi.PrettyMIDI(str(files[1])).instruments[0].notes) == 4
    assert len(corpus_files(tmp_path, "train")) == 1  # three pieces split 1/1/1, by piece with seed 0
    (tmp_path / "b.mid").unlink()
    with pytest.raises(DataError, match="no pieces in split 'validation'.*by piece, seed 0"):
        corpus_files(tmp_path, "validation")  # two pieces: both go to train


def test_plain_folder_is_split_by_piece_with_a_fixed_seed(tmp_path):
    for index in range(20):
        _write_midi(tmp_path / f"piece{index:02d}.mid", [60 + index % 12])
    splits, rule = corpus_splits(tmp_path)
    assert rule.startswith("by piece, seed 0")
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [16, 2, 2]
    assert sorted(p for files in splits.values() for p in files) == corpus_files(tmp_path)
    assert corpus_files(tmp_path, "train") == splits["train"]
    assert corpus_splits(tmp_path)[0] == splits  # the same split on every call


def test_plain_folder_with_split_subfolders_uses_them(tmp_path):
    _write_midi(tmp_path / "train" / "a.mid", [60])
    _write_midi(tmp_path / "train" / "deep" / "b.mid", [62])
    _write_midi(tmp_path / "test" / "c.mid", [64])
    splits, rule = corpus_splits(tmp_path)
    assert rule.startswith("sub-folders")
    assert splits == {"train": [tmp_path / "train" / "a.mid", tmp_path / "train" / "deep" / "b.mid"],
                      "validation": [], "test": [tmp_path / "test" / "c.mid"]}
    with pytest.raises(DataError, match="no pieces in split 'validation'"):
        corpus_files(tmp_path, "validation")


def test_corpus_files_errors(tmp_path):
    with pytest.raises(DataError, match=r"no MIDI files \(\*\.mid, \*\.midi\) found in"):
        corpus_files(tmp_path)
    with pytest.raises(DataError, match="does not exist; build it with `python -m data build bach-chorales`"):
        corpus_files(tmp_path / "bach-chorales")
    (tmp_path / "f.mid").write_bytes(b"")
    with pytest.raises(DataError, match="is a file, not a corpus folder"):
        corpus_files(tmp_path / "f.mid")
    with pytest.raises(DataError, match="unknown split 'dev'"):
        corpus_files(tmp_path, "dev")


def test_registry_names():
    assert list(CORPORA) == ["bach-chorales", "essen-folk", "abc-tunes", "palestrina"]
    assert all(spec.description and spec.corpus_paths for spec in CORPORA.values())
