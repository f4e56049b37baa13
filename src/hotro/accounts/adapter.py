from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """Staff join by invitation; open sign-up only when the operator enables it."""

    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUPS
