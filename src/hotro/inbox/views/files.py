"""Attachment downloads: authorized, audited, streamed decrypted from the encrypted file store."""

from __future__ import annotations

import itertools

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from hotro.conversations.models import Attachment
from hotro.privacy import audit, storage
from hotro.privacy.crypto import DecryptionError
from hotro.tenancy.access import access_object
from hotro.tenancy.middleware import member_required


@member_required()
@require_GET
def attachment_download(request, slug, attachment_id):
    member = request.member
    attachment = access_object(member, Attachment.objects.select_related("message"), attachment_id)
    chunks = storage.iter_file(member.workspace_id, attachment.storage_key)
    try:
        first = next(chunks, b"")  # opens and authenticates the file (and loads its key) in this scope
    except (storage.FileMissing, DecryptionError):
        return render(request, "inbox/file_missing.html", status=404)
    audit.record_request(
        request,
        member,
        audit.ATTACHMENT_DOWNLOADED,
        object_type="attachment",
        object_id=str(attachment.pk),
        data={"conversation_id": str(attachment.message.conversation_id), "size": attachment.size},
    )
    content = itertools.chain([first], chunks)
    response = StreamingHttpResponse(
        _async_chunks(content) if isinstance(request, ASGIRequest) else content,
        content_type=attachment.content_type,
    )
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition_header(True, attachment.filename or "attachment")
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


async def _async_chunks(chunks):
    """Under ASGI, hand the decrypted segments over one by one (a sync iterator would be read whole)."""
    iterator = iter(chunks)
    while (chunk := await sync_to_async(next, thread_sensitive=False)(iterator, None)) is not None:
        yield chunk
