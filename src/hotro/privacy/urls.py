"""URL routes of hotro.privacy (included from config/urls.py)."""

urlpatterns: list = []
