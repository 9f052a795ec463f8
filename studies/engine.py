"""Study lifecycle and participant flow, shared by ``python -m studies`` and the Streamlit pages.

Create a study from its file (render stimuli, store them under opaque ids), open/close it, let a
participant start or resume, show only what a participant may see, store every answer the moment it is
given (idempotently), and hand out a completion code once every trial is stored. The answers as
DataFrames are in :mod:`studies.results`.

Every function takes ``db``: an SQLAlchemy URL, an :class:`sqlalchemy.Engine`, or None for the default
database (see :func:`studies.storage.default_url`). Trial positions are 0-based.

What a participant cannot game:

* **The answer key.** Each participant's trial list comes from a numpy Generator seeded with the study
  file's ``seed``, a per-study **secret** (32 random bytes made by :mod:`secrets` when the study is created,
  stored only in the server's database, never in the study file, an export or a report) and a hash of the
  participant's id. Two studies made from one study file therefore give one participant different orders,
  and a published study file does not let anyone recompute which clip is which. The study stays
  reproducible from its stored state: :func:`replay_assignments` rebuilds every stored trial list from the
  seed, the secret and the order in which participants started.
* **Full playback.** With ``require_full_playback`` the server records when it first showed each trial
  (:func:`current_trial`, server clock) and refuses, without storing anything, an answer that arrives
  sooner than the trial's total clip length (both clips of an A/B pair) minus
  :data:`PLAYBACK_TOLERANCE_SECONDS`, whatever the browser reports. Response times are measured on the
  server clock from that first showing.
* **Consent.** A participant's consent is stored with its time and a hash of the consent text (what the
  page shows, never a URL parameter, decides whether it was given).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from studies import storage
from studies.assignment import StimulusInfo, answer_options, assign_trials
from studies.errors import StudyError
from studies.spec import StudySpec, load_spec, spec_from_stored, spec_to_dict
from tunelab import media_dir as default_media_dir

_CODE_ALPHABET = string.ascii_lowercase + string.digits
#: seconds an answer may arrive before the trial's clips could have been heard to the end, counted from the
#: server's first showing of the trial. The server records the showing before the browser has even received
#: the audio, so an honest listener always needs longer than the clip; the tolerance only absorbs clock
#: granularity and codec padding.
PLAYBACK_TOLERANCE_SECONDS = 0.5
#: what the database keeps about a participant (the participant page shows it under the consent text)
STORED_DATA_NOTE = ("What is stored: the participant id you arrived with (e.g. your Prolific id), the time "
                    "you agreed to take part, each answer with its time, how long you took, and when each clip "
                    "was played, paused and ended. Nothing else about you or your device is stored.")
_ENGINES: dict[tuple[int, str], Engine] = {}
Db = str | Engine | None

PROMPTS = {
    "turing": "Was this clip composed by a human or by a computer?",
    "ab-preference": "Which of the two clips is more musical, A or B?",
    "rating": "How much do you like this clip? (1 = not at all, 5 = very much)",
}


def get_engine(db: Db = None) -> Engine:
    """Engine for ``db`` (cached per process and URL; tables created on first use)."""
    if isinstance(db, Engine):
        return db
    url = db or storage.default_url()
    key = (os.getpid(), url)
    if key not in _ENGINES:
        _ENGINES[key] = storage.make_engine(url)
    return _ENGINES[key]


def dispose_engines() -> None:
    """Close every cached engine of this process (call before forking workers)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def _random_code(n: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(n))


@dataclass(frozen=True)
class ParticipantSession:
    """A participant's place in a study. ``next_position`` is None when every trial is answered.

    ``completed`` is True for a participant who already received a completion code and came back: there
    is nothing left to answer (a retake is impossible); :func:`completion_code` gives the same code again.
    ``consented`` and ``begun`` come from the database, so a second tab or a reload knows them too.
    """

    participant_id: str
    study_code: str
    external_id: str
    total: int
    next_position: int | None
    resumed: bool
    completed: bool = False
    consented: bool = False  # a consent is stored for this participant
    begun: bool = False  # the server has shown (or the participant answered) at least one trial


