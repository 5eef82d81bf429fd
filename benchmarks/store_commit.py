"""Store commit benchmark: what one `SqlStore.commit` costs for a typical call's changes, on
SQLite (WAL) and PostgreSQL, next to the floor of the same SQL sent straight to the driver.

Run:
    .venv/bin/python benchmarks/store_commit.py --json            # 3,000 calls per database
    .venv/bin/python benchmarks/store_commit.py --json --quick    # 300 calls, well under 30 s
    .venv/bin/python benchmarks/store_commit.py --json --backends sqlite --calls 1000

A typical call is what the SIP gateway makes of an answered inbound call, through the real
`Runtime` and use cases, one commit each: the call arrives (the interaction is created, queued
and offered at once to a Ready agent), the agent accepts it, the caller hangs up (no wrap-up:
the interaction closes and its CRM activity goes to the outbox in the same commit). The center
has one queue and `AGENTS` agents, one skill each; the clock is a manual one, so every run
writes the same rows. `store` is the wall time of `SqlStore.commit` (building the rows, sealing
personal data, SQLAlchemy, the driver, the database), serially on one thread.

`floor` is the same database work without any of that: every statement a commit sent to the
driver (recorded by the driver's own cursors in a second, untimed run of the same calls: the
store's prepared statements pass no SQLAlchemy event) is sent again, with the very same
parameters already converted, by the driver itself (sqlite3 or psycopg: execute / executemany,
RETURNING rows fetched) inside BEGIN IMMEDIATE (SQLite) / a transaction (PostgreSQL) and
COMMIT, on a third, freshly migrated database. It is what a commit cannot go below without
sending less SQL. The SQLite databases are files in a temporary directory, opened with the
store's pragmas (WAL, synchronous=NORMAL); the PostgreSQL ones are created on the server at
CALLBRIDGE_BENCH_POSTGRES_URL (else CALLBRIDGE_TEST_POSTGRES_URL, else the test default) and
dropped afterwards. One JSON object goes to stdout (progress to stderr); "method" in it says
what each number is.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url

from callbridge.adapters.bus.memory import MemoryBus
from callbridge.adapters.store import SqlStore
from callbridge.adapters.store.engine import make_engine
from callbridge.domain.channels import Channel
from callbridge.domain.clock import ManualClock
from callbridge.domain.ids import AgentId, InteractionId, QueueId, SkillId
from callbridge.domain.queues import Queue, SkillRequirement, WrapUpPolicy
from callbridge.ports import Changes, StoredEvent
from callbridge.services import agents as agent_svc
from callbridge.services import interactions as svc
from callbridge.services import queues as queue_svc
from callbridge.services.runtime import Runtime
from callbridge.services.security.crypto import FieldCipher, Keyring

AGENTS = 100
WARM_UP_CALLS = 30
QUEUE = QueueId("sales")
SKILL = SkillId("sales")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USE_CASES = ("arrive", "accept", "hang_up")

# One statement as the driver got it: SQL, parameters, executemany or not.
Sent = tuple[str, Any, bool]


def say(message: str) -> None:
    print(f"store_commit: {message}", file=sys.stderr, flush=True)


# ---- the measured store ----------------------------------------------------------------------


class TimedStore(SqlStore):
    """The real store; each commit is timed and filed under the use case being run."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        super().__init__(engine, cipher)
        self.use_case = "setup"
        self.times: dict[str, list[float]] = {}
        self.logged = 0

    def commit(self, changes: Changes) -> list[StoredEvent]:
        start = time.perf_counter()
        stored = super().commit(changes)
        self.times.setdefault(self.use_case, []).append(time.perf_counter() - start)
        self.logged += len(stored)
        return stored


class Recorder:
    """What the driver's cursors were sent, commit by commit: SQLAlchemy's statements and the
    store's prepared ones alike (they run on the driver's cursor, past SQLAlchemy's events)."""

    def __init__(self) -> None:
        self.commits: list[list[Sent]] = []

    def sent(self, statement: str, parameters: Any, many: bool) -> None:
        # BEGIN is the floor's own to send; anything outside a commit is not a commit's
        if self.commits and not statement.lstrip().upper().startswith("BEGIN"):
            kept = [p for p in parameters] if many else parameters
            self.commits[-1].append((statement, kept, many))


RECORDER = Recorder()


class RecordingSqliteCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> RecordingSqliteCursor:
        RECORDER.sent(sql, parameters, False)
        super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> RecordingSqliteCursor:
        parameters = list(parameters)
        RECORDER.sent(sql, parameters, True)
        super().executemany(sql, parameters)
        return self


class RecordingSqliteConnection(sqlite3.Connection):
    def cursor(self, factory: Any = RecordingSqliteCursor) -> Any:
        return super().cursor(factory)


class RecordingPostgresCursor(psycopg.Cursor[Any]):
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        RECORDER.sent(query, params, False)
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        params_seq = list(params_seq)
        RECORDER.sent(query, params_seq, True)
        super().executemany(query, params_seq, **kwargs)


