"""TLS settings are checked when loaded: both or neither, readable, and a matching pair."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from callbridge.cli.certs import dev_certificate
from callbridge.settings import SettingsError, load_settings

NOW = dt.datetime(2027, 1, 15, tzinfo=dt.UTC)


def pair(directory: Path, name: str) -> tuple[Path, Path]:
    cert_pem, key_pem = dev_certificate(["localhost"], NOW)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    return cert, key


def test_a_matching_pair_loads(tmp_path: Path) -> None:
    cert, key = pair(tmp_path, "a")
    settings = load_settings(tls_cert_file=cert, tls_key_file=key)
    assert (settings.tls_cert_file, settings.tls_key_file) == (cert, key)
    assert load_settings().tls_cert_file is None


def test_half_a_pair_is_refused_by_name(tmp_path: Path) -> None:
    cert, key = pair(tmp_path, "a")
    with pytest.raises(SettingsError, match=r"tls_key_file: is not set, but tls_cert_file is"):
        load_settings(tls_cert_file=cert)
    with pytest.raises(SettingsError, match=r"tls_key_file: needs tls_cert_file"):
        load_settings(tls_key_file=key)


def test_a_missing_or_unreadable_file_is_refused_by_name(tmp_path: Path) -> None:
    cert, key = pair(tmp_path, "a")
    with pytest.raises(SettingsError, match=r"tls_cert_file: cannot read .*nope\.crt"):
        load_settings(tls_cert_file=tmp_path / "nope.crt", tls_key_file=key)
    with pytest.raises(SettingsError, match=r"tls_key_file: cannot read"):
        load_settings(tls_cert_file=cert, tls_key_file=tmp_path)  # a directory


def test_a_key_from_another_pair_is_refused(tmp_path: Path) -> None:
    cert, _ = pair(tmp_path, "a")
    _, other_key = pair(tmp_path, "b")
    with pytest.raises(SettingsError, match=r"tls_key_file: .* is not the PEM private key"):
        load_settings(tls_cert_file=cert, tls_key_file=other_key)