@dataclass(frozen=True)
class TrialView:
    """Everything a participant may see of one trial (never set, kind, model or path)."""

    position: int  # 0-based
    total: int
    clip_ids: tuple[str, ...]  # one clip, or (A, B) for ab-preference
    prompt: str
    options: tuple[str, ...]
    allow_confidence: bool
    require_full_playback: bool
    is_practice: bool


# --- study lifecycle -----------------------------------------------------------------------------------


def register_study(
    spec: StudySpec, clips_by_set: Mapping[str, Sequence[Any]], db: Db = None, code: str | None = None
) -> str:
    """Store a study with already prepared clips; return its code.

    ``clips_by_set`` maps each set name of ``spec`` to its :class:`studies.stimuli.Clip` objects (anything
    with clip_id, source, file, n_samples and sample_rate).
    """
    code = code or _random_code(10)
    rows = []
    for sset in spec.stimulus_sets:
        for clip in clips_by_set.get(sset.name, ()):
            rows.append(
                {
                    "id": clip.clip_id,
                    "set_name": sset.name,
                    "kind": sset.kind,
                    "group_name": sset.group,
                    "model": sset.model,
                    "source_path": str(clip.source),
                    "audio_path": str(clip.file),
                    "n_samples": int(clip.n_samples),
                    "sample_rate": int(clip.sample_rate),
                }
            )
    storage.insert_study(get_engine(db), code, spec.title, spec_to_dict(spec), rows, secrets.token_hex(32))
    return code


def create_study(
    spec_path: str | Path,
    db_url: Db = None,
    media_dir: str | Path | None = None,
    jobs: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    progress: bool = True,
) -> str:
    """Validate a study file, render its stimuli and store the study; return the study code.

    Clips are made with the study's ``clip_seconds`` and its optional ``[stimuli]`` table (soundfont,
    loudness target, format, ...: :class:`studies.stimuli.ClipSettings`).

    Clips go to ``<media_dir>/<code>/<clip id>.<ext>`` (default: :func:`tunelab.media_dir`, which reads
    ``$TUNELAB_MEDIA_DIR``). Clip ids come from
    :mod:`secrets`, not from the study's seed: a published study file must not let anyone recompute which
    id belongs to which set. Any source that cannot be rendered, or a clip that fails validation, raises
    :class:`StudyError` and nothing is stored.
    """
    from studies.stimuli import ClipSettings, prepare_stimuli, validate_clips

    spec = load_spec(spec_path)
    code = _random_code(10)
    out_dir = Path(media_dir or default_media_dir()).expanduser().resolve() / code
    settings = ClipSettings.from_dict({**spec.stimuli, "clip_seconds": spec.clip_seconds})
    sources = [(sset.name, f) for sset in spec.stimulus_sets for f in sset.files()]
    try:
        clips, failures = prepare_stimuli([f for _, f in sources], out_dir, settings, jobs=jobs,
                                          progress=progress, on_progress=on_progress)  # random ids
        if failures:
            set_of = {f: name for name, f in sources}
            listed = "; ".join(f"set '{set_of[p]}': {p}: {why}" for p, why in failures[:5])
            raise StudyError(f"{spec.source}: {len(failures)} file(s) could not be made into clips ({listed}); "
                             "fix or remove them and create the study again")
        clips_by_set: dict[str, list[Any]] = {sset.name: [] for sset in spec.stimulus_sets}
        for (name, _), clip in zip(sources, clips, strict=True):
            clips_by_set[name].append(clip)
        problems = validate_clips(clips, target_lufs=settings.target_lufs)
        if problems:
            raise StudyError(f"{spec.source}: rendered clips failed validation: {'; '.join(problems[:5])}")
        return register_study(spec, clips_by_set, db_url, code=code)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _is_plain(value: Any, max_len: int) -> bool:
    """Text of at most ``max_len`` characters without control characters (NUL breaks PostgreSQL)."""
    return (isinstance(value, str) and 0 < len(value) <= max_len
            and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value))


def study_row(code: str, db: Db = None) -> dict[str, Any]:
    """The stored study row (id, code, title, spec dict, status, created); StudyError if unknown."""
    if not _is_plain(code, 32):
        raise StudyError(f"unknown study code {code!r}; check the link or run `python -m studies list`")
    row = storage.get_study(get_engine(db), code)
    if row is None:
        raise StudyError(f"unknown study code {code!r}; check the link or run `python -m studies list`")
    return row


