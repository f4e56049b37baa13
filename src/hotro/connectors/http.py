"""The one way connectors talk HTTP to the outside: httpx with timeouts, an SSRF guard and no
redirects to other hosts.

``post`` refuses addresses that resolve to private, loopback, link-local or otherwise non-public
networks (cloud metadata, the database next door) unless ``HOTRO_ALLOW_PRIVATE_WEBHOOKS`` is true,
as it is in development and tests.  It never follows a redirect to another host (a webhook or
provider endpoint that moves must be reconfigured), and turns network failures into transient
``ConnectorError``s.  Status codes are for the connector to judge.

DNS rebinding: the name is resolved once, by ``check_destination``, and the connection goes to the
address that was checked (the URL's host becomes that IP; the ``Host`` header and the TLS server
name, which the certificate is verified against, stay the original name).  A resolver that answers
a public address to the check and 127.0.0.1 to the connection therefore cannot steer the request.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from .base import ConnectorError

MAX_REDIRECTS = 3
USER_AGENT = "hotro-webhooks/1"


class EgressRefused(ConnectorError):
    """The destination is not allowed (bad scheme, private address); permanent."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True, code="egress_refused")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_destination(url: str) -> str | None:
    """Raise ``EgressRefused`` unless ``url`` is http(s) and every address it resolves to is public
    (or private addresses are allowed by settings).  Returns the checked address to connect to
    (None when private addresses are allowed and nothing was resolved)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise EgressRefused(_("The address %(url)s is not an http:// or https:// URL.") % {"url": url})
    if settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS:
        return None
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise ConnectorError(
            _("The host %(host)s could not be found; check the address.") % {"host": parts.hostname}
        ) from exc
    if not infos or not all(_is_public(info[4][0]) for info in infos):
        raise EgressRefused(
            _("%(host)s is a private or local address; hotro only sends to public addresses.")
            % {"host": parts.hostname}
        )
    return infos[0][4][0].split("%", 1)[0]


def pinned_request(client: httpx.Client, url: str, address: str | None, **kwargs) -> httpx.Request:
    """A request for ``url`` that connects to ``address`` (the checked IP) while keeping the original
    name in the ``Host`` header and as the TLS server name (SNI and certificate check)."""
    request = client.build_request("POST", url, **kwargs)
    if address is None:
        return request
    original = request.url
    request.url = original.copy_with(host=address)
    request.extensions = {**request.extensions, "sni_hostname": original.host}
    # build_request already set Host from the original URL (with its port); keep it
    request.headers["Host"] = original.netloc.decode("ascii")
    return request


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context (loading the CA bundle costs ~100 ms), shared by all clients."""
    return httpx.create_ssl_context()


@lru_cache(maxsize=64)
def shared_client(timeout: float, hostname: str = "") -> httpx.Client:
    """One pooled client per timeout and destination name for the whole process (thread-safe).
    Pinned requests go to an IP, and a pool is keyed by IP: one pool per name keeps a TLS
    connection verified for one name from being reused for another name on the same address."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        verify=_tls_context(),
    )


def post(
    url: str, *, content: bytes, headers: dict[str, str], timeout: float | None = None
) -> httpx.Response:
    """POST ``content`` to ``url`` and return the response (any status).  Raises ``EgressRefused``
    for refused destinations and a transient ``ConnectorError`` for timeouts and network errors."""
    timeout = settings.HOTRO_HTTP_TIMEOUT_SECONDS if timeout is None else timeout
    headers = {"User-Agent": USER_AGENT, **headers}
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        address = check_destination(current)
        client = shared_client(float(timeout), urlsplit(current).hostname or "")
        request = pinned_request(client, current, address, content=content, headers=headers)
        try:
            response = client.send(request)
        except httpx.TimeoutException as exc:
            raise ConnectorError(
                _("The receiver did not answer within %(s)s seconds; will retry.") % {"s": int(timeout)},
                code="timeout",
            ) from exc
        except httpx.HTTPError as exc:
            raise ConnectorError(
                _("Could not connect to the receiver (%(e)s); will retry.") % {"e": type(exc).__name__},
                code="network",
            ) from exc
        if response.status_code not in {307, 308} or "location" not in response.headers:
            return response
        target = urljoin(current, response.headers["location"])
        if not _same_origin(current, target):
            raise EgressRefused(
                _("The receiver redirects to another host; set the final address in the inbox settings.")
            )
        current = target
    raise ConnectorError(_("The receiver redirected too many times; check the address."), permanent=True)
