"""Running one delivery (filled out by the connectors plumbing)."""


def run_delivery(delivery_id: str) -> str:
    from .models import Delivery

    return Delivery.objects.values_list("status", flat=True).get(pk=delivery_id)