def study_spec(code: str, db: Db = None) -> StudySpec:
    """The stored spec of a study (includes the admin-only stimulus folders: not for participants)."""
    return spec_from_stored(study_row(code, db)["spec"])


def study_info(code: str, db: Db = None) -> dict[str, Any]:
    """What a participant page shows first: title, consent, instructions, status and test settings."""
    row = study_row(code, db)
    spec = spec_from_stored(row["spec"])
    return {
        "code": code,
        "title": spec.title,
        "consent": spec.consent,
        "instructions": spec.instructions,
        "status": row["status"],
        "test_type": spec.test_type,
        "total_trials": spec.total_trials,
        "practice_trials": spec.practice_trials,
        "allow_confidence": spec.allow_confidence,
        "require_full_playback": spec.require_full_playback,
        "options": answer_options(spec.test_type),
    }


def list_studies(db: Db = None) -> list[dict[str, Any]]:
    """Every study: code, title, status, created, participants started and completed."""
    return storage.list_studies(get_engine(db))


def _set_status(code: str, status: str, db: Db) -> None:
    if not storage.set_status(get_engine(db), code, status):
        raise StudyError(f"unknown study code {code!r}; run `python -m studies list` to see the codes")


def open_study(code: str, db: Db = None) -> None:
    """Let new participants start the study."""
    _set_status(code, "open", db)


def close_study(code: str, db: Db = None) -> None:
    """Refuse new participants (those who already started may finish)."""
    _set_status(code, "closed", db)


def _clip_path(clip_id: str, db: Db) -> Path:
    row = storage.get_stimulus(get_engine(db), clip_id) if _is_plain(clip_id, 40) else None
    if row is None:
        raise StudyError(f"unknown clip id {clip_id!r}")
    return Path(row["audio_path"])


def clip_bytes(clip_id: str, db: Db = None) -> bytes:
    """Encoded audio of a clip by its opaque id."""
    path = _clip_path(clip_id, db)
    if not path.is_file():
        raise StudyError(f"clip {clip_id}: audio file {path} is missing; re-create the study's media")
    return path.read_bytes()


