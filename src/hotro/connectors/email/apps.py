from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "hotro.connectors.email"
    label = "email_channel"
    verbose_name = "E-mail channel"
    default_auto_field = "django.db.models.BigAutoField"
