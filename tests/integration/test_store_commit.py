"""What a commit writes stays the same now that its statements are built once and reused:
upserts keep the last of duplicate rows, several agents' skills are replaced in one commit,
and the same statements serve commit after commit (a failed one included), on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from callbridge.adapters.store import SqlStore
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import upsert
from callbridge.adapters.store.tables import dispositions
from callbridge.domain.center import ContactCenter
from callbridge.domain.errors import StorageError
from callbridge.domain.ids import AgentId, DispositionCode
from callbridge.domain.ids import SkillId as Sk
from callbridge.domain.live import Disposition
from callbridge.ports import Changes
from callbridge.services.security.crypto import FieldCipher, Keyring

T0 = 1_764_150_000.5
A = AgentId


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    opened = SqlStore.open(database_url, FieldCipher(Keyring.generate()))
    yield opened
    opened.close()


def test_an_upsert_inserts_updates_and_keeps_the_last_of_duplicate_rows(store: SqlStore) -> None:
    with write_transaction(store.engine) as conn:
        upsert(conn, dispositions, [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}])
    with write_transaction(store.engine) as conn:
        upsert(conn, dispositions, [{"code": "a", "label": "A2"}, {"code": "a", "label": "A3"}])
        upsert(conn, dispositions, [])
    with store.engine.connect() as conn:
        rows = conn.execute(select(dispositions).order_by(dispositions.c.code)).all()
    assert [tuple(r) for r in rows] == [("a", "A3"), ("b", "B")]


def test_one_commit_replaces_the_skills_of_several_agents(store: SqlStore) -> None:
    c = ContactCenter()
    c.save_agent(A("ann"), "Ann", {Sk("en"): 7, Sk("fr"): 2}, None, [], T0)
    c.save_agent(A("bob"), "Bob", {Sk("en"): 5}, None, [], T0)
    c.save_agent(A("cy"), "Cy", {Sk("de"): 3}, None, [], T0)
    store.commit(Changes(agents=list(c.agents.values())))

    c.save_agent(A("ann"), "Ann", {Sk("es"): 9}, None, [], T0 + 1)
    c.save_agent(A("bob"), "Bob", {}, None, [], T0 + 1)
    store.commit(Changes(agents=[c.agents[A("ann")], c.agents[A("bob")], c.agents[A("ann")]]))

    skills = {a.id: a.skills for a in store.load().agents}
    assert skills == {A("ann"): {Sk("es"): 9}, A("bob"): {}, A("cy"): {Sk("de"): 3}}


def test_the_same_statements_serve_every_commit_after_a_failed_one(store: SqlStore) -> None:
    c = ContactCenter()
    c.save_agent(A("ann"), "Ann", {Sk("en"): 7}, None, [], T0)
    sold = Disposition(DispositionCode("sold"), "Sold")
    store.commit(Changes(agents=[c.agents[A("ann")]], dispositions=[sold], next_seq=2))
    with pytest.raises(StorageError):  # a label is required: the whole commit is refused
        store.commit(
            Changes(
                agents=[c.agents[A("ann")]],
                dispositions=[Disposition(DispositionCode("bad"), None)],  # type: ignore[arg-type]
            )
        )
    for n in range(3):
        c.save_agent(A("ann"), f"Ann {n}", {Sk("en"): n + 1}, None, [], T0 + n)
        store.commit(
            Changes(
                agents=[c.agents[A("ann")]],
                dispositions=[Disposition(DispositionCode("sold"), f"Sold {n}")],
                next_seq=3 + n,
            )
        )
    state = store.load()
    (ann,) = state.agents
    assert (ann.name, ann.skills) == ("Ann 2", {Sk("en"): 3})
    assert state.dispositions == [Disposition(DispositionCode("sold"), "Sold 2")]
    assert state.next_seq == 5