def clip_mime_type(clip_id: str, db: Db = None) -> str:
    """MIME type of a clip's audio (audio/mpeg, audio/ogg, audio/wav or audio/flac)."""
    suffix = _clip_path(clip_id, db).suffix.lower()
    return {".ogg": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac"}.get(suffix, "audio/mpeg")


# --- participant flow ----------------------------------------------------------------------------------


def _participant_rng(seed: int, secret: str, external_id: str) -> np.random.Generator:
    """The participant's generator: study seed, the study's secret (hex) and a hash of the external id."""
    digest = int.from_bytes(hashlib.sha256(external_id.encode("utf-8")).digest()[:8], "big")
    words = [int(secret[i:i + 16], 16) for i in range(0, len(secret), 16)]
    return np.random.default_rng([seed, *words, digest])


def consent_hash(consent: str) -> str:
    """SHA-256 (hex) of a consent text: stored with each consent, so it says which text was agreed to."""
    return hashlib.sha256(consent.encode("utf-8")).hexdigest()


def _session(engine: Engine, code: str, participant: dict[str, Any], resumed: bool) -> ParticipantSession:
    trials = storage.participant_assignments(engine, participant["id"])
    answered = storage.participant_answers(engine, participant["id"])
    state = storage.participant_state(engine, participant["id"])
    missing = [t["position"] for t in trials if t["position"] not in answered]
    return ParticipantSession(
        participant["id"],
        code,
        participant["external_id"],
        len(trials),
        missing[0] if missing else None,
        resumed,
        participant.get("completed") is not None,
        consented=state["consented"] is not None,
        begun=state["n_shown"] > 0 or bool(answered),
    )


def _clean_external_id(external_id: str) -> str:
    external_id = (external_id or "").strip() if isinstance(external_id, str) else ""
    if not _is_plain(external_id, 200):
        raise StudyError(
            "participant id is empty, longer than 200 characters or contains control characters; open the "
            "link with ?study=CODE&PROLIFIC_PID=YOUR_ID or type your id"
        )
    return external_id


def find_session(code: str, external_id: str, db: Db = None) -> ParticipantSession | None:
    """The session of a participant who already started (consented or not), or None; creates nothing."""
    engine = get_engine(db)
    external_id = _clean_external_id(external_id)
    study = study_row(code, db)
    existing = storage.find_participant(engine, study["id"], external_id)
    return None if existing is None else _session(engine, code, existing, resumed=True)


def _assign(spec: StudySpec, engine: Engine, study_id: int, secret: str, external_id: str,
            exposure: dict[str, int]) -> list[Any]:
    infos = [StimulusInfo(r["id"], r["kind"], r["group_name"]) for r in storage.study_stimuli(engine, study_id)]
    return assign_trials(
        infos,
        spec.trials_per_participant,
        spec.attention_checks,
        _participant_rng(spec.seed, secret, external_id),
        exposure,
        test_type=spec.test_type,
        n_practice=spec.practice_trials,
    )


def start_or_resume(code: str, external_id: str, db: Db = None, *, consent: bool = False) -> ParticipantSession:
    """Start a participant (assigning balanced trials) or resume one at the first unanswered trial.

    ``consent=True`` records that the participant agreed to the study's consent text now (with a hash of the
    text), for a new or a returning participant; a consent already stored is kept. A participant who already
    completed the study gets their session back with ``completed=True`` and ``next_position=None``: nothing
    can be answered again (a retake is refused), and :func:`completion_code` returns the code they were
    given. Raises StudyError for an unknown study, a closed study (new participants only) or a bad external
    id.
    """
    engine = get_engine(db)
    external_id = _clean_external_id(external_id)
    study = study_row(code, db)
    spec = spec_from_stored(study["spec"])
    agreed = consent_hash(spec.consent) if consent else None
    existing = storage.find_participant(engine, study["id"], external_id)
    if existing is None:
        if study["status"] != "open":
            raise StudyError(f"study {code} is closed and takes no new participants")
        secret = storage.study_secret(engine, study["id"], secrets.token_hex(32))
        trials = _assign(spec, engine, study["id"], secret, external_id,
                         storage.exposure_counts(engine, study["id"]))
        rows = [
            {
                "position": t.position,
                "clip_a": t.clip_ids[0],
                "clip_b": t.clip_ids[1] if len(t.clip_ids) > 1 else None,
                "is_attention_check": t.is_attention_check,
                "is_practice": t.is_practice,
                "expected": t.expected,
            }
            for t in trials
        ]
        pid = secrets.token_hex(16)  # hex: never starts with a character a spreadsheet reads as a formula
        if storage.create_participant(engine, pid, study["id"], external_id, rows, consent_sha256=agreed):
            return _session(engine, code, {"id": pid, "external_id": external_id}, resumed=False)
        existing = storage.find_participant(engine, study["id"], external_id)  # lost a concurrent start
        if existing is None:
            raise StudyError(f"could not register participant {external_id!r} in study {code}; try again")
    if agreed is not None:
        storage.record_consent(engine, existing["id"], agreed)
    return _session(engine, code, existing, resumed=True)


def replay_assignments(code: str, db: Db = None) -> dict[str, list[Any]]:
    """Every participant's trial list rebuilt from the stored state: seed, secret, participants in the order
    they started (each one's exposure counts are those left by the participants before).

    Returns ``{external id: [Trial, ...]}``; equal to the stored assignments whenever participants started
    one after another (two starts in the same instant may have seen the same exposure counts).
    """
    engine = get_engine(db)
    study = study_row(code, db)
    spec = spec_from_stored(study["spec"])
    secret = storage.study_secret(engine, study["id"], secrets.token_hex(32))
    exposure: dict[str, int] = {}
    out: dict[str, list[Any]] = {}
    for person in storage.study_participants(engine, study["id"]):
        trials = _assign(spec, engine, study["id"], secret, person["external_id"], exposure)
        out[person["external_id"]] = trials
        for t in trials:
            if not (t.is_attention_check or t.is_practice):
                for clip in t.clip_ids:
                    exposure[clip] = exposure.get(clip, 0) + 1
    return out


def _prompt(test_type: str, expected: str | None) -> str:
    if expected is None:
        return PROMPTS[test_type]
    what = "pair" if test_type == "ab-preference" else "clip"
    return f"Attention check: for this {what}, answer “{expected}”."


def _participant_ok(participant_id: Any) -> bool:
    return _is_plain(participant_id, 48)


def trial_view(participant_id: str, position: int, db: Db = None) -> TrialView:
    """What the participant sees at ``position`` (0-based)."""
    ctx = storage.trial_context(get_engine(db), participant_id, position) if _participant_ok(participant_id) else None
    if ctx is None:
        raise StudyError(f"participant {participant_id!r} has no trial at position {position}")
    spec = spec_from_stored(ctx["spec"])
    clip_ids = (ctx["clip_a"],) if ctx["clip_b"] is None else (ctx["clip_a"], ctx["clip_b"])
    return TrialView(
        position=position,
        total=int(ctx["total"]),
        clip_ids=clip_ids,
        prompt=_prompt(spec.test_type, ctx["expected"] if ctx["is_attention_check"] else None),
        options=answer_options(spec.test_type),
        allow_confidence=spec.allow_confidence,
        require_full_playback=spec.require_full_playback,
        is_practice=bool(ctx["is_practice"]),
    )


def _get_participant(engine: Engine, participant_id: Any) -> dict[str, Any]:
    participant = storage.get_participant(engine, participant_id) if _participant_ok(participant_id) else None
    if participant is None:
        raise StudyError(f"unknown participant {participant_id!r}; start again from the study link")
    return participant


def current_trial(participant_id: str, db: Db = None) -> TrialView | None:
    """The first unanswered trial of a participant, or None when every trial is answered.

    Showing a trial is recorded (server clock) the first time it is returned: the full-playback rule and
    the response time of :func:`submit_answer` count from then.
    """
    engine = get_engine(db)
    _get_participant(engine, participant_id)
    answered = storage.participant_answers(engine, participant_id)
    positions = [t["position"] for t in storage.participant_assignments(engine, participant_id)]
    missing = [p for p in positions if p not in answered]
    if not missing:
        return None
    storage.mark_shown(engine, participant_id, missing[0])
    return trial_view(participant_id, missing[0], db)


def _normalise_answer(test_type: str, answer: Any) -> str:
    text = str(answer).strip()
    if test_type == "turing":
        text = text.lower()
    elif test_type == "ab-preference":
        text = text.upper()
    elif test_type == "rating" and isinstance(answer, float) and answer.is_integer():
        text = str(int(answer))
    return text


def _whole_number(value: Any, name: str, low: int, high: int | None) -> int:
    """``value`` as an int in [low, high]; StudyError naming ``name`` otherwise."""
    ok = not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer()
    if not ok or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"≥ {low}"
        raise StudyError(f"{name} {value!r} must be a whole number {span}")
    return int(value)


def _check_full_playback(events: list[Any], n_clips: int, position: int) -> None:
    """Refuse an answer whose play log lacks an ``ended`` event for one of the trial's clips."""
    ended = {str(e.get("clip", "A")).upper() for e in events if isinstance(e, dict) and e.get("type") == "ended"}
    missing = [c for c in "AB"[:n_clips] if c not in ended]
    if missing:
        which = "the clip" if n_clips == 1 else f"clip {' and '.join(missing)}"
        raise StudyError(f"trial {position + 1}: {which} was not played to the end (no 'ended' play event); "
                         "this study requires full playback before answering")


def trial_seconds(ctx: Mapping[str, Any]) -> float:
    """Total length (s) of a trial's clips: one clip, or A + B of a pair (from a :func:`storage.trial_context`
    row or any mapping with a_samples, a_rate, b_samples, b_rate)."""
    total = ctx["a_samples"] / ctx["a_rate"]
    if ctx.get("b_samples") is not None:
        total += ctx["b_samples"] / ctx["b_rate"]
    return float(total)


def submit_answer(
    participant_id: str,
    position: int,
    answer: Any,
    confidence: int | None = None,
    response_ms: int | None = None,
    play_events: list[Any] | None = None,
    db: Db = None,
) -> bool:
    """Validate and commit one answer in its own transaction before returning.

    Returns True if stored now, False if the same answer was already stored (a repeated submit, or another
    tab of the same participant). A different answer for an already-answered trial raises StudyError, as do
    invalid values.

    Full playback (``require_full_playback``, the default) is checked on the server clock: the answer is
    refused, and nothing is stored, unless the server showed the trial (:func:`current_trial`) at least the
    trial's total clip length minus :data:`PLAYBACK_TOLERANCE_SECONDS` earlier. This holds for every caller
    (a browser, a raw websocket client, a script); import answers into a study without that setting.

    The stored ``response_ms`` is the server's: from the trial's first showing to the arrival of the answer.
    The ``response_ms`` argument is used only for a trial the server never showed (answers of a study without
    full playback that a script brings in).

    ``play_events`` is the player's log, a list of dicts ``{"type": "play" | "pause" | "ended",
    "clip": "A" | "B", ...}`` (stored as JSON). When the study sets ``require_full_playback`` and
    ``play_events`` is given, it must also hold an ``ended`` event for every clip of the trial ("A", and "B"
    for a pair; an event without ``clip`` counts for "A"), or the answer is refused.
    """
    engine = get_engine(db)
    arrived = storage.now()
    ctx = storage.trial_context(engine, participant_id, int(position)) if _participant_ok(participant_id) else None
    if ctx is None:
        raise StudyError(f"participant {participant_id!r} has no trial at position {position}")
    spec = spec_from_stored(ctx["spec"])
    options = answer_options(spec.test_type)
    value = _normalise_answer(spec.test_type, answer)
    if value not in options:
        raise StudyError(
            f"answer {answer!r} is not allowed in a {spec.test_type} test; use one of {', '.join(options)}"
        )
    if confidence is not None:
        if not spec.allow_confidence:
            raise StudyError("this study does not ask for confidence; submit without it")
        confidence = _whole_number(confidence, "confidence", 1, 5)
    if response_ms is not None:
        response_ms = _whole_number(response_ms, "response_ms", 0, None)
    if play_events is not None and not isinstance(play_events, list):
        raise StudyError("play_events must be a list of events")
    previous = storage.get_answer(engine, participant_id, int(position))
    if previous is not None:  # answered before (another tab, a repeated click): nothing new to check
        if previous["answer"] != value or (confidence is not None and previous["confidence"] != confidence):
            raise StudyError(
                f"trial {position} was already answered with {previous['answer']!r}; answers cannot be changed"
            )
        return False
    shown = ctx["shown"]
    elapsed = None if shown is None else (arrived - shown).total_seconds()
    if spec.require_full_playback:
        if play_events is not None:
            _check_full_playback(play_events, 1 if ctx["clip_b"] is None else 2, int(position))
        needed = trial_seconds(ctx) - PLAYBACK_TOLERANCE_SECONDS
        if elapsed is None:
            raise StudyError(f"trial {position + 1} has not been shown yet; open it (current_trial) and listen "
                             "before answering")
        if elapsed < needed:
            raise StudyError(
                f"trial {position + 1}: answered {elapsed:.1f} s after it was shown, but its "
                f"{'clips last' if ctx['clip_b'] is not None else 'clip lasts'} {trial_seconds(ctx):.1f} s; "
                "this study requires listening to the end before answering")
    if elapsed is not None:
        response_ms = max(0, int(round(elapsed * 1000)))
    expected = ctx["expected"] if ctx["is_attention_check"] else None
    stored_now, row = storage.record_answer(
        engine, participant_id, int(position), value, confidence, response_ms, play_events, expected,
        created=arrived,
    )
    if not stored_now and (
        row["answer"] != value or (confidence is not None and row["confidence"] != confidence)
    ):
        raise StudyError(
            f"trial {position} was already answered with {row['answer']!r}; answers cannot be changed"
        )
    return stored_now


def completion_code(participant_id: str, db: Db = None) -> str:
    """The participant's completion code (random, server generated), once every trial is stored."""
    engine = get_engine(db)
    participant = _get_participant(engine, participant_id)
    session = _session(engine, participant["study_code"], participant, resumed=True)
    if session.next_position is not None:
        n_done = len(storage.participant_answers(engine, participant_id))
        raise StudyError(
            f"only {n_done} of {session.total} trials are answered; answer trial "
            f"{session.next_position + 1} first"
        )
    return storage.mark_completed(engine, participant_id, _random_code(12).upper())


def progress(code: str, db: Db = None) -> dict[str, int]:
    """Participants started and completed, answers stored."""
    return storage.progress_counts(get_engine(db), study_row(code, db)["id"])
