"""``python -m generation sample RUN --out DIR``: samples of a trained run written as MIDI (and ABC), each with
a JSON record of its tokens, log-likelihood and every setting.

Everything comes from the run folder: the checkpoint rebuilds the model and the fitted encoding; the
preprocessing of a primer is the run's. What starts a sample:

- a primer, ``Primer(path=FILE.mid | FILE.abc)`` or ``Primer(abc="...")``, read, preprocessed and encoded
  as the training pieces were (ABC text is parsed with music21 for the MIDI encodings; for ``abc-chars``
  its characters are the primer, without an end-of-tune symbol);
- else, for ``abc-chars``, the start-of-tune symbol; for the other encodings, the opening step of a
  training piece (``openings.npz`` of the run, drawn with the sampler's seed: a piece's first step is never
  predicted, so the model needs one to continue), or a silent/padding step for runs without openings.

Biaxial models read the note features of the frames drawn so far (:func:`generation.encodings.biaxial.
note_inputs`), from silence before the first step as in training; bar positions continue the primer's bars
(4/4 without a primer). Samples stop at the end-of-tune symbol (``abc-chars``: ``</s>``, ``folk-steps``:
``/``). Decoded samples with no notes (an ABC text music21 cannot parse, an all-silent roll) get a JSON
record but no MIDI file, and the summary says how many.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evaluation import MidiError, Piece, read_midi, write_midi
from generation.config import SampleConfig
from generation.encodings import Encoding, encoding_from_dict
from generation.errors import GenerationError

__all__ = ["Primer", "SampleRunResult", "SampledFile", "first_abc_tune", "head_temperature_tuple", "primer_piece",
           "sample_run"]

SUMMARY_FILE = "samples.json"


@dataclass(frozen=True)
class Primer:
    """Music a sample continues: a MIDI or ABC file (``path``), or ABC text (``abc``)."""

    path: Path | None = None
    abc: str | None = None

    def describe(self) -> str | None:
        if self.path is not None:
            return str(self.path)
        if self.abc is not None:
            return f"abc text ({len(self.abc)} characters)"
        return None


@dataclass(frozen=True)
class SampledFile:
    """One sample as written: its files and what the sampler says of it."""

    index: int
    json: Path
    midi: Path | None  # None when the decoded sample has no notes
    abc: Path | None  # abc-chars only
    log_likelihood: float  # nats, generated steps only, under the model (temperature 1)
    length: int  # generated steps
    stopped_at_end: bool
    notes: int
    abc_parses: bool | None  # abc-chars: did music21 parse the text
    repairs: dict[str, int]


@dataclass(frozen=True)
class SampleRunResult:
    out_dir: Path
    files: list[SampledFile]
    settings: dict[str, Any]
    abc_parse_share: float | None  # abc-chars: share of samples music21 parses
    summary: Path = field(default=Path())

    @property
    def midi_files(self) -> list[Path]:
        return [f.midi for f in self.files if f.midi is not None]


def _end_token(encoding: Encoding) -> int | None:
    from generation.encodings.abc_chars import END as ABC_END  # noqa: PLC0415
    from generation.encodings.folk_steps import END as SONG_END  # noqa: PLC0415

    symbol = {"abc-chars": ABC_END, "folk-steps": SONG_END}.get(encoding.kind)
    return None if symbol is None else encoding.vocabularies[encoding.streams[0]].id(symbol)


def primer_piece(primer: Primer, encoding: Encoding, preprocess: dict[str, Any]) -> Piece:
    from generation.abc import abc_to_piece  # noqa: PLC0415
    from generation.pipeline import preprocess_piece  # noqa: PLC0415
    from generation.prepare import preprocess_config  # noqa: PLC0415

    if primer.abc is not None:
        piece = abc_to_piece(primer.abc, "--primer-abc")
        name = "--primer-abc"
    elif primer.path.suffix.lower() == ".abc":
        piece = abc_to_piece(first_abc_tune(primer.path), str(primer.path))
        name = str(primer.path)
    else:
        try:
            piece = read_midi(primer.path)
        except MidiError as error:
            raise GenerationError(f"{error.path}: {error.reason}") from None
        name = str(primer.path)
    result = preprocess_piece(piece, preprocess_config(encoding, preprocess))
    if result.piece is None:
        raise GenerationError(f"primer {name}: {result.reason}")
    reason = encoding.unencodable(result.piece)
    if reason is not None:
        raise GenerationError(f"primer {name}: {reason}")
    return result.piece


def first_abc_tune(path: Path) -> str:
    from data.sources import split_abc_tunes  # noqa: PLC0415

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GenerationError(f"{path}: cannot read the ABC file ({error})") from None
    tunes = split_abc_tunes(text)
    return tunes[0][1] if tunes else text


def _abc_primer(primer: Primer, encoding: Encoding) -> np.ndarray:
    """abc-chars: the primer's characters after the start symbol, without an end symbol."""
    from generation.abc import normalise_tune  # noqa: PLC0415

    text = primer.abc if primer.abc is not None else first_abc_tune(primer.path)
    normal = normalise_tune(text)
    if not text.endswith("\n"):
        normal = normal.removesuffix("\n")  # a tune begun mid-line continues on that line
    if not normal:
        raise GenerationError(f"primer {primer.describe()}: no ABC music in it (only fields or comments)")
    from generation.encodings.abc_chars import START  # noqa: PLC0415

    vocabulary = encoding.vocabularies[encoding.streams[0]]
    return vocabulary.ids([START, *normal]).astype(np.int64)[:, None]  # no end symbol: the tune goes on


