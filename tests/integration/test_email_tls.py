"""The SMTP connector over TLS against a real aiosmtpd server on 127.0.0.1 with a self-signed certificate made
here: implicit TLS (port 465's way) and STARTTLS, the certificate verified, trusted through ``ca_file``; and the
``connectors.smtp`` settings that choose them, the older ``starttls: true`` still meaning STARTTLS."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from opsdesk import app as composition
from opsdesk.config import SmtpConfig, load_settings
from opsdesk.connectors.email import SmtpEmail
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.outbox import Delivered, Rejected
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration._servers import email_action

SENDER = "desk@shop.example"


def action(key: str) -> OutboxAction:
    return replace(email_action("refund_confirmation"), idempotency_key=key)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opsdesk test relay")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "relay.pem", directory / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def implicit_relay(certificate: tuple[Path, Path]) -> Iterator[FakeSmtp]:
    with FakeSmtp(implicit_tls=server_context(certificate)) as server:
        yield server


@pytest.fixture
def starttls_relay(certificate: tuple[Path, Path]) -> Iterator[FakeSmtp]:
    with FakeSmtp(starttls=server_context(certificate)) as server:
        yield server


def test_implicit_tls_delivers_to_a_relay_whose_certificate_the_ca_file_trusts(
    implicit_relay: FakeSmtp, certificate: tuple[Path, Path]
) -> None:
    email = SmtpEmail(host=implicit_relay.host, port=implicit_relay.port, sender=SENDER, tls="implicit",
                      ca_file=str(certificate[0]), timeout=5.0)

    with email.batch():  # one connection for both
        results = [email.send(action(f"k{n}")) for n in range(2)]

    assert [type(r) for r in results] == [Delivered, Delivered]
    assert [m.message_id for m in implicit_relay.messages] == ["<k0@shop.example>", "<k1@shop.example>"]


def test_implicit_tls_refuses_a_certificate_it_cannot_verify_and_sends_nothing(implicit_relay: FakeSmtp) -> None:
    email = SmtpEmail(host=implicit_relay.host, port=implicit_relay.port, sender=SENDER, tls="implicit", timeout=5.0)

    result = email.send(action("a"))

    assert isinstance(result, Rejected)  # self-signed, and not in the system's CAs: verification is on
    assert "certificate verify failed" in result.reason
    assert implicit_relay.messages == []


def test_starttls_verifies_the_relay_against_the_ca_file(
    starttls_relay: FakeSmtp, certificate: tuple[Path, Path]
) -> None:
    untrusted = SmtpEmail(host=starttls_relay.host, port=starttls_relay.port, sender=SENDER, tls="starttls",
                          timeout=5.0)
    trusted = SmtpEmail(host=starttls_relay.host, port=starttls_relay.port, sender=SENDER, tls="starttls",
                        ca_file=str(certificate[0]), timeout=5.0)

    refused, sent = untrusted.send(action("a")), trusted.send(action("b"))

    assert isinstance(refused, Rejected) and "certificate verify failed" in refused.reason
    assert isinstance(sent, Delivered)
    assert [m.message_id for m in starttls_relay.messages] == ["<b@shop.example>"]


def test_implicit_tls_against_a_plain_relay_is_rejected_saying_so() -> None:
    with FakeSmtp() as plain:
        email = SmtpEmail(host=plain.host, port=plain.port, sender=SENDER, tls="implicit", timeout=5.0)

        result = email.send(action("a"))

        assert isinstance(result, Rejected)  # not retried: the relay does not speak TLS on that port
        assert "does not speak TLS from the first byte" in result.reason
        assert plain.messages == []


def test_a_ca_file_that_cannot_be_read_stops_the_connector_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(InvalidInput, match=f"connectors.smtp.ca_file: {missing}"):
        SmtpEmail(host="127.0.0.1", port=465, sender=SENDER, tls="implicit", ca_file=str(missing))


def test_the_settings_choose_the_tls_and_the_older_starttls_flag_still_means_starttls() -> None:
    assert [SmtpConfig(**given).tls_mode for given in ({}, {"starttls": True}, {"tls": "implicit"},
                                                       {"tls": "starttls", "starttls": True})] == [
        "none", "starttls", "implicit", "starttls"]
    with pytest.raises(ValidationError, match="starttls: true contradicts tls: implicit"):
        SmtpConfig(tls="implicit", starttls=True)
    with pytest.raises(ValidationError, match="ca_file goes with tls"):
        SmtpConfig(ca_file="relay.pem")


def test_the_desk_built_from_opsdesk_yaml_sends_over_implicit_tls_with_a_ca_file_beside_it(
    implicit_relay: FakeSmtp, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "relay-ca.pem").write_bytes(certificate[0].read_bytes())
    smtp = {"host": implicit_relay.host, "port": implicit_relay.port, "sender": SENDER, "tls": "implicit",
            "ca_file": "relay-ca.pem"}  # relative to opsdesk.yaml, not to the working directory
    (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump({"connectors": {"smtp": smtp}}))
    settings = load_settings(str(tmp_path / "opsdesk.yaml"), f"sqlite:///{tmp_path}/opsdesk.db")

    result = composition.default_connectors(settings)["smtp"].send(action("from-yaml"))

    assert isinstance(result, Delivered)
    assert [m.message_id for m in implicit_relay.messages] == ["<from-yaml@shop.example>"]
