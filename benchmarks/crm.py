"""CRM benchmark: activities logged per second in the built-in CRM, screen-pop lookups on a
million contacts, and what the Salesforce connector costs in API requests.

Run:
    .venv/bin/python benchmarks/crm.py --json            # 1,000,000 contacts
    .venv/bin/python benchmarks/crm.py --json --quick    # 100,000 contacts, within 30 s

Everything runs here: SQLite in a temporary directory for the built-in CRM, and the test
suite's Salesforce stand-in (HTTPS on loopback, tests/support/sfstandin) for the connector, so
the connector's numbers are request counts, which the stand-in counts the way Salesforce does;
its timings say nothing about Salesforce's. One JSON object goes to stdout; "method" says what
each number is.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))

import phonenumbers  # noqa: E402
from sf_support import settings_for  # noqa: E402
from sfstandin import running_standin  # noqa: E402

from callbridge.adapters.crm.builtin import BuiltinCrm  # noqa: E402
from callbridge.adapters.crm.builtin.bulk import bulk_load_contacts  # noqa: E402
from callbridge.adapters.crm.salesforce.build import build_connector  # noqa: E402
from callbridge.adapters.crm.salesforce.mapping import default_task_fields  # noqa: E402
from callbridge.adapters.store.sql import SqlStore  # noqa: E402
from callbridge.app import SystemClock, new_id  # noqa: E402
from callbridge.domain.crm.records import (  # noqa: E402
    Activity,
    ActivityDirection,
    LookupKey,
    RecordRef,
)
from callbridge.logging import configure_logging  # noqa: E402
from callbridge.ports import MappedActivity  # noqa: E402
from callbridge.services.security.crypto import FieldCipher, Keyring  # noqa: E402

BATCH = 200


def activity(n: int, phone: str, who: RecordRef | None, tag: str) -> Activity:
    return Activity(
        external_id=f"{tag}-{n:07d}",
        subject=f"Inbound call {n}",
        channel="voice",
        direction=ActivityDirection.INBOUND,
        started_at=1_800_000_000.0 + n,
        ended_at=1_800_000_180.0 + n,
        duration_s=150,
        customer_address=phone,
        queue="Support",
        agent="Ada",
        disposition_code="resolved",
        disposition_label="Resolved",
        notes="Asked about a refund.",
        who=who,
    )


def national(number: str) -> str:
    """The way an IVR or a person writes it: (415) 555-0100."""
    parsed = phonenumbers.parse(number, "US")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def builtin(contacts: int, activities: int, lookups: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.open(f"sqlite:///{tmp}/crm.db", FieldCipher(Keyring.generate()))
        try:
            crm = BuiltinCrm(store.engine, store.cipher, SystemClock(), new_id)
            t0 = time.perf_counter()
            phones = bulk_load_contacts(store.engine, store.cipher, contacts, rng)
            load_s = time.perf_counter() - t0
            ids = [m.ref for m in crm.lookup(LookupKey.PHONE, phones[0])]
            who = ids[0] if ids else None

            # screen pop: lookups by a number in national format, of contacts spread over the table
            sample = [phones[rng.randrange(len(phones))] for _ in range(lookups)]
            timings: list[float] = []
            found = 0
            for number in sample:
                written = national(number)
                t = time.perf_counter_ns()
                matches = crm.lookup(LookupKey.PHONE, written)
                timings.append((time.perf_counter_ns() - t) / 1e6)
                found += bool(matches)
            misses: list[float] = []
            for n in range(lookups // 10):
                t = time.perf_counter_ns()
                crm.lookup(LookupKey.PHONE, f"+1202555{n:04d}")
                misses.append((time.perf_counter_ns() - t) / 1e6)

            # activities: batches of 200 (the outbox worker's size), then one per transaction
            batch = [
                MappedActivity(activity(n, phones[n % len(phones)], who, "bench"), {})
                for n in range(activities)
            ]
            t0 = time.perf_counter()
            for start in range(0, len(batch), BATCH):
                results = crm.log_activities(batch[start : start + BATCH])
                assert all(r.ok for r in results), results[:3]
            batched_s = time.perf_counter() - t0
            again = time.perf_counter()
            crm.log_activities(batch[:BATCH])  # the same again: upserts, no new rows
            repeat_s = time.perf_counter() - again
            single = [
                MappedActivity(activity(n, phones[0], who, "single"), {})
                for n in range(max(50, activities // 20))
            ]
            t0 = time.perf_counter()
            for item in single:
                crm.log_activities([item])
            single_s = time.perf_counter() - t0
        finally:
            store.close()
    return {
        "contacts": contacts,
        "contacts_load_s": round(load_s, 1),
        "screen_pop_p50_ms": round(quantile(timings, 0.5), 3),
        "screen_pop_p99_ms": round(quantile(timings, 0.99), 3),
        "screen_pop_mean_ms": round(statistics.fmean(timings), 3),
        "screen_pop_found": found,
        "screen_pop_lookups": lookups,
        "screen_pop_miss_p99_ms": round(quantile(misses, 0.99), 3),
        "activities": activities,
        "activities_per_s": round(activities / batched_s),
        "activities_repeat_batch_ms": round(repeat_s * 1000, 1),
        "naive_activities_per_s": round(len(single) / single_s),
    }


def salesforce(interactions: int, naive_sample: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp, running_standin() as standin:
        known = [f"+1415{rng.randrange(2_000_000, 9_999_999):07d}" for _ in range(interactions)]
        people: dict[str, str] = {}
        for n, number in enumerate(dict.fromkeys(known)):
            people[number] = standin.insert(
                "Contact", {"LastName": f"Person {n}", "Phone": national(number)}
            )
        # 5 % of callers are new to the CRM: those cost a SOSL search each
        callers = [
            number if rng.random() >= 0.05 else f"+1212{rng.randrange(2_000_000, 9_999_999):07d}"
            for number in known
        ]
        settings = settings_for(standin, Path(tmp))
        store = SqlStore.open(f"sqlite:///{tmp}/sf.db", FieldCipher(Keyring.generate()))
        connector = build_connector(settings, store.engine, store.cipher, SystemClock())
        try:
            start = standin.api_calls()
            connector.sync_phone_index()
            sync_calls = standin.api_calls() - start
            # screen pops as calls are offered: the local index, SOSL on a miss
            start = standin.api_calls()
            t0 = time.perf_counter()
            whos = []
            for number in callers:
                matches = connector.lookup(LookupKey.PHONE, number)
                whos.append(matches[0].ref if matches else None)
            pop_calls = standin.api_calls() - start
            # logging as the outbox worker does it: the contact is the screen pop's, batches of 200
            start = standin.api_calls()
            mapped = []
            for n, (number, who) in enumerate(zip(callers, whos, strict=True)):
                act = activity(n, number, who, "sf")
                mapped.append(MappedActivity(act, default_task_fields(act)))
            for first in range(0, len(mapped), BATCH):
                assert all(r.ok for r in connector.log_activities(mapped[first : first + BATCH]))
            log_calls = standin.api_calls() - start
            run_s = time.perf_counter() - t0
            tasks = len(standin.records("Task"))
        finally:
            connector.close()
            store.close()

        # the naive way, on the same stand-in: a SOSL search and a Task create per interaction
        session = standin.http_session()
        token = standin.issue_token()
        base = f"{standin.base_url}/services/data/v{standin.api_version}"
        headers = {"Authorization": f"Bearer {token}"}
        start = standin.api_calls()
        for n, number in enumerate(callers[:naive_sample]):
            digits = number[2:]
            found = session.get(
                f"{base}/search/",
                params={"q": f"FIND {{{digits}}} IN PHONE FIELDS RETURNING Contact(Id)"},
                headers=headers,
                timeout=30,
            ).json()
            who_id = found["searchRecords"][0]["Id"] if found.get("searchRecords") else None
            body = {"Subject": f"Naive call {n}", "Status": "Completed", "CallType": "Inbound"}
            if who_id:
                body["WhoId"] = who_id
            session.post(f"{base}/sobjects/Task/", json=body, headers=headers, timeout=30)
        naive_calls = standin.api_calls() - start
        session.close()
    return {
        "interactions": interactions,
        "sf_tasks_written": tasks,
        "sf_requests_per_1000": round(log_calls * 1000 / interactions, 1),
        "sf_screen_pop_requests_per_1000": round(pop_calls * 1000 / interactions, 1),
        "sf_total_requests_per_1000": round((log_calls + pop_calls) * 1000 / interactions, 1),
        "sf_initial_index_sync_requests": sync_calls,
        "sf_run_s": round(run_s, 2),
        "naive_interactions": naive_sample,
        "naive_requests_per_1000": round(naive_calls * 1000 / naive_sample, 1),
    }


METHOD = {
    "activities_per_s": "built-in CRM on SQLite (WAL): activities / wall time of log_activities "
    "in batches of 200 (the outbox worker's batch), each batch one transaction with its upserts, "
    "phone sealing and change log. naive_activities_per_s: the same, one activity per call.",
    "screen_pop_p50_ms/p99_ms": "BuiltinCrm.lookup(phone) wall time, the number written in US "
    "national format, so it is normalised to E.164 and blind-indexed each time, over contacts "
    "loaded by bulk_load_contacts (phones and emails sealed). screen_pop_miss_p99_ms: "
    "unknown numbers.",
    "sf_requests_per_1000": "Salesforce connector against the stand-in: API requests (as the "
    "stand-in counts them: every /services/data call) spent logging N interactions as Tasks "
    "the way the outbox worker does (Collections upserts of 200 on CC_SessionId__c, the contact "
    "taken from the screen pop), scaled to 1,000.",
    "sf_screen_pop_requests_per_1000": "requests the screen pops of the same N interactions cost: "
    "the local phone index first, SOSL only on a miss; 5 % of callers are not in the CRM, and "
    "each of those costs one SOSL. sf_total_requests_per_1000 is both together; the one-off "
    "initial index sync is apart (sf_initial_index_sync_requests).",
    "naive_requests_per_1000": "on the same stand-in: a SOSL search and a Task create per "
    "interaction, for naive_interactions of them, scaled to 1,000.",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--quick", action="store_true", help="100,000 contacts, under 30 s")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    configure_logging("warning", json=False, stream=sys.stderr)  # stdout is the JSON only
    if args.quick:
        built = builtin(100_000, 5_000, 2_000, args.seed)
        sf = salesforce(1_000, 200, args.seed)
    else:
        built = builtin(1_000_000, 20_000, 10_000, args.seed)
        sf = salesforce(2_000, 1_000, args.seed)
    result = {
        "benchmark": "crm",
        "quick": args.quick,
        "seed": args.seed,
        **built,
        **sf,
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {
            "activities_per_s>=5000": built["activities_per_s"] >= 5000,
            "screen_pop_p99_ms<5": built["screen_pop_p99_ms"] < 5,
            "sf_requests_per_1000<=10": sf["sf_requests_per_1000"] <= 10,
            "naive_requests_per_1000>=2000": sf["naive_requests_per_1000"] >= 2000,
        },
        "method": METHOD,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
