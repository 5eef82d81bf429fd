"""The connector made from `salesforce_*` settings, with errors that name the setting."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sqlalchemy import Engine

from callbridge.adapters.crm.salesforce.auth import (
    ClientCredentials,
    JwtBearer,
    TokenSource,
    make_session,
)
from callbridge.adapters.crm.salesforce.client import SalesforceClient
from callbridge.adapters.crm.salesforce.connector import SalesforceConnector
from callbridge.adapters.crm.salesforce.errors import SalesforceConfigError
from callbridge.adapters.crm.salesforce.limits import Pacing
from callbridge.adapters.crm.salesforce.phone_index import PhoneIndex
from callbridge.adapters.crm.salesforce.retry import Backoff
from callbridge.domain.clock import Clock
from callbridge.services.security.crypto import FieldCipher
from callbridge.settings import Settings


def token_source(settings: Settings, clock: Clock) -> TokenSource:
    """The OAuth flow `salesforce_auth` names, with its settings checked."""
    client_id = _required(settings.salesforce_client_id, "salesforce_client_id")
    instance_url = settings.salesforce_instance_url
    if settings.salesforce_auth == "client_credentials":
        secret = settings.salesforce_client_secret
        return ClientCredentials(
            settings.salesforce_token_url,
            client_id,
            _required(secret.get_secret_value() if secret else None, "salesforce_client_secret"),
            instance_url,
        )
    username = _required(settings.salesforce_username, "salesforce_username")
    key_file = settings.salesforce_private_key_file
    if key_file is None:
        raise SalesforceConfigError(
            "salesforce_private_key_file: required for salesforce_auth = jwt (the PEM key whose "
            "certificate the connected app holds)",
            setting="salesforce_private_key_file",
        )
    try:
        key = key_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SalesforceConfigError(
            f"salesforce_private_key_file: cannot read {key_file}: {exc.strerror}",
            setting="salesforce_private_key_file",
        ) from exc
    return JwtBearer(
        settings.salesforce_token_url,
        client_id,
        username,
        settings.salesforce_audience,
        key,
        clock,
        instance_url,
    )


def build_connector(
    settings: Settings,
    engine: Engine,
    cipher: FieldCipher,
    clock: Clock,
    *,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> SalesforceConnector:
    """The connector for `settings`; nothing is sent until it is first used."""
    tokens = token_source(settings, clock)
    ca_file = settings.salesforce_ca_file
    if ca_file is not None and not ca_file.is_file():
        raise SalesforceConfigError(
            f"salesforce_ca_file: no such file: {ca_file}", setting="salesforce_ca_file"
        )
    client = SalesforceClient(
        tokens,
        make_session(ca_file),
        version=settings.salesforce_api_version,
        pacing=Pacing(settings.salesforce_api_floor),
        clock=clock,
        backoff=backoff,
        sleep=sleep,
        rng=rng,
    )
    return SalesforceConnector(
        client,
        PhoneIndex(engine, cipher),
        clock,
        external_id_field=settings.salesforce_external_id_field,
        region=settings.default_country,
    )


def _required(value: str | None, setting: str) -> str:
    if value is None or not value.strip():
        raise SalesforceConfigError(f"{setting}: required when crm = salesforce", setting=setting)
    return value.strip()
