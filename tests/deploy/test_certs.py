"""``make certs`` (deploy/certs.py): a constrained local CA and a localhost certificate, written safely."""

from __future__ import annotations

import datetime
import ipaddress
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from deploy import certs
from tests.conftest import PROJECT_ROOT


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_ca_can_only_sign_site_certificates_for_this_machine(tmp_path: Path) -> None:
    issued = certs.issue(tmp_path)
    ca = load(issued.paths.ca_cert)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert (constraints.value.ca, constraints.value.path_length) == (True, 0)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    names = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert names.critical
    assert set(names.value.permitted_subtrees or []) == {
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
        x509.IPAddress(ipaddress.ip_network("::1/128")),
    }
    assert ca.subject == ca.issuer


def test_the_site_certificate_names_localhost_and_the_loopback_addresses_for_servers_only(tmp_path: Path) -> None:
    issued = certs.issue(tmp_path)
    ca, site = load(issued.paths.ca_cert), load(issued.paths.site_cert)
    site.verify_directly_issued_by(ca)
    san = site.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert list(site.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert site.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    lifetime = site.not_valid_after_utc - site.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=398), "browsers refuse longer-lived certificates"


def test_private_keys_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    issued = certs.issue(tmp_path)
    for key in (issued.paths.ca_key, issued.paths.site_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    for certificate in (issued.paths.ca_cert, issued.paths.site_cert):
        assert stat.S_IMODE(certificate.stat().st_mode) == 0o644, certificate


def test_running_again_keeps_a_valid_ca_and_renews_the_site_certificate(tmp_path: Path) -> None:
    first = certs.issue(tmp_path)
    ca_before = first.paths.ca_cert.read_bytes()
    site_before = load(first.paths.site_cert)

    again = certs.issue(tmp_path)
    assert not again.new_ca
    assert again.paths.ca_cert.read_bytes() == ca_before
    site_after = load(again.paths.site_cert)
    assert site_after.serial_number != site_before.serial_number
    site_after.verify_directly_issued_by(load(again.paths.ca_cert))

    forced = certs.issue(tmp_path, force=True)
    assert forced.new_ca
    assert forced.paths.ca_cert.read_bytes() != ca_before


def test_a_broken_mismatched_or_expiring_ca_is_replaced(tmp_path: Path) -> None:
    issued = certs.issue(tmp_path)
    issued.paths.ca_key.write_text("not a key")
    assert certs.issue(tmp_path).new_ca

    other = tmp_path / "other"
    certs.issue(other)
    (tmp_path / "ca" / "smile-local-ca.key").write_bytes((other / "ca" / "smile-local-ca.key").read_bytes())
    assert certs.issue(tmp_path).new_ca, "a key that does not match the certificate"

    nearly_expired = certs._now() - datetime.timedelta(days=certs.CA_DAYS - 10)
    certs.issue(tmp_path, force=True, now=nearly_expired)
    assert certs.issue(tmp_path).new_ca


def test_the_site_certificate_never_outlives_its_ca(tmp_path: Path) -> None:
    now = certs._now()
    ca, ca_key = certs.make_ca(now - datetime.timedelta(days=certs.CA_DAYS - 100))
    site, _ = certs.make_site_certificate(ca, ca_key, now)
    assert site.not_valid_after_utc == ca.not_valid_after_utc
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)


def make_certs(folder: Path) -> subprocess.CompletedProcess[str]:
    """``python -m deploy.certs --dir folder``, as ``make certs`` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "deploy.certs", "--dir", str(folder)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_make_certs_prints_how_to_trust_the_ca_everywhere(tmp_path: Path) -> None:
    done = make_certs(tmp_path)
    ca = tmp_path / "ca" / "smile-local-ca.pem"
    assert f"Created a new local CA: {ca}" in done.stdout
    for where in ("update-ca-certificates", "security add-trusted-cert", "certutil -addstore", "chrome://"):
        assert where in done.stdout, where
    again = make_certs(tmp_path)
    assert f"Kept the existing local CA: {ca}" in again.stdout


def test_the_certificates_folder_is_ignored_by_git() -> None:
    done = subprocess.run(
        ["git", "check-ignore", "-q", "certs/ca/smile-local-ca.key"], cwd=PROJECT_ROOT, timeout=30, check=False
    )
    if done.returncode == 128:
        pytest.skip("not a git checkout")
    assert done.returncode == 0, "certs/ must be git-ignored"
