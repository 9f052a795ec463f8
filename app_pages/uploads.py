"""Uploaded MIDI files and zips of them, unpacked within hard limits (no Streamlit here: testable).

Limits come from :class:`tunelab.UploadLimits` (files per upload, bytes per file, bytes unpacked in all).
Zip members are streamed in 64 KiB chunks and counted as they come out of the decompressor: the sizes
written in a zip's headers are never trusted (a 1.6 MB zip whose header claims a small size can inflate to
gigabytes). Only stored and deflated members are read (what every zip tool writes by default); bzip2 and
LZMA members are refused, because Python's zipfile decompresses those in unbounded steps. Two files that
would get the same name (in one zip, in two zips, or uploaded twice) are both kept: the later one is renamed
and the rename is reported.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tunelab import UploadLimits, is_midi_name

CHUNK_BYTES = 64 * 1024
READABLE = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64"}


@dataclass
class Unpacked:
    """What came out of one upload: MIDI bytes by unique name, problems, renames."""

    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (name, what is wrong)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (name given, name kept)
    unpacked_bytes: int = 0


class _TooBig(Exception):
    pass


def _member_name(filename: str) -> str | None:
    """A zip member's path without leading slashes, ``..`` or empty parts; None for macOS resource forks."""
    parts = [p for p in PurePosixPath(filename.replace("\\", "/")).parts if p not in ("", "/", ".", "..")]
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return None
    return "/".join(parts)


def _unique(name: str, taken: dict[str, bytes]) -> str:
    path = PurePosixPath(name)
    lowered = {t.lower() for t in taken}
    candidate, k = name, 1
    while candidate.lower() in lowered:
        k += 1
        candidate = str(path.with_name(f"{path.stem}_{k}{path.suffix}"))
    return candidate


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, streamed; raises _TooBig once more than ``limit`` bytes came out."""
    parts, size = [], 0
    with zf.open(info) as fp:
        while chunk := fp.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise _TooBig
            parts.append(chunk)
    return b"".join(parts)


def extract_uploads(files: list[tuple[str, bytes]], limits: UploadLimits | None = None) -> Unpacked:
    """Upload list ``(name, bytes)`` → :class:`Unpacked`.

    MIDI files are taken as they are; zips are opened in memory and their ``.mid``/``.midi`` members taken
    (folders kept in the name), other members skipped silently. A file over ``limits.max_file_bytes``, a
    member over it, members beyond ``limits.max_unpacked_bytes`` in all, or files beyond
    ``limits.max_files`` are reported and left out; the rest is kept.
    """
    limits = limits or UploadLimits()
    out = Unpacked()
    file_mb, total_mb = limits.max_file_bytes / 2**20, limits.max_unpacked_bytes / 2**20

    def add(name: str, data: bytes) -> None:
        if len(out.files) >= limits.max_files:
            out.problems.append((name, f"skipped: more than {limits.max_files} MIDI files uploaded"))
            return
        kept = _unique(name, out.files)
        if kept != name:
            out.renamed.append((name, kept))
        out.files[kept] = data

    for name, data in files:
        suffix = PurePosixPath(name).suffix.lower()
        if is_midi_name(name):
            if len(data) > limits.max_file_bytes:
                out.problems.append((name, f"{len(data) / 2**20:.1f} MB is over the {file_mb:g} MB limit per file"))
            else:
                add(PurePosixPath(name).name, data)
            continue
        if suffix != ".zip":
            out.problems.append((name, "not a .mid, .midi or .zip file"))
            continue
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            out.problems.append((name, f"not a readable zip file ({exc})"))
            continue
        with zf:
            members = [(m, _member_name(m.filename)) for m in zf.infolist() if not m.is_dir()]
            members = [(m, inner) for m, inner in members if inner is not None and is_midi_name(inner)]
            if not members:
                out.problems.append((name, "the zip holds no .mid/.midi files"))
            for info, inner in members:
                where = f"{name}/{inner}"
                if len(out.files) >= limits.max_files:
                    out.problems.append((where, f"skipped: more than {limits.max_files} MIDI files uploaded"))
                    continue
                if info.compress_type not in READABLE:
                    method = METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
                    out.problems.append((where, f"compressed with {method}; only stored or deflate members are "
                                                "read (re-zip it with default settings)"))
                    continue
                room = limits.max_unpacked_bytes - out.unpacked_bytes
                try:
                    member = _read_member(zf, info, min(limits.max_file_bytes, room))
                except _TooBig:
                    if room < limits.max_file_bytes:
                        out.problems.append((where, f"the upload unpacks to more than {total_mb:g} MB; this and the "
                                                    "remaining members are left out"))
                        break
                    out.problems.append((where, f"unpacks to more than the {file_mb:g} MB limit per file"))
                    continue
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
                    out.problems.append((where, f"cannot be unpacked ({exc}); the zip is corrupt or encrypted"))
                    continue
                out.unpacked_bytes += len(member)
                add(inner, member)
    return out
