"""URL routes of hotro.api (included from config/urls.py)."""

urlpatterns: list = []
