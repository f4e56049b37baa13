"""URL routes of hotro.connectors (included from config/urls.py)."""

urlpatterns: list = []
