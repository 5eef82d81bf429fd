"""HTTPS: `callbridge certs dev` makes a pair, and `callbridge serve` answers over TLS with it."""

from __future__ import annotations

import os
import signal
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from tests_support import free_port
from typer.testing import CliRunner

from callbridge.cli.main import app as cli


def make_pair(out: Path, *extra: str) -> tuple[Path, Path, str]:
    args = ["certs", "dev", "--out", str(out)]
    for host in extra:
        args += ["--host", host]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out / "callbridge-dev.crt", out / "callbridge-dev.key", result.output


def test_certs_dev_writes_a_private_key_and_a_certificate_for_local_names(tmp_path: Path) -> None:
    cert_file, key_file, output = make_pair(tmp_path / "tls", "cb.internal", "10.1.2.3")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = san.get_values_for_type(x509.DNSName)
    addresses = [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    assert names == ["localhost", "cb.internal"]
    assert addresses == ["127.0.0.1", "::1", "10.1.2.3"]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 89 < lifetime.days <= 90
    assert f'tls_cert_file = "{cert_file.resolve()}"' in output
    assert f'tls_key_file = "{key_file.resolve()}"' in output
    again = CliRunner().invoke(cli, ["certs", "dev", "--out", str(tmp_path / "tls")])
    assert again.exit_code == 2 and "--force" in again.output


def test_serve_answers_over_https_with_the_dev_certificate(tmp_path: Path) -> None:
    cert_file, key_file, _ = make_pair(tmp_path)
    port = free_port()
    config = tmp_path / "callbridge.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "cb.db"}"\n'
        f'tls_cert_file = "{cert_file}"\ntls_key_file = "{key_file}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "callbridge", "serve", "--config", str(config), "--port", str(port)],
        env=os.environ | {"CALLBRIDGE_ADMIN_TOKEN": "tls-test-token"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    trusted = ssl.create_default_context(cafile=str(cert_file))
    try:
        base = f"https://127.0.0.1:{port}"
        body = None
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline:
            try:
                body = httpx.get(f"{base}/healthz", verify=trusted, timeout=2).json()
            except httpx.TransportError:
                time.sleep(0.2)
        assert body == {"status": "ok"}
        localhost = httpx.get(f"https://localhost:{port}/healthz", verify=trusted, timeout=5)
        assert localhost.status_code == 200
        # without trusting the dev certificate, verification fails: it is really TLS
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{base}/healthz", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err


def test_serve_refuses_half_a_tls_setting_by_name(tmp_path: Path) -> None:
    cert_file, _, _ = make_pair(tmp_path)
    config = tmp_path / "half.toml"
    config.write_text(f'tls_cert_file = "{cert_file}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "callbridge", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "tls_key_file" in done.stderr
