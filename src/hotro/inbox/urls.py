"""URL routes of hotro.inbox (included from config/urls.py)."""

urlpatterns: list = []
