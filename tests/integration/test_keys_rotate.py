"""Sealed storage on SQLite and PostgreSQL, and `callbridge keys`: rotation while the server
keeps creating and reading interactions, reseal, retire, status, and the audit entries."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from privacy_support import AUTH, make_app, ok, setup_center
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from callbridge.adapters.store.rekey import key_usage, reseal
from callbridge.adapters.store.sql import SqlStore
from callbridge.adapters.store.tables import audit_log, interaction_events, interactions
from callbridge.app import App
from callbridge.cli.main import app as cli
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.clock import ManualClock
from callbridge.domain.events import InteractionCreated
from callbridge.domain.ids import InteractionId
from callbridge.domain.interactions import Interaction
from callbridge.ports import Changes
from callbridge.services.security.crypto import FieldCipher, Keyring, write_key_file

T0 = 1_800_000_000.0
# the CRM's sealed tables, empty here (test_crm_builtin.py and test_crm_outbox_keys.py fill them)
NO_CRM = dict.fromkeys(
    (
        "crm_accounts",
        "crm_contacts",
        "crm_leads",
        "crm_cases",
        "crm_activities",
        "crm_dnc",
        "crm_outbox",
        "dialing_list_members",
        "dnc",
        "remote_phone_index",
        "campaign_records",
        "number_histories",
        "campaign_calls",
        "campaign_dnc",
        "dnc_registry_numbers",
        "dnc_exemptions",
    ),
    0,
)


def interaction(n: int, address: str) -> Interaction:
    return Interaction(
        id=InteractionId(f"ix{n:03d}"),
        channel=Channel.VOICE,
        direction=Direction.INBOUND,
        from_address=address,
        to_address="+18005550199",
        created_at=T0 + n,
        attached={"account": f"ACCT-{n:05d}"},
        callback_number="+14155550177",
        notes=f"note {n}",
    )


def created(ix: Interaction) -> InteractionCreated:
    return InteractionCreated(
        at=ix.created_at,
        interaction_id=ix.id,
        channel=ix.channel.value,
        direction=ix.direction.value,
        from_address=ix.from_address,
        to_address=ix.to_address,
        attached=dict(ix.attached),
    )


def test_sealed_values_round_trip_and_are_found_by_index(database_url: str) -> None:
    cipher = FieldCipher(Keyring.generate())
    store = SqlStore.open(database_url, cipher)
    try:
        ix = interaction(1, "+14155550142")
        [logged] = store.commit(Changes(interactions=[ix], events=[created(ix)]))
        assert logged.payload["from_address"] == "+14155550142"  # as published: plain
        back = store.get_interaction(ix.id)
        assert back is not None
        assert (back.from_address, back.callback_number, back.notes, back.attached) == (
            ix.from_address,
            ix.callback_number,
            ix.notes,
            ix.attached,
        )
        [event] = store.events(interaction_id=ix.id)
        assert event.payload == logged.payload
        assert [i.id for i in store.find_interactions("(415) 555-0142")] == [ix.id]
        assert [i.id for i in store.find_interactions("415 555 0177")] == [ix.id]  # callback
        assert store.find_interactions("+14155550000") == []
        with store.engine.connect() as conn:
            row = conn.execute(select(interactions)).mappings().one()
            payload = conn.execute(select(interaction_events.c.payload)).scalar_one()
        for column in ("from_address", "to_address", "callback_number", "notes"):
            assert row[column].startswith("enc:1:k1:"), column
        assert row["attached"]["account"].startswith("enc:1:k1:")
        assert row["from_index"] == cipher.index("+14155550142")
        assert payload["from_address"].startswith("enc:1:k1:")
        assert payload["channel"] == "voice"
    finally:
        store.close()


def test_plain_values_from_before_encryption_read_and_get_sealed(database_url: str) -> None:
    cipher = FieldCipher(Keyring.generate())
    store = SqlStore.open(database_url, cipher)
    try:
        ix = interaction(1, "+14155550142")
        store.commit(Changes(interactions=[ix], events=[created(ix)]))
        with store.engine.begin() as conn:  # as an older version stored them
            conn.execute(
                update(interactions).values(
                    from_address=ix.from_address, attached=ix.attached, notes=ix.notes
                )
            )
            conn.execute(
                update(interaction_events).values(
                    payload={"from_address": ix.from_address, "channel": "voice"}
                )
            )
        back = store.get_interaction(ix.id)
        assert back is not None and back.from_address == ix.from_address
        assert reseal(store.engine, cipher, batch_size=1) == {
            "interactions": 1,
            "interaction_events": 1,
            "users": 0,
            "webhooks": 0,
            **NO_CRM,
        }
        assert reseal(store.engine, cipher) == {
            "interactions": 0,
            "interaction_events": 0,
            "users": 0,
            "webhooks": 0,
            **NO_CRM,
        }
        with store.engine.connect() as conn:
            row = conn.execute(select(interactions)).mappings().one()
        assert row["from_address"].startswith("enc:1:k1:")
        assert store.events()[0].payload["from_address"] == ix.from_address
    finally:
        store.close()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def key_args(app: App, tmp_path: Path, database_url: str) -> list[str]:
    key_file = app.settings.key_file
    if key_file is None:
        db = Path(database_url.removeprefix("sqlite:///"))
        key_file = db.with_name(db.name + ".keys")
    return ["--database-url", database_url, "--key-file", str(key_file)]


def test_rotation_while_the_server_keeps_working(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, ManualClock(T0))
    args = key_args(app, tmp_path, database_url)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            setup_center(client)
            made: dict[str, str] = {}

            def create(n: int) -> None:
                number = f"+1415555{n:04d}"
                body = {"channel": "voice", "from": number, "to": "+18005550199"}
                reply = client.post("/interactions", json=body | {"queue_id": "care"})
                made[ok(reply, 201)["interaction"]["id"]] = number

            def check_all() -> None:
                for iid, number in made.items():
                    assert ok(client.get(f"/interactions/{iid}"))["from"] == number
                for number in list(made.values())[-3:]:
                    found = ok(client.get("/interactions", params={"address": number}))
                    assert [f["from"] for f in found] == [number]

            for n in range(40):
                create(n)
            outcome: list[Result] = []
            rotation = threading.Thread(
                target=lambda: outcome.append(run("keys", "rotate", "--batch-size", "4", *args))
            )
            rotation.start()
            n = 40
            while rotation.is_alive() or n < 45:
                create(n)
                check_all()
                n += 1
            rotation.join()
            [rotated] = outcome
            assert rotated.exit_code == 0, rotated.output
            assert "new primary key k2" in rotated.output

            create(n)  # the server seals under the new key from its next write on
            newest = ok(client.get("/interactions", params={"limit": 1}))[0]["id"]
            with app.store.engine.connect() as conn:
                sealed = conn.execute(
                    select(interactions.c.from_address).where(interactions.c.id == newest)
                ).scalar_one()
            assert sealed.startswith("enc:1:k2:")

            resealed = run("keys", "reseal", *args)  # stragglers written mid-rotation, if any
            assert resealed.exit_code == 0, resealed.output
            assert "no value uses an old key" in resealed.output
            status = run("keys", "status", *args)
            assert "k1: 0 value(s)" in status.output and "k2 (primary)" in status.output
            retired = run("keys", "retire", "k1", *args)
            assert retired.exit_code == 0, retired.output
            assert "retired key k1" in retired.output
            create(n + 1)  # the server rereads the smaller key file and keeps going
            check_all()
        with app.store.engine.connect() as conn:
            entries = list(conn.execute(select(audit_log)).mappings())
        by_action = {e["action"]: e for e in entries if e["actor"] == "cli"}
        assert set(by_action) >= {"keys.rotate", "keys.reseal", "keys.retire"}
        rotate_entry: Any = by_action["keys.rotate"]["after"]
        assert rotate_entry["primary"] == "k2"
        assert rotate_entry["resealed"]["interactions"] >= 40
    finally:
        app.close()


def test_a_key_still_in_use_is_not_retired(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, ManualClock(T0))
    args = key_args(app, tmp_path, database_url)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            setup_center(client)
            body = {"channel": "email", "from": "jane@example.org", "queue_id": "care"}
            ok(client.post("/interactions", json=body), 201)
        key_file = Path(args[-1])
        ring = Keyring.from_json(key_file.read_text(), "test")
        write_key_file(key_file, ring.with_new_primary())  # a rotation stopped before resealing
        refused = run("keys", "retire", "k1", *args)
        assert refused.exit_code == 2
        assert "still seals" in refused.output
        assert "k1" in Keyring.from_json(key_file.read_text(), "test").keys
        assert run("keys", "retire", "k2", *args).exit_code == 2  # the primary
        assert key_usage(app.store.engine, ["k1", "k2"])["k1"] > 0
    finally:
        app.close()


def test_generate_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = run("keys", "generate", "--file", str(path))
    assert first.exit_code == 0, first.output
    before = path.read_text()
    again = run("keys", "generate", "--file", str(path))
    assert again.exit_code == 2 and "already exists" in again.output
    assert path.read_text() == before
    assert path.stat().st_mode & 0o777 == 0o600
