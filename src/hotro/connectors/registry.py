"""Which connector serves which channel key (``api``, later ``email``, ``livechat``, ``zalo`` ...).

Built-in connectors are named here by dotted path and imported on first use, so loading the registry
never imports every channel's dependencies.  ``register`` adds (or, in tests, replaces) one.
"""

from __future__ import annotations

import threading

from django.utils.module_loading import import_string

from .base import Connector

BUILTIN: dict[str, str] = {
    "api": "hotro.connectors.api.connector.ApiConnector",
    "email": "hotro.connectors.email.connector.EmailConnector",
}

_instances: dict[str, Connector] = {}
_lock = threading.Lock()


class UnknownConnector(LookupError):
    """No connector is registered under this key."""


def register(connector: Connector | type[Connector]) -> Connector:
    """Register a connector (class or instance) under its ``key``; returns the instance."""
    instance = connector() if isinstance(connector, type) else connector
    if not instance.key:
        raise ValueError("A connector needs a key such as 'api' or 'email'.")
    with _lock:
        _instances[instance.key] = instance
    return instance


def get_connector(key: str) -> Connector:
    """The connector for ``key``; raises ``UnknownConnector`` with a sentence if there is none."""
    instance = _instances.get(key)
    if instance is not None:
        return instance
    path = BUILTIN.get(key)
    if path is None:
        known = ", ".join(sorted(set(BUILTIN) | set(_instances))) or "none"
        raise UnknownConnector(f"There is no channel connector named {key!r} (known: {known}).")
    return register(import_string(path))


def unregister(key: str) -> None:
    """Forget a registered connector (tests); built-ins come back on the next ``get_connector``."""
    with _lock:
        _instances.pop(key, None)
