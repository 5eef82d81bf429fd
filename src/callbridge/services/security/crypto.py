"""Field-level encryption of personal data, and keyed hashes that keep it searchable.

A value is sealed with AES-256-GCM under the keyring's primary key, with the column it belongs
to as associated data (so a ciphertext cannot be moved to another column), and stored as
`enc:1:<key id>:<base64 nonce+ciphertext>`. Any key in the ring opens it, which is what lets
`callbridge keys rotate` re-encrypt row by row while the server keeps running.

Lookups ("every interaction from +1 415 555 0100") go through a blind index: HMAC-SHA256 of the
normalised value under a separate index key that rotation never changes.

Keys live in a key file (JSON, mode 0600) or in CALLBRIDGE_KEYS, never in the database.

A cipher made from a key file follows it: `refresh()` (which the store calls once per write
transaction, a single stat) reloads the file when it changed, and opening a value sealed under a
key id the ring does not know reloads it at once. So a running server reads values that
`callbridge keys rotate` has just re-encrypted, and starts sealing under the new primary key on
its next write, without a restart.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callbridge.domain.errors import CallbridgeError

PREFIX = "enc:1:"
NONCE_BYTES = 12
KEY_BYTES = 32

log = structlog.get_logger(__name__)


class KeyFileError(CallbridgeError):
    """A key file or key that cannot be used; the message says which and why."""

    code = "key_error"


class DecryptionError(CallbridgeError):
    """A stored value that cannot be opened: tampered, moved, or under an unknown key."""

    code = "decryption_error"


@dataclass(frozen=True)
class Keyring:
    """Encryption keys by id, the one new values are sealed with, and the blind-index key."""

    keys: dict[str, bytes]
    primary: str
    index_key: bytes

    def __post_init__(self) -> None:
        if self.primary not in self.keys:
            raise KeyFileError(
                f"primary key {self.primary!r} is not among the keys", field="primary"
            )
        for kid, key in {**self.keys, "index_key": self.index_key}.items():
            if len(key) != KEY_BYTES:
                raise KeyFileError(f"key {kid!r} must be {KEY_BYTES} bytes", field=kid)
            if ":" in kid:
                raise KeyFileError(f"key id {kid!r} may not contain ':'", field=kid)

    @classmethod
    def generate(cls, key_id: str = "k1") -> Keyring:
        return cls({key_id: secrets.token_bytes(KEY_BYTES)}, key_id, secrets.token_bytes(KEY_BYTES))

    def with_new_primary(self, key_id: str | None = None) -> Keyring:
        """The same ring plus a fresh key that becomes primary; old keys stay to decrypt."""
        n = len(self.keys) + 1
        while key_id is None or key_id in self.keys:
            key_id, n = f"k{n}", n + 1
        return Keyring(
            {**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}, key_id, self.index_key
        )

    def without(self, key_id: str) -> Keyring:
        """The same ring less one old key (never the primary)."""
        if key_id == self.primary:
            raise KeyFileError(f"key {key_id!r} is the primary key", field="key_id")
        if key_id not in self.keys:
            raise KeyFileError(f"there is no key {key_id!r}", field="key_id")
        rest = {k: v for k, v in self.keys.items() if k != key_id}
        return Keyring(rest, self.primary, self.index_key)

    def to_json(self) -> str:
        return json.dumps(
            {
                "primary": self.primary,
                "keys": {k: _b64(v) for k, v in self.keys.items()},
                "index_key": _b64(self.index_key),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> Keyring:
        try:
            data = json.loads(text)
            keys = {str(k): _unb64(v) for k, v in data["keys"].items()}
            return cls(keys, str(data["primary"]), _unb64(data["index_key"]))
        except KeyFileError as exc:
            raise KeyFileError(f"{where}: {exc.message}", **exc.details) from exc
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise KeyFileError(
                f"{where}: not a Callbridge key file (JSON with primary, keys, index_key): {exc}"
            ) from exc


def load_keyring(key_file: Path | None, env_value: str | None, *, create: bool) -> Keyring:
    """The ring from CALLBRIDGE_KEYS if set, else from the key file.

    With `create`, a missing key file is made with fresh keys (mode 0600), the way the SQLite
    file is created on first run.
    """
    if env_value:
        return Keyring.from_json(env_value, "CALLBRIDGE_KEYS")
    if key_file is None:
        raise KeyFileError("no keys: set key_file or CALLBRIDGE_KEYS", field="key_file")
    if not key_file.exists():
        if not create:
            raise KeyFileError(f"key file {key_file} does not exist", field="key_file")
        ring = Keyring.generate()
        write_key_file(key_file, ring)
        return ring
    return Keyring.from_json(key_file.read_text(encoding="utf-8"), f"key file {key_file}")


def write_key_file(path: Path, ring: Keyring) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(ring.to_json())
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def open_cipher(
    key_file: Path | None, env_value: str | None, *, create: bool, default_region: str = "US"
) -> FieldCipher:
    """The cipher the application uses: from CALLBRIDGE_KEYS if set (fixed until restart), else
    from the key file (created on first run with `create`), which it then follows."""
    if env_value or key_file is None:
        return FieldCipher(load_keyring(key_file, env_value, create=create), default_region)
    if not key_file.exists():
        load_keyring(key_file, None, create=create)
    return FieldCipher.from_key_file(key_file, default_region)


@dataclass(frozen=True)
class _Loaded:
    """A ring with its AES-GCM objects, swapped as one so a reader never sees half of each."""

    ring: Keyring
    aead: dict[str, AESGCM]

    @classmethod
    def of(cls, ring: Keyring) -> _Loaded:
        return cls(ring, {kid: AESGCM(key) for kid, key in ring.keys.items()})


FileSignature = tuple[int, int, int]


class FieldCipher:
    """Seals and opens single field values; builds blind-index hashes.

    Made with `from_key_file`, it follows the file (see `refresh`); made from a ring, it keeps
    that ring.
    """

    def __init__(
        self, ring: Keyring, default_region: str = "US", *, key_file: Path | None = None
    ) -> None:
        self.default_region = default_region
        self._loaded = _Loaded.of(ring)
        self._key_file = key_file
        self._signature = _signature(key_file) if key_file is not None else None
        # Only reloads take it; sealing and opening read `_loaded` once and need no lock.
        self._reload_lock = threading.Lock()

    @classmethod
    def from_key_file(cls, path: Path, default_region: str = "US") -> FieldCipher:
        """A cipher on the keys in `path` that picks up changes to the file."""
        signature = _signature(path)  # before reading: a change in between reloads later
        ring = Keyring.from_json(path.read_text(encoding="utf-8"), f"key file {path}")
        cipher = cls(ring, default_region, key_file=path)
        cipher._signature = signature
        return cipher

    @property
    def ring(self) -> Keyring:
        return self._loaded.ring

    @property
    def key_file(self) -> Path | None:
        return self._key_file

    def refresh(self) -> bool:
        """Reload the key file if it changed since it was read; True if the ring changed.

        One stat call: cheap enough for every write transaction, which is where the store calls
        it, so new values are sealed under a rotated-in primary key from the next write on.
        """
        if self._key_file is None or _signature(self._key_file) == self._signature:
            return False
        return self._reload()

    def _reload(self) -> bool:
        path = self._key_file
        if path is None:
            return False
        with self._reload_lock:
            signature = _signature(path)
            if signature == self._signature:
                return False  # another thread reloaded it meanwhile
            try:
                ring = Keyring.from_json(path.read_text(encoding="utf-8"), f"key file {path}")
            except (OSError, KeyFileError) as exc:
                # Keep serving with the keys we have; try again when the file changes again.
                self._signature = signature
                log.error("key_file_reload_failed", path=str(path), error=str(exc))
                return False
            self._signature = signature
            old = self._loaded.ring
            if ring.index_key != old.index_key:
                # A new index key would silently break every lookup: refuse it.
                log.error("key_file_index_key_changed", path=str(path))
                return False
            if ring == old:
                return False
            self._loaded = _Loaded.of(ring)
            log.info("key_file_reloaded", path=str(path), primary=ring.primary)
            return True

    def seal(self, value: str, column: str) -> str:
        loaded = self._loaded
        primary = loaded.ring.primary
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = loaded.aead[primary].encrypt(nonce, value.encode(), column.encode())
        return f"{PREFIX}{primary}:{_b64(nonce + sealed)}"

    def seal_opt(self, value: str | None, column: str) -> str | None:
        return None if value is None else self.seal(value, column)

    def open(self, stored: str, column: str) -> str:
        """The plain value. A value stored before encryption was on comes back as it is.

        A key id this ring does not know makes a cipher that follows a key file reread it once:
        the value may have been sealed under a key added since (by `keys rotate`).
        """
        if not stored.startswith(PREFIX):
            return stored
        try:
            kid, body = stored[len(PREFIX) :].split(":", 1)
            raw = _unb64(body)
        except (ValueError, binascii.Error) as exc:
            raise DecryptionError(f"{column}: malformed encrypted value", field=column) from exc
        aead = self._loaded.aead.get(kid)
        if aead is None and self._reload():
            aead = self._loaded.aead.get(kid)
        if aead is None:
            raise DecryptionError(
                f"{column}: sealed with key {kid!r}, which is not in the keyring",
                field=column,
                key_id=kid,
            )
        try:
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError(
                f"{column}: encrypted value fails authentication", field=column
            ) from exc

    def open_opt(self, stored: str | None, column: str) -> str | None:
        return None if stored is None else self.open(stored, column)

    def key_id(self, stored: str) -> str | None:
        """The id of the key a stored value is sealed with; None for a plain value."""
        if not stored.startswith(PREFIX):
            return None
        return stored[len(PREFIX) :].split(":", 1)[0]

    def needs_rotation(self, stored: str | None) -> bool:
        """True for a stored value that is plain or sealed under a key other than the primary."""
        return stored is not None and self.key_id(stored) != self._loaded.ring.primary

    def reseal(self, stored: str, column: str) -> str:
        """The value sealed under the primary key (unchanged if it already is)."""
        if not self.needs_rotation(stored):
            return stored
        return self.seal(self.open(stored, column), column)

    def index(self, value: str) -> str:
        """The blind-index hash of a phone number (as E.164) or an email address (lower case)."""
        normal = normalise_address(value, self.default_region)
        key = self._loaded.ring.index_key
        digest = hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()
        return digest[:40]

    def index_opt(self, value: str | None) -> str | None:
        return None if value is None else self.index(value)

    def mac(self, purpose: str, value: str) -> str:
        """A keyed hash of `value` for `purpose` (a bearer token that needs no storage: the
        server can always make it again, nobody without the keys can)."""
        key = self._loaded.ring.index_key
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def _signature(path: Path) -> FileSignature | None:
    """What changes when the file is replaced or rewritten (os.replace gives a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@functools.lru_cache(maxsize=4096)  # a caller's number is normalised at every write of the call
def normalise_address(value: str, default_region: str = "US") -> str:
    """E.164 for anything that parses as a phone number, lower case for an email address,
    otherwise the trimmed value."""
    text = value.strip()
    if "@" in text:
        return text.lower()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())
