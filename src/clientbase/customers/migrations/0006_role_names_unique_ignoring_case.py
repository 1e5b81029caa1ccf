"""Role names are unique ignoring case, in the database too.

Roles are Django's auth.Group, whose `name` is unique as typed only: the roles
service refuses "auditors" beside "Auditors" (iexact) before saving, but two
requests racing past that check both saved. An expression index on
lower(name) (PostgreSQL and SQLite both have them) makes the second one an
IntegrityError, which the service answers like its check: 409 duplicate_name.
"""

from django.db import migrations

INDEX = "customers_role_name_lower_uniq"


def refuse_existing_duplicates(apps, schema_editor):
    # The index cannot be built over names that already collide; say which,
    # rather than the database's bare "could not create unique index".
    Group = apps.get_model("auth", "Group")
    seen: dict[str, str] = {}
    clashes = []
    for name in Group.objects.order_by("name").values_list("name", flat=True):
        if name.lower() in seen:
            clashes.append(f"{seen[name.lower()]!r} and {name!r}")
        seen.setdefault(name.lower(), name)
    if clashes:
        raise RuntimeError("Roles whose names differ only in case: " + "; ".join(clashes)
                           + ". Rename or merge them, then migrate again.")


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("customers", "0005_role_versions_and_history"),
    ]

    operations = [
        migrations.RunPython(refuse_existing_duplicates, migrations.RunPython.noop),
        migrations.RunSQL(
            f"CREATE UNIQUE INDEX {INDEX} ON auth_group (lower(name))",
            reverse_sql=f"DROP INDEX {INDEX}",
        ),
    ]
