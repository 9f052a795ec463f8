"""Shared fixtures of the studies tests: a database URL for SQLite and PostgreSQL, tiny studies.

``db_url`` runs each test twice: on a fresh SQLite file and on the PostgreSQL database named by
``$TUNELAB_TEST_POSTGRES_URL`` (if unset, ``scripts/test_postgres.sh`` is run to start a local server; see
:mod:`tunelab.testing.databases`). If PostgreSQL cannot be reached the test fails with the reason: nothing is
skipped. Rendered studies use one pinned soundfont (pretty_midi's bundled TimGM6mb.sf2), so clips are the same
on every machine whatever soundfonts the system has.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pretty_midi
import pytest

from studies import engine as study_engine
from studies.spec import spec_from_dict
from tunelab.testing.clock import FakeClock
from tunelab.testing.clock import install as install_clock
from tunelab.testing.databases import DatabaseUnavailable, studies_database
from tunelab.testing.study_fixture import PINNED_SOUNDFONT


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The engine's server clock, faked: each reading moves it on by an hour, so every answer comes long after
    its trial was shown (the full-playback rule passes). Timing tests set ``clock.step = 0`` and advance it."""
    return install_clock(monkeypatch, step=3600.0)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Empty studies database: a temporary SQLite file, then a fresh schema of the test PostgreSQL database.

    Each PostgreSQL test gets its own schema (dropped afterwards), so test runs in parallel processes do
    not see each other's tables.
    """
    try:
        with studies_database(request.param, tmp_path) as url:
            yield url
    except DatabaseUnavailable as exc:
        pytest.fail(str(exc))


def write_midi(path: Path, seconds: float = 3.0, base: int = 60) -> Path:
    """A one-track piano MIDI of quarter notes at 120 bpm filling ``seconds``."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    i = 0
    while t < seconds:
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=base + (i * 4) % 12, start=t, end=t + 0.5))
        t += 0.5
        i += 1
    pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def study_dict(root: Path, sets: dict[str, tuple[str, str, int]], **fields) -> dict:
    """Study file mapping with one folder per set: ``sets[name] = (kind, group, n_files)``; MIDI written."""
    raw_sets = []
    for name, (kind, group, n) in sets.items():
        for i in range(n):
            write_midi(root / name / f"{name}_{i}.mid", seconds=3.0, base=48 + 3 * i)
        raw_sets.append({"name": name, "kind": kind, "group": group, "folder": name})
    data = {
        "title": "Tiny study",
        "consent": "I agree.",
        "instructions": "Listen, then answer.",
        "test_type": "turing",
        "trials_per_participant": 4,
        "clip_seconds": 2.0,
        "seed": 3,
        "stimulus_sets": raw_sets,
        "stimuli": {"soundfont": str(PINNED_SOUNDFONT)},
    }
    data.update(fields)
    return data


def fake_study(root: Path, db: str, sets: dict[str, tuple[str, str, int]], **fields) -> str:
    """Register a study without rendering: each source gets a small fake audio file; returns the code."""
    spec = spec_from_dict(study_dict(root, sets, **fields), root / "study.toml")
    clips = {}
    media = root / "media"
    media.mkdir(exist_ok=True)
    n = 0
    for sset in spec.stimulus_sets:
        clips[sset.name] = []
        for f in sset.files():
            cid = f"{n:04d}" + os.urandom(6).hex()
            audio = media / f"{cid}.mp3"
            audio.write_bytes(f"fake audio {cid}".encode())
            clips[sset.name].append(
                SimpleNamespace(clip_id=cid, source=f, file=audio, n_samples=88200, sample_rate=44100)
            )
            n += 1
    return study_engine.register_study(spec, clips, db)


@pytest.fixture
def make_fake_study():
    """:func:`fake_study` as a fixture (conftest is not importable under --import-mode=importlib)."""
    return fake_study


@pytest.fixture
def make_study_dict():
    """:func:`study_dict` as a fixture."""
    return study_dict
