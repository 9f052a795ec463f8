"""``python -m generation evaluate RUN --corpus DIR``: a trained run scored on a corpus split, beside the
trivial baselines and (for the chorale benchmark) the published JSB figures.

The split is read and encoded with the run's own fitted encoding and preprocessing (a checkpoint rebuilds
both), so token ids keep the training vocabulary. What is scored:

- Piano-roll encodings (multilabel, biaxial): the frame-level NLL of Boulanger-Lewandowski et al. (2012):
  per predicted frame, the sum of the per-key Bernoulli terms in nats, averaged over all predicted frames;
  the first frame of each piece is not predicted. Recurrent models read each piece whole, from a zero
  state (pieces longer than ``EVAL_MAX_STEPS`` are read in consecutive chunks); models that predict from a
  window (Bi-LSTM, CNN-LSTM) read the ``window`` steps before each frame, left-padded at a piece's start.
  Biaxial's ``frame_nll`` is the NLL of the whole frame, play and articulation: the proper likelihood of its
  chain and an upper bound on the NLL of the play roll alone (its ``play_nll`` conditions each note on the
  lower notes' articulation as well, so it is not a likelihood of the roll). A play-only biaxial model
  (``--play-only``) predicts the roll alone: its ``frame_nll`` is the roll's, as the baselines'.
- Token encodings: per-token NLL and accuracy per head over every target of the split (the first token of
  a piece is not predicted), ``token_nll`` = the sum over heads.
- Baselines fitted on the corpus's training split (encoded the same way; no augmentation) and scored on the
  same targets: 88 ln 2 (uniform), the independent Bernoulli per key, and the Markov chord chain
  (:func:`generation.baselines.markov_frame_scores`) for piano rolls; unigram, bigram (the Markov chain over
  tokens) and trigram (Witten-Bell) per head for tokens.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from generation.config import TrainConfig
from generation.datasets import WindowDataset
from generation.encodings import Encoding, encoding_from_dict
from generation.errors import GenerationError
from generation.models.io import IGNORE_INDEX

__all__ = ["PUBLISHED_JSB", "RunEvaluation", "evaluate_run", "format_evaluation", "scoring_windows"]

EVAL_MAX_STEPS = 2048  # longest stretch a recurrent model reads at once in evaluation
EVAL_STEPS_PER_BATCH = 1 << 16  # steps (x notes, for biaxial: 1 << 17 note-steps) per evaluation batch
PUBLISHED_JSB = {  # frame NLL, nats per frame, on Boulanger-Lewandowski et al.'s JSB chorale split
    "RNN (Chung et al. 2014)": 8.71,
    "LSTM (Chung et al. 2014)": 8.67,
    "LSTM (Bai et al. 2018)": 8.45,
    "TCN (Bai et al. 2018)": 8.10,
    "RNN-NADE (Boulanger-Lewandowski et al. 2012)": 5.19,
}
JSB_SPLIT = ("the JSB chorale split of Boulanger-Lewandowski et al. (2012): 229 train / 76 validation / 77 test "
             "chorales, all transposed to C major or C minor")


class FirstFrameMasked(Dataset):
    """Windows of a biaxial :class:`WindowDataset` with the target of each piece's first step set to
    ``IGNORE_INDEX``: the protocol does not predict the first frame (biaxial's windows do, from silence)."""

    def __init__(self, windows: WindowDataset) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.windows[index]
        _, start = self.windows.window_of(index)
        if start == 0:
            targets = item["targets"].clone()
            targets[0] = IGNORE_INDEX
            item = {"inputs": item["inputs"], "targets": targets}
        return item


def _cells(encoding: Encoding) -> int:
    io = encoding.model_io()
    return io.n_pitches if io.input_kind == "biaxial" else 1


def scoring_windows(encoding: Encoding, sequences: list[np.ndarray], config: TrainConfig
                    ) -> tuple[Dataset, int]:
    """The windows a run is scored on, and a batch size for them (see the module docstring)."""
    if not sequences:
        raise GenerationError("nothing to score: the split holds no usable piece")
    if config.mode == "many-to-one":
        windows = WindowDataset(encoding, sequences, config.window, "many-to-one", stride=1, pad=True)
        length = config.window
    else:
        if config.arch == "transformer":  # attention is trained over `window` steps: read chunks of it
            length = config.window
        else:
            length = max(1, min(max(encoding.n_steps(s) for s in sequences), EVAL_MAX_STEPS))
        windows = WindowDataset(encoding, sequences, length, "many-to-many", stride=length, pad=True)
    budget = EVAL_STEPS_PER_BATCH * (2 if encoding.model_io().input_kind == "biaxial" else 1)
    batch = max(1, min(64, budget // (length * _cells(encoding))))
    if encoding.model_io().input_kind == "biaxial":
        return FirstFrameMasked(windows), batch
    return windows, batch


def _rolls(encoding: Encoding, sequences: list[np.ndarray]) -> list[np.ndarray]:
    """The piano roll (N, P) of each sequence: multilabel frames, biaxial's play columns."""
    io = encoding.model_io()
    if io.input_kind == "biaxial":
        return [np.asarray(s)[:, :io.n_pitches] for s in sequences]
    return [np.asarray(s) for s in sequences]


@dataclass(frozen=True)
class RunEvaluation:
    """A run scored on a split (``to_dict`` is what ``evaluate --json`` prints)."""

    run: str
    checkpoint: str
    epoch: int
    arch: str
    encoding: str
    corpus: str
    split: str
    pieces: int
    dropped: int
    model: dict[str, float]
    baselines: dict[str, dict[str, float]]
    protocol: str
    published: dict[str, float] | None = None
    protocol_difference: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.model, "baselines": self.baselines, "protocol": self.protocol, "published": self.published,
                "protocol_difference": self.protocol_difference, "run": self.run, "checkpoint": self.checkpoint,
                "epoch": self.epoch, "arch": self.arch, "encoding": self.encoding, "corpus": self.corpus,
                "split": self.split, "pieces": self.pieces, "dropped": self.dropped, "notes": self.notes}


def _protocol_difference(encoding: Encoding, preprocess: dict[str, Any], corpus: Path, rule: str) -> str | None:
    config = encoding.config
    step = getattr(config, "step", None)
    if getattr(config, "fs", None) or step != 1.0 or (config.low, config.high) != (21, 108):
        return None
    keys = {"c-major-c-minor": "transposed to C major / C minor as there",
            "c-major-a-minor": "transposed to C major / A minor (JSB uses C major / C minor)"}.get(
        str(preprocess.get("transpose")), "in their written keys (JSB is transposed to C major / C minor)")
    return (f"Same protocol as the published figures (frames at quarter notes, 88 keys, nats per predicted frame), "
            f"but they are measured on {JSB_SPLIT}; here the pieces are those of {corpus} ({rule}), {keys}, so "
            "compare the protocol and the baselines, not the exact numbers.")


def evaluate_run(run_dir: Path | str, corpus: Path | str, split: str = "test", *, checkpoint: str = "best",
                 limit: int | None = None, device: str = "auto", baselines: bool = True, save: bool = True,
                 progress: bool = False) -> RunEvaluation:
    """Score the run in ``run_dir`` on ``split`` ("train", "validation", "test" or "all") of ``corpus``.

    With ``save``, the result goes to ``run_dir/evaluation-<split>.json`` (what the app lists).
    """
    from generation.checkpoint import load_model  # noqa: PLC0415
    from generation.device import resolve_device  # noqa: PLC0415
    from generation.evaluate import baseline_scores, bernoulli_fit, dataset_frames, evaluate_model  # noqa: PLC0415
    from generation.prepare import encode_split  # noqa: PLC0415
    from generation.runs import prepare_options  # noqa: PLC0415

    run_dir, corpus = Path(run_dir), Path(corpus)
    if checkpoint not in ("best", "last"):
        raise GenerationError(f"checkpoint must be best or last, not {checkpoint!r}")
    target = resolve_device(device)
    model, ckpt = load_model(run_dir / f"{checkpoint}.pt", target)
    if ckpt.encoding is None:
        raise GenerationError(f"{ckpt.path}: the checkpoint holds no encoding (it was not trained from a corpus), "
                              "so the corpus cannot be encoded for it")
    encoding = encoding_from_dict(ckpt.encoding)
    config = ckpt.config
    _, preprocess = prepare_options(config.encoding, config.encoding_options)
    chosen = encode_split(corpus, encoding, None if split == "all" else split, preprocess, limit=limit,
                          progress=progress)
    if not chosen.sequences:
        reasons = "; ".join(sorted({entry["reason"] for entry in chosen.dropped})[:3]) or "the split is empty"
        raise GenerationError(f"{corpus}: no usable piece in the {split} split for {encoding.kind} "
                              f"({chosen.listed} listed; {reasons})")
    eval_set, batch = scoring_windows(encoding, chosen.sequences, config)
    metrics = evaluate_model(model, eval_set, batch_size=batch, device=target)
    io = encoding.model_io()
    notes: list[str] = []
    scores: dict[str, dict[str, float]] = {}
    if baselines:
        train = chosen if split == "train" else encode_split(corpus, encoding, "train", preprocess, limit=limit,
                                                             progress=progress)
        if not train.sequences:
            notes.append("no training piece in this corpus: baselines other than the uniform model skipped")
        else:
            many = TrainConfig(arch="lstm", mode="many-to-many")  # whole pieces: every target of the split once
            train_set, _ = scoring_windows(encoding, train.sequences, many)
            scored_set = eval_set if config.mode == "many-to-many" and config.arch != "transformer" else \
                scoring_windows(encoding, chosen.sequences, many)[0]
            if io.input_kind == "tokens":
                scores = baseline_scores(io, train_set, scored_set, order=3)
                scores = {"unigram": scores["unigram"], "2-gram": baseline_scores(io, train_set, scored_set,
                                                                                  order=2)["2-gram"],
                          "3-gram": scores["3-gram"]}
            else:
                from generation.baselines import markov_frame_scores  # noqa: PLC0415

                scores = baseline_scores(io, train_set, scored_set)
                key_probs = bernoulli_fit(dataset_frames(train_set))
                scores["markov-chord"] = markov_frame_scores(_rolls(encoding, train.sequences),
                                                             _rolls(encoding, chosen.sequences), key_probs).to_dict()
    if io.input_kind != "tokens" and not scores:
        from generation.evaluate import uniform_frame_nll  # noqa: PLC0415

        scores = {"uniform": {"frame_nll": uniform_frame_nll(io.n_pitches)}}
    if io.input_kind == "tokens":
        protocol = ("per-token NLL (nats) and accuracy (argmax = target) per head over every target of the split; "
                    "token_nll = the sum over heads; the first token of each piece is not predicted")
    else:
        protocol = ("frame-level NLL (Boulanger-Lewandowski et al. 2012): sum of the per-key Bernoulli NLLs of a "
                    "frame, nats, averaged over all predicted frames (the first frame of each piece not predicted); "
                    "frame_accuracy = expected TP / (TP + FP + FN) over all frames")
        if io.input_kind == "biaxial" and not io.articulation:
            protocol += "; biaxial play only: frame_nll is the NLL of the play roll, as the baselines'"
        elif io.input_kind == "biaxial":
            protocol += ("; biaxial frame_nll covers play and articulation (an upper bound on the play roll's "
                         "NLL; the baselines model the play roll alone)")
    difference = _protocol_difference(encoding, preprocess, corpus, chosen.rule) if io.input_kind != "tokens" \
        else None
    result = RunEvaluation(run=str(run_dir), checkpoint=checkpoint, epoch=ckpt.epoch, arch=config.arch,
                           encoding=encoding.kind, corpus=str(corpus), split=split, pieces=len(chosen.sequences),
                           dropped=len(chosen.dropped), model=metrics, baselines=scores, protocol=protocol,
                           published=dict(PUBLISHED_JSB) if difference else None, protocol_difference=difference,
                           notes=notes)
    if save:
        path = run_dir / f"evaluation-{split}.json"
        path.write_text(json.dumps(result.to_dict(), indent=1, allow_nan=True) + "\n", encoding="utf-8")
    return result


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_evaluation(result: RunEvaluation) -> str:
    """The text ``evaluate`` prints: the model and the baselines in one table, then the protocol."""
    model = result.model
    lines = [f"{result.run} ({result.arch} on {result.encoding}, {result.checkpoint}.pt of epoch {result.epoch}) "
             f"on {result.corpus}, split {result.split}: {result.pieces} pieces"
             + (f" ({result.dropped} skipped)" if result.dropped else "")]
    if "frame_nll" in model:
        lines.append(f"{'':28}{'frame NLL (nats/frame)':>24}{'frame accuracy':>16}{'frames':>9}")
        lines.append(f"{'model: ' + result.arch:28}{_number(model['frame_nll']):>24}"
                     f"{_number(model['frame_accuracy']):>16}{int(model['n_frames']):>9}")
        if "play_nll" in model:
            lines.append(f"{'  (play terms alone)':28}{_number(model['play_nll']):>24}")
        names = {"uniform": "uniform (P ln 2)", "independent-bernoulli": "independent Bernoulli",
                 "markov-chord": "Markov chord chain"}
        for key, scores in result.baselines.items():
            frames = scores.get("n_frames")
            lines.append(f"{names.get(key, key):28}{_number(scores.get('frame_nll')):>24}"
                         f"{_number(scores.get('frame_accuracy')):>16}{'' if frames is None else int(frames):>9}")
        if result.published:
            lines.append("published JSB figures (nats/frame): "
                         + ", ".join(f"{name} {value:.2f}" for name, value in result.published.items()))
    else:
        heads = [key.removesuffix("_accuracy") for key in model if key.endswith("_accuracy") and key != "accuracy"]
        header = "".join(f"{head + ' NLL':>14}{head + ' acc':>12}" for head in heads)
        lines.append(f"{'':22}{'token NLL':>12}{header}{'tokens':>9}")
        row = "".join(f"{_number(model[f'{h}_nll']):>14}{_number(model[f'{h}_accuracy']):>12}" for h in heads)
        lines.append(f"{'model: ' + result.arch:22}{_number(model['token_nll']):>12}{row}"
                     f"{int(model['n_tokens']):>9}")
        for key, scores in result.baselines.items():
            row = "".join(f"{_number(scores.get(f'{h}_nll')):>14}{'':>12}" for h in heads)
            lines.append(f"{key:22}{_number(scores.get('token_nll')):>12}{row}{int(scores.get('n_tokens', 0)):>9}")
    lines.append(f"protocol: {result.protocol}")
    if result.protocol_difference:
        lines.append(result.protocol_difference)
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)
