"""A fake OAuth2 authorization server on 127.0.0.1 speaking the real wire format (RFC 6749, RFC 7636,
RFC 7009, OpenID Connect's id_token), for the e-mail inbox's "Connect with Google / Microsoft" tests.

- ``GET /authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method
  &scope`` checks the client, its registered redirect URI and S256, then answers ``302`` to
  ``redirect_uri?code=..&state=..`` (``decision = "allow"``) or ``?error=access_denied&state=..``
  (``"deny"``).  A bad client or redirect URI gets a 400 page, never a redirect (RFC 6749 §4.1.2.1).
- ``POST /token`` ``grant_type=authorization_code``: the code must be unused, for this client and
  redirect URI, and ``BASE64URL(SHA256(code_verifier))`` must equal the challenge; the client secret
  is checked.  Answers access and refresh tokens, ``expires_in`` and, when ``openid`` was asked for,
  an id_token with the user's ``email``.  ``grant_type=refresh_token`` answers a new access token
  (and rotates the refresh token when ``rotate`` is set).  Errors are ``{"error": "invalid_grant"}``.
- ``POST /revoke`` ``token=..`` revokes a refresh token.

``browse(url)`` plays the browser's part: it GETs the authorize URL without following the redirect
and returns the ``Location`` the provider sends the browser to.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def make_id_token(claims: dict) -> str:
    """A JWT (header.payload.signature); the signature is not checked by a client that got it
    straight from the token endpoint over TLS."""
    header = b64url(json.dumps({"alg": "RS256", "kid": "fake"}).encode())
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{b64url(b'not-a-real-signature')}"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    used: bool = False


@dataclass
class FakeAuthServer:
    clients: dict = field(default_factory=dict)  # client_id -> {"secret": str, "redirect_uris": [..]}
    email: str = "support@shop.test"  # the signed-in user's address (id_token "email")
    decision: str = "allow"  # or "deny"
    token_status: int = 0  # answer /token with this status (e.g. 400, 503) instead of working
    issue_refresh_token: bool = True
    rotate: bool = False
    expires_in: int = 3600

    def __post_init__(self):
        self.authorize_requests: list[dict] = []
        self.token_calls: list[dict] = []
        self.revoked: list[str] = []
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> client_id
        self.access_tokens: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path != "/authorize":
                    return self._send(404, b"not found", "text/plain")
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                server.authorize_requests.append(params)
                status, location, body = server.authorize(params)
                if location:
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(status, body.encode(), "text/plain")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = dict(parse_qsl(raw, keep_blank_values=True))
                path = urlsplit(self.path).path
                if path == "/token":
                    server.token_calls.append(form)
                    status, body = server.token(form, self.headers.get("Content-Type", ""))
                elif path == "/revoke":
                    server.revoked.append(form.get("token", ""))
                    server.refresh_tokens.pop(form.get("token", ""), None)
                    status, body = 200, {}
                else:
                    status, body = 404, {"error": "not_found"}
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.origin + path

    def register(self, client_id: str, secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = {"secret": secret, "redirect_uris": [redirect_uri]}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the endpoints ------------------------------------------------------------------------
    def authorize(self, params: dict) -> tuple[int, str, str]:
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or redirect_uri not in client["redirect_uris"]:
            return 400, "", "unknown client or redirect_uri"  # never redirect to an unchecked address
        state = params.get("state", "")
        if params.get("response_type") != "code":
            return (
                302,
                f"{redirect_uri}?{urlencode({'error': 'unsupported_response_type', 'state': state})}",
                "",
            )
        if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) != 43:
            query = {"error": "invalid_request", "error_description": "PKCE S256 required", "state": state}
            return 302, f"{redirect_uri}?{urlencode(query)}", ""
        if self.decision != "allow":
            return 302, f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}", ""
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.grants[code] = Grant(
                params["client_id"], redirect_uri, params["code_challenge"], params.get("scope", "")
            )
        return 302, f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", ""

    def _client_ok(self, form: dict) -> bool:
        client = self.clients.get(form.get("client_id", ""))
        return client is not None and (not client["secret"] or form.get("client_secret") == client["secret"])

    def token(self, form: dict, content_type: str) -> tuple[int, dict]:
        if self.token_status:
            return self.token_status, {
                "error": "temporarily_unavailable" if self.token_status >= 500 else "invalid_grant"
            }
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request"}
        if not self._client_ok(form):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            with self.lock:
                grant = self.grants.get(form.get("code", ""))
                if grant is None or grant.used:
                    return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
                grant.used = True  # single use, even when what follows fails
            if grant.client_id != form.get("client_id") or grant.redirect_uri != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "client or redirect_uri mismatch"}
            if s256(form.get("code_verifier", "")) != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            return 200, self._issue(grant.client_id, grant.scope, new_refresh=self.issue_refresh_token)
        if form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if self.refresh_tokens.get(refresh) != form.get("client_id"):
                return 400, {"error": "invalid_grant"}
            if self.rotate:
                del self.refresh_tokens[refresh]
            return 200, self._issue(form["client_id"], form.get("scope", ""), new_refresh=self.rotate)
        return 400, {"error": "unsupported_grant_type"}

    def _issue(self, client_id: str, scope: str, *, new_refresh: bool) -> dict:
        access = "at-" + secrets.token_urlsafe(12)
        self.access_tokens.append(access)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in, "scope": scope}
        if new_refresh:
            refresh = "rt-" + secrets.token_urlsafe(12)
            self.refresh_tokens[refresh] = client_id
            body["refresh_token"] = refresh
        if "openid" in scope.split() and self.email:
            body["id_token"] = make_id_token(
                {
                    "iss": self.origin,
                    "aud": client_id,
                    "sub": "1234",
                    "email": self.email,
                    "email_verified": True,
                }
            )
        return body

    # --- the browser's part ----------------------------------------------------------------------
    def browse(self, url: str) -> tuple[int, str]:
        """GET ``url`` (the authorize address) like a browser without following the redirect:
        ``(status, Location)``."""
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname, parts.port) == ("http", "127.0.0.1", self.port), url
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Location", "")
        finally:
            connection.close()


@pytest.fixture
def auth_server():
    server = FakeAuthServer()
    yield server
    server.stop()