def _bar_steps(piece: Piece | None, step: float) -> int:
    length = 4.0
    if piece is not None:
        bars = piece.bar_starts(until=piece.duration + 16.0)
        if len(bars) >= 3:
            length = float(bars[2] - bars[1])
    return max(1, int(round(length / step)))


@dataclass(frozen=True)
class _Start:
    """What the sampler is primed with (output space), what of it is kept, and biaxial's bar positions."""

    steps: np.ndarray  # (T0, ...) shared or (n, T0, ...) per sample
    kept_from: int  # first primer step that belongs to the piece (biaxial's silent step is not)
    positions: np.ndarray | None = None  # biaxial: bar position of each primer step of the piece
    bar_steps: int = 16
    description: str | None = None
    openings: np.ndarray | None = None  # which opening (row of openings.npz) each sample starts from


def _to_output(encoding: Encoding, array: np.ndarray) -> np.ndarray:
    """Encoded rows -> the model's output space: token ids, 0/1 frames, biaxial (T, P, 2)."""
    kind = encoding.model_io().input_kind
    if kind == "biaxial":
        p = encoding.n_pitches
        return np.stack([array[..., :p], array[..., p:2 * p]], axis=-1).astype(np.float32)
    return array.astype(np.int64 if kind == "tokens" else np.float32)


def _start(encoding: Encoding, primer: Primer | None, preprocess: dict[str, Any], run_dir: Path,
           config: SampleConfig) -> _Start:
    from generation.runs import OPENINGS_FILE  # noqa: PLC0415

    kind = encoding.model_io().input_kind
    step = getattr(encoding.config, "step", 0.25)
    piece = None
    description = None
    if primer is not None and (primer.path is not None or primer.abc is not None):
        description = primer.describe()
        if primer.path is not None and not Path(primer.path).is_file():
            raise GenerationError(f"{primer.path}: no such primer file")
        if encoding.kind == "abc-chars":
            steps = _abc_primer(primer, encoding)
        else:
            piece = primer_piece(primer, encoding, preprocess)
            steps = encoding.encode(piece)
            if _end_token(encoding) is not None:
                steps = steps[:-1]
        if len(steps) == 0:
            raise GenerationError(f"primer {description}: it encodes to nothing")
        shared = True
    elif encoding.kind == "abc-chars":
        from generation.encodings.abc_chars import START  # noqa: PLC0415

        steps = np.array([[encoding.vocabularies[encoding.streams[0]].id(START)]], dtype=np.int64)
        shared, description = True, "start-of-tune symbol"
    elif (run_dir / OPENINGS_FILE).is_file():
        with np.load(run_dir / OPENINGS_FILE) as data:
            openings = data["openings"]
        chosen = np.random.default_rng(config.seed).integers(0, len(openings), size=config.n)
        steps, shared, description = openings[chosen][:, None], False, "opening step of a training piece"
    else:
        steps, shared = None, True
    if shared:
        chosen = None
    positions = None
    if kind == "biaxial":
        silence = np.zeros((1, encoding.n_pitches, 2), np.float32)
        if steps is None:
            return _Start(silence, 1, np.zeros(0, np.int64), _bar_steps(None, step), "silence")
        positions = np.asarray(steps[..., -1], dtype=np.int64)
        out = _to_output(encoding, steps)
        if shared:
            out = np.concatenate([silence, out])
        else:
            out = np.concatenate([np.broadcast_to(silence, (len(out), *silence.shape)), out], axis=1)
        return _Start(out, 1, positions, _bar_steps(piece, step), description, chosen)
    if steps is None:
        return _Start(np.zeros((0,)), 0, None, 16, None)
    return _Start(_to_output(encoding, steps), 0, None, 16, description, chosen)


