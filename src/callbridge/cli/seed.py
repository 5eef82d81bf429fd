"""The demo center: three queues, twelve agents, five dispositions; and the built-in CRM's
demo customers (accounts, contacts, leads, cases, a campaign), whose numbers and addresses are
the ones the simulated traffic comes from (sim/customers.py)."""

from __future__ import annotations

import random
import secrets

from callbridge.adapters.crm.builtin import BuiltinCrm
from callbridge.domain.channels import Channel
from callbridge.domain.crm.records import FieldValue, RecordType
from callbridge.domain.ids import AgentId, DispositionCode, GroupName, QueueId, SkillId
from callbridge.domain.queues import (
    AddGroup,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.services.agents import do_login, do_save_agent, do_set_ready
from callbridge.services.queues import do_save_disposition, do_save_queue
from callbridge.services.runtime import Runtime
from callbridge.services.security.accounts import Accounts, Actor
from callbridge.sim.customers import DEMO_CUSTOMERS, customer_email, customer_phone

SEED = Actor("demo", "localhost")
DISPOSITIONS = {
    "resolved": "Resolved",
    "sale": "Sale made",
    "no_sale": "No sale",
    "follow_up": "Follow-up needed",
    "escalated": "Escalated",
}


def _req(**skills: int) -> tuple[SkillRequirement, ...]:
    return tuple(SkillRequirement(SkillId(s), p) for s, p in skills.items())


QUEUES = (
    Queue(
        QueueId("support"),
        "Customer support",
        _req(support=3),
        service_level_s=30,
        max_wait_s=600,
        overflow=OverflowAction(OverflowKind.VOICEMAIL),
        escalation=(RelaxProficiency(45, SkillId("support"), 1), AddGroup(120, GroupName("tier2"))),
        wrap_up=WrapUpPolicy(
            15, disposition_required=True, default_disposition=DispositionCode("resolved")
        ),
    ),
    Queue(
        QueueId("sales"),
        "Sales",
        _req(sales=5, english=5),
        priority=1,
        strategy=Strategy.MOST_SKILLED,
        max_wait_s=300,
        overflow=OverflowAction(OverflowKind.CALLBACK),
        escalation=(RelaxProficiency(30, SkillId("sales"), 2),),
        wrap_up=WrapUpPolicy(10),
    ),
    Queue(
        QueueId("billing"),
        "Billing",
        _req(billing=2),
        strategy=Strategy.LEAST_OCCUPIED,
        max_wait_s=180,
        overflow=OverflowAction(OverflowKind.QUEUE, QueueId("support")),
        wrap_up=WrapUpPolicy(5),
    ),
)

# (id, name, skills, chats at once, groups)
AGENTS: tuple[tuple[str, str, dict[str, int], int, tuple[str, ...]], ...] = (
    ("ada", "Ada Lovelace", {"support": 9, "english": 9, "billing": 4}, 3, ("tier2",)),
    ("alan", "Alan Turing", {"support": 7, "english": 8}, 2, ()),
    ("grace", "Grace Hopper", {"sales": 9, "english": 9}, 1, ()),
    ("edsger", "Edsger Dijkstra", {"support": 5, "billing": 8, "english": 6}, 3, ()),
    ("barbara", "Barbara Liskov", {"sales": 7, "english": 7, "support": 4}, 2, ()),
    ("donald", "Donald Knuth", {"billing": 9, "english": 5}, 1, ()),
    ("margaret", "Margaret Hamilton", {"support": 8, "english": 7}, 3, ("tier2",)),
    ("ken", "Ken Thompson", {"support": 2, "billing": 3, "english": 6}, 2, ()),
    ("frances", "Frances Allen", {"sales": 6, "english": 8, "spanish": 7}, 1, ()),
    ("john", "John McCarthy", {"sales": 3, "support": 6, "english": 7}, 2, ()),
    ("radia", "Radia Perlman", {"billing": 6, "support": 6, "english": 7}, 3, ("tier2",)),
    ("tim", "Tim Berners-Lee", {"sales": 5, "english": 9, "spanish": 4}, 2, ()),
)


def seed_demo(rt: Runtime, crm: BuiltinCrm | None = None) -> bool:
    """Create the demo center unless it is already there; True if it was created now. With the
    built-in CRM, its demo customers too, unless it holds accounts already."""
    if crm is not None:
        seed_crm(crm)
    if rt.center.queues or rt.center.agents:
        return False
    for code, label in DISPOSITIONS.items():
        do_save_disposition(rt, DispositionCode(code), label)
    for queue in QUEUES:
        do_save_queue(rt, queue)
    for agent_id, name, skills, chats, groups in AGENTS:
        capacity = {
            Channel.VOICE: 1,
            Channel.CHAT: chats,
            Channel.EMAIL: 2,
            Channel.SMS: chats,
            Channel.VOICEMAIL: 1,
        }
        do_save_agent(
            rt,
            AgentId(agent_id),
            name,
            {SkillId(s): p for s, p in skills.items()},
            capacity,
            [GroupName(g) for g in groups],
        )
    return True


# --- a phone of your own -----------------------------------------------------------------------

PHONE_QUEUE = QueueId("demo-calls")
PHONE_AGENT = AgentId("you")
PHONE_USER = "you"
PHONE_ENTRY = "demo"  # sip:demo@127.0.0.1:5060
CHAT_QUEUE = QueueId("demo-chat")  # the demo's /webchat page starts chats here


def seed_phone(rt: Runtime, accounts: Accounts, realm: str) -> str:
    """The demo's human corner: queues demo-calls (the entry point sip:demo) and demo-chat (the
    /webchat page), which only agent `you` serves, and user `you` with a new SIP password each
    run, returned to print.
    Simulated traffic never reaches it; the simulated agents leave agent `you` alone."""
    if PHONE_QUEUE not in rt.center.queues:
        do_save_queue(
            rt,
            Queue(
                PHONE_QUEUE,
                "Calls to sip:demo",
                _req(softphone=1),
                offer_timeout_s=30.0,
                wrap_up=WrapUpPolicy(duration_s=0.0),
            ),
        )
    if CHAT_QUEUE not in rt.center.queues:
        do_save_queue(
            rt,
            Queue(
                CHAT_QUEUE,
                "Chats from the web page",
                _req(softphone=1),
                offer_timeout_s=60.0,
                wrap_up=WrapUpPolicy(duration_s=0.0),
            ),
        )
    if PHONE_AGENT not in rt.center.agents:
        do_save_agent(rt, PHONE_AGENT, "You, on your softphone", {SkillId("softphone"): 5})
    user = accounts.store.get_user_by_username(PHONE_USER)
    if user is None:
        user = accounts.create_user(
            SEED, PHONE_USER, secrets.token_urlsafe(24), ["agent"], agent_id=PHONE_AGENT
        )
    return accounts.set_sip_password(SEED, user.id, realm)


def desk_password(accounts: Accounts) -> str:
    """A new login password for user `you` (made by `seed_phone`) each run, to print: the
    agent desktop at /agent, where the demo's web chats and calls to sip:demo arrive."""
    user = accounts.store.get_user_by_username(PHONE_USER)
    if user is None:
        raise LookupError(f"user {PHONE_USER} is made by seed_phone first")
    password = secrets.token_urlsafe(12)
    accounts.set_password(SEED, user.id, password, current=None)
    return password


def ready_phone_agent(rt: Runtime) -> None:
    """Agent `you` logged in and Ready, so the first call to sip:demo rings the softphone."""
    agent = rt.center.agents[PHONE_AGENT]
    if agent.logged_in_at is None:
        do_login(rt, PHONE_AGENT)
    do_set_ready(rt, PHONE_AGENT)


# --- the built-in CRM's demo customers --------------------------------------------------------

COMPANIES = (
    "Acme Corp", "Globex", "Initech", "Umbrella Health", "Hooli", "Stark Industries",
    "Wayne Logistics", "Wonka Foods", "Tyrell Systems", "Cyberdyne", "Soylent", "Vandelay Imports",
    "Monarch Travel", "Oscorp", "Gringotts Bank", "Duff Brewing", "Pied Piper", "Massive Dynamic",
    "Prestige Worldwide", "Bluth Homes",
)  # fmt: skip
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Amara",
    "Kenji", "Priya", "Omar", "Chloe", "Diego", "Hana", "Ivan", "Zara", "Felix",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Nguyen", "Okafor", "Kowalski", "Rossi", "Tanaka", "Patel", "Murphy",
    "Schmidt", "Haddad", "Silva", "Johansson", "Dubois", "Kim", "Novak", "Ali", "Moreau",
)  # fmt: skip
INDUSTRIES = ("Manufacturing", "Healthcare", "Retail", "Finance", "Technology", "Energy")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")
CONTACTS = 240  # customers 0..239 are contacts, 240..299 leads (sim/customers.py)


