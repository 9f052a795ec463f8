"""Study files (TOML or YAML) → a validated, frozen :class:`StudySpec`.

A study file names the test type, the stimulus sets (folders of MIDI or audio files, each either human- or
computer-made), how many trials each participant gets and how long each clip is. Every problem raises
:class:`studies.errors.StudyError` naming the file, the field and the fix.

Example (TOML)::

    title = "Chorales: human or machine?"
    consent = "By continuing you agree that your participant id and your answers are stored."
    instructions = "Listen to each clip to the end, then answer."
    test_type = "turing"            # turing | ab-preference | rating
    allow_confidence = true          # turing only: optional confidence 1-5
    trials_per_participant = 10
    clip_seconds = 15.0
    attention_checks = 1             # extra trials whose prompt states the correct answer
    practice_trials = 0              # extra trials at the start, left out of the responses
    seed = 7                         # with the study's secret (made at creation, kept in the database)
    require_full_playback = true     # answers refused until the server-timed clip length has passed

    [[stimulus_sets]]
    name = "bach"
    kind = "human"
    group = "chorale"
    folder = "midi/bach"             # relative to the study file

    [[stimulus_sets]]
    name = "lstm"
    kind = "computer"
    group = "chorale"
    folder = "midi/lstm"

    [stimuli]                        # optional: how clips are made (studies.stimuli.ClipSettings)
    soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2"   # default: TimGM6mb; relative to the study file
    target_lufs = -23.0
    audio_format = "mp3"             # or "ogg"
    program = 0                      # MIDI stimuli: one instrument (General MIDI, 0-based) for all
    mean_velocity = 80               # MIDI stimuli: every piece's velocities scaled to this mean
    tempo_bpm = 100                  # MIDI stimuli: one tempo for all (studies.normalise)

The seed alone does not fix the trial lists: each study also gets a random secret at creation, stored only
in its database and mixed into every participant's generator, so two studies made from one study file
give a participant different orders and a published study file reveals no answer key. A study is
reproducible from its stored state (seed + secret + the order participants started in; see
:func:`studies.engine.replay_assignments`). ``python -m studies cues STUDY`` (and ``create``) compare the
human and computer stimuli on tempo, velocity, instrument, register, note density and music length, and warn
when one of them separates the sets (:mod:`studies.cues`); the three normalisation keys above remove the
first three.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studies.errors import StudyError
from tunelab import MIDI_SUFFIXES

TEST_TYPES = ("turing", "ab-preference", "rating")
KINDS = ("human", "computer")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
STIMULUS_SUFFIXES = MIDI_SUFFIXES + AUDIO_SUFFIXES

_TOP_FIELDS = {
    "title",
    "consent",
    "instructions",
    "test_type",
    "allow_confidence",
    "stimulus_sets",
    "trials_per_participant",
    "clip_seconds",
    "attention_checks",
    "seed",
    "require_full_playback",
    "practice_trials",
    "stimuli",
}
_SET_FIELDS = {"name", "kind", "group", "model", "folder"}


@dataclass(frozen=True)
class StimulusSet:
    """One folder of stimuli.

    name: unique label of the set; kind: "human" or "computer" (the hidden truth); group: balancing
    stratum (e.g. genre); model: generator name (defaults to ``name`` for computer sets, "" for human);
    folder: absolute path of the MIDI/audio folder.
    """

    name: str
    kind: str
    group: str
    model: str
    folder: Path

    def files(self) -> list[Path]:
        """Stimulus files of the folder (MIDI or audio, non-recursive), sorted by name."""
        return sorted(
            p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in STIMULUS_SUFFIXES
        )


@dataclass(frozen=True)
class StudySpec:
    """A validated study file. ``source`` is the file it was read from (for error messages)."""

    title: str
    consent: str
    instructions: str
    test_type: str
    stimulus_sets: tuple[StimulusSet, ...]
    trials_per_participant: int
    clip_seconds: float
    attention_checks: int = 0
    seed: int = 0
    allow_confidence: bool = False
    require_full_playback: bool = True
    practice_trials: int = 0
    source: str = ""
    stimuli: dict[str, Any] = field(default_factory=dict)  # ClipSettings fields except clip_seconds

    @property
    def total_trials(self) -> int:
        """Trials a participant sees: practice + main + attention checks."""
        return self.practice_trials + self.trials_per_participant + self.attention_checks


def _fail(path: Path, field: str, problem: str, fix: str) -> StudyError:
    return StudyError(f"{path}: field '{field}': {problem}; {fix}")


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise StudyError(f"{path}: study file not found; check the path (TOML or YAML study file expected)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            raise StudyError(f"{path}: unknown study file type '{suffix}'; use .toml, .yaml or .yml")
    except StudyError:
        raise
    except Exception as exc:  # parser errors of tomllib / PyYAML
        raise StudyError(f"{path}: cannot parse study file ({exc}); fix the syntax") from exc
    if not isinstance(data, dict):
        raise StudyError(f"{path}: the study file must be a mapping of fields (title, test_type, ...)")
    return data


def _int(data: dict[str, Any], path: Path, field: str, default: int | None, minimum: int) -> int:
    value = data.get(field, default)
    if value is None:
        raise _fail(path, field, "missing", f"add '{field} = <integer ≥ {minimum}>'")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(path, field, f"{value!r} is not an integer ≥ {minimum}", f"set an integer ≥ {minimum}")
    return value


def _bool(data: dict[str, Any], path: Path, field: str, default: bool) -> bool:
    value = data.get(field, default)
    if not isinstance(value, bool):
        raise _fail(path, field, f"{value!r} is not a boolean", "use true or false")
    return value


def _str(data: dict[str, Any], path: Path, field: str, default: str | None, label: str | None = None) -> str:
    value = data.get(field, default)
    field = label or field
    if value is None:
        raise _fail(path, field, "missing", f"add '{field} = \"...\"'")
    if not isinstance(value, str):
        raise _fail(path, field, f"{value!r} is not text", "use a quoted string")
    return value


def _parse_sets(raw: Any, path: Path) -> tuple[StimulusSet, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(
            path,
            "stimulus_sets",
            "missing or empty",
            "add at least one [[stimulus_sets]] table with name, kind, group and folder",
        )
    sets: list[StimulusSet] = []
    for i, item in enumerate(raw):
        where = f"stimulus_sets[{i}]"
        if not isinstance(item, dict):
            raise _fail(path, where, "is not a table", "give name, kind, group and folder")
        unknown = set(item) - _SET_FIELDS
        if unknown:
            raise _fail(
                path,
                f"{where}.{sorted(unknown)[0]}",
                "unknown field",
                f"allowed fields are {', '.join(sorted(_SET_FIELDS))}",
            )
        name = _str(item, path, "name", "", label=f"{where}.name")
        if not name.strip():
            raise _fail(path, f"{where}.name", "missing or empty", "give each set a unique name")
        kind = item.get("kind")
        if kind not in KINDS:
            raise _fail(path, f"{where}.kind", f"{kind!r} is not a known kind", "use 'human' or 'computer'")
        group = item.get("group", "all")
        if not isinstance(group, str) or not group:
            raise _fail(path, f"{where}.group", f"{group!r} is not a non-empty string", 'e.g. group = "folk"')
        model = item.get("model", name if kind == "computer" else "")
        if not isinstance(model, str):
            raise _fail(path, f"{where}.model", f"{model!r} is not text", "use a quoted model name")
        folder_raw = item.get("folder")
        if not isinstance(folder_raw, str) or not folder_raw:
            raise _fail(path, f"{where}.folder", "missing", "give the folder of MIDI or audio files")
        folder = Path(folder_raw).expanduser()
        if not folder.is_absolute():
            folder = (path.parent / folder).resolve()
        if not folder.is_dir():
            raise _fail(
                path,
                f"{where}.folder",
                f"folder {folder} does not exist",
                "create it or fix the path (relative paths are resolved against the study file)",
            )
        sset = StimulusSet(name=name, kind=kind, group=group, model=model, folder=folder)
        if not sset.files():
            raise _fail(
                path,
                f"{where}.folder",
                f"folder {folder} holds no stimulus files",
                f"put files ending in {', '.join(STIMULUS_SUFFIXES)} in it",
            )
        if any(s.name == name for s in sets):
            raise _fail(path, f"{where}.name", f"duplicate set name {name!r}", "give each set a unique name")
        sets.append(sset)
    return tuple(sets)


def _check_counts(spec: StudySpec, path: Path) -> None:
    n_kind = {k: sum(len(s.files()) for s in spec.stimulus_sets if s.kind == k) for k in KINDS}
    n = spec.trials_per_participant
    if spec.test_type in ("turing", "ab-preference"):
        for kind in KINDS:
            if n_kind[kind] == 0:
                raise _fail(
                    path,
                    "stimulus_sets",
                    f"no {kind} set",
                    f"a {spec.test_type} test compares human and computer music: add a set with "
                    f'kind = "{kind}"',
                )
    if spec.test_type == "ab-preference":
        available = min(n_kind.values())
        if n > available:
            raise _fail(
                path,
                "trials_per_participant",
                f"{n} pairs need {n} human and {n} computer stimuli "
                f"but only {n_kind['human']} human and {n_kind['computer']} computer exist",
                f"lower it to ≤ {available} or add stimuli",
            )
        return
    total = sum(n_kind.values())
    if n > total:
        raise _fail(
            path,
            "trials_per_participant",
            f"{n} trials but only {total} stimuli exist",
            f"lower it to ≤ {total} or add stimuli",
        )
    if spec.test_type == "turing" and n // 2 > min(n_kind.values()):
        raise _fail(
            path,
            "trials_per_participant",
            f"{n} trials need {n // 2} human and {n // 2} computer stimuli (balanced) but only "
            f"{n_kind['human']} human and {n_kind['computer']} computer exist",
            f"lower it to ≤ {2 * min(n_kind.values()) + 1} or add stimuli",
        )


def _parse_clip_settings(raw: Any, path: Path, clip_seconds: float) -> dict[str, Any]:
    """Validate the optional ``[stimuli]`` table against :class:`studies.stimuli.ClipSettings`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(path, "stimuli", "is not a table", "write [stimuli] with e.g. soundfont = \"...\"")
    if "clip_seconds" in raw:
        raise _fail(path, "stimuli.clip_seconds", "clip length is set at the top", "set clip_seconds there")
    values = dict(raw)
    if isinstance(values.get("soundfont"), str):
        font = Path(values["soundfont"]).expanduser()
        values["soundfont"] = str(font if font.is_absolute() else (path.parent / font).resolve())
        if not Path(values["soundfont"]).is_file():
            raise _fail(path, "stimuli.soundfont", f"{values['soundfont']} does not exist",
                        "give an existing .sf2 file (relative paths are resolved against the study file)")
    from studies.stimuli import ClipSettings  # here: the audio stack loads only for studies that use it

    try:
        ClipSettings.from_dict({**values, "clip_seconds": clip_seconds})
    except (ValueError, TypeError) as exc:  # StudyError is a ValueError
        raise _fail(path, "stimuli", str(exc), "fix the [stimuli] table") from None
    return values


