"""Server logging without personal data.

Query strings carry personal data (``/api/v1/contacts?email=...``, ``?q=<search words>``, widget
parameters), so uvicorn's access and WebSocket log lines keep the path and drop the query.
"""

from __future__ import annotations

import copy
import logging


def strip_query(value):
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0] + "?…"
    return value


class StripQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: strip_query(v) for k, v in record.args.items()}
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's own logging configuration with the query-string filter on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["strip_query"] = {"()": "hotro.config.logs.StripQueryStrings"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("strip_query")
    return config


class StderrHandler(logging.StreamHandler):
    """A StreamHandler writing to whatever ``sys.stderr`` is when a record is emitted (not the stream
    of the moment logging was configured: that one may have been closed since, e.g. by a test
    runner capturing output)."""

    def __init__(self, level=logging.NOTSET):
        logging.Handler.__init__(self, level)

    @property
    def stream(self):
        import sys

        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.setStream; the current stderr is always used
        pass
