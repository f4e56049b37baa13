from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_identity_key")]

    operations = [
        migrations.AddConstraint(
            model_name="contactidentity",
            constraint=models.UniqueConstraint(
                fields=("workspace", "channel", "address_key"), name="identity_unique"
            ),
        ),
    ]