def spec_from_dict(data: dict[str, Any], path: str | Path = "<study>") -> StudySpec:
    """Validate a mapping read from a study file. Relative folders resolve against ``path``'s folder."""
    path = Path(path)
    unknown = set(data) - _TOP_FIELDS - {"source"}
    if unknown:
        raise _fail(
            path, sorted(unknown)[0], "unknown field", f"allowed fields are {', '.join(sorted(_TOP_FIELDS))}"
        )
    test_type = data.get("test_type")
    if test_type not in TEST_TYPES:
        raise _fail(
            path, "test_type", f"unknown test type {test_type!r}", f"use one of {', '.join(TEST_TYPES)}"
        )
    clip_seconds = data.get("clip_seconds")
    if (
        isinstance(clip_seconds, bool)
        or not isinstance(clip_seconds, int | float)
        or not 0 < clip_seconds <= 600
    ):
        raise _fail(
            path,
            "clip_seconds",
            f"{clip_seconds!r} is not a duration in seconds",
            "set a number of seconds in (0, 600], e.g. clip_seconds = 15",
        )
    allow_confidence = _bool(data, path, "allow_confidence", False)
    if allow_confidence and test_type != "turing":
        raise _fail(
            path,
            "allow_confidence",
            f"confidence ratings only exist in turing tests, not {test_type}",
            'remove allow_confidence or set test_type = "turing"',
        )
    spec = StudySpec(
        title=_str(data, path, "title", None),
        consent=_str(data, path, "consent", None),
        instructions=_str(data, path, "instructions", ""),
        test_type=test_type,
        stimulus_sets=_parse_sets(data.get("stimulus_sets"), path),
        trials_per_participant=_int(data, path, "trials_per_participant", None, 1),
        clip_seconds=float(clip_seconds),
        attention_checks=_int(data, path, "attention_checks", 0, 0),
        seed=_int(data, path, "seed", 0, 0),
        allow_confidence=allow_confidence,
        require_full_playback=_bool(data, path, "require_full_playback", True),
        practice_trials=_int(data, path, "practice_trials", 0, 0),
        source=str(path),
        stimuli=_parse_clip_settings(data.get("stimuli"), path, float(clip_seconds)),
    )
    if not spec.title.strip():
        raise _fail(path, "title", "empty", "give the study a title")
    if not spec.consent.strip():
        raise _fail(path, "consent", "empty", "write the consent text participants must accept")
    _check_counts(spec, path)
    return spec


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study file (``.toml`` via tomllib, ``.yaml``/``.yml`` via PyYAML)."""
    path = Path(path).expanduser().resolve()
    return spec_from_dict(_read_mapping(path), path)


def spec_to_dict(spec: StudySpec) -> dict[str, Any]:
    """JSON-ready mapping of a spec (folders as absolute path strings); inverse of :func:`spec_from_dict`."""
    data = asdict(spec)
    data["stimulus_sets"] = [{**s, "folder": str(s["folder"])} for s in data["stimulus_sets"]]
    return data


def spec_from_stored(data: dict[str, Any]) -> StudySpec:
    """Rebuild a spec saved with :func:`spec_to_dict` (e.g. from the database) without touching the disk."""
    sets = tuple(StimulusSet(**{**s, "folder": Path(s["folder"])}) for s in data["stimulus_sets"])
    return StudySpec(**{**data, "stimulus_sets": sets})
