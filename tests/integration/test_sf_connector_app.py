"""The app built with crm = salesforce: the connector on App.crm and api.state.crm, the
default Task mapping for the outbox, and a start that names a missing setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sf_support import calls, settings_for
from sfstandin import StandIn, running_standin

from callbridge.adapters.crm.salesforce.connector import SalesforceConnector
from callbridge.adapters.crm.salesforce.errors import SalesforceConfigError
from callbridge.app import build
from callbridge.domain.crm.records import LookupKey
from callbridge.settings import Settings


def app_settings(standin: StandIn, tmp_path: Path, **extra: object) -> Settings:
    settings = settings_for(standin, tmp_path)
    return settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'cb.db'}", **extra})


def test_the_app_wires_the_connector_and_its_default_task_mapping(tmp_path: Path) -> None:
    with running_standin() as standin:
        app = build(app_settings(standin, tmp_path), run_timer_loop=False)
        try:
            crm = app.crm
            assert isinstance(crm, SalesforceConnector)
            assert app.api.state.crm is crm
            activity = calls(1)[0].activity
            assert crm.default_fields(activity)["CC_SessionId__c"] == activity.external_id
            standin.insert("Contact", {"LastName": "Moss", "Phone": "4155550177"})
            with TestClient(app.api):  # served: its background tasks start and stop with it
                assert [m.name for m in crm.lookup(LookupKey.PHONE, "4155550177")] == ["Moss"]
        finally:
            app.close()


def test_a_missing_setting_stops_the_start_and_names_it(tmp_path: Path) -> None:
    with running_standin() as standin:
        settings = app_settings(standin, tmp_path, salesforce_client_id=None)
        with pytest.raises(SalesforceConfigError, match="salesforce_client_id"):
            build(settings, run_timer_loop=False)
