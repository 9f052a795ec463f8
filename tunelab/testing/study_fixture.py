"""Build small listening studies in code for the app tests and the load benchmark.

Every name a participant must never see is distinctive (``SETNAME_…``, ``MODEL_…``, ``SRCFILE_…``,
``GROUP_…``) so the blindness tests can search the page and the media for them.

Studies written here render with :data:`PINNED_SOUNDFONT` (the TimGM6mb.sf2 inside the pretty_midi wheel, a
test dependency), never with whatever soundfont the machine has in /usr/share/sounds/sf2: Debian's
TimGM6mb.sf2 is a different file, and FluidR3_GM sounds different again.
"""

from __future__ import annotations

from pathlib import Path

import pretty_midi

HUMAN_SET = "SETNAME_zebrafinch_human"
COMPUTER_SET = "SETNAME_quokka_machine"
MODEL = "MODEL_platypus_lstm"
GROUP = "GROUP_ocelot"
FILE_STEM = "SRCFILE_marmalade"
PINNED_SOUNDFONT = Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"
SECRETS = (HUMAN_SET, COMPUTER_SET, MODEL, GROUP, FILE_STEM, "zebrafinch", "quokka", "platypus", "marmalade",
           "ocelot")


def write_midi(path: Path, root: int, seconds: float = 2.0, program: int = 0) -> Path:
    """A short arpeggio (quarter notes at 120 BPM) on ``root`` (MIDI pitch), written with pretty_midi."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    t, step = 0.0, 0.5
    i = 0
    while t < seconds:
        pitch = root + (0, 4, 7, 12)[i % 4]
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=t, end=t + step * 0.9))
        t += step
        i += 1
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def write_study(folder: Path, *, n_per_set: int = 4, trials: int = 6, clip_seconds: float = 1.0,
                require_full_playback: bool = True, allow_confidence: bool = False,
                practice_trials: int = 0, attention_checks: int = 0, title: str = "Test study",
                test_type: str = "turing") -> Path:
    """Write MIDI folders and a study TOML under ``folder``; return the study file's path."""
    human = folder / "human_midi"
    machine = folder / "machine_midi"
    human.mkdir(parents=True, exist_ok=True)
    machine.mkdir(parents=True, exist_ok=True)
    for i in range(n_per_set):
        write_midi(human / f"{FILE_STEM}_h{i:02d}.mid", 60 + i)
        write_midi(machine / f"{FILE_STEM}_c{i:02d}.mid", 62 + i, program=4)
    spec = folder / "study.toml"
    spec.write_text(f'''title = "{title}"
consent = "By continuing you agree that your participant id and your answers are stored."
instructions = "Listen to each clip to the end, then answer."
test_type = "{test_type}"
allow_confidence = {str(allow_confidence).lower()}
trials_per_participant = {trials}
clip_seconds = {clip_seconds}
attention_checks = {attention_checks}
practice_trials = {practice_trials}
seed = 7
require_full_playback = {str(require_full_playback).lower()}

[[stimulus_sets]]
name = "{HUMAN_SET}"
kind = "human"
group = "{GROUP}"
folder = "human_midi"

[[stimulus_sets]]
name = "{COMPUTER_SET}"
kind = "computer"
group = "{GROUP}"
model = "{MODEL}"
folder = "machine_midi"

[stimuli]
soundfont = "{PINNED_SOUNDFONT.as_posix()}"
''', encoding="utf-8")
    return spec


def make_study(folder: Path, db_url: str, **kwargs: object) -> str:
    """Write a study under ``folder`` and create it in ``db_url`` (media in ``folder/media``); return its code."""
    from studies.engine import create_study

    spec = write_study(folder, **kwargs)  # type: ignore[arg-type]
    return create_study(spec, db_url=db_url, media_dir=folder / "media", jobs=1, progress=False)


def study_toml_text(data: dict) -> str:
    """TOML text of a study mapping (top-level fields, ``[stimuli]`` table, ``[[stimulus_sets]]`` tables).

    Values are written as JSON literals, which TOML reads the same for strings, numbers, booleans and lists.
    """
    import json
    import tomllib

    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if k not in ("stimulus_sets", "stimuli")]
    if data.get("stimuli"):
        lines += ["", "[stimuli]"] + [f"{k} = {json.dumps(v)}" for k, v in data["stimuli"].items()]
    for s in data.get("stimulus_sets", []):
        lines += ["", "[[stimulus_sets]]"] + [f"{k} = {json.dumps(v)}" for k, v in s.items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # the helper writes valid TOML
    return text
