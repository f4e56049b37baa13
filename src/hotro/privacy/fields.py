"""Model fields whose values are sealed with the workspace data key before they reach the database.

The column holds ciphertext (``bytea`` / ``BLOB``).  The Python attribute holds plaintext: values read
from the database stay sealed until first accessed (so listing rows costs no decryption), and a
value is encrypted in ``pre_save`` with associated data ``workspace | table | column | primary key``.
The model must have ``workspace_id`` and a primary key assigned before saving (``TenantModel`` does).

Plaintext never reaches the database layer: a plaintext value in a query (``filter(name="x")``,
``update(name="x")``) is refused with ``TypeError``, serializers see an empty string, and
``Sealed`` values print as ``<sealed N bytes>``.  A sealed value remembers the row it was read from;
if the instance is saved as another row (copied with ``pk = None``), the value is re-sealed for its
new place instead of becoming unreadable.
"""

from __future__ import annotations

import json

from django.db import models

from . import crypto


class Sealed(bytes):
    """Ciphertext as loaded from the database, not yet decrypted.

    ``origin`` is ``(workspace_id, pk)`` of the row it was sealed for, once known.
    """

    origin: tuple | None = None

    def __repr__(self) -> str:
        return f"<sealed {len(self)} bytes>"

    __str__ = __repr__


class _EncryptedAttribute:
    def __init__(self, field: EncryptedField):
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        name = self.field.attname
        data = instance.__dict__
        if name not in data:
            instance.refresh_from_db(fields=[name])
        value = data[name]
        if isinstance(value, Sealed):
            cache = instance.__dict__.setdefault("_hotro_plain", {})
            if name not in cache:
                cache[name] = self.field.decrypt_for(instance, value)
            return cache[name]
        return value

    def __set__(self, instance, value):
        if isinstance(value, Sealed) and value.origin is None:
            # Read from __dict__: touching a deferred workspace_id here would cost a query per row.
            loaded = instance.__dict__
            pk_name = instance._meta.pk.attname
            if loaded.get("workspace_id") is not None and loaded.get(pk_name) is not None:
                value.origin = (loaded["workspace_id"], loaded[pk_name])
        instance.__dict__[self.field.attname] = value
        instance.__dict__.get("_hotro_plain", {}).pop(self.field.attname, None)


class EncryptedField(models.BinaryField):
    descriptor_class = _EncryptedAttribute

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", True)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    # conversion hooks -------------------------------------------------------------------------
    def to_bytes(self, value) -> bytes:
        raise NotImplementedError

    def from_bytes(self, raw: bytes):
        raise NotImplementedError

    def aad_for(self, instance, origin: tuple | None = None) -> bytes:
        workspace_id, pk = origin or (instance.workspace_id, instance.pk)
        return crypto.associated_data(workspace_id, instance._meta.db_table, self.column, pk)

    def decrypt_for(self, instance, sealed: bytes):
        from . import keys

        origin = getattr(sealed, "origin", None) or (instance.workspace_id, instance.pk)
        return self.from_bytes(keys.decrypt(origin[0], bytes(sealed), self.aad_for(instance, origin)))

    def seal_for(self, instance, value, version: int | None = None) -> Sealed | None:
        """Ciphertext of ``value`` for this row (``version``: a specific data key, for re-encryption)."""
        if value is None:
            return None
        here = (instance.workspace_id, instance.pk)
        if isinstance(value, Sealed):
            if value.origin in (None, here) and version is None:
                return value
            value = self.decrypt_for(instance, value)  # copied from another row: re-seal for this one
        from . import keys

        sealed = Sealed(
            keys.encrypt(instance.workspace_id, self.to_bytes(value), self.aad_for(instance), version)
        )
        sealed.origin = here
        return sealed

    # Django hooks -----------------------------------------------------------------------------
    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        sealed = self.seal_for(model_instance, value)
        if sealed is not None and sealed is not value:
            # Keep the plaintext readable without a round trip, and the ciphertext for re-saves.
            plain = self.decrypt_for(model_instance, value) if isinstance(value, Sealed) else value
            model_instance.__dict__.setdefault("_hotro_plain", {})[self.attname] = plain
            model_instance.__dict__[self.attname] = sealed
        return sealed

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return Sealed(bytes(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is not None and not isinstance(value, bytes | memoryview | bytearray):
            raise TypeError("Encrypted fields accept only sealed bytes at the database layer.")
        return super().get_db_prep_value(value, connection, prepared)

    def value_to_string(self, obj):
        return ""  # serializers and dumps never see plaintext


class EncryptedTextField(EncryptedField):
    def to_bytes(self, value) -> bytes:
        return str(value).encode()

    def from_bytes(self, raw: bytes):
        return raw.decode()


class EncryptedJSONField(EncryptedField):
    def to_bytes(self, value) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()

    def from_bytes(self, raw: bytes):
        return json.loads(raw)


def encrypted_fields(model) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
