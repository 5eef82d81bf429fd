"""The built-in CRM: accounts, contacts, leads, cases, campaigns and activities in Callbridge's
own database, behind the `Crm` port.

`BuiltinCrm(engine, cipher, clock, new_id)` is the port; `CrmRecords` answers privacy requests;
`bulk_load_contacts` fills a database for benchmarks.
"""

from callbridge.adapters.crm.builtin.bulk import bulk_load_contacts
from callbridge.adapters.crm.builtin.crm import BuiltinCrm
from callbridge.adapters.crm.builtin.dialing import SAVED_QUERIES
from callbridge.adapters.crm.builtin.personal import CrmRecords

__all__ = ["SAVED_QUERIES", "BuiltinCrm", "CrmRecords", "bulk_load_contacts"]
