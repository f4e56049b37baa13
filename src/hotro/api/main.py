"""The public API (django-ninja): ``/api/v1/...``, OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``."""

from __future__ import annotations

from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from .auth import TokenAuth, TokenRateThrottle
from .body import ObjectParser
from .errors import register_handlers
from .routers import contacts, conversations, inboxes, members


class LocalSwagger(Swagger):
    """Swagger UI from the assets django-ninja ships (served by us; no CDN), nonce on every script."""

    template = "api/docs.html"

    def render_page(self, request, api, **kwargs):
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"swagger_settings": settings, "api": api}
        return render(request, self.template, context)


DESCRIPTION = """Everything an agent can do, for your own systems.  Authenticate with a workspace API token
(`Authorization: Bearer hotro_...`), created by an admin in the workspace settings; each token acts as
its own member (shown as `API: <token name>`) with admin rights in that one workspace.  Errors are JSON
`{"code", "message"}`; lists are paged with an opaque `cursor` (pass `next_cursor` back until it is null)."""

api = NinjaAPI(
    title="hotro API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api_v1",
    auth=TokenAuth(),
    parser=ObjectParser(),
    throttle=[TokenRateThrottle()],
    # validatorUrl None: Swagger UI would otherwise load a badge image from another origin.
    docs=LocalSwagger(settings={"validatorUrl": None, "persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
register_handlers(api)
api.add_router("/v1/conversations", conversations.router)
api.add_router("/v1/contacts", contacts.router)
api.add_router("/v1/inboxes", inboxes.router)
api.add_router("/v1/members", members.router)