def recording_engine(url: str) -> Engine:
    """An engine on `url` (already migrated) whose connections record what they are sent."""
    if make_url(url).get_backend_name() == "sqlite":
        return make_engine(url, {"factory": RecordingSqliteConnection})
    return make_engine(url, {"cursor_factory": RecordingPostgresCursor})


class CapturingStore(SqlStore):
    """The real store; every statement each commit sends to the driver is kept, in order."""

    @property
    def commits(self) -> list[list[Sent]]:
        return RECORDER.commits

    def commit(self, changes: Changes) -> list[StoredEvent]:
        RECORDER.commits.append([])
        return super().commit(changes)


def cipher() -> FieldCipher:
    # a fixed ring is not needed: sealing costs the same whatever the key
    return FieldCipher(Keyring.generate())


def staff(rt: Runtime) -> None:
    queue_svc.do_save_queue(
        rt,
        Queue(
            id=QUEUE,
            name="Sales",
            requirements=(SkillRequirement(SKILL, 1),),
            offer_timeout_s=15.0,
            wrap_up=WrapUpPolicy(duration_s=0.0),
        ),
    )
    for i in range(AGENTS):
        agent = AgentId(f"agent{i:04d}")
        agent_svc.do_save_agent(rt, agent, f"Agent {i}", {SKILL: 5})
        agent_svc.do_login(rt, agent)
        agent_svc.do_set_ready(rt, agent)


def calls(
    rt: Runtime, clock: ManualClock, first: int, count: int, mark: Callable[[str], None]
) -> None:
    """`count` typical calls, one after the other: arrive, accept, hang up."""
    for n in range(first, first + count):
        iid = InteractionId(f"call{n:07d}")
        clock.advance(2.0)
        mark("arrive")
        svc.do_create_interaction(
            rt,
            svc.NewInteraction(
                channel=Channel.VOICE,
                from_address=f"+1415555{n % 10_000:04d}",
                to_address="+18005550199",
                queue_id=QUEUE,
                attached={"sip_call_id": f"{n:08x}-4f2a@198.51.100.7"},
            ),
            iid,
        )
        agent = rt.center.interactions[iid].agent_id
        if agent is None:
            raise RuntimeError(f"{iid} was not offered to an agent")
        clock.advance(3.0)
        mark("accept")
        svc.do_accept(rt, iid, agent)
        clock.advance(95.0)
        mark("hang_up")
        svc.do_end(rt, iid, "customer")


def runtime(store: SqlStore, clock: ManualClock) -> Runtime:
    counter = iter(range(1, 1 << 62))
    return Runtime.start(store, MemoryBus(), clock, lambda: f"id{next(counter):012d}")


# ---- one database ----------------------------------------------------------------------------


def measure(name: str, fresh: Callable[[], Any], count: int) -> dict[str, Any]:
    """The store, then the capture, then the floor, each on a database of its own."""
    say(f"{name}: {count} calls through the store ...")
    with fresh() as url:
        clock = ManualClock(1_767_225_600.0)
        store = TimedStore(SqlStore.open(url, cipher()).engine, cipher())
        try:
            rt = runtime(store, clock)
            staff(rt)
            calls(rt, clock, 0, WARM_UP_CALLS, lambda _: None)
            store.times.clear()
            store.logged = 0

            def mark(use_case: str) -> None:
                store.use_case = use_case

            calls(rt, clock, WARM_UP_CALLS, count, mark)
        finally:
            store.close()
    timed = store.times
    logged = store.logged

    say(f"{name}: capturing the statements of the same calls ...")
    with fresh() as url:
        clock = ManualClock(1_767_225_600.0)
        SqlStore.open(url, cipher()).close()  # the schema, migrated as the store does
        RECORDER.commits.clear()
        capture = CapturingStore(recording_engine(url), cipher())
        try:
            rt = runtime(capture, clock)
            staff(rt)
            calls(rt, clock, 0, WARM_UP_CALLS + count, lambda _: None)
        finally:
            capture.close()
    measured = capture.commits[-3 * count :]
    setup = capture.commits[: -3 * count]

    say(f"{name}: the same statements straight through the driver ...")
    with fresh() as url:
        SqlStore.open(url, cipher()).close()  # the schema, migrated as the store does
        floor = replay(url, setup, measured)

    every = [t for use_case in USE_CASES for t in timed[use_case]]
    statements = sum(len(c) for c in measured)
    store_stats = stats(every)
    floor_stats = stats(floor)
    return {
        "commits": len(every),
        "commits_per_call": round(len(every) / count, 2),
        "statements_per_commit": round(statements / len(measured), 2),
        "events_per_commit": round(logged / len(every), 2),
        "store": store_stats,
        "floor": floor_stats,
        "store_over_floor_ms_p50": round(store_stats["p50_ms"] - floor_stats["p50_ms"], 3),
        "store_bound_calls_per_s": round(1000.0 / (store_stats["mean_ms"] * len(every) / count), 1),
        "by_use_case": {
            use_case: {k: v for k, v in stats(timed[use_case]).items() if k != "commits_per_s"}
            for use_case in USE_CASES
        },
    }


