# KeyField.clone() used to turn every key back into unique (and nullable), so
# the historical tables refused a second history row of an object with a key,
# and customer group keys were nullable. See KeyField.deconstruct.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='customergroup',
            name='key',
            field=models.CharField(blank=False, max_length=100, null=False, unique=True),
        ),
        migrations.AlterField(
            model_name='historicalcontact',
            name='key',
            field=models.CharField(blank=True, db_index=True, max_length=100, null=True, unique=False),
        ),
        migrations.AlterField(
            model_name='historicalcustomergroup',
            name='key',
            field=models.CharField(blank=False, db_index=True, max_length=100, null=False, unique=False),
        ),
        migrations.AlterField(
            model_name='historicalorganization',
            name='key',
            field=models.CharField(blank=True, db_index=True, max_length=100, null=True, unique=False),
        ),
    ]
