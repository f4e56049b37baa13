"""Staff accounts (agents, admins, owners, operators); customers are ``contacts.Contact``."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    email = models.EmailField(unique=True)
    language = models.CharField(max_length=10, blank=True)

    class Meta:
        db_table = "hotro_user"
