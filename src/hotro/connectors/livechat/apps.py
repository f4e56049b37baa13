from django.apps import AppConfig


class LivechatConfig(AppConfig):
    name = "hotro.connectors.livechat"
    label = "livechat"
    verbose_name = "Live chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from hotro.connectors.registry import register
        from hotro.conversations.models import Conversation

        from .connector import LiveChatConnector, on_conversation_saved

        register(LiveChatConnector)
        post_save.connect(
            on_conversation_saved, sender=Conversation, dispatch_uid="livechat-conversation-status"
        )