def seed_crm(crm: BuiltinCrm) -> bool:
    """Put the demo customers in the built-in CRM unless it holds accounts already; True if it
    did now. A few hundred records in a handful of transactions: well under a second."""
    if crm.list_records(RecordType.ACCOUNT, limit=1):
        return False
    rng = random.Random(2026)  # noqa: S311 - made-up people, not secrets
    accounts = crm.upsert_records(
        RecordType.ACCOUNT,
        [
            {
                "Name": name,
                "AccountNumber": f"ACCT-{10001 + i}",
                "Phone": f"+1555{9000000 + i:07d}",  # the switchboard, outside the caller pool
                "Industry": INDUSTRIES[i % len(INDUSTRIES)],
                "BillingCity": rng.choice(("Austin", "Boston", "Denver", "Seattle", "Miami")),
                "BillingCountry": "US",
            }
            for i, name in enumerate(COMPANIES)
        ],
    )

    def person(i: int) -> dict[str, FieldValue]:
        return {
            "FirstName": rng.choice(FIRST_NAMES),
            "LastName": rng.choice(LAST_NAMES),
            "Phone": customer_phone(i),
            "Email": customer_email(i),
        }

    contact_rows = [
        {**person(i), "AccountId": accounts[i % len(accounts)].id, "DoNotCall": i % 50 == 49}
        for i in range(CONTACTS)
    ]
    contact_rows[1]["MobilePhone"] = customer_phone(0)  # two people on one number: a pick list
    contacts = crm.upsert_records(RecordType.CONTACT, contact_rows)
    leads = crm.upsert_records(
        RecordType.LEAD,
        [
            {
                **person(i),
                "Company": f"{rng.choice(LAST_NAMES)} {rng.choice(('LLC', 'Inc', '& Sons'))}",
                "Status": LEAD_STATUSES[i % len(LEAD_STATUSES)],
            }
            for i in range(CONTACTS, DEMO_CUSTOMERS)
        ],
    )
    crm.upsert_records(
        RecordType.CASE,
        [
            {"Subject": "Invoice shows the wrong amount", "Priority": "High",
             "ContactId": contacts[0].id, "AccountId": accounts[0].id},
            {"Subject": "Delivery is late", "ContactId": contacts[2].id,
             "AccountId": accounts[2].id},
            {"Subject": "Password reset", "Status": "Closed", "ContactId": contacts[3].id,
             "AccountId": accounts[3].id},
        ],
    )  # fmt: skip
    [campaign] = crm.upsert_records(
        RecordType.CAMPAIGN, [{"Name": "Spring renewal", "Status": "In Progress"}]
    )
    crm.upsert_records(
        RecordType.CAMPAIGN_MEMBER,
        [{"CampaignId": campaign.id, "ContactId": c.id} for c in contacts[:40]]
        + [{"CampaignId": campaign.id, "LeadId": lead.id} for lead in leads[:20]],
    )
    return True
