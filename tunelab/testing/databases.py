"""Studies databases for tests: a fresh SQLite file or a fresh schema of the test PostgreSQL server.

Shared by ``tests/studies`` and ``tests/app`` (both run the engine on both databases). The PostgreSQL server
is the one named by ``$TUNELAB_TEST_POSTGRES_URL``; if unset, ``scripts/test_postgres.sh`` starts a local
one and prints its URL. Failing to reach it is an error, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from studies import engine as study_engine
from studies import storage
from tunelab import REPO_ROOT

_PG: dict[str, str] = {}


class DatabaseUnavailable(RuntimeError):
    """The test PostgreSQL server could not be started or reached (the message says why)."""


def postgres_url() -> str:
    """URL of the test PostgreSQL database (starting it with scripts/test_postgres.sh when needed)."""
    if "url" in _PG:
        return _PG["url"]
    url = os.environ.get("TUNELAB_TEST_POSTGRES_URL", "").strip()
    if not url:
        script = REPO_ROOT / "scripts" / "test_postgres.sh"
        run = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            raise DatabaseUnavailable(f"{script} failed (exit {run.returncode}); PostgreSQL is required for "
                                      f"these tests:\n{run.stderr[-2000:]}")
        url = run.stdout.strip().splitlines()[-1]
    try:
        eng = storage.make_engine(url, create=False)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:
        raise DatabaseUnavailable(f"cannot reach PostgreSQL at {url} ({exc}); run scripts/test_postgres.sh or "
                                  "set TUNELAB_TEST_POSTGRES_URL") from exc
    _PG["url"] = url
    return url


def fresh_database(url: str) -> str:
    """Drop and recreate every studies table at ``url``; return the URL."""
    study_engine.dispose_engines()
    eng = storage.make_engine(url, create=False)
    storage.drop_schema(eng)
    storage.metadata.create_all(eng)
    eng.dispose()
    return url


def postgres_schema_url(base: str) -> tuple[str, str]:
    """Create an empty schema named for one test; return (schema, URL whose search_path is that schema).

    Each test gets its own schema, so test runs in parallel processes do not see each other's tables.
    """
    schema = f"t_{uuid.uuid4().hex[:16]}"  # generated here: safe as an identifier
    admin = storage.make_engine(base, create=False)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def drop_postgres_schema(base: str, schema: str) -> None:
    """Drop a schema made by :func:`postgres_schema_url` with everything in it."""
    admin = storage.make_engine(base, create=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@contextmanager
def studies_database(kind: str, folder: Path) -> Iterator[str]:
    """An empty studies database for one test: ``kind`` "sqlite" (a file in ``folder``) or "postgres" (a fresh
    schema of the test server, dropped afterwards). Raises :class:`DatabaseUnavailable` when PostgreSQL
    cannot be reached; engines are disposed before and after."""
    study_engine.dispose_engines()
    if kind == "sqlite":
        try:
            yield fresh_database(f"sqlite:///{Path(folder) / 'studies.db'}")
        finally:
            study_engine.dispose_engines()
        return
    base = postgres_url()
    schema, url = postgres_schema_url(base)
    try:
        yield fresh_database(url)
    finally:
        study_engine.dispose_engines()
        drop_postgres_schema(base, schema)
