"""The composition root: the one place that builds every adapter and service."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from callbridge.adapters.bus.memory import MemoryBus
from callbridge.adapters.crm.builtin import BuiltinCrm, CrmRecords
from callbridge.adapters.crm.salesforce.build import build_connector as build_salesforce
from callbridge.adapters.crm.salesforce.connector import SalesforceConnector
from callbridge.adapters.sms.webhook import WebhookTexts
from callbridge.adapters.store.accounts import SqlAccountStore
from callbridge.adapters.store.audit import AuditLog
from callbridge.adapters.store.campaign_personal import CampaignRecords
from callbridge.adapters.store.campaigns import SqlCampaignStore
from callbridge.adapters.store.cursors import LogCursor
from callbridge.adapters.store.hours import SqlHours
from callbridge.adapters.store.integration_personal import IntegrationRecords
from callbridge.adapters.store.lists import ListStore
from callbridge.adapters.store.outbox import Outbox
from callbridge.adapters.store.personal import InteractionRecords
from callbridge.adapters.store.screen_pops import ScreenPopStore
from callbridge.adapters.store.sql import SqlStore
from callbridge.adapters.store.webhooks import WebhookStore
from callbridge.adapters.telephony.voice import Voice
from callbridge.adapters.web.api import create_api
from callbridge.adapters.web.chat import WebChat
from callbridge.adapters.web.integration import CrmCollector
from callbridge.adapters.webhooks.dispatcher import WebhookDispatcher
from callbridge.domain.clock import Clock
from callbridge.domain.ivr import FlowBook
from callbridge.domain.ivr.hours import Schedule
from callbridge.domain.security.accounts import LockoutPolicy
from callbridge.ports import Crm, PersonalDataHolder
from callbridge.services.campaigns import Campaigns
from callbridge.services.crm_sync.delivery import ActivityLog, DeliveryPolicy, Mapper
from callbridge.services.crm_sync.lists import Lists
from callbridge.services.crm_sync.mapping import load_mapping
from callbridge.services.crm_sync.rules_file import load_rules
from callbridge.services.crm_sync.screen_pops import ScreenPops
from callbridge.services.dialer import Dialer
from callbridge.services.flows import load_book
from callbridge.services.hours import BusinessHours
from callbridge.services.runtime import Runtime
from callbridge.services.security.accounts import AccountPolicy, Accounts
from callbridge.services.security.crypto import FieldCipher, Keyring, open_cipher
from callbridge.services.security.privacy import PrivacyRequests
from callbridge.services.texts import CURSOR as TEXTS_CURSOR
from callbridge.services.texts import TextReplies
from callbridge.settings import Settings, SettingsError


class SystemClock:
    """Wall-clock seconds since the epoch: the only clock outside simulations and tests."""

    def now(self) -> float:
        return time.time()


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class App:
    settings: Settings
    runtime: Runtime
    store: SqlStore
    bus: MemoryBus
    admin_token: str | None  # the bootstrap API token, when configured or made on this run
    token_generated: bool  # made on this run: print it, it is not shown again
    api: FastAPI
    accounts: Accounts
    admin_password: str | None = None  # the first admin's password, made on this run
    crm: Crm | None = None  # the CRM screen pops and activities use
    voice: Voice | None = None  # SIP and RTP, when sip_enabled

    def close(self) -> None:
        _close_crm(self.crm)
        self.store.close()


def _close_crm(crm: Crm | None) -> None:
    """A connector with an HTTP session to let go of (Salesforce) has a close()."""
    close = getattr(crm, "close", None)
    if callable(close):
        close()


def build(settings: Settings, *, clock: Clock | None = None, run_timer_loop: bool = True) -> App:
    """Open the store (creating and migrating it on first run) and wire everything to it."""
    store = SqlStore.open(settings.database_url, open_settings_cipher(settings))
    bus = MemoryBus()
    try:
        runtime = Runtime.start(store, bus, clock or SystemClock(), new_id)
    except Exception:
        store.close()
        raise
    accounts = Accounts(
        SqlAccountStore(store.engine, store.cipher),
        runtime.clock,
        new_id,
        account_policy(settings),
    )
    configured = settings.admin_token.get_secret_value() if settings.admin_token else None
    try:
        password, token = accounts.ensure_bootstrap(configured)
    except Exception:
        store.close()
        raise
    webhook_store = WebhookStore(store.engine, store.cipher)
    crm: Crm | None = None
    try:
        if settings.crm == "builtin":
            crm = BuiltinCrm(store.engine, store.cipher, runtime.clock, new_id)
        elif settings.crm == "salesforce":  # SalesforceConfigError names a missing setting
            crm = build_salesforce(settings, store.engine, store.cipher, runtime.clock)
        integration = crm_integration(settings, store, runtime, crm)
        if isinstance(crm, SalesforceConnector):  # screen pops read its local phone index
            integration.tasks.append(crm.keep_index)
        texts = text_replies(settings, store, runtime)
        if texts is not None:
            integration.tasks.append(texts.run)
        voice, dialer = None, None
        business_hours = BusinessHours(SqlHours(store.engine))
        flows = entry_flows(settings, business_hours.live)
        if settings.sip_enabled:
            voice = Voice(settings, runtime, bus, accounts.sip_credentials, new_id, flows, crm)
            integration.tasks.append(voice.run)
            if settings.dialer_enabled:
                campaigns = SqlCampaignStore(store.engine, store.cipher)
                dialer = Dialer(
                    campaigns, runtime, voice.gateway, tick_s=settings.dialer_tick_s, dnc=campaigns
                )
                integration.tasks.append(dialer.run)
    except Exception:
        _close_crm(crm)
        store.close()
        raise
    webchat = WebChat(
        frozenset(settings.webchat_queues),
        settings.webchat_starts_per_minute,
        store.cipher,
        settings.webchat_frame_ancestors,
    )
    api = create_api(
        runtime,
        accounts,
        tick_interval_s=settings.tick_interval_s,
        run_timer_loop=run_timer_loop,
        tls=settings.tls_cert_file is not None,
        webhook_dispatcher=WebhookDispatcher(webhook_store, bus, runtime.clock),
        background=[*integration.tasks, lambda: webchat.follow(bus)],
    )
    api.state.audit_log = AuditLog(store.engine)
    api.state.webhooks = webhook_store
    api.state.inbound_webhook_secret = settings.inbound_webhook_secret
    api.state.privacy = privacy_requests(store, runtime.clock)
    api.state.crm = crm
    api.state.screen_pops = integration.screen_pops
    api.state.activity_log = integration.activity_log
    api.state.lists = integration.lists
    api.state.campaigns = Campaigns(
        SqlCampaignStore(store.engine, store.cipher),
        runtime.clock,
        settings.default_country,
        ListStore(store.engine, store.cipher),
    )
    if crm is not None and integration.activity_log is not None:
        api.state.registry.register(CrmCollector(crm, integration.activity_log))
    generated = token is not None and configured is None
    api.state.voice = voice
    api.state.dialer = dialer  # the preview routes reach agents' previews through it
    api.state.webchat = webchat
    api.state.flows, api.state.flows_dir = flows, settings.ivr_flows_dir
    api.state.business_hours = business_hours
    api.state.texts = texts
    return App(settings, runtime, store, bus, token, generated, api, accounts, password, crm, voice)


@dataclass
class Integration:
    screen_pops: ScreenPops | None
    activity_log: ActivityLog | None
    lists: Lists | None
    tasks: list[Callable[[], Coroutine[Any, Any, None]]]


def text_replies(settings: Settings, store: SqlStore, runtime: Runtime) -> TextReplies | None:
    """The sender of agents' SMS replies, when an SMS provider's URL is set."""
    if settings.sms_outbound_url is None:
        return None
    if settings.sms_outbound_secret is None:
        raise SettingsError("sms_outbound_secret: required when sms_outbound_url is set")
    sender = WebhookTexts(
        settings.sms_outbound_url, settings.sms_outbound_secret.get_secret_value(), runtime.clock
    )
    return TextReplies(runtime, sender, LogCursor(store.engine, TEXTS_CURSOR, runtime.clock))


def entry_flows(settings: Settings, hours: Mapping[str, Schedule]) -> FlowBook | None:
    """The IVR flows, each checked (a broken one stops the start, naming file, line and node),
    and every `flow:NAME` entry point naming one of them. A flow's own `numbers` are entry
    points too, unless the settings send that number elsewhere."""
    directory = settings.ivr_flows_dir
    book = load_book([directory], hours)[0] if directory is not None else None
    for number, target in settings.voice_entry_points:
        if not target.startswith("flow:"):
            continue
        name = target.removeprefix("flow:")
        if book is None or name not in book:
            where = f"in {settings.ivr_flows_dir}" if book is not None else "(no ivr_flows_dir)"
            raise SettingsError(
                f"voice_entry_points: {number!r} starts flow {name!r}, which is not there {where}"
            )
    return book


def crm_integration(
    settings: Settings, store: SqlStore, runtime: Runtime, crm: Crm | None
) -> Integration:
    """Screen pops and the activity outbox's worker for the configured CRM. The mapping and
    rules files are read now, so a mistake in them stops the start, naming the line."""
    if crm is None:
        return Integration(None, None, None, [])
    rules = load_rules(settings.crm_screen_pop_file)
    mapping = None
    if settings.crm_mapping_file is not None:
        mapping = load_mapping(settings.crm_mapping_file)
        mapper: Mapper = mapping.apply
    else:
        mapper = default_mapper(crm)
    pops = ScreenPops(crm, ScreenPopStore(store.engine), runtime.clock, rules)
    log = ActivityLog(
        Outbox(store.engine, store.cipher),
        crm,
        pops,
        store,
        runtime.clock,
        mapper,
        DeliveryPolicy(batch=settings.crm_outbox_batch),
        mapping=mapping,
    )
    lists = Lists(
        crm, ListStore(store.engine, store.cipher), runtime.clock, new_id, settings.default_country
    )
    interval, dnc_every = settings.crm_outbox_interval_s, settings.crm_dnc_sync_interval_s
    tasks = [lambda: log.run(interval), lambda: lists.keep_dnc(dnc_every)]
    return Integration(pops, log, lists, tasks)


def default_mapper(crm: Crm) -> Mapper:
    """Without a mapping file: what the CRM itself expects (Salesforce: CTI Task fields)."""
    default = getattr(crm, "default_fields", None)
    if callable(default):
        return default  # type: ignore[no-any-return]
    return lambda activity: {}


def privacy_requests(store: SqlStore, clock: Clock) -> PrivacyRequests:
    """Export and erasure over every holder of personal data: the CRM's activities and call
    recordings join this list when they exist."""
    holders: list[PersonalDataHolder] = [
        InteractionRecords(store),
        CrmRecords(store.engine, store.cipher, clock),  # the built-in CRM's tables
        IntegrationRecords(store.engine, store.cipher),  # the outbox, dialing lists
        CampaignRecords(store.engine, store.cipher),  # campaign records, calls, histories
    ]
    return PrivacyRequests(holders, store.cipher.index, store, clock)


def open_settings_cipher(settings: Settings) -> FieldCipher:
    """The personal-data cipher from CALLBRIDGE_KEYS or the key file. With SQLite and neither
    set, the key file sits next to the database (`<db>.keys`) and is made on first run."""
    key_file = settings.key_file
    env_value = settings.keys.get_secret_value() if settings.keys else None
    sqlite_path = sqlite_file(settings.database_url)
    if key_file is None and env_value is None:
        if sqlite_path is None and settings.database_url.startswith("sqlite"):
            # an in-memory database dies with the process, and so may its keys
            return FieldCipher(Keyring.generate(), settings.default_country)
        if sqlite_path is None:
            raise SettingsError(
                "key_file: required with PostgreSQL (or set CALLBRIDGE_KEYS); "
                "make one with `callbridge keys generate --file PATH`"
            )
        key_file = sqlite_path.with_name(sqlite_path.name + ".keys")
    return open_cipher(
        key_file,
        env_value,
        create=sqlite_path is not None or settings.key_file is None,
        default_region=settings.default_country,
    )


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("sqlite"):
        return None
    path = rest.removeprefix("/")
    return None if path in ("", ":memory:") else Path(path).expanduser()


def account_policy(settings: Settings) -> AccountPolicy:
    return AccountPolicy(
        password_min_length=settings.password_min_length,
        mfa_roles=settings.mfa_required_roles,
        session_idle_s=settings.session_idle_timeout_s,
        session_absolute_s=settings.session_absolute_timeout_s,
        sip_realm=settings.sip_realm,
        lockout=LockoutPolicy(
            account_failures=settings.lockout_account_failures,
            address_failures=settings.lockout_address_failures,
            window_s=settings.lockout_window_s,
            duration_s=settings.lockout_duration_s,
        ),
    )
