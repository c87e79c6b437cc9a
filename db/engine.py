"""Engines and sessions: one engine per database URL per process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.settings import get_settings

# Writers wait this long for SQLite's lock instead of failing at once: the web process and the
# worker write the same file.
SQLITE_BUSY_TIMEOUT_MS = 10_000

_lock = threading.Lock()
_factories: dict[str, sessionmaker[Session]] = {}


def _configure_sqlite(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the API read while a worker writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _create_postgres_engine(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _create_postgres_engine(url: str) -> Engine:
    settings = get_settings()
    timeouts = (
        f"-c lock_timeout={int(settings.database_lock_timeout_s * 1000)} "
        f"-c statement_timeout={int(settings.database_statement_timeout_s * 1000)}"
    )
    return create_engine(
        url,
        # A connection the server dropped (a restart) is found before use and replaced.
        pool_pre_ping=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_s,
        connect_args={"options": timeouts, "connect_timeout": settings.database_connect_timeout_s},
    )


def _factory(url: str) -> sessionmaker[Session]:
    with _lock:
        if url not in _factories:
            _factories[url] = sessionmaker(_create_engine(url), expire_on_commit=False)
        return _factories[url]


def get_engine() -> Engine:
    return engine_for(get_settings().sqlalchemy_url)


def engine_for(url: str) -> Engine:
    """This process's engine for ``url``: a web app built with settings of its own probes its own database."""
    engine = _factory(url).kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def new_session() -> Session:
    return _factory(get_settings().sqlalchemy_url)()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Drop every engine and its pooled connections.

    A forked worker child must not use connections opened by its parent, and tests switch
    databases between sessions.
    """
    with _lock:
        for factory in _factories.values():
            factory.kw["bind"].dispose()
        _factories.clear()
