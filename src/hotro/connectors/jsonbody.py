"""Reading JSON that comes from outside (API bodies, webhooks, widgets): one loader, clear refusals.

``load_object`` accepts exactly what every public door of hotro can store and process: UTF-8 text
holding one JSON object, nested at most ``MAX_DEPTH`` levels, with no NUL character (U+0000) in any
key or string (PostgreSQL cannot store it in text, and no customer types it).  Anything else raises
``BadJson`` with a sentence that says where the problem is and never quotes the content (it may be
personal data).
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _

MAX_DEPTH = 32


class BadJson(ValueError):
    """The body cannot be accepted; ``str(exc)`` says why, in words, without quoting content."""


def load_object(raw: bytes | str | None, *, empty_is_object: bool = False) -> dict:
    """The JSON object in ``raw``; raises ``BadJson``.  ``empty_is_object``: an empty body is ``{}``."""
    if raw is None or raw in (b"", ""):
        if empty_is_object:
            return {}
        raise BadJson(_("The body is empty; send a JSON object."))
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJson(_("The body is not UTF-8 text (byte %(n)s).") % {"n": exc.start}) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadJson(
            _("The body is not valid JSON (line %(line)s, column %(col)s: %(msg)s).")
            % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
        ) from None
    except RecursionError:
        raise BadJson(_("The body is nested too deeply (at most %(n)s levels).") % {"n": MAX_DEPTH}) from None
    if not isinstance(data, dict):
        raise BadJson(_("The body must be a JSON object ({...})."))
    check_value(data)
    return data


def check_value(data) -> None:
    """Raise ``BadJson`` if ``data`` (decoded JSON) nests deeper than ``MAX_DEPTH`` or holds a NUL
    character in a key or string.  Iterative: any depth is checked without recursion."""
    stack = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise BadJson(
                    _("%(where)s: text may not contain NUL characters (U+0000).") % {"where": where}
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise BadJson(_("The body is nested too deeply (at most %(n)s levels).") % {"n": MAX_DEPTH})
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and "\x00" in key:
                raise BadJson(
                    _("%(where)s: a key may not contain NUL characters (U+0000).")
                    % {"where": where or "body"}
                )
            stack.append((item, depth + 1, path.replace("\x00", "")))
