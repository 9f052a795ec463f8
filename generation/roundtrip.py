"""``python -m generation roundtrip``: how much of a piece survives ``decode(encode(x))``.

Note matching (as ``mir_eval.transcription``, Raffel et al. 2014): a decoded note matches a reference note
of the same pitch whose onset is within ``onset_tolerance`` seconds (default 0.05 s, mir_eval's); each note
matches at most once (greedy in time order per pitch, which is a maximum matching for onsets alone). With
offsets, the ends must also be within ``max(0.05 s, 20 % of the reference note's length)`` (mir_eval's
offset rule). Precision = matched / decoded notes, recall = matched / reference notes, F1 their harmonic
mean, micro-averaged over the corpus (sums of counts); NaN when undefined.

Three comparisons per encoding (and per fs where it has one):

- **vs preprocessed**: decoded against the piece after the encoding's declared preprocessing (what its
  lossless claim is about; lossless encodings reach F1 = 1.0 here);
- **with offsets**: the same with the offset rule (what durations survive);
- **vs source**: decoded against the piece as read from the file (what preprocessing and encoding lose
  together; not given when the preprocessing transposes). For ``abc-chars``, "vs preprocessed" compares
  with the full tune text read by the same music21 reader and "vs source" with the corpus's MIDI (made by
  music21's MIDI writer when the corpus was built).

The encoding is fitted on every piece measured (no unknown symbols: this measures the representation, not
generalisation); beat-grid decodes use each piece's own tempo map, so seconds line up.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evaluation import MidiError, Piece, read_midi
from generation.corpus import corpus_sources, read_items
from generation.encodings import ENCODINGS, make_encoding
from generation.errors import GenerationError
from generation.pipeline import preprocess_piece
from generation.prepare import preprocess_config

__all__ = ["NoteScores", "RoundtripRow", "format_table", "match_notes", "roundtrip"]


@dataclass(frozen=True)
class NoteScores:
    """Counts of a note matching; precision, recall and F1 derive from them (NaN when undefined)."""

    n_reference: int = 0
    n_estimate: int = 0
    n_matched: int = 0

    def __add__(self, other: NoteScores) -> NoteScores:
        return NoteScores(self.n_reference + other.n_reference, self.n_estimate + other.n_estimate,
                          self.n_matched + other.n_matched)

    @property
    def precision(self) -> float:
        return self.n_matched / self.n_estimate if self.n_estimate else float("nan")

    @property
    def recall(self) -> float:
        return self.n_matched / self.n_reference if self.n_reference else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if np.isnan(p) or np.isnan(r):
            return float("nan")
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": _round(self.precision), "recall": _round(self.recall),
                "f1": _round(self.f1)}


def _round(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)


def match_notes(reference: Piece, estimate: Piece, onset_tolerance: float = 0.05, offsets: bool = False,
                offset_ratio: float = 0.2, offset_min: float = 0.05) -> NoteScores:
    """Match the pitched notes of ``estimate`` to those of ``reference`` (module docstring; seconds)."""
    ref, est = reference.pitched(), estimate.pitched()
    matched = 0
    for pitch in np.intersect1d(ref.pitch, est.pitch):
        r = np.flatnonzero(ref.pitch == pitch)
        e = np.flatnonzero(est.pitch == pitch)
        r_on, r_off = ref.start_seconds[r], ref.end_seconds[r]
        e_on, e_off = est.start_seconds[e], est.end_seconds[e]
        r, e = np.argsort(r_on, kind="stable"), np.argsort(e_on, kind="stable")
        r_on, r_off, e_on, e_off = r_on[r], r_off[r], e_on[e], e_off[e]
        if not offsets:
            i = j = 0
            while i < len(r_on) and j < len(e_on):
                if abs(r_on[i] - e_on[j]) <= onset_tolerance + 1e-9:
                    matched += 1
                    i += 1
                    j += 1
                elif r_on[i] < e_on[j]:
                    i += 1
                else:
                    j += 1
            continue
        used = np.zeros(len(e_on), dtype=bool)
        for i in range(len(r_on)):
            window = max(offset_min, offset_ratio * (r_off[i] - r_on[i])) + 1e-9
            near = np.flatnonzero(~used & (np.abs(e_on - r_on[i]) <= onset_tolerance + 1e-9)
                                  & (np.abs(e_off - r_off[i]) <= window))
            if near.size:
                used[near[0]] = True
                matched += 1
    return NoteScores(ref.n_notes, est.n_notes, matched)


@dataclass(frozen=True)
class RoundtripRow:
    """The round trip of one encoding (one setting) over a corpus."""

    encoding: str
    setting: str
    pieces: int
    skipped: int
    preprocessing: str
    vs_preprocessed: NoteScores
    with_offsets: NoteScores
    vs_source: NoteScores | None
    repairs: int
    seconds: float
    fidelity: str
    parse_share: float | None = None  # abc-chars: share of tunes whose normal form music21 parses
    exact_text_share: float | None = None  # abc-chars: decoded text identical to the normal form

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("vs_preprocessed", "with_offsets", "vs_source"):
            value = getattr(self, key)
            out[key] = value.to_dict() if value is not None else None
        return out


def _pieces(corpus: Path, encoding, overrides: dict[str, Any], limit: int | None, progress: bool):
    """(id, source piece, preprocessed piece) of every usable piece, and the number skipped."""
    config = preprocess_config(encoding, overrides)
    sources = corpus_sources(corpus, "midi", limit)
    kept, skipped = [], 0
    for source in tqdm(read_items(sources), total=sources.count(), desc="reading", unit="piece",
                       disable=not progress, dynamic_ncols=True):
        if source.item is None:
            skipped += 1
            continue
        result = preprocess_piece(source.item, config)
        if result.piece is None or encoding.unencodable(result.piece) is not None:
            skipped += 1
            continue
        kept.append((source.id, source.item, result.piece))
    return kept, skipped, config


def _midi_row(corpus, name, options, overrides, tolerance, limit, progress) -> RoundtripRow:
    clock = time.perf_counter()
    encoding = make_encoding(name, **options)
    kept, skipped, config = _pieces(corpus, encoding, overrides, limit, progress)
    if not kept:
        raise GenerationError(f"no usable piece in {corpus} for {name}: all {skipped} skipped")
    encoding.fit(piece for _, _, piece in kept)
    total, offsets, source_total, repairs = NoteScores(), NoteScores(), NoteScores(), 0
    for _, source, piece in tqdm(kept, desc=f"round trip {name}", unit="piece", disable=not progress,
                                 dynamic_ncols=True):
        decoded = encoding.decode_with_repairs(encoding.encode(piece), tempo=piece.tempos)
        repairs += decoded.n_repairs
        total += match_notes(piece, decoded.piece, tolerance)
        offsets += match_notes(piece, decoded.piece, tolerance, offsets=True)
        source_total += match_notes(source.pitched(), decoded.piece, tolerance)
    return RoundtripRow(name, encoding.describe(), len(kept), skipped, config.describe(), total, offsets,
                        None if config.transpose else source_total, repairs, time.perf_counter() - clock,
                        encoding.fidelity)


def _abc_row(corpus, options, tolerance, limit, progress) -> RoundtripRow:
    from generation.abc import abc_to_piece  # noqa: PLC0415

    clock = time.perf_counter()
    encoding = make_encoding("abc-chars", **options)
    sources = corpus_sources(corpus, "abc", limit)
    tunes = [source.item for source in read_items(sources) if encoding.unencodable(source.item) is None]
    if not tunes:
        raise GenerationError(f"no ABC tune with music in {corpus}")
    encoding.fit(tunes)
    total, offsets, source_total, repairs = NoteScores(), NoteScores(), NoteScores(), 0
    parsed = exact = skipped = 0
    for tune in tqdm(tunes, desc="round trip abc-chars", unit="tune", disable=not progress, dynamic_ncols=True):
        decoded = encoding.decode_with_repairs(encoding.encode(tune))
        exact += decoded.text == encoding.text_of(tune)
        repairs += decoded.n_repairs
        if decoded.piece.n_notes == 0:
            skipped += 1
            continue
        parsed += 1
        try:
            full = abc_to_piece(tune.text, tune.id)
        except GenerationError:
            full = None
        if full is not None:
            total += match_notes(full, decoded.piece, tolerance)
            offsets += match_notes(full, decoded.piece, tolerance, offsets=True)
        if tune.midi:
            try:
                source_total += match_notes(read_midi(tune.midi), decoded.piece, tolerance)
            except MidiError:
                pass
    return RoundtripRow("abc-chars", encoding.describe(), parsed, skipped, "normal form of the tune text", total,
                        offsets, source_total if source_total.n_reference else None, repairs,
                        time.perf_counter() - clock, encoding.fidelity, parse_share=parsed / len(tunes),
                        exact_text_share=exact / len(tunes))


def roundtrip(corpus: Path, encoding: str, *, options: dict[str, Any] | None = None,
              preprocess: dict[str, Any] | None = None, fs_values: list[float] | None = None,
              tolerance: float = 0.05, limit: int | None = None, progress: bool = True) -> list[RoundtripRow]:
    """Round-trip scores of ``encoding`` ("all" for every MIDI encoding) on ``corpus``, one row per fs in
    ``fs_values`` for encodings that have an fs option (pianoroll-tokens, multilabel; with "all", multilabel
    also gets its row on the default beat grid)."""
    options, preprocess = dict(options or {}), dict(preprocess or {})
    names = [name for name, cls in ENCODINGS.items() if cls.source == "midi"] if encoding == "all" else [encoding]
    rows = []
    for name in names:
        if name not in ENCODINGS:
            make_encoding(name)  # raises the unknown-encoding error
        cls = ENCODINGS[name]
        usable = {key: value for key, value in options.items() if key in cls.option_fields} \
            if encoding == "all" else options
        if cls.source == "abc":
            if any(value is not None for value in preprocess.values()):
                preprocess_config(make_encoding(name), preprocess)  # raises: text takes no preprocessing
            rows.append(_abc_row(corpus, usable, tolerance, limit, progress))
            continue
        if fs_values and "fs" in cls.option_fields:
            if encoding == "all" and getattr(cls.config_class(), "fs", None) is None:  # fs is an alternative grid
                rows.append(_midi_row(corpus, name, usable, preprocess, tolerance, limit, progress))
            for fs in fs_values:
                rows.append(_midi_row(corpus, name, {**usable, "fs": fs}, preprocess, tolerance, limit, progress))
        elif fs_values and encoding != "all":
            raise GenerationError(f"--fs does not apply to {name} (it has no frames per second); encodings with fs: "
                                  + ", ".join(n for n, c in ENCODINGS.items() if "fs" in c.option_fields))
        else:
            rows.append(_midi_row(corpus, name, usable, preprocess, tolerance, limit, progress))
    return rows


def _cell(value: float | None) -> str:
    return "n/a" if value is None or np.isnan(value) else f"{value:.4f}"


def format_table(rows: list[RoundtripRow], tolerance: float) -> str:
    """The rows as a text table, with the matching rule and each encoding's stated loss."""
    header = ("encoding", "setting", "pieces", "skip", "P", "R", "F1", "F1+off", "F1 src", "repairs", "s")
    lines = [header]
    for row in rows:
        lines.append((row.encoding, row.setting, str(row.pieces), str(row.skipped),
                      _cell(row.vs_preprocessed.precision), _cell(row.vs_preprocessed.recall),
                      _cell(row.vs_preprocessed.f1), _cell(row.with_offsets.f1),
                      _cell(row.vs_source.f1 if row.vs_source else None), str(row.repairs), f"{row.seconds:.1f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    text.append("")
    text.append(f"P, R, F1: decoded vs the preprocessed piece, onset within {tolerance * 1000:g} ms and pitch exact; "
                "F1+off: ends too (mir_eval's offset rule); F1 src: vs the piece as read from the file.")
    for row in rows:
        extra = ""
        if row.parse_share is not None:
            extra = (f"; music21 parses {row.parse_share:.1%} of the tunes, decoded text identical to the normal form "
                     f"in {row.exact_text_share:.1%}")
        text.append(f"{row.encoding} ({row.setting}): preprocessing {row.preprocessing}; {row.fidelity}{extra}")
    return "\n".join(text)
