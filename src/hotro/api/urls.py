"""URL routes of hotro.api (included from config/urls.py at "/api/")."""

from functools import wraps

from django.http import HttpResponseNotAllowed
from django.urls import path, re_path

from . import views
from .errors import error_response
from .main import api


def unknown_endpoint(request, rest=""):
    return error_response(404, "not_found", "No such API endpoint; see /api/docs.")


def json_method_errors(view):
    """ninja answers an unsupported method with a plain-text 405; the API answers JSON everywhere."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(405, "method_not_allowed", f"Use one of: {allowed}.")
            response["Allow"] = allowed
        return response

    return wrapped


# (no module-level ``app_name`` here: Django would take it as this urlconf's namespace)
_api_urls = api.urls
for _pattern in _api_urls[0]:
    _pattern.callback = json_method_errors(_pattern.callback)

urlpatterns = [
    path("manage/<slug:slug>/tokens/", views.token_list, name="api_tokens"),
    path("manage/<slug:slug>/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="api_token_revoke"),
    path("", _api_urls),
    re_path(r"^v1/(?P<rest>.*)$", unknown_endpoint),
]
