"""The API channel: signatures, inbox creation, inbound validation and the egress guard."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from hotro.connectors import http
from hotro.connectors.api import MalformedInbound, accept_api_inbound, create_api_inbox, verify_signature
from hotro.connectors.api.connector import ApiConnector
from hotro.connectors.api.fake import FakeReceiver
from hotro.connectors.api.signing import SignatureError, compute_signature, signature_header
from hotro.connectors.base import ConnectorError, MalformedEvent
from hotro.connectors.models import RawEvent, RawEventStatus

FIXTURES = Path(__file__).resolve().parent.parent / "src/hotro/connectors/api/fixtures"
VECTOR_SECRET = "whsec_test"
VECTOR_BODY = b'{"id":"d1"}'
VECTOR_HEX = "7aa818774b12d07b487b77188a423aa42da8d52da13f1fface316ecdf0a91f53"  # openssl dgst -hmac


@pytest.fixture(autouse=True)
def _english():
    """Errors are stored in the language active when they happen; these tests read English."""
    with translation.override("en"):
        yield


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def test_signature_matches_the_documented_test_vector():
    assert compute_signature(VECTOR_SECRET, 1700000000, VECTOR_BODY) == VECTOR_HEX
    header = f"t=1700000000,v1={VECTOR_HEX}"
    assert signature_header(VECTOR_SECRET, VECTOR_BODY, 1700000000) == header
    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY, now=1700000100) == 1700000000


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (None, VECTOR_BODY, 1700000000, "missing"),
        ("v1=abc", VECTOR_BODY, 1700000000, "must look like"),
        (f"t=1700000000,v1={VECTOR_HEX}", b'{"id":"d2"}', 1700000000, "does not match"),
        (f"t=1700000000,v1={VECTOR_HEX}", VECTOR_BODY, 1700000301, "too old"),
    ],
)
def test_verify_signature_refuses_bad_headers(header, body, now, reason):
    with pytest.raises(SignatureError, match=reason):
        verify_signature(VECTOR_SECRET, header, body, now=now)


def test_verify_signature_accepts_any_matching_v1_during_rotation():
    header = f"t=1700000000,v1={'0' * 64},v1={VECTOR_HEX}"
    assert verify_signature(VECTOR_SECRET, header, VECTOR_BODY.decode(), now=1700000000) == 1700000000


def test_it_parses_documented_payloads():
    connector = ApiConnector()
    [text] = connector.parse(SimpleNamespace(payload=fixture("inbound__text")))
    assert (text.external_id, text.channel, text.sender_address) == ("crm-msg-1001", "api", "crm-cust-42")
    assert text.sender_email == "lan@example.vn" and text.sender_name == "Nguyễn Thị Lan"
    [with_file] = connector.parse(SimpleNamespace(payload=fixture("inbound__attachment")))
    assert with_file.attachments[0].data.decode() == "hoá đơn 1234"
    assert with_file.attachments[0].content_type == "text/plain"
    with pytest.raises(MalformedEvent, match="external_id, email or phone"):
        connector.parse(SimpleNamespace(payload=fixture("inbound__no_sender")))


def test_validation_errors_do_not_repeat_the_submitted_values():
    payload = {"external_id": "", "contact": {"email": "secret-person@example.vn"}, "text": "x"}
    with pytest.raises(MalformedEvent) as info:
        ApiConnector().parse(SimpleNamespace(payload=json.dumps(payload)))
    assert "external_id" in str(info.value) and "secret-person" not in str(info.value)


def test_create_api_inbox_stores_the_secret_encrypted(ws_a):
    inbox, secret = create_api_inbox(ws_a, "CRM", "https://crm.example.vn/hotro")
    assert inbox.connector == "api" and inbox.settings == {"webhook_url": "https://crm.example.vn/hotro"}
    assert secret.startswith("whsec_") and len(secret) > 40
    raw = type(inbox).objects.filter(pk=inbox.pk).values_list("credentials", flat=True).get()
    assert secret.encode() not in bytes(raw)
    assert type(inbox).objects.get(pk=inbox.pk).credentials["webhook_secret"] == secret
    with pytest.raises(ValidationError):
        create_api_inbox(ws_a, "Bad", "ftp://example.vn/x")


def test_accept_api_inbound_is_idempotent_on_external_id(ws_a, django_capture_on_commit_callbacks):
    inbox, _ = create_api_inbox(ws_a, "CRM", "")
    with django_capture_on_commit_callbacks() as callbacks:
        raw, created = accept_api_inbound(inbox, json.loads(fixture("inbound__text")))
        again, created_again = accept_api_inbound(inbox, fixture("inbound__text"))
    assert created is True and created_again is False
    assert raw.pk == again.pk and raw.event_id == "crm-msg-1001" and raw.status == RawEventStatus.RECEIVED
    assert len(callbacks) == 1


def test_accept_api_inbound_keeps_refused_payloads_as_malformed(ws_a):
    inbox, _ = create_api_inbox(ws_a, "CRM", "")
    with pytest.raises(MalformedInbound) as info:
        accept_api_inbound(inbox, fixture("inbound__no_sender"))
    raw = RawEvent.objects.get(pk=info.value.raw_event.pk)
    assert raw.status == RawEventStatus.MALFORMED and "external_id, email or phone" in raw.error
    with pytest.raises(MalformedInbound):
        accept_api_inbound(inbox, b"not json")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/",
    ],
)
def test_egress_guard_refuses_private_addresses_unless_allowed(settings, url):
    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = False
    with pytest.raises(http.EgressRefused) as info:
        http.check_destination(url)
    assert info.value.permanent
    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = True
    http.check_destination(url)


def test_egress_guard_refuses_other_schemes(settings):
    with pytest.raises(ConnectorError, match="not an http"):
        http.check_destination("file:///etc/passwd")


PUBLIC_IP = "93.184.215.14"


def rebinding_resolver(monkeypatch):
    """A resolver that answers a public address to the first question and 127.0.0.1 afterwards."""
    answers = []
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        address = PUBLIC_IP if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answers


def test_dns_rebinding_cannot_steer_a_webhook_to_localhost(settings, monkeypatch):
    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = False
    answers = rebinding_resolver(monkeypatch)
    with FakeReceiver("whsec_x") as rx:
        url = f"http://rebind.example:{rx.server.server_address[1]}/hooks/hotro"
        with pytest.raises(ConnectorError):  # the pinned public address does not answer offline
            http.post(url, content=b"{}", headers={}, timeout=0.3)
        assert rx.attempts == [] and rx.rejected == 0 and not rx.received_event.is_set()
    assert answers == [PUBLIC_IP]  # resolved once, by the check; the connection used that answer


def test_a_pinned_request_keeps_the_name_for_host_and_tls(settings, monkeypatch):
    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = False
    rebinding_resolver(monkeypatch)
    seen = []
    client = httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204)))
    monkeypatch.setattr(http, "shared_client", lambda timeout, hostname="": client)
    response = http.post("https://rebind.example:8443/hook?a=1", content=b"{}", headers={"X-A": "1"})
    assert response.status_code == 204
    (request,) = seen
    assert request.url == httpx.URL(f"https://{PUBLIC_IP}:8443/hook?a=1")
    assert request.headers["host"] == "rebind.example:8443" and request.headers["x-a"] == "1"
    assert request.extensions["sni_hostname"] == "rebind.example"


def test_refused_payloads_are_described_without_their_values(ws_a):
    inbox, _ = create_api_inbox(ws_a, "CRM", "")
    long_email = "nguyen.thi.lan." * 20 + "@example.vn"
    with pytest.raises(MalformedInbound) as too_long:
        accept_api_inbound(inbox, {"external_id": "e1", "contact": {"email": long_email}, "text": "hi"})
    attachment = {"filename": "cccd-nguyen-thi-lan.jpg", "data_base64": "!!not base64!!"}
    with pytest.raises(MalformedInbound) as bad_file:
        accept_api_inbound(
            inbox, {"external_id": "e2", "contact": {"external_id": "c"}, "attachments": [attachment]}
        )
    first = RawEvent.objects.get(pk=too_long.value.raw_event.pk)
    second = RawEvent.objects.get(pk=bad_file.value.raw_event.pk)
    assert first.error == "contact.email: string_too_long" == str(too_long.value)
    assert second.error == "attachments.0.data_base64: not valid base64"
    assert "nguyen" not in first.error + second.error
