"""Engine and sessions: SQLite by default (one small server), PostgreSQL by URL (many workers).

Every engine keeps patient data out of its errors, whoever made it (web, worker, imports, MLLP listener): SQL
parameters are hidden, and PostgreSQL's own messages are cut to what names the constraint or column, since their
DETAIL line repeats the row ("Failing row contains (..., Ana, Lopez, +12125550123)").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def upsert(db: Session, table: Table) -> Any:
    """An INSERT that takes ON CONFLICT clauses, in the dialect of the session's database. Only the two databases
    the product runs on have one."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"clinic-reminders runs on SQLite or PostgreSQL, not {dialect}")


SQLITE_BUSY_TIMEOUT_MS = 30_000
# The largest value of an Integer column on PostgreSQL (SQLite's are 64-bit): ids, counts and codes from outside
# are checked against it before they reach a query.
INTEGER_MAX = 2**31 - 1


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the web server read while the dispatcher writes; busy_timeout makes writers queue, not fail.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return on_connect


def _without_row_values(context: ExceptionContext) -> None:
    """Cuts a PostgreSQL error to its primary message, before the data values it quotes after a colon
    (`invalid input syntax for type integer: "..."`), and drops its DETAIL, HINT and CONTEXT lines. What code
    reads (`orig.diag`: SQLSTATE, constraint, column) is untouched. SQLite's messages name columns only."""
    orig = context.original_exception
    diag = getattr(orig, "diag", None)
    if diag is None:
        return
    primary = (diag.message_primary or type(orig).__name__).split(": ", 1)[0]
    orig.args = (f"{primary} (SQLSTATE {diag.sqlstate})",)
    if context.sqlalchemy_exception is not None:
        name = f"{type(orig).__module__}.{type(orig).__qualname__}"
        context.sqlalchemy_exception.args = (f"({name}) {orig.args[0]}",)


def _begin_immediate(engine: Engine) -> None:
    """Every transaction takes SQLite's write lock at BEGIN (the recipe of SQLAlchemy's pysqlite notes): a writer
    that must wait does so before any work, never half-way, and never fails later on a snapshot another writer
    made stale (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out)."""

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, sqlite_writers_only: bool = False, **kwargs: Any
) -> Engine:
    """`sqlite_busy_timeout_ms`: how long a SQLite writer waits for another's lock before SQLITE_BUSY;
    `sqlite_writers_only`: every transaction of this engine writes, so it takes the lock at BEGIN."""
    kwargs["hide_parameters"] = True  # a failed statement's text must not carry the patient data it was writing
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": sqlite_busy_timeout_ms / 1000}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_busy_timeout_ms))
        if sqlite_writers_only:
            _begin_immediate(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _without_row_values)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with factory() as session, session.begin():
        yield session
