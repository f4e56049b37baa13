"""Rate limits of the live-chat widget: (hits, window in seconds).  The per-IP connection limit can
be raised with ``HOTRO_WIDGET_CONNECTS_PER_MINUTE`` (e.g. behind a NAT of many visitors, or a bench)."""

from django.conf import settings

CONNECT_LIMIT = (int(getattr(settings, "HOTRO_WIDGET_CONNECTS_PER_MINUTE", 60)), 60)  # per IP
MESSAGE_LIMIT = (20, 60)  # visitor messages per visitor per minute
TYPING_LIMIT = (60, 60)
UPLOAD_LIMIT = (10, 300)  # uploads per visitor per 5 minutes
FORM_LIMIT = (10, 300)  # pre-chat and rating submissions per visitor per 5 minutes
POLL_LIMIT = (120, 60)  # long-poll requests per visitor per minute
