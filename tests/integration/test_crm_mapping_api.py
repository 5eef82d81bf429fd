"""The field mapping from the API: what is in use, and a dry run of a mapping (the one in use or
one being written) on a sample call or a real closed interaction; nothing reaches the CRM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from security_support import TOKEN, make_app

from callbridge.domain.clock import ManualClock

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAPPING = """\
object: Task
fields:
  Subject:
    template: "{channel} from {customer_address}"
  Account__c:
    from: attached.account_number
  CallDurationInSeconds:
    from: duration_s
"""


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_the_mapping_in_use_and_a_dry_run_on_a_real_interaction(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "mapping.yaml"
    file.write_text(MAPPING, encoding="utf-8")
    app = make_app(database_url, ManualClock(1_800_000_000.0), crm_mapping_file=file)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            shown = ok(client.get("/crm/mapping"))
            assert shown == {
                "origin": str(file),
                "object": "Task",
                "fields": ["Account__c", "CallDurationInSeconds", "Subject"],
                "yaml": MAPPING,
            }
            sample = ok(client.post("/crm/mapping/dry-run", json={}))
            assert sample["activity"] == "sample"
            assert sample["fields"]["Subject"] == "voice from +14155550100"
            assert sample["fields"]["CallDurationInSeconds"] == 212

            ok(client.post("/queues", json={"id": "support", "name": "Support"}), 201)
            made = ok(
                client.post(
                    "/interactions",
                    json={
                        "channel": "voice",
                        "from": "+14155550177",
                        "queue_id": "support",
                        "attached": {"account_number": "ACCT-7"},
                    },
                ),
                201,
            )
            iid = made["interaction"]["id"]
            early = client.post("/crm/mapping/dry-run", json={"interaction_id": iid})
            assert early.status_code == 404
            assert early.json()["error"]["details"]["field"] == "interaction_id"
            ok(client.post(f"/interactions/{iid}/end", json={"by": "customer"}))
            real = ok(client.post("/crm/mapping/dry-run", json={"interaction_id": iid}))
            assert real["activity"] == iid
            assert real["fields"]["Account__c"] == "ACCT-7"
            assert real["fields"]["Subject"] == "voice from +14155550177"

            # a mapping being written: tried, never installed
            draft = "object: Call__c\nfields:\n  Who__c:\n    from: customer_address\n"
            tried = ok(
                client.post("/crm/mapping/dry-run", json={"yaml": draft, "interaction_id": iid})
            )
            assert tried == {
                "object": "Call__c",
                "activity": iid,
                "fields": {"Who__c": "+14155550177"},
            }
            assert ok(client.get("/crm/mapping"))["yaml"] == MAPPING
            bad = client.post(
                "/crm/mapping/dry-run",
                json={"yaml": "fields:\n  Subject:\n    from: nowhere_at_all\n"},
            )
            assert bad.status_code == 422
            error = bad.json()["error"]
            assert error["details"]["field"] == "Subject"
            assert "line 2, field Subject" in error["message"]
    finally:
        app.close()


def test_without_a_mapping_file_the_crms_default_is_in_use(database_url: str) -> None:
    app = make_app(database_url, ManualClock(1_800_000_000.0))
    try:
        with TestClient(app.api, headers=AUTH) as client:
            shown = ok(client.get("/crm/mapping"))
            assert (shown["origin"], shown["yaml"]) == ("default", None)
            run = ok(client.post("/crm/mapping/dry-run", json={}))
            assert run["activity"] == "sample"
            assert isinstance(run["fields"], dict)
    finally:
        app.close()