def _biaxial_inputs(encoding: Encoding, start: _Start, config: SampleConfig
                    ) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """The sampler's ``next_inputs``: note features of the newest frame, for the step after it.

    :func:`generation.sample.sample` draws its batches in order and primes each from ``t = 0``, so a call
    with ``t == 0`` starts the next batch of ``config.batch_size`` samples (whose primers' bar positions
    apply)."""
    from generation.encodings.biaxial import note_inputs  # noqa: PLC0415

    positions = start.positions  # (T0,) shared or (n, T0) per sample: bar positions of the primer's steps
    bar = start.bar_steps
    low, bits = encoding.config.low, encoding.config.beat_bits
    batch = {"first": -config.batch_size}

    def position(j: int, rows: int) -> np.ndarray:
        """Bar position of piece step j (history row j + 1) for each sample of the current batch."""
        if positions is None or positions.size == 0:
            return np.full(rows, j % bar)
        table = positions[batch["first"]:batch["first"] + rows] if positions.ndim == 2 else \
            np.broadcast_to(positions, (rows, positions.shape[-1]))
        known = table.shape[1]
        if j < known:
            return table[:, j]
        return (table[:, -1] + (j - known + 1)) % bar

    def next_inputs(history: torch.Tensor, t: int) -> torch.Tensor:
        if t == 0:
            batch["first"] += config.batch_size
        before = history[:, -2].detach().cpu().numpy() if history.shape[1] > 1 else None
        previous = encoding.model_state(history[:, -1].detach().cpu().numpy(), before)
        features = note_inputs(previous, position(t, len(previous)), low, bits)  # row t + 1 = piece step t
        return torch.from_numpy(features).to(history.device)

    return next_inputs


def _frames_record(encoding: Encoding, steps: np.ndarray) -> list[Any]:
    low = encoding.config.low
    if steps.ndim == 3:  # biaxial
        play, articulate = encoding.states(steps)
        return [{"play": (np.flatnonzero(p) + low).tolist(), "articulate": (np.flatnonzero(a) + low).tolist()}
                for p, a in zip(play, articulate, strict=True)]
    return [(np.flatnonzero(s) + low).tolist() for s in steps]


def head_temperature_tuple(heads: tuple[str, ...], config: SampleConfig, given: dict[str, float]
                           ) -> tuple[float, ...]:
    """One temperature per head, in head order: ``given`` by name, else ``config``'s."""
    unknown = sorted(set(given) - set(heads))
    if unknown:
        raise GenerationError(f"this model has no {' or '.join(unknown)} head (its heads: {', '.join(heads)}); "
                              "--pitch-temperature and --duration-temperature apply to the notewise encodings")
    base = tuple(config.temperatures) or (config.temperature,) * len(heads)
    if len(base) == 1:
        base = base * len(heads)
    if len(base) != len(heads):
        raise GenerationError(f"--temperatures gives {len(base)} values for {len(heads)} heads ({', '.join(heads)})")
    return tuple(float(given.get(name, value)) for name, value in zip(heads, base, strict=True))


