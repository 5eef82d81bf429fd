"""Which stored fields hold personal data, and sealing them with a `FieldCipher`.

Pure, like the codec: the store seals on the way in and opens on the way out; `keys rotate`
re-seals, and a privacy erasure overwrites, exactly the fields named here. Each sealed value is
bound to its "<table>.<column>" (associated data), so it cannot be moved to another column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from callbridge.ports import JsonValue

if TYPE_CHECKING:
    from callbridge.services.security.crypto import FieldCipher

JsonObject = dict[str, JsonValue]

# interactions: columns sealed as text, the one whose values (not keys) are sealed, and the
# blind index column of each searchable address.
INTERACTION_TEXT = ("from_address", "to_address", "callback_number", "notes")
INTERACTION_MAP = "attached"
INDEX_COLUMNS = {
    "from_address": "from_index",
    "to_address": "to_index",
    "callback_number": "callback_index",
}

# interaction_events.payload: fields holding personal data, by name, whatever the event (an
# address, a callback number, wrap-up notes), and attached data, sealed value by value.
EVENT_TEXT = ("from_address", "to_address", "number", "notes", "body")  # body: a chat message
EVENT_MAP = "attached"

ERASED = "[erased]"


def interaction_ad(column: str) -> str:
    return f"interactions.{column}"


def event_ad(field: str) -> str:
    return f"events.{field}"


def seal_map(values: Mapping[str, str], column: str, cipher: FieldCipher) -> dict[str, str]:
    return {key: cipher.seal(value, column) for key, value in values.items()}


def open_map(values: Mapping[str, str], column: str, cipher: FieldCipher) -> dict[str, str]:
    return {key: cipher.open(value, column) for key, value in values.items()}


def seal_payload(payload: JsonObject, cipher: FieldCipher) -> JsonObject:
    """The payload as the log stores it: personal fields sealed."""
    return map_payload(payload, cipher.seal)


def open_payload(payload: JsonObject, cipher: FieldCipher) -> JsonObject:
    """The payload as it was logged: personal fields opened (plain ones pass through)."""
    return map_payload(payload, cipher.open)


def erase_payload(payload: JsonObject) -> JsonObject:
    """The payload with every personal field replaced by the erasure marker."""
    return map_payload(payload, lambda _value, _ad: ERASED)


def map_payload(payload: JsonObject, change: Callable[[str, str], str]) -> JsonObject:
    """A copy with `change(value, associated data)` applied to every personal string."""
    out = dict(payload)
    for name in EVENT_TEXT:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = change(value, event_ad(name))
    attached = out.get(EVENT_MAP)
    if isinstance(attached, dict):
        ad = event_ad(EVENT_MAP)
        out[EVENT_MAP] = {
            k: change(v, ad) if isinstance(v, str) else v for k, v in attached.items()
        }
    return out
