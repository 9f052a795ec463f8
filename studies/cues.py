"""Listener cues besides the composition: do the human and computer sets differ in how they *sound*?

A listener who can tell the sets apart by tempo, loudness, instrument, register, note density or how long
the music lasts in a clip answers a Turing test without judging the music. At study creation every stimulus
is measured as it will be heard (after the study's normalisation, inside the clip window from
``start_seconds`` for ``clip_seconds``) and each cue is compared between the human and the computer clips.

Cues (MIDI stimuli; audio stimuli only have a music length):

- ``tempo``: quarter notes per minute heard in the clip (quarters passed / minutes passed);
- ``velocity``: mean note velocity (FluidSynth maps it to loudness and timbre; clips are loudness-matched
  afterwards, timbre stays);
- ``instrument``: for each General MIDI program (and drums), whether a clip uses it;
- ``register``: mean MIDI pitch of the pitched notes;
- ``note density``: note onsets per second of music;
- ``music length``: seconds of the clip that hold music (shorter pieces end in silence).

Separation test: each cue's values are first rounded to a resolution below which two clips count as equal
(:data:`RESOLUTIONS`), then compared with the Mann-Whitney U statistic (Mann & Whitney 1947):
``AUC = U / (n_human · n_computer)`` is the chance that a random computer clip has the larger value (ties
count one half), and Cliff's δ = 2·AUC − 1. A cue **separates the sets** when ``|δ| >=`` :data:`LARGE_DELTA`
= 0.474, the threshold of a large effect for Cliff's δ (Romano et al. 2006), i.e. AUC ≥ 0.737 or ≤ 0.263: a
listener who sorted clips by that cue alone would order most human/computer pairs right. The threshold is
on the effect, not on a p value: the participants hear exactly these clips, so a difference is a cue
whether or not it would generalise; the exact two-sided Mann-Whitney p value is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from evaluation import Piece
from studies.errors import StudyError
from studies.spec import AUDIO_SUFFIXES, StudySpec

#: Cliff's |δ| from which a cue separates the sets (large effect, Romano et al. 2006)
LARGE_DELTA = 0.474
#: numeric cues: (label, unit, resolution, relative?) - values closer than the resolution count as equal
RESOLUTIONS: dict[str, tuple[str, str, float, bool]] = {
    "tempo_bpm": ("tempo", "BPM", 0.03, True),  # 3 % of the tempo
    "mean_velocity": ("velocity", "", 4.0, False),  # 4 velocity steps
    "mean_pitch": ("register", "MIDI pitch", 1.0, False),  # one semitone
    "notes_per_second": ("note density", "onsets/s", 0.10, True),  # 10 % of the density
    "music_seconds": ("music length", "s", 0.25, False),  # a quarter second
}
FIXES = {
    "tempo": "set one tempo for all with tempo_bpm = ... in the study file's [stimuli] table",
    "velocity": "scale velocities alike with mean_velocity = ... in [stimuli]",
    "instrument": "play every piece with one instrument: program = ... in [stimuli]",
    "register": "choose stimuli of matched register (studies.cues.match_sets)",
    "note density": "choose stimuli of matched note density (studies.cues.match_sets)",
    "music length": "use pieces longer than the clip, or choose matched lengths",
}


@dataclass(frozen=True)
class StimulusCues:
    """What a listener hears of one stimulus besides the composition (None = not measurable, e.g. audio)."""

    source: str  # file name (researcher-side only)
    set_name: str
    kind: str  # human | computer
    tempo_bpm: float | None
    mean_velocity: float | None
    programs: tuple[str, ...]  # General MIDI programs used ("0".."127"), "drums" for drum notes
    mean_pitch: float | None
    notes_per_second: float | None
    music_seconds: float | None


@dataclass(frozen=True)
class CueRow:
    """One cue compared between the human and the computer stimuli."""

    cue: str
    human: str  # median [min, max] or counts, as text
    computer: str
    auc: float | None  # P(computer value > human value) + P(tie) / 2, after rounding to the resolution
    cliffs_delta: float | None  # 2 AUC - 1
    p_value: float | None  # two-sided Mann-Whitney U test
    separates: bool
    resolution: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CueReport:
    """The cue table of a study's stimuli, and a warning for every cue that separates the sets."""

    rows: tuple[CueRow, ...]
    stimuli: tuple[StimulusCues, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (file, why) of stimuli that could not be measured

    @property
    def separating(self) -> tuple[CueRow, ...]:
        return tuple(r for r in self.rows if r.separates)

    def warnings(self) -> list[str]:
        """One sentence per separating cue, with the fix."""
        out = []
        for r in self.separating:
            fix = FIXES["instrument" if r.cue.startswith("instrument") else r.cue]
            out.append(f"{r.cue} separates the sets (human {r.human}; computer {r.computer}; AUC {r.auc:.2f}, "
                       f"|Cliff's delta| {abs(r.cliffs_delta):.2f} >= {LARGE_DELTA}): listeners can tell the sets "
                       f"apart without judging the music; {fix}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows], "rule": RULE,
                "stimuli": [asdict(s) for s in self.stimuli], "skipped": [list(x) for x in self.skipped]}

    def table(self) -> str:
        """A fixed-width text table (for the CLI)."""
        head = ("cue", "human", "computer", "AUC", "p", "separates")
        body = [(r.cue, r.human, r.computer, "n/a" if r.auc is None else f"{r.auc:.2f}",
                 "n/a" if r.p_value is None else f"{r.p_value:.3g}", "YES" if r.separates else "no")
                for r in self.rows]
        widths = [max(len(str(x[i])) for x in (head, *body)) for i in range(len(head))]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                 for line in (head, *body)]
        return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


