"""URL routes of hotro.tenancy (included from config/urls.py)."""

urlpatterns: list = []
