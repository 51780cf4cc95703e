"""``make certs``: a local certificate authority and a TLS certificate for this machine, offline.

Writes, under ``certs/`` (git-ignored):

- ``ca/smile-local-ca.pem`` and ``ca/smile-local-ca.key``: the CA. Its key signs site
  certificates and nothing else: basic constraints CA with path length 0 (it cannot sign other
  CAs) and name constraints limiting it to ``localhost`` and the loopback addresses, so a CA
  you trust for local development cannot vouch for any real site if its key ever leaks.
- ``site/fullchain.pem`` and ``site/privkey.pem``: the certificate nginx serves, for
  ``localhost``, ``127.0.0.1`` and ``::1`` (serverAuth only), signed by the CA. The names
  match what certbot writes, so a real certificate can replace them file for file.

Private keys are written with mode 0600. Running it again keeps a valid CA (browsers that
trust it keep trusting it) and only renews the site certificate; ``--force`` makes a new CA.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "certs"
CA_NAME = "S.M.I.L.E local development CA"
DNS_NAMES: tuple[str, ...] = ("localhost",)
IP_ADDRESSES: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = (
    ipaddress.IPv4Address("127.0.0.1"),
    ipaddress.IPv6Address("::1"),
)
CA_DAYS = 3650
# Browsers refuse leaf certificates valid for more than 398 days.
SITE_DAYS = 397
# A CA this close to expiry is replaced rather than used to sign a new site certificate.
CA_RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CertPaths:
    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / "smile-local-ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca" / "smile-local-ca.key"

    @property
    def site_cert(self) -> Path:
        return self.root / "site" / "fullchain.pem"

    @property
    def site_key(self) -> Path:
        return self.root / "site" / "privkey.pem"


@dataclass(frozen=True)
class Issued:
    paths: CertPaths
    new_ca: bool


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a key readable by its owner only, from the first byte on (no window at 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    os.chmod(path, 0o600)  # in case the umask or the filesystem widened it


def _write_public(path: Path, certificate: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.chmod(path, 0o644)


def _subject_alternative_names() -> list[x509.GeneralName]:
    return [x509.DNSName(name) for name in DNS_NAMES] + [x509.IPAddress(address) for address in IP_ADDRESSES]


def make_ca(now: datetime.datetime | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = now or _now()
    key = _new_key()
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "S.M.I.L.E"), x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)]
    )
    public = key.public_key()
    permitted: list[x509.GeneralName] = [x509.DNSName(name) for name in DNS_NAMES] + [
        x509.IPAddress(ipaddress.ip_network(f"{address}/{address.max_prefixlen}")) for address in IP_ADDRESSES
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def make_site_certificate(
    ca_certificate: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, now: datetime.datetime | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = now or _now()
    key = _new_key()
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DNS_NAMES[0])]))
        .issuer_name(ca_certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=SITE_DAYS), ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_subject_alternative_names()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def load_valid_ca(
    paths: CertPaths, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The existing CA if both files load, belong together, and stay valid for a while; else None."""
    try:
        certificate = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if certificate.public_key() != key.public_key():
        return None
    if certificate.not_valid_after_utc - CA_RENEW_BEFORE < now:
        return None
    return certificate, key


def issue(root: Path = DEFAULT_DIR, *, force: bool = False, now: datetime.datetime | None = None) -> Issued:
    """Create (or keep) the CA and write a fresh site certificate signed by it."""
    now = now or _now()
    paths = CertPaths(root)
    existing = None if force else load_valid_ca(paths, now)
    if existing is None:
        ca_certificate, ca_key = make_ca(now)
        _write_private(paths.ca_key, ca_key)
        _write_public(paths.ca_cert, ca_certificate)
    else:
        ca_certificate, ca_key = existing
    site_certificate, site_key = make_site_certificate(ca_certificate, ca_key, now)
    _write_private(paths.site_key, site_key)
    _write_public(paths.site_cert, site_certificate)
    return Issued(paths=paths, new_ca=existing is None)


def trust_instructions(ca_cert: Path) -> str:
    return f"""\
To make browsers trust https://localhost, trust the local CA once (it can only vouch for
localhost, 127.0.0.1 and ::1):

  Debian/Ubuntu: sudo cp {ca_cert} /usr/local/share/ca-certificates/smile-local-ca.crt
                 sudo update-ca-certificates
  Fedora/RHEL:   sudo cp {ca_cert} /etc/pki/ca-trust/source/anchors/ && sudo update-ca-trust
  macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {ca_cert}
  Windows:       certutil -addstore -f Root {ca_cert}   (in an administrator prompt)
  Chrome/Chromium (its own store on Linux): chrome://certificate-manager (older versions:
                 chrome://settings/certificates) > Authorities > Import, pick {ca_cert},
                 tick "Trust this certificate for identifying websites".
  Firefox:       Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import.

Then: docker compose up -d, and open https://localhost/"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create a local CA and a certificate for localhost (make certs).")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where to write (default: ./certs)")
    parser.add_argument("--force", action="store_true", help="make a new CA even if the current one is valid")
    args = parser.parse_args(argv)
    issued = issue(args.dir, force=args.force)
    paths = issued.paths
    print(("Created a new local CA: " if issued.new_ca else "Kept the existing local CA: ") + str(paths.ca_cert))
    print(f"Site certificate for localhost, 127.0.0.1, ::1: {paths.site_cert} (key {paths.site_key})")
    print()
    print(trust_instructions(paths.ca_cert))
    return 0


if __name__ == "__main__":
    sys.exit(main())
