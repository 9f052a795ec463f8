from __future__ import annotations

from data.sources import abc_book_sources, abc_title, safe_id, split_abc_tunes

BOOK = """% a tune book
L:1/8

X:1
T:First Tune
M:2/4
K:G
GABc|d2d2|

% comment between tunes
X:2
T:Second Tune
T:alternative title
K:D
DEFG|A4|
X:2
T:Repeated number
K:C
CDEF|G4|
"""


def test_split_abc_tunes_by_hand():
    tunes = split_abc_tunes(BOOK)
    assert [n for n, _ in tunes] == ["1", "2", "2"]
    first = tunes[0][1]
    # the header field L:1/8 is copied after X: (ABC 2.1 file header), the header comment is not
    assert first.splitlines()[:3] == ["X:1", "L:1/8", "T:First Tune"]
    assert "% a tune book" not in first
    assert first.endswith("% comment between tunes\n")  # text up to the next X: belongs to the tune
    assert tunes[1][1].startswith("X:2\nL:1/8\nT:Second Tune")
    assert abc_title(tunes[1][1]) == "Second Tune"


def test_split_abc_tunes_without_header_and_crlf():
    tunes = split_abc_tunes("X:5\r\nT:Only\r\nK:C\r\nC4|\r\n")
    assert tunes == [("5", "X:5\nT:Only\nK:C\nC4|\n")]
    assert split_abc_tunes("% nothing here\n") == []


def test_abc_book_sources_ids_titles_and_labels(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "my book.abc").write_text(BOOK, encoding="utf-8")
    (tmp_path / "book" / "single.abc").write_text("X:9\nT:Alone\nK:C\nC4|\n", encoding="utf-8")
    files = sorted((tmp_path / "book").glob("*.abc"))
    src = abc_book_sources(files, tmp_path, prefix="col_")
    assert [s.id for s in src] == ["col_my_book_x1", "col_my_book_x2", "col_my_book_x2-2", "col_single"]
    assert [s.source for s in src] == [
        "book/my book.abc#X:1",
        "book/my book.abc#X:2",
        "book/my book.abc#X:2",
        "book/single.abc#X:9",
    ]
    assert [s.title for s in src] == ["First Tune", "Second Tune", "Repeated number", "Alone"]
    assert src[3].text == "X:9\nT:Alone\nK:C\nC4|\n"


def test_safe_id():
    assert safe_id("bach/bwv 153.1") == "bach_bwv_153.1"
    assert safe_id("///") == "piece"


def test_chorale_sources_when_the_virtualenv_is_reached_through_a_symbolic_link(tmp_path, monkeypatch):
    # music21 resolves its own paths (corpus.getWork gives /real/.../bwv18.5-l.mxl) while a virtualenv reached
    # through a link gives /link/...: the corpus labels must not depend on which one a path came from
    from data import sources

    real = sources.music21_corpus_dir()
    link = tmp_path / "venv-link"
    link.symlink_to(real, target_is_directory=True)
    monkeypatch.setattr(sources, "music21_corpus_dir", lambda: link)
    found, _ = sources.bach_chorale_sources()
    labels = {s.id: s.source for s in found}
    assert labels["bwv18.5-lz"] == "bach/bwv18.5-lz.mxl"  # 'bach/bwv18.5-l': the one music21 has to look up
    assert len(found) == 350 and all(s.source.startswith("bach/") for s in found)
    assert sources.corpus_relative(link / "bach" / "bwv269.mxl", real) == "bach/bwv269.mxl"
    assert sources.corpus_relative(real / "bach" / "bwv269.mxl", link) == "bach/bwv269.mxl"
    assert sources.palestrina_sources()[0][0].source.startswith("palestrina/")
