"""Uploads within hard limits: zip members streamed (a header that lies about the size does not blow up
memory), bzip2/LZMA refused, same-name files kept apart, limits reported per file."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

from app_pages.uploads import extract_uploads
from tunelab import UploadLimits

MIDI = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _bomb(unpacked_mb: int, claimed: int = 1000, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip with one member of ``unpacked_mb`` MB of zeros whose headers claim ``claimed`` bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf, zf.open("set/bomb.mid", "w") as fp:
        chunk = bytes(2**20)
        for _ in range(unpacked_mb):
            fp.write(chunk)
    data = bytearray(buf.getvalue())
    # uncompressed size: local header at offset 22, central directory entry at offset 24
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<I", data, 22, claimed)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, claimed)
    return bytes(data)


def test_a_zip_that_lies_about_its_size_is_streamed_within_the_limits():
    bomb = _bomb(200)  # 200 MB of zeros in about 200 KB; the headers say 1000 bytes
    assert len(bomb) < 2**20
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:
        assert zf.infolist()[0].file_size == 1000  # what a size check before reading would trust
    tracemalloc.start()
    try:
        out = extract_uploads([("bomb.zip", bomb), ("ok.mid", MIDI)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MB while unpacking"  # never the 200 MB
    assert list(out.files) == ["ok.mid"]
    [(where, reason)] = out.problems
    assert where == "bomb.zip/set/bomb.mid" and "cannot be unpacked" in reason


def test_members_are_counted_as_they_unpack():
    limits = UploadLimits(max_files=10, max_file_bytes=1000, max_unpacked_bytes=2500)
    big = _zip({"a/big.mid": MIDI + bytes(5000), "a/one.mid": MIDI + bytes(900), "a/two.mid": MIDI + bytes(900),
                "a/three.mid": MIDI + bytes(900), "a/four.mid": MIDI})
    out = extract_uploads([("set.zip", big)], limits)
    assert sorted(out.files) == ["a/one.mid", "a/two.mid"]
    assert out.problems == [("set.zip/a/big.mid", "unpacks to more than the 0.000953674 MB limit per file"),
                            ("set.zip/a/three.mid", "the upload unpacks to more than 0.00238419 MB; this and the "
                                                    "remaining members are left out")]
    assert out.unpacked_bytes == 2 * len(MIDI + bytes(900))


def test_bzip2_and_lzma_members_are_refused_without_unpacking():
    out = extract_uploads([("bz.zip", _bomb(50, method=zipfile.ZIP_BZIP2)),
                           ("xz.zip", _zip({"x.mid": MIDI}, zipfile.ZIP_LZMA))])
    assert out.files == {}
    assert [p[0] for p in out.problems] == ["bz.zip/set/bomb.mid", "xz.zip/x.mid"]
    assert "compressed with bzip2" in out.problems[0][1] and "compressed with LZMA" in out.problems[1][1]


def test_same_names_are_kept_apart_and_reported():
    pack = _zip({"set/b.mid": MIDI + b"1", "other/b.mid": MIDI + b"2", "__MACOSX/set/._b.mid": b"junk",
                 "../../etc/evil.mid": MIDI + b"3", "readme.txt": b"x"})
    again = _zip({"set/b.mid": MIDI + b"4"})
    out = extract_uploads([("a.mid", MIDI + b"5"), ("pack.zip", pack), ("again.zip", again), ("A.MID", MIDI + b"6"),
                           ("notes.txt", b"x"), ("broken.zip", b"PK\x03\x04nope")])
    assert out.files == {"a.mid": MIDI + b"5", "set/b.mid": MIDI + b"1", "other/b.mid": MIDI + b"2",
                         "etc/evil.mid": MIDI + b"3", "set/b_2.mid": MIDI + b"4", "A_2.MID": MIDI + b"6"}
    assert out.renamed == [("set/b.mid", "set/b_2.mid"), ("A.MID", "A_2.MID")]
    assert [p[0] for p in out.problems] == ["notes.txt", "broken.zip"]
    assert "not a readable zip" in out.problems[1][1]


def test_too_many_files_and_too_big_files_are_reported():
    limits = UploadLimits(max_files=2, max_file_bytes=100, max_unpacked_bytes=10_000)
    out = extract_uploads([("a.mid", MIDI), ("huge.mid", MIDI + bytes(200)), ("b.mid", MIDI), ("c.mid", MIDI)],
                          limits)
    assert sorted(out.files) == ["a.mid", "b.mid"]
    assert out.problems == [("huge.mid", "0.0 MB is over the 9.53674e-05 MB limit per file"),
                            ("c.mid", "skipped: more than 2 MIDI files uploaded")]
