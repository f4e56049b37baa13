"""Storage of blind search tokens beside each message.

PostgreSQL: ``integer[]`` with a GIN index, searched with ``@>`` (contains all).  SQLite (embedded
mode): a JSON array searched with ``json_each``.  Tokens are HMACs (``privacy.blind``), never words.
"""

from __future__ import annotations

import json

from django.db import models


class TokenArrayField(models.Field):
    description = "Blind search tokens (integers)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("default", "blank", "editable"):
            kwargs.pop(key, None)
        return name, path, args, kwargs

    def db_type(self, connection):
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return []
        if isinstance(value, str):
            return json.loads(value)
        return list(value)

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value)
        return list(value or [])

    def get_db_prep_value(self, value, connection, prepared=False):
        value = [int(v) for v in (value or [])]
        if connection.vendor == "postgresql":
            return value
        return json.dumps(value)


@TokenArrayField.register_lookup
class ContainsAll(models.Lookup):
    """``search_tokens__contains_all=[t1, t2]``: the row has every token."""

    lookup_name = "contains_all"

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [[int(v) for v in value]])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        tokens = [int(v) for v in self.rhs]
        if not tokens:
            return "1=1", list(lhs_params)
        if connection.vendor == "postgresql":
            return f"{lhs} @> %s::integer[]", [*lhs_params, tokens]
        parts = [f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)" for _ in tokens]
        return " AND ".join(parts), [p for t in tokens for p in (*lhs_params, t)]
