"""The field cipher: sealing, tamper detection, key ids, rotation, blind indexes, and following
a key file that `keys rotate` changes under a running server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.services.security.crypto import (
    PREFIX,
    DecryptionError,
    FieldCipher,
    KeyFileError,
    Keyring,
    load_keyring,
    open_cipher,
    write_key_file,
)

COLUMN = "interactions.from_address"


@given(st.text())
def test_any_text_round_trips(value: str) -> None:
    cipher = FieldCipher(Keyring.generate())
    sealed = cipher.seal(value, COLUMN)
    assert sealed.startswith(f"{PREFIX}k1:")
    assert cipher.open(sealed, COLUMN) == value


def test_the_same_value_seals_differently_each_time() -> None:
    cipher = FieldCipher(Keyring.generate())
    assert cipher.seal("+14155550100", COLUMN) != cipher.seal("+14155550100", COLUMN)


def test_a_changed_byte_is_detected() -> None:
    cipher = FieldCipher(Keyring.generate())
    sealed = cipher.seal("+14155550100", COLUMN)
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    tampered = f"{head}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError, match="fails authentication"):
        cipher.open(tampered, COLUMN)


def test_a_value_moved_to_another_column_does_not_open() -> None:
    cipher = FieldCipher(Keyring.generate())
    sealed = cipher.seal("+14155550100", "interactions.from_address")
    with pytest.raises(DecryptionError, match="fails authentication"):
        cipher.open(sealed, "interactions.notes")


def test_a_malformed_value_is_reported() -> None:
    cipher = FieldCipher(Keyring.generate())
    with pytest.raises(DecryptionError, match="malformed"):
        cipher.open(f"{PREFIX}k1-without-body", COLUMN)


def test_a_value_under_an_unknown_key_names_the_key() -> None:
    sealed = FieldCipher(Keyring.generate("other")).seal("x", COLUMN)
    with pytest.raises(DecryptionError) as failed:
        FieldCipher(Keyring.generate()).open(sealed, COLUMN)
    assert failed.value.details["key_id"] == "other"


def test_a_plain_value_from_before_encryption_passes_through() -> None:
    cipher = FieldCipher(Keyring.generate())
    assert cipher.open("+14155550100", COLUMN) == "+14155550100"
    assert cipher.key_id("+14155550100") is None
    assert cipher.needs_rotation("+14155550100")
    assert not cipher.needs_rotation(None)


def test_rotation_keeps_old_values_readable_and_reseals_them() -> None:
    old = FieldCipher(Keyring.generate())
    sealed = old.seal("jane@example.org", COLUMN)
    ring = old.ring.with_new_primary()
    assert ring.primary == "k2" and set(ring.keys) == {"k1", "k2"}
    assert ring.index_key == old.ring.index_key
    new = FieldCipher(ring)
    assert new.open(sealed, COLUMN) == "jane@example.org"
    assert new.needs_rotation(sealed)
    resealed = new.reseal(sealed, COLUMN)
    assert new.key_id(resealed) == "k2"
    assert not new.needs_rotation(resealed)
    assert new.reseal(resealed, COLUMN) is resealed
    assert new.open(resealed, COLUMN) == "jane@example.org"
    retired = FieldCipher(ring.without("k1"))
    assert retired.open(resealed, COLUMN) == "jane@example.org"
    with pytest.raises(DecryptionError):
        retired.open(sealed, COLUMN)


def test_the_primary_or_a_missing_key_cannot_be_retired() -> None:
    ring = Keyring.generate().with_new_primary()
    with pytest.raises(KeyFileError, match="primary"):
        ring.without("k2")
    with pytest.raises(KeyFileError, match="no key"):
        ring.without("k9")


@pytest.mark.parametrize(
    "form",
    ["+14155550100", "4155550100", "(415) 555-0100", "+1 415-555-0100", " 415.555.0100 "],
)
def test_a_number_in_any_format_has_the_same_blind_index(form: str) -> None:
    cipher = FieldCipher(Keyring.generate())
    assert cipher.index(form) == cipher.index("+14155550100")


def test_the_blind_index_depends_on_the_index_key_and_not_on_rotation() -> None:
    cipher = FieldCipher(Keyring.generate())
    rotated = FieldCipher(cipher.ring.with_new_primary())
    assert rotated.index("Jane@Example.org") == cipher.index("jane@example.org")
    assert FieldCipher(Keyring.generate()).index("jane@example.org") != cipher.index(
        "jane@example.org"
    )
    assert "jane" not in cipher.index("jane@example.org")


# --- key files ------------------------------------------------------------------------------


def test_a_key_file_is_written_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = Keyring.generate()
    write_key_file(path, ring)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(path, None, create=False) == ring
    assert not (tmp_path / "keys.json.tmp").exists()


def test_a_missing_key_file_is_made_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_keyring(tmp_path / "none.json", None, create=False)
    made = load_keyring(tmp_path / "new.json", None, create=True)
    assert load_keyring(tmp_path / "new.json", None, create=False) == made


def test_environment_keys_win_over_the_file(tmp_path: Path) -> None:
    ring = Keyring.generate("env")
    cipher = open_cipher(tmp_path / "unused.json", ring.to_json(), create=True)
    assert cipher.ring == ring and cipher.key_file is None
    assert not (tmp_path / "unused.json").exists()


def test_a_broken_key_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"primary": "k1", "keys": {}}))
    with pytest.raises(KeyFileError, match=str(path)):
        load_keyring(path, None, create=False)


def test_a_cipher_follows_its_key_file(tmp_path: Path) -> None:
    """What a running server sees while `keys rotate` runs beside it."""
    path = tmp_path / "keys.json"
    write_key_file(path, Keyring.generate())
    server = open_cipher(path, None, create=False)
    assert not server.refresh()  # unchanged: nothing to do

    rotated = Keyring.from_json(path.read_text(), "test").with_new_primary()
    write_key_file(path, rotated)
    rotator = FieldCipher(rotated)
    fresh = rotator.seal("+14155550100", COLUMN)

    # reading a value under a key it has not seen yet rereads the file at once
    assert server.open(fresh, COLUMN) == "+14155550100"
    assert server.ring.primary == "k2"
    assert server.key_id(server.seal("x", COLUMN)) == "k2"


def test_refresh_picks_up_a_new_primary_before_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, Keyring.generate())
    server = FieldCipher.from_key_file(path)
    write_key_file(path, server.ring.with_new_primary())
    assert server.refresh()
    assert server.key_id(server.seal("x", COLUMN)) == "k2"
    assert not server.refresh()


def test_a_bad_or_foreign_key_file_is_ignored_and_the_old_keys_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, Keyring.generate())
    server = FieldCipher.from_key_file(path)
    before = server.ring
    path.write_text("{ not json")
    assert not server.refresh()
    assert server.ring == before
    write_key_file(path, Keyring.generate())  # another index key would break every lookup
    assert not server.refresh()
    assert server.ring == before