RULE = (f"a cue separates the sets when |Cliff's delta| >= {LARGE_DELTA} (large effect, Romano et al. 2006; "
        "AUC >= 0.737 or <= 0.263) after rounding values to the cue's resolution; p: two-sided Mann-Whitney U")


def measure_piece(piece: Piece, start_seconds: float = 0.0, clip_seconds: float | None = None) -> dict[str, Any]:
    """The cues of a (normalised) piece inside the clip window ``[start, start + clip)`` (seconds).

    Returns tempo_bpm, mean_velocity, programs, mean_pitch, notes_per_second, music_seconds (None where the
    window holds no notes).
    """
    end = piece.duration_seconds if clip_seconds is None else start_seconds + clip_seconds
    inside = (piece.start_seconds >= start_seconds) & (piece.start_seconds < end)
    heard_until = min(end, piece.duration_seconds)
    music = max(0.0, heard_until - start_seconds)
    if not inside.any() or music <= 0:
        return {"tempo_bpm": None, "mean_velocity": None, "programs": (), "mean_pitch": None,
                "notes_per_second": None, "music_seconds": music}
    from studies.normalise import seconds_to_quarters

    quarters = seconds_to_quarters(piece, heard_until) - seconds_to_quarters(piece, start_seconds)
    pitched = inside & ~piece.is_drum
    programs = sorted({str(int(p)) for p in piece.program[pitched]}, key=int)
    if (inside & piece.is_drum).any():
        programs.append("drums")
    return {
        "tempo_bpm": 60.0 * quarters / music,
        "mean_velocity": float(piece.velocity[inside].mean()),
        "programs": tuple(programs),
        "mean_pitch": float(piece.pitch[pitched].mean()) if pitched.any() else None,
        "notes_per_second": float(inside.sum()) / music,
        "music_seconds": music,
    }


def measure_file(path: Path, settings: Any, set_name: str = "", kind: str = "") -> StimulusCues:
    """Cues of one stimulus file as it will be rendered with ``settings`` (:class:`studies.stimuli.ClipSettings`)."""
    from studies.stimuli import stimulus_piece

    path = Path(path)
    if path.suffix.lower() in AUDIO_SUFFIXES:
        import soundfile as sf

        try:
            seconds = float(sf.info(str(path)).duration)
        except RuntimeError as exc:
            raise StudyError(f"{path}: cannot read audio ({exc})") from None
        music = max(0.0, seconds - settings.start_seconds)
        if settings.clip_seconds is not None:
            music = min(music, settings.clip_seconds)
        values = {"tempo_bpm": None, "mean_velocity": None, "programs": (), "mean_pitch": None,
                  "notes_per_second": None, "music_seconds": music}
    else:
        values = measure_piece(stimulus_piece(path, settings), settings.start_seconds, settings.clip_seconds)
    return StimulusCues(source=path.name, set_name=set_name, kind=kind, **values)


def _rounded(values: np.ndarray, resolution: float, relative: bool) -> np.ndarray:
    if relative:
        return np.round(np.log(np.maximum(values, 1e-12)) / math.log1p(resolution))
    return np.round(values / resolution)


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _describe(values: np.ndarray, unit: str) -> str:
    if len(values) == 0:
        return "not measured"
    text = f"{_fmt(float(np.median(values)))} [{_fmt(float(values.min()))}-{_fmt(float(values.max()))}]"
    return f"{text} {unit}".rstrip()


def separation(human: Sequence[float], computer: Sequence[float]) -> tuple[float, float, float]:
    """``(AUC, Cliff's delta, two-sided Mann-Whitney p)`` of computer vs human values (already rounded).

    AUC = U_computer / (n_h n_c): the share of (human, computer) pairs where the computer value is larger,
    ties counting one half. Identical samples give AUC 0.5 and p 1.
    """
    h, c = np.asarray(human, dtype=float), np.asarray(computer, dtype=float)
    greater = (c[:, None] > h[None, :]).sum() + 0.5 * (c[:, None] == h[None, :]).sum()
    auc = float(greater) / (len(h) * len(c))
    if np.all(np.concatenate([h, c]) == h[0]):
        return auc, 2 * auc - 1, 1.0
    p = float(sps.mannwhitneyu(c, h, alternative="two-sided").pvalue)
    return auc, 2 * auc - 1, p


