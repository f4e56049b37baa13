import pytest
from django.db import connection

from hotro.contacts.models import Suppression
from hotro.contacts.suppression import do_suppress, do_unsuppress, is_suppressed

pytestmark = pytest.mark.django_db


def test_it_finds_suppressed_addresses_by_blind_index_in_any_spelling(ws_a, ws_b):
    do_suppress(ws_a.pk, "email", "Lan.Nguyen@Example.vn", "hard_bounce")
    do_suppress(ws_a.pk, "phone", "0901 234 567", "unsubscribed")
    assert is_suppressed(ws_a.pk, "email", "lan.nguyen@example.vn")
    assert is_suppressed(ws_a.pk, "phone", "+84901234567")
    assert not is_suppressed(ws_a.pk, "email", "other@example.vn")
    assert not is_suppressed(ws_b.pk, "email", "lan.nguyen@example.vn")  # per workspace
    again = do_suppress(ws_a.pk, "email", "lan.nguyen@example.vn", "manual")
    assert Suppression.objects.filter(workspace=ws_a).count() == 2 and again.reason == "hard_bounce"
    assert do_unsuppress(ws_a.pk, "email", "LAN.NGUYEN@example.vn") == 1
    assert not is_suppressed(ws_a.pk, "email", "lan.nguyen@example.vn")


def test_the_list_holds_no_address_in_clear(ws_a):
    do_suppress(ws_a.pk, "email", "secret.person@example.vn", "complaint")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM hotro_suppression")
        rows = repr(cursor.fetchall())
    assert "secret.person" not in rows
