"""The only module of tunelab that touches the studies database (SQLAlchemy 2 Core, bound parameters only).

Default database: the SQLite file ``data/studies.db`` at the repository root (override with the environment
variable ``TUNELAB_STUDIES_DB`` or pass any SQLAlchemy URL, e.g. ``postgresql+psycopg://user:pw@host/db``).
SQLite connections run in WAL mode with ``busy_timeout`` 30 s and ``synchronous=NORMAL`` (a committed answer
survives a killed process; see https://sqlite.org/wal.html), and write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing on a lock upgrade.

Every answer is committed in its own transaction before the call returns; ``UNIQUE (participant, position)``
makes a repeated submit a no-op that reports the stored answer.

Tables: ``studies`` (code, title, the study file as JSON, status), ``study_secrets`` (the per-study assignment
secret: read only by :func:`study_secret`, never joined into any other query or export), ``stimuli`` (opaque
clip id → set, kind, source, audio file, length), ``participants``, ``consents`` (when each participant
agreed, and a hash of the consent text shown), ``assignments`` (each participant's trial list),
``trial_shown`` (when the server first showed each trial, server clock), ``answers`` and
``attention_results``. Times are UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tunelab.settings import ENV_STUDIES_DB, studies_db_url

ENV_DB_URL = ENV_STUDIES_DB

metadata = MetaData()

studies = Table(
    "studies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False, unique=True),  # what the participant link carries
    Column("title", Text, nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("created", DateTime(timezone=True), nullable=False),
)

stimuli = Table(
    "stimuli",
    metadata,
    Column("id", String(40), primary_key=True),  # opaque clip id: the only thing a participant sees
    Column("study_id", Integer, ForeignKey("studies.id"), nullable=False, index=True),
    Column("set_name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # hidden truth: human | computer
    Column("group_name", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("source_path", Text, nullable=False),
    Column("audio_path", Text, nullable=False),
    Column("n_samples", Integer, nullable=False),
    Column("sample_rate", Integer, nullable=False),
)

study_secrets = Table(
    "study_secrets",
    metadata,
    Column("study_id", Integer, ForeignKey("studies.id"), primary_key=True),
    Column("secret", String(64), nullable=False),  # hex of 32 random bytes, mixed into assignment RNGs
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(48), primary_key=True),  # opaque, server generated
    Column("study_id", Integer, ForeignKey("studies.id"), nullable=False),
    Column("external_id", String(200), nullable=False),  # e.g. PROLIFIC_PID
    Column("started", DateTime(timezone=True), nullable=False),
    Column("completed", DateTime(timezone=True), nullable=True),
    Column("completion_code", String(64), nullable=True),
    UniqueConstraint("study_id", "external_id", name="uq_participant_external"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("participant_id", String(48), ForeignKey("participants.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("clip_a", String(40), ForeignKey("stimuli.id"), nullable=False),
    Column("clip_b", String(40), ForeignKey("stimuli.id"), nullable=True),  # ab-preference only
    Column("is_attention_check", Boolean, nullable=False),
    Column("is_practice", Boolean, nullable=False),
    Column("expected", String(32), nullable=True),
)

consents = Table(
    "consents",
    metadata,
    Column("participant_id", String(48), ForeignKey("participants.id"), primary_key=True),
    Column("consented", DateTime(timezone=True), nullable=False),
    Column("consent_sha256", String(64), nullable=False),  # of the consent text the participant agreed to
)

trial_shown = Table(
    "trial_shown",
    metadata,
    Column("participant_id", String(48), ForeignKey("participants.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("shown", DateTime(timezone=True), nullable=False),  # first time the server showed the trial
)

answers = Table(
    "answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("participant_id", String(48), ForeignKey("participants.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("answer", String(32), nullable=False),
    Column("confidence", Integer, nullable=True),
    Column("response_ms", Integer, nullable=True),
    Column("play_events", Text, nullable=True),  # JSON list
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("participant_id", "position", name="uq_answer_position"),
)

attention_results = Table(
    "attention_results",
    metadata,
    Column("participant_id", String(48), ForeignKey("participants.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("expected", String(32), nullable=False),
    Column("answer", String(32), nullable=False),
    Column("passed", Boolean, nullable=False),
)


def now() -> datetime:
    """Current UTC time (timezone aware): the server clock every stored time and response time uses."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands back naive UTC, PostgreSQL aware)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def default_url() -> str:
    """``$TUNELAB_STUDIES_DB`` or the SQLite file ``studies.db`` in the data folder (:mod:`tunelab.settings`)."""
    return studies_db_url()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("tl_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str | None = None, create: bool = True) -> Engine:
    """SQLAlchemy engine for ``url`` (default :func:`default_url`); creates missing tables if ``create``."""
    url = url or default_url()
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if create:
        metadata.create_all(engine, checkfirst=True)
    return engine


def drop_schema(engine: Engine) -> None:
    """Drop every studies table (tests)."""
    metadata.drop_all(engine, checkfirst=True)


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with engine.connect().execution_options(tl_write=True) as conn, conn.begin():
        yield conn


def _rows(conn: Connection, stmt: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(stmt)]


def _read(engine: Engine, stmt: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return _rows(conn, stmt)


# --- studies -------------------------------------------------------------------------------------------


def insert_study(
    engine: Engine, code: str, title: str, spec: dict[str, Any], stimulus_rows: Sequence[dict[str, Any]],
    secret: str,
) -> int:
    """Store a study (status open), its assignment secret and its stimuli in one transaction; returns the
    study's row id.

    ``stimulus_rows`` items: id, set_name, kind, group_name, model, source_path, audio_path, n_samples,
    sample_rate.
    """
    with _write(engine) as conn:
        study_id = conn.execute(
            insert(studies).values(
                code=code,
                title=title,
                spec_json=json.dumps(spec),
                status="open",
                created=now(),
            )
        ).inserted_primary_key[0]
        conn.execute(insert(study_secrets).values(study_id=study_id, secret=secret))
        if stimulus_rows:
            conn.execute(insert(stimuli), [{**r, "study_id": study_id} for r in stimulus_rows])
    return int(study_id)


def study_secret(engine: Engine, study_id: int, new_secret: str) -> str:
    """The study's assignment secret; a study stored before secrets existed gets ``new_secret`` now."""
    query = select(study_secrets.c.secret).where(study_secrets.c.study_id == study_id)
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return str(found)
    try:
        with _write(engine) as conn:
            conn.execute(insert(study_secrets).values(study_id=study_id, secret=new_secret))
    except IntegrityError:  # a concurrent caller stored one first
        pass
    with engine.connect() as conn:
        return str(conn.execute(query).scalar_one())


def _study_dict(row: dict[str, Any]) -> dict[str, Any]:
    row["spec"] = json.loads(row.pop("spec_json"))
    return row


def get_study(engine: Engine, code: str) -> dict[str, Any] | None:
    """Study row (id, code, title, spec (dict), status, created) or None."""
    rows = _read(engine, select(studies).where(studies.c.code == code))
    return _study_dict(rows[0]) if rows else None


def list_studies(engine: Engine) -> list[dict[str, Any]]:
    """Every study with its participant counts (started, completed), oldest first."""
    started = select(func.count()).where(participants.c.study_id == studies.c.id).scalar_subquery()
    done = (
        select(func.count())
        .where(participants.c.study_id == studies.c.id, participants.c.completed.is_not(None))
        .scalar_subquery()
    )
    stmt = select(
        studies.c.code,
        studies.c.title,
        studies.c.status,
        studies.c.created,
        started.label("started"),
        done.label("completed"),
    ).order_by(studies.c.id)
    return _read(engine, stmt)


def set_status(engine: Engine, code: str, status: str) -> bool:
    """Set a study open/closed; False if no such study."""
    with _write(engine) as conn:
        return conn.execute(update(studies).where(studies.c.code == code).values(status=status)).rowcount > 0


def study_stimuli(engine: Engine, study_id: int) -> list[dict[str, Any]]:
    """Every stimulus row of a study, ordered by set and source path."""
    return _read(
        engine,
        select(stimuli)
        .where(stimuli.c.study_id == study_id)
        .order_by(stimuli.c.set_name, stimuli.c.source_path),
    )


def get_stimulus(engine: Engine, clip_id: str) -> dict[str, Any] | None:
    """One stimulus row by its opaque id, or None."""
    rows = _read(engine, select(stimuli).where(stimuli.c.id == clip_id))
    return rows[0] if rows else None


def exposure_counts(engine: Engine, study_id: int) -> dict[str, int]:
    """Clip id → number of main (non-check, non-practice) trials that used it so far."""
    counts: dict[str, int] = {}
    base = assignments.join(participants, participants.c.id == assignments.c.participant_id)
    with engine.connect() as conn:
        for col in (assignments.c.clip_a, assignments.c.clip_b):
            stmt = (
                select(col, func.count())
                .select_from(base)
                .where(
                    participants.c.study_id == study_id,
                    col.is_not(None),
                    assignments.c.is_attention_check.is_(False),
                    assignments.c.is_practice.is_(False),
                )
                .group_by(col)
            )
            for clip, n in conn.execute(stmt):
                counts[clip] = counts.get(clip, 0) + int(n)
    return counts


# --- participants --------------------------------------------------------------------------------------


def find_participant(engine: Engine, study_id: int, external_id: str) -> dict[str, Any] | None:
    """Participant row of a study by external id (e.g. PROLIFIC_PID), or None."""
    rows = _read(
        engine,
        select(participants).where(
            participants.c.study_id == study_id, participants.c.external_id == external_id
        ),
    )
    return rows[0] if rows else None


def get_participant(engine: Engine, participant_id: str) -> dict[str, Any] | None:
    """Participant row joined with its study's code, spec JSON and status, or None."""
    stmt = (
        select(
            participants,
            studies.c.code.label("study_code"),
            studies.c.spec_json,
            studies.c.status.label("study_status"),
        )
        .join(studies, studies.c.id == participants.c.study_id)
        .where(participants.c.id == participant_id)
    )
    rows = _read(engine, stmt)
    return _study_dict(rows[0]) if rows else None


def create_participant(
    engine: Engine, participant_id: str, study_id: int, external_id: str, trials: Sequence[dict[str, Any]],
    consent_sha256: str | None = None,
) -> bool:
    """Store a participant and all its assignments (and its consent, when ``consent_sha256`` is given) in one
    transaction.

    ``trials`` items: position, clip_a, clip_b, is_attention_check, is_practice, expected. Returns False
    (and stores nothing) if the external id already exists in the study (a concurrent start won).
    """
    try:
        with _write(engine) as conn:
            at = now()
            conn.execute(
                insert(participants).values(
                    id=participant_id, study_id=study_id, external_id=external_id, started=at
                )
            )
            conn.execute(insert(assignments), [{**t, "participant_id": participant_id} for t in trials])
            if consent_sha256 is not None:
                conn.execute(insert(consents).values(participant_id=participant_id, consented=at,
                                                     consent_sha256=consent_sha256))
    except IntegrityError:
        return False
    return True


def record_consent(engine: Engine, participant_id: str, consent_sha256: str) -> None:
    """Store that the participant agreed now (kept as it is if a consent is already stored)."""
    try:
        with _write(engine) as conn:
            conn.execute(insert(consents).values(participant_id=participant_id, consented=now(),
                                                 consent_sha256=consent_sha256))
    except IntegrityError:  # already consented (another tab): the first consent stays
        pass


def participant_state(engine: Engine, participant_id: str) -> dict[str, Any]:
    """When the participant consented (or None) and how many trials the server has shown them."""
    with engine.connect() as conn:
        consented = conn.execute(select(consents.c.consented)
                                 .where(consents.c.participant_id == participant_id)).scalar_one_or_none()
        shown = conn.execute(select(func.count()).select_from(trial_shown)
                             .where(trial_shown.c.participant_id == participant_id)).scalar_one()
    return {"consented": as_utc(consented), "n_shown": int(shown)}


def mark_shown(engine: Engine, participant_id: str, position: int) -> None:
    """Record that the server shows trial ``position`` now, unless an earlier showing is recorded."""
    try:
        with _write(engine) as conn:
            conn.execute(insert(trial_shown).values(participant_id=participant_id, position=position,
                                                    shown=now()))
    except IntegrityError:  # shown before (a rerun, another tab): the first time counts
        pass


def participant_assignments(engine: Engine, participant_id: str) -> list[dict[str, Any]]:
    """Every assignment row of a participant by position."""
    return _read(
        engine,
        select(assignments)
        .where(assignments.c.participant_id == participant_id)
        .order_by(assignments.c.position),
    )


def trial_context(engine: Engine, participant_id: str, position: int) -> dict[str, Any] | None:
    """Assignment at ``position`` with the participant's completion state, the study spec, when the server
    first showed the trial (``shown``, None if never) and the length of its clips in samples and Hz
    (``a_samples``, ``a_rate``, ``b_samples``, ``b_rate``; the b values are None for one-clip trials), or
    None."""
    clip_a, clip_b = stimuli.alias("clip_a_row"), stimuli.alias("clip_b_row")
    stmt = (
        select(
            assignments,
            participants.c.completed,
            studies.c.spec_json,
            studies.c.status.label("study_status"),
            select(func.count())
            .where(assignments.c.participant_id == participant_id)
            .scalar_subquery()
            .label("total"),
            trial_shown.c.shown,
            clip_a.c.n_samples.label("a_samples"),
            clip_a.c.sample_rate.label("a_rate"),
            clip_b.c.n_samples.label("b_samples"),
            clip_b.c.sample_rate.label("b_rate"),
        )
        .join(participants, participants.c.id == assignments.c.participant_id)
        .join(studies, studies.c.id == participants.c.study_id)
        .join(clip_a, clip_a.c.id == assignments.c.clip_a)
        .outerjoin(clip_b, clip_b.c.id == assignments.c.clip_b)
        .outerjoin(trial_shown, (trial_shown.c.participant_id == assignments.c.participant_id)
                   & (trial_shown.c.position == assignments.c.position))
        .where(assignments.c.participant_id == participant_id, assignments.c.position == position)
    )
    rows = _read(engine, stmt)
    if not rows:
        return None
    row = _study_dict(rows[0])
    row["shown"] = as_utc(row["shown"])
    return row


def participant_answers(engine: Engine, participant_id: str) -> dict[int, dict[str, Any]]:
    """Position → stored answer row of a participant."""
    rows = _read(engine, select(answers).where(answers.c.participant_id == participant_id))
    return {r["position"]: r for r in rows}


def get_answer(engine: Engine, participant_id: str, position: int) -> dict[str, Any] | None:
    """The stored answer of one trial, or None."""
    rows = _read(
        engine,
        select(answers).where(answers.c.participant_id == participant_id, answers.c.position == position),
    )
    return rows[0] if rows else None


def record_answer(
    engine: Engine,
    participant_id: str,
    position: int,
    answer: str,
    confidence: int | None,
    response_ms: int | None,
    play_events: Any,
    expected: str | None = None,
    created: datetime | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Commit one answer (and its attention result when ``expected`` is given) in its own transaction.

    Returns ``(stored_now, row)``: ``stored_now`` False means an answer for this position already existed
    and ``row`` is that stored answer (the caller decides whether it matches). ``created`` is the server
    time the answer arrived (default: now).
    """
    row = {
        "participant_id": participant_id,
        "position": position,
        "answer": answer,
        "confidence": confidence,
        "response_ms": response_ms,
        "play_events": None if play_events is None else json.dumps(play_events),
        "created": created or now(),
    }
    try:
        with _write(engine) as conn:
            conn.execute(insert(answers).values(**row))
            if expected is not None:
                conn.execute(
                    insert(attention_results).values(
                        participant_id=participant_id,
                        position=position,
                        expected=expected,
                        answer=answer,
                        passed=answer == expected,
                    )
                )
    except IntegrityError:  # UNIQUE (participant, position): the answer exists; nothing was written
        existing = get_answer(engine, participant_id, position)
        if existing is None:
            raise
        return False, existing
    return True, row


def mark_completed(engine: Engine, participant_id: str, code: str) -> str:
    """Store ``code`` as the participant's completion code unless one exists; returns the stored code."""
    with _write(engine) as conn:
        conn.execute(
            update(participants)
            .where(participants.c.id == participant_id, participants.c.completion_code.is_(None))
            .values(completion_code=code, completed=now())
        )
        return conn.execute(
            select(participants.c.completion_code).where(participants.c.id == participant_id)
        ).scalar_one()


# --- results -------------------------------------------------------------------------------------------


def study_participants(engine: Engine, study_id: int) -> list[dict[str, Any]]:
    """Every participant of a study (opaque id, external id, started, completed, completion code, consented),
    by start."""
    stmt = (select(participants, consents.c.consented)
            .outerjoin(consents, consents.c.participant_id == participants.c.id)
            .where(participants.c.study_id == study_id)
            .order_by(participants.c.started, participants.c.id))
    rows = _read(engine, stmt)
    for row in rows:
        for key in ("started", "completed", "consented"):
            row[key] = as_utc(row[key])
    return rows


def progress_counts(engine: Engine, study_id: int) -> dict[str, int]:
    """Participants started/completed and answers stored for a study."""
    with engine.connect() as conn:
        started = conn.execute(select(func.count()).where(participants.c.study_id == study_id)).scalar_one()
        completed = conn.execute(
            select(func.count()).where(
                participants.c.study_id == study_id, participants.c.completed.is_not(None)
            )
        ).scalar_one()
        n_answers = conn.execute(
            select(func.count())
            .select_from(answers.join(participants, participants.c.id == answers.c.participant_id))
            .where(participants.c.study_id == study_id)
        ).scalar_one()
    return {"started": int(started), "completed": int(completed), "answers": int(n_answers)}


def answer_rows(engine: Engine, study_id: int) -> list[dict[str, Any]]:
    """Every answer of a study joined with its assignment and participant, by participant and position."""
    stmt = (
        select(
            answers.c.participant_id,
            participants.c.external_id,
            participants.c.completed,
            answers.c.position,
            answers.c.answer,
            answers.c.confidence,
            answers.c.response_ms,
            answers.c.play_events,
            answers.c.created,
            assignments.c.clip_a,
            assignments.c.clip_b,
            assignments.c.is_attention_check,
            assignments.c.is_practice,
            assignments.c.expected,
        )
        .select_from(
            answers.join(participants, participants.c.id == answers.c.participant_id).join(
                assignments,
                (assignments.c.participant_id == answers.c.participant_id)
                & (assignments.c.position == answers.c.position),
            )
        )
        .where(participants.c.study_id == study_id)
        .order_by(participants.c.started, answers.c.participant_id, answers.c.position)
    )
    return _read(engine, stmt)


def attention_rows(engine: Engine, study_id: int) -> list[dict[str, Any]]:
    """Attention-check results of a study (participant, position, expected, answer, passed)."""
    stmt = (
        select(attention_results)
        .join(participants, participants.c.id == attention_results.c.participant_id)
        .where(participants.c.study_id == study_id)
        .order_by(participants.c.started, attention_results.c.participant_id, attention_results.c.position)
    )
    return _read(engine, stmt)


def count_answers(engine: Engine, study_id: int | None = None) -> int:
    """Number of stored answers (of one study, or all)."""
    stmt = select(func.count()).select_from(
        answers.join(participants, participants.c.id == answers.c.participant_id)
    )
    if study_id is not None:
        stmt = stmt.where(participants.c.study_id == study_id)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