def sample_run(run_dir: Path | str, config: SampleConfig, out_dir: Path | str, primer: Primer | None = None, *,
               checkpoint: str = "best", prefix: str = "sample_", head_temperatures: dict[str, float] | None = None,
               progress: bool = False, on_step: Callable[[int, int], None] | None = None) -> SampleRunResult:
    """Draw ``config.n`` samples from the run in ``run_dir`` and write them to ``out_dir`` (module docstring).

    ``head_temperatures`` sets the temperature of named heads (``{"pitch": 0.8, "duration": 1.2}`` for the
    notewise encodings); the other heads keep ``config.temperature`` (or ``config.temperatures``).

    Raises GenerationError for a run folder without a usable checkpoint, a primer that cannot be read or
    encoded, or settings the model does not have (e.g. a duration temperature for a one-head model).
    """
    from generation.checkpoint import load_model  # noqa: PLC0415
    from generation.device import resolve_device  # noqa: PLC0415
    from generation.runs import prepare_options  # noqa: PLC0415
    from generation.sample import sample  # noqa: PLC0415

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if checkpoint not in ("best", "last"):
        raise GenerationError(f"checkpoint must be best or last, not {checkpoint!r}")
    if out_dir.exists() and not out_dir.is_dir():
        raise GenerationError(f"--out {out_dir} is a file; give a folder for the samples")
    model, ckpt = load_model(run_dir / f"{checkpoint}.pt", resolve_device(config.device))
    if ckpt.encoding is None:
        raise GenerationError(f"{ckpt.path}: the checkpoint holds no encoding, so its samples cannot be decoded")
    encoding = encoding_from_dict(ckpt.encoding)
    if head_temperatures:
        config = dataclasses.replace(config, temperatures=head_temperature_tuple(
            model.model_io.stream_names if model.model_io.input_kind == "tokens" else ("frame",), config,
            head_temperatures))
    _, preprocess = prepare_options(ckpt.config.encoding, ckpt.config.encoding_options)
    start = _start(encoding, primer, preprocess, run_dir, config)
    kind = encoding.model_io().input_kind
    next_inputs = _biaxial_inputs(encoding, start, config) if kind == "biaxial" else None
    result = sample(model, config, primer=start.steps if start.steps.size else None, end_token=_end_token(encoding),
                    next_inputs=next_inputs, progress=progress, on_step=on_step)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {**config.to_dict(), "run": str(run_dir), "checkpoint": checkpoint, "epoch": ckpt.epoch,
                "arch": ckpt.config.arch, "encoding": encoding.kind, "primer": start.description,
                "end_token": _end_token(encoding), "heads": list(model.model_io.stream_names)}
    files = []
    for i, generated in enumerate(result.sequences):
        if start.steps.size and config.keep_primer:
            primer_steps = start.steps if start.steps.ndim == generated.ndim else start.steps[i]
            whole = np.concatenate([primer_steps[start.kept_from:].astype(generated.dtype), generated])
        else:
            whole = generated
        decoded = encoding.decode_with_repairs(whole, tempo=config.tempo)
        stem = f"{prefix}{i:03d}"
        record: dict[str, Any] = {"index": i, "log_likelihood": float(result.log_likelihood[i]),
                                  "length": int(result.lengths[i]), "stopped_at_end": bool(result.stopped[i]),
                                  "notes": int(decoded.piece.n_notes), "repairs": decoded.repairs,
                                  "settings": settings}
        if start.openings is not None:
            record["opening"] = int(start.openings[i])  # row of the run's openings.npz it starts from
        if kind == "tokens":
            record["tokens"] = generated.tolist()
            vocabularies = [encoding.vocabularies[name] for name in encoding.streams]
            record["symbols"] = [[v.symbol(int(t)) for v, t in zip(vocabularies, row, strict=True)]
                                 for row in generated.tolist()]
        else:
            record["frames"] = _frames_record(encoding, generated)
        abc_path, parses = None, None
        if encoding.kind == "abc-chars":
            parses = not any("cannot parse" in key for key in decoded.repairs) and decoded.piece.n_notes > 0
            abc_path = out_dir / f"{stem}.abc"
            abc_path.write_text(f"X:{i + 1}\nT:{run_dir.name} sample {i}\n{decoded.text or ''}", encoding="utf-8")
            record["abc"], record["abc_parses"], record["text"] = abc_path.name, parses, decoded.text
        midi_path = None
        if decoded.piece.n_notes:
            midi_path = out_dir / f"{stem}.mid"
            write_midi(dataclasses.replace(decoded.piece, path=str(midi_path)), midi_path)
        record["midi"] = None if midi_path is None else midi_path.name
        json_path = out_dir / f"{stem}.json"
        json_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        files.append(SampledFile(index=i, json=json_path, midi=midi_path, abc=abc_path,
                                 log_likelihood=record["log_likelihood"], length=record["length"],
                                 stopped_at_end=record["stopped_at_end"], notes=record["notes"], abc_parses=parses,
                                 repairs=decoded.repairs))
    if on_step is not None:
        on_step(config.n * config.steps, config.n * config.steps)
    share = (sum(bool(f.abc_parses) for f in files) / len(files)) if encoding.kind == "abc-chars" else None
    summary = out_dir / SUMMARY_FILE
    summary.write_text(json.dumps({
        "settings": settings, "n": len(files), "midi_files": sum(f.midi is not None for f in files),
        "without_notes": [f.index for f in files if f.midi is None], "abc_parse_share": share,
        "mean_log_likelihood": float(np.mean(result.log_likelihood)) if files else None,
        "stopped_at_end": sum(f.stopped_at_end for f in files),
    }, indent=1) + "\n", encoding="utf-8")
    return SampleRunResult(out_dir=out_dir, files=files, settings=settings, abc_parse_share=share, summary=summary)
