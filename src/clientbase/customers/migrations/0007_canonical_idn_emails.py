"""E-mails stored before issue 8 kept an international domain as typed
(`u@exämple.com`), so the same address could also be stored in its ASCII
form (`u@xn--exmple-cua.com`) by another account or contact. Rewrite each
stored e-mail to the canonical form the services now store (lower case,
IDNA domain). A row whose canonical e-mail another row of the same table
already holds is left as it is and reported: merging two people is a
decision for staff, not for a migration."""

from django.db import migrations
from django.utils.encoding import punycode


def _canonical(email: str) -> str:
    # A frozen copy of clientbase.core.emails.canonical_email as of this migration.
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if at and domain and not domain.isascii():
        try:
            email = f"{local}@{punycode(domain)}"
        except UnicodeError:
            pass
    return email


def canonicalize(apps, schema_editor):
    for model_name in ("Account", "Contact"):
        model = apps.get_model("customers", model_name)
        rows = model.objects.filter(email__regex=r"[^ -~]").values_list("pk", "email")  # non-ASCII only
        for pk, email in rows.iterator():
            canonical = _canonical(email)
            if canonical == email:
                continue
            if model.objects.filter(email__iexact=canonical).exclude(pk=pk).exists():
                print(f"\n  {model_name} {pk}: e-mail {email!r} left as it is: another "
                      f"{model_name.lower()} has {canonical!r}.")
                continue
            model.objects.filter(pk=pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_role_names_unique_ignoring_case")]

    operations = [migrations.RunPython(canonicalize, migrations.RunPython.noop)]