def stats(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000.0
    p50, p99 = np.percentile(ms, [50, 99])
    mean = float(ms.mean())
    return {
        "commits_per_s": round(1000.0 / mean, 1),
        "mean_ms": round(mean, 3),
        "p50_ms": round(float(p50), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(ms.max()), 3),
    }


# ---- the floor: the captured statements, sent by the driver ---------------------------------


def replay(url: str, setup: list[list[Sent]], measured: list[list[Sent]]) -> list[float]:
    """Send `setup` (untimed), then each of `measured` as one timed transaction."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _replay(SqliteDriver(str(parsed.database)), setup, measured)
    return _replay(PostgresDriver(parsed), setup, measured)


def _replay(driver: Driver, setup: list[list[Sent]], measured: list[list[Sent]]) -> list[float]:
    try:
        for commit in setup:
            driver.transaction(commit)
        times = []
        for commit in measured:
            start = time.perf_counter()
            driver.transaction(commit)
            times.append(time.perf_counter() - start)
        return times
    finally:
        driver.close()


class Driver(Protocol):
    def transaction(self, statements: list[Sent]) -> None:
        """Send `statements` in one transaction and commit it."""

    def close(self) -> None: ...


class SqliteDriver(Driver):
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")

    def transaction(self, statements: list[Sent]) -> None:
        cursor = self.db.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        for sql, parameters, many in statements:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        cursor.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class PostgresDriver(Driver):
    def __init__(self, url: URL) -> None:
        self.db = psycopg.connect(url.set(drivername="postgresql").render_as_string(False))

    def transaction(self, statements: list[Sent]) -> None:
        with self.db.cursor() as cursor:
            for sql, parameters, many in statements:
                if many:
                    cursor.executemany(sql, parameters)
                else:
                    cursor.execute(sql, parameters)
                    if cursor.description is not None:
                        cursor.fetchall()
        self.db.commit()

    def close(self) -> None:
        self.db.close()


# ---- the databases ---------------------------------------------------------------------------


def sqlite_databases(directory: Path) -> Callable[[], Any]:
    counter = iter(range(1, 1000))

    @contextmanager
    def fresh() -> Iterator[str]:
        yield f"sqlite:///{directory / f'bench{next(counter)}.db'}"

    return fresh


def postgres_base() -> URL:
    url = (
        os.environ.get("CALLBRIDGE_BENCH_POSTGRES_URL")
        or os.environ.get("CALLBRIDGE_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_URL
    )
    return make_url(url).set(drivername="postgresql+psycopg")


def postgres_databases(admin: Engine) -> Callable[[], Any]:
    @contextmanager
    def fresh() -> Iterator[str]:
        name = f"cb_bench_{secrets.token_hex(6)}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield postgres_base().set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return fresh


def run(backends: list[str], count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="store-commit-") as work:
        if "sqlite" in backends:
            results["sqlite"] = measure("sqlite", sqlite_databases(Path(work)), count)
    if "postgres" in backends:
        admin = create_engine(
            postgres_base(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        try:
            results["postgres"] = measure("postgres", postgres_databases(admin), count)
        finally:
            admin.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--quick", action="store_true", help="300 calls instead of 3,000")
    parser.add_argument("--calls", type=int, help="measured calls per database")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    args = parser.parse_args()
    count = args.calls or (300 if args.quick else 3000)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    report = {
        "benchmark": "store_commit",
        "quick": args.quick,
        "calls": count,
        "agents": AGENTS,
        **run(backends, count),
        "method": {
            "call": "a typical answered inbound call through the real Runtime and use cases: "
            "arrive (created, queued, offered), accept, hang up (closed, CRM activity to the "
            "outbox; no wrap-up): one commit each",
            "store": "wall time of SqlStore.commit per commit (rows, sealing, SQLAlchemy, "
            "driver, database), serial, after a warm-up of "
            f"{WARM_UP_CALLS} calls; commits_per_s = 1000 / mean_ms",
            "floor": "the same statements with the same converted parameters, recorded at the "
            "driver's cursors in a second run of the same calls, sent by the driver itself "
            "(sqlite3 / psycopg) in one transaction per commit on a fresh database: the "
            "database's own cost",
            "store_bound_calls_per_s": "calls/s one thread could set up and tear down if "
            "committing were all it did: 1000 / (mean_ms x commits_per_call)",
            "sqlite": "a file, WAL, synchronous=NORMAL (as the store opens it)",
            "postgres": "a database created for the run on the server at "
            "CALLBRIDGE_BENCH_POSTGRES_URL or CALLBRIDGE_TEST_POSTGRES_URL, then dropped",
        },
    }
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
