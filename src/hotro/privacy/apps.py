from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "hotro.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from .rls import on_post_migrate, set_app_role

        connection_created.connect(set_app_role, dispatch_uid="hotro.privacy.set_app_role")
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="hotro.privacy.post_migrate")
