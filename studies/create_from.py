"""From samples to a listening study in one step: a matched study file from a human folder and model folders.

:func:`write_matched_study` measures every MIDI file as it will be heard (one instrument, one velocity
scale, one tempo: the study's ``[stimuli]`` normalisation), picks the same number of clips from every set by
nearest-neighbour matching on the listener cues that remain (register, note density, music length;
:func:`studies.cues.match_sets`), copies the chosen files beside the study file and writes a study file that
``python -m studies create`` takes as it is. Files that cannot be read are listed, not fatal.

With several computer sets, each is matched against the human pool, then the human clips are matched
against the union of the chosen computer clips, so every set has ``per_set`` clips.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studies.errors import StudyError
from tunelab import is_midi_name

__all__ = ["MatchedStudy", "StudyDefaults", "write_matched_study"]


@dataclass(frozen=True)
class StudyDefaults:
    """What a matched study file fixes for every set (seconds, General MIDI program 0-based, BPM)."""

    clip_seconds: float = 15.0
    program: int = 0
    mean_velocity: int = 80
    tempo_bpm: float = 100.0
    test_type: str = "turing"
    trials_per_participant: int | None = None  # default: every clip once (capped at 40)
    attention_checks: int = 0
    allow_confidence: bool = True
    require_full_playback: bool = True
    seed: int = 0
    group: str = "music"
    soundfont: Path | None = None
    consent: str = ("Your participant id, your answers and when you played each clip are stored for this study. "
                    "By continuing you agree to that.")
    instructions: str = "Listen to each clip to the end, then say whether a human or a computer composed it."


@dataclass(frozen=True)
class MatchedStudy:
    """The written study file, the clips chosen per set, the files left out (path, reason) and the cue table."""

    path: Path
    chosen: dict[str, list[Path]]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    cue_table: str = ""
    warnings: list[str] = field(default_factory=list)


def _midi_files(folder: Path, what: str) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise StudyError(f"{folder}: the {what} folder does not exist")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_midi_name(p.name))
    if not files:
        raise StudyError(f"{folder}: no MIDI files (*.mid, *.midi) in the {what} folder")
    return files


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    if not cleaned:
        raise StudyError(f"set name {name!r} has no letters or digits")
    return cleaned


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _study_toml(title: str, defaults: StudyDefaults, sets: list[tuple[str, str, str]], trials: int) -> str:
    lines = [f"title = {_toml_string(title)}", f"consent = {_toml_string(defaults.consent)}",
             f"instructions = {_toml_string(defaults.instructions)}", f'test_type = "{defaults.test_type}"',
             f"allow_confidence = {str(defaults.allow_confidence).lower()}",
             f"trials_per_participant = {trials}", f"clip_seconds = {defaults.clip_seconds:g}",
             f"attention_checks = {defaults.attention_checks}", f"seed = {defaults.seed}",
             f"require_full_playback = {str(defaults.require_full_playback).lower()}", ""]
    for name, kind, folder in sets:
        lines += ["[[stimulus_sets]]", f"name = {_toml_string(name)}", f'kind = "{kind}"',
                  f"group = {_toml_string(defaults.group)}"]
        if kind == "computer":
            lines.append(f"model = {_toml_string(name)}")
        lines += [f"folder = {_toml_string(folder)}", ""]
    lines += ["[stimuli]", f"program = {defaults.program}           # one instrument for every clip",
              f"mean_velocity = {defaults.mean_velocity}     # one velocity scale",
              f"tempo_bpm = {defaults.tempo_bpm:g}        # one tempo"]
    if defaults.soundfont is not None:
        lines.append(f"soundfont = {_toml_string(Path(defaults.soundfont).as_posix())}")
    return "\n".join(lines) + "\n"


def write_matched_study(human_dir: Path, computer: Mapping[str, Path], title: str, out_path: Path, *,
                        per_set: int | None = None, defaults: StudyDefaults = StudyDefaults(),
                        human_name: str = "human") -> MatchedStudy:
    """Write a matched study file at ``out_path`` (its stimuli copied into ``<stem>_stimuli/<set>/`` beside it).

    Parameters
    ----------
    human_dir : folder of human-composed MIDI (searched recursively).
    computer : set name -> folder of generated MIDI, one entry per model.
    per_set : clips per set (default: as many as the smallest set allows).

    Raises
    ------
    StudyError
        When a folder is missing or empty, a set has no readable file, names repeat, or ``per_set`` asks for
        more clips than a set has.
    """
    from studies.cues import compare, match_sets, measure_file  # noqa: PLC0415
    from studies.stimuli import ClipSettings  # noqa: PLC0415

    if not computer:
        raise StudyError("give at least one computer set (NAME=DIR)")
    names = [_safe_name(human_name), *(_safe_name(n) for n in computer)]
    if len(set(names)) != len(names):
        raise StudyError(f"set names must differ (after cleaning): {names}")
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".toml":
        raise StudyError(f"{out_path}: the study file must end in .toml")
    settings = ClipSettings.from_dict({"clip_seconds": defaults.clip_seconds, "program": defaults.program,
                                       "mean_velocity": defaults.mean_velocity, "tempo_bpm": defaults.tempo_bpm,
                                       **({"soundfont": defaults.soundfont} if defaults.soundfont else {})})
    skipped: list[tuple[Path, str]] = []

    def measured(folder: Path, set_name: str, kind: str) -> list:
        out = []
        for path in _midi_files(folder, f"{set_name!r}"):
            try:
                cues = measure_file(path, settings, set_name, kind)
            except StudyError as error:
                skipped.append((path, str(error)))
                continue
            out.append((path, cues))
        if not out:
            raise StudyError(f"{folder}: none of the MIDI files of set {set_name!r} can be read")
        return out

    human = measured(Path(human_dir), names[0], "human")
    machines = {name: measured(Path(folder), name, "computer")
                for name, folder in zip(names[1:], computer.values(), strict=True)}
    largest = min(len(human), *(len(v) for v in machines.values()))
    k = largest if per_set is None else int(per_set)
    if not 0 < k <= largest:
        raise StudyError(f"per_set {k}: every set needs that many readable files (smallest set has {largest})")

    path_of = {id(cues): path for items in (human, *machines.values()) for path, cues in items}
    human_cues = [cues for _, cues in human]
    chosen_cues = {name: match_sets(human_cues, [cues for _, cues in items], k)[1] for name, items in
                   machines.items()}
    union = [cues for group in chosen_cues.values() for cues in group]
    chosen_human = match_sets(human_cues, union, k)[0] if len(union) >= k else human_cues[:k]
    chosen = {names[0]: [path_of[id(c)] for c in chosen_human],
              **{name: [path_of[id(c)] for c in group] for name, group in chosen_cues.items()}}

    stimuli_dir = out_path.parent / f"{out_path.stem}_stimuli"
    if stimuli_dir.exists():
        shutil.rmtree(stimuli_dir)
    sets = []
    for name, files in chosen.items():
        folder = stimuli_dir / name
        folder.mkdir(parents=True)
        for index, file in enumerate(files):
            target = folder / file.name
            if target.exists():  # same file name in two sub-folders of one set
                target = folder / f"{file.stem}_{index}{file.suffix}"
            shutil.copy2(file, target)
        sets.append((name, "human" if name == names[0] else "computer", f"{stimuli_dir.name}/{name}"))
    total = k * len(chosen)
    if defaults.trials_per_participant is not None:
        trials = defaults.trials_per_participant
    elif defaults.test_type == "ab-preference":
        trials = min(k, 40)
    else:
        trials = min(2 * k if defaults.test_type == "turing" else total, 40)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(_study_toml(title, defaults, sets, trials), encoding="utf-8")

    report = compare([c for c in chosen_human] + union)
    return MatchedStudy(out_path, chosen, skipped, report.table(), list(report.warnings()))
