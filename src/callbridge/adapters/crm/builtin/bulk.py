"""Loading many synthetic contacts fast, for benchmarks: sealed and phone-indexed exactly as
`upsert_record` stores them, but written with executemany in chunks and without change-log rows.
"""

from __future__ import annotations

import random

from sqlalchemy import Engine, insert

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.tables import crm_accounts, crm_contacts, crm_phone_index
from callbridge.domain.crm.records import RecordType
from callbridge.services.security.crypto import FieldCipher

CHUNK = 5_000
CONTACTS_PER_ACCOUNT = 20
FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Tim")
LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson")


def bulk_load_contacts(
    engine: Engine, cipher: FieldCipher, n: int, rng: random.Random, *, at: float = 0.0
) -> list[str]:
    """Insert `n` contacts (and one account per 20), each with a distinct US phone number and
    an email address; the phone numbers (E.164), contact i's at index i."""
    phones = _distinct_numbers(n, rng)
    accounts = max(1, n // CONTACTS_PER_ACCOUNT) if n else 0
    contact_ad = crm_contacts.name
    tag = f"{rng.getrandbits(32):08x}"  # ids unique across loads into one database
    with write_transaction(engine) as conn:
        for start in range(0, accounts, CHUNK):
            conn.execute(
                insert(crm_accounts),
                [
                    {
                        "id": f"bulk-{tag}-a{i}",
                        "name": f"Company {i}",
                        "account_number": f"BULK-{i:08d}",
                        "phone": None,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for i in range(start, min(start + CHUNK, accounts))
                ],
            )
        for start in range(0, n, CHUNK):
            contacts, index = [], []
            for i in range(start, min(start + CHUNK, n)):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                email = f"{first}.{last}.{i}@example.com".lower()
                contact_id = f"bulk-{tag}-c{i}"
                contacts.append(
                    {
                        "id": contact_id,
                        "account_id": f"bulk-{tag}-a{i % accounts}",
                        "first_name": first,
                        "last_name": last,
                        "email": cipher.seal(email, f"{contact_ad}.email"),
                        "email_index": cipher.index(email),
                        "phone": cipher.seal(phones[i], f"{contact_ad}.phone"),
                        "do_not_call": False,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                index.append(
                    {
                        "phone_index": cipher.index(phones[i]),
                        "record_type": RecordType.CONTACT.value,
                        "record_id": contact_id,
                    }
                )
            conn.execute(insert(crm_contacts), contacts)
            conn.execute(insert(crm_phone_index), index)
    return phones


def _distinct_numbers(n: int, rng: random.Random) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        area, exchange = rng.randrange(200, 1000), rng.randrange(200, 1000)
        number = f"+1{area}{exchange}{rng.randrange(10**4):04d}"
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out
