"""`callbridge certs dev`: a self-signed certificate for trying HTTPS on one machine."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rich.console import Console

app = typer.Typer(help="TLS certificates.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)

DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
VALID_DAYS = 90
CERT_FILE, KEY_FILE = "callbridge-dev.crt", "callbridge-dev.key"


def dev_certificate(
    names: list[str], now: dt.datetime, days: int = VALID_DAYS
) -> tuple[bytes, bytes]:
    """A self-signed certificate (PEM) for `names` (DNS names or IP addresses) and its EC
    P-256 private key (PEM, unencrypted). The certificate is its own CA, so clients can trust
    exactly it and nothing else."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt_names: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):  # unique, in order
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write(path: Path, data: bytes, mode: int) -> None:
    # created with its final mode: the key is never readable by others, not even briefly
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(mode)


@app.command()
def dev(
    out_dir: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Directory to write the pair to.")
    ] = Path("."),
    hosts: Annotated[
        list[str] | None,
        typer.Option("--host", help="Another DNS name or IP address to cover (repeatable)."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=825, help="Days until it expires.")] = VALID_DAYS,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing pair.")] = False,
) -> None:
    """A self-signed certificate for localhost, 127.0.0.1 and ::1 (plus --host names).

    For development only: browsers warn about it unless told to trust it.
    """
    cert_path, key_path = out_dir / CERT_FILE, out_dir / KEY_FILE
    existing = [p for p in (cert_path, key_path) if p.exists()]
    if existing and not force:
        console.print(f"[red]error:[/red] {existing[0]} exists (use --force to replace it)")
        raise typer.Exit(code=2)
    names = [*DEFAULT_NAMES, *(hosts or [])]
    cert_pem, key_pem = dev_certificate(names, dt.datetime.now(dt.UTC), days)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert_pem, 0o644)
    console.print(f"wrote {cert_path} and {key_path} (valid {days} days for {', '.join(names)})")
    console.print("Add to your settings file:")
    out.print(f'tls_cert_file = "{cert_path.resolve()}"\ntls_key_file = "{key_path.resolve()}"')
