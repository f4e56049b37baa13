"""JSON errors everywhere in the API: ``{"code": ..., "message": ...}`` (plus ``errors`` for 422)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error answered as ``{"code", "message"}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _validation_messages(exc: DjangoValidationError) -> list[str]:
    return [str(m) for m in exc.messages] or ["The request is not valid."]


def register_handlers(api) -> None:
    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @api.exception_handler(AuthenticationError)
    def unauthorized(request, exc):
        response = error_response(
            401, "unauthorized", "Send a valid API token: 'Authorization: Bearer hotro_...'."
        )
        response["WWW-Authenticate"] = 'Bearer realm="hotro"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request, exc):
        return error_response(429, "rate_limited", "Too many requests for this token; retry after a pause.")

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        body_error = getattr(request, "hotro_body_error", None)  # the body parser's own sentence
        if body_error:
            return error_response(400, "bad_request", body_error)
        return error_response(exc.status_code, CODES.get(exc.status_code, "error"), str(exc))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return error_response(404, "not_found", "No such object in this workspace.")

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc):
        return error_response(403, "forbidden", str(exc) or "This token may not do that.")

    @api.exception_handler(DjangoValidationError)
    def invalid(request, exc: DjangoValidationError):
        messages = _validation_messages(exc)
        return error_response(422, "validation_error", messages[0], errors=[{"msg": m} for m in messages])

    @api.exception_handler(NinjaValidationError)
    def schema_invalid(request, exc: NinjaValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
            for e in exc.errors
        ]
        first = errors[0] if errors else {"loc": [], "msg": "The request is not valid."}
        where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path", "payload"))
        message = f"{where}: {first['msg']}" if where else first["msg"]
        return error_response(422, "validation_error", message, errors=errors)

    @api.exception_handler(Exception)
    def server_error(request, exc: Exception):
        log.exception("API request failed: %s %s", request.method, request.path)
        return error_response(500, "server_error", "Something went wrong on our side; try again later.")