def _row(cue: str, human: str, computer: str, h: np.ndarray, c: np.ndarray, resolution: str) -> CueRow:
    if len(h) == 0 or len(c) == 0:
        return CueRow(cue, human, computer, None, None, None, False, resolution)
    auc, delta, p = separation(h, c)
    return CueRow(cue, human, computer, auc, delta, p, abs(delta) >= LARGE_DELTA, resolution)


def compare(stimuli: Sequence[StimulusCues]) -> CueReport:
    """The cue table of human vs computer stimuli (see the module docstring for the test)."""
    kinds = {k: [s for s in stimuli if s.kind == k] for k in ("human", "computer")}
    rows = []
    for field, (label, unit, resolution, relative) in RESOLUTIONS.items():
        raw = {k: np.array([getattr(s, field) for s in v if getattr(s, field) is not None], dtype=float)
               for k, v in kinds.items()}
        res = f"{resolution:.0%}" if relative else f"{resolution:g} {unit}".rstrip()
        rows.append(_row(label, _describe(raw["human"], unit), _describe(raw["computer"], unit),
                         _rounded(raw["human"], resolution, relative), _rounded(raw["computer"], resolution, relative),
                         res))
    measured = {k: [s for s in v if s.programs] for k, v in kinds.items()}
    programs = sorted({p for s in stimuli for p in s.programs}, key=lambda p: (p == "drums", p.zfill(3)))
    best: CueRow | None = None
    for program in programs:
        h = np.array([program in s.programs for s in measured["human"]], dtype=float)
        c = np.array([program in s.programs for s in measured["computer"]], dtype=float)
        name = "drums" if program == "drums" else f"program {program}"
        row = _row(f"instrument ({name})", f"{int(h.sum())} of {len(h)} clips", f"{int(c.sum())} of {len(c)} clips",
                   h, c, "used or not")
        if best is None or (row.cliffs_delta is not None and abs(row.cliffs_delta) > abs(best.cliffs_delta or 0)):
            best = row
    if best is not None:
        rows.append(best)
    return CueReport(rows=tuple(rows), stimuli=tuple(stimuli))


def study_cues(spec: StudySpec, settings: Any | None = None) -> CueReport:
    """Measure every stimulus of a study as it will be heard and compare the sets (reads the MIDI files).

    A file that cannot be read is left out of the comparison and listed in ``skipped`` (creating the study
    reports it as an error)."""
    from studies.stimuli import ClipSettings

    settings = settings or ClipSettings.from_dict({**spec.stimuli, "clip_seconds": spec.clip_seconds})
    measured, skipped = [], []
    for sset in spec.stimulus_sets:
        for f in sset.files():
            try:
                measured.append(measure_file(f, settings, sset.name, sset.kind))
            except StudyError as exc:
                skipped.append((str(f), str(exc)))
    report = compare(measured)
    return CueReport(rows=report.rows, stimuli=report.stimuli, skipped=tuple(skipped))


def _matrix(items: Sequence[StimulusCues]) -> np.ndarray:
    cols = []
    for field, (_label, _unit, resolution, relative) in RESOLUTIONS.items():
        values = np.array([np.nan if getattr(s, field) is None else getattr(s, field) for s in items], dtype=float)
        cols.append(np.log(values) / math.log1p(resolution) if relative else values / resolution)
    return np.column_stack(cols) if cols else np.zeros((len(items), 0))


def match_sets(human: Sequence[StimulusCues], computer: Sequence[StimulusCues], k: int
               ) -> tuple[list[StimulusCues], list[StimulusCues]]:
    """``k`` human and ``k`` computer stimuli matched on every numeric cue (nearest-neighbour matching).

    The distance of a (human, computer) pair is the Euclidean distance of their cues measured in
    resolutions (:data:`RESOLUTIONS`; cues missing in either are left out). The ``k`` disjoint pairs of
    least total distance are found exactly: the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``)
    on the distance matrix padded with free "unmatched" rows and columns that may not pair with each other.
    Programs are not matched: normalise them with ``program`` instead.
    """
    from scipy.optimize import linear_sum_assignment

    n_h, n_c = len(human), len(computer)
    if not 0 < k <= min(n_h, n_c):
        raise StudyError(f"cannot match {k} pairs from {n_h} human and {n_c} computer stimuli")
    a, b = _matrix(human), _matrix(computer)
    cost = np.sqrt(np.nansum((a[:, None, :] - b[None, :, :]) ** 2, axis=2))
    forbidden = 1e6 * (1.0 + float(cost.max()))
    size = n_h + n_c - k
    padded = np.zeros((size, size))
    padded[:n_h, :n_c] = cost
    padded[n_h:, n_c:] = forbidden  # "unmatched" rows never pair with "unmatched" columns
    rows, cols = linear_sum_assignment(padded)
    pairs = sorted((cost[i, j], i, j) for i, j in zip(rows, cols, strict=True) if i < n_h and j < n_c)
    return [human[i] for _, i, _ in pairs], [computer[j] for _, _, j in pairs]
