"""The customer's confirmation link (public, no login): GET shows a button, POST confirms.

A GET never changes anything, so mail scanners that open links cannot confirm for the customer."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from hotro.privacy.rls import system_scope

from .fraud import ConfirmationInvalid, confirm, find_confirmation


@require_http_methods(["GET", "POST"])
def confirm_view(request, token: str):
    try:
        with system_scope():
            find_confirmation(token)
        if request.method == "POST":
            released = confirm(token)
            return render(request, "email_channel/confirm.html", {"done": True, "released": released})
    except ConfirmationInvalid as exc:
        return render(request, "email_channel/confirm.html", {"error": str(exc)}, status=410)
    return render(request, "email_channel/confirm.html", {"token": token})
