# A subtree is the half-open range [path, path + "~") (clientbase.core.models).
# That holds only when "/", the hex digits and "~" compare byte by byte. A
# PostgreSQL database created with a linguistic collation (en_US.UTF-8, ICU)
# ignores punctuation at first: there 'a1/b2/' < 'a1/~' is false, and every
# subtree — hence every grant with descendants — would come back nearly
# empty. Pinning the path columns to the "C" collation makes the range exact
# whatever the database's default. SQLite compares with BINARY already.

from django.db import migrations

TABLES = ["customers_organization", "customers_customergroup"]


def pin_collation(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f'ALTER TABLE "{table}" ALTER COLUMN "path" TYPE varchar(990) COLLATE "C"')


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_contact_search_cover_idx'),
    ]

    operations = [
        migrations.RunPython(pin_collation, migrations.RunPython.noop, elidable=False),
    ]
