from django.apps import AppConfig


class CommentsConfig(AppConfig):
    """Product comments and questions (the IZIComment widget).  Docs: docs/channels/comments.md."""

    name = "hotro.connectors.comments"
    label = "comments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hotro.connectors.registry import register

        from .connector import CommentsConnector

        register(CommentsConnector)
