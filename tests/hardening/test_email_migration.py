"""Issue 8, finding 7: e-mails stored before the services made domains
canonical keep their international spelling. Migration customers 0007
rewrites them to the canonical form, and leaves (and names) a row whose
canonical e-mail another row already holds."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("customers", "0006_role_names_unique_ignoring_case")]
AFTER = [("customers", "0007_canonical_idn_emails")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_stored_emails_canonical_and_leaves_collisions(capsys):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        # given, as stored before: an international domain, and a collision
        old = executor.loader.project_state(BEFORE).apps
        Contact, Account = old.get_model("customers", "Contact"), old.get_model("customers", "Account")
        zoe = Contact.objects.create(first_name="Zoë", email="zoe@exämple.com")
        ann = Contact.objects.create(first_name="Ann", email="ann@exämple.com")
        ann_ascii = Contact.objects.create(first_name="Ann", email="ann@xn--exmple-cua.com")
        plain = Contact.objects.create(first_name="Bo", email="bo@example.com")
        account = Account.objects.create(email="u@bücher.de", password="!")

        # when
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)

        # then
        new = executor.loader.project_state(AFTER).apps
        Contact, Account = new.get_model("customers", "Contact"), new.get_model("customers", "Account")
        emails = dict(Contact.objects.values_list("pk", "email"))
        assert emails[zoe.pk] == "zoe@xn--exmple-cua.com"
        assert emails[plain.pk] == "bo@example.com"
        assert (emails[ann.pk], emails[ann_ascii.pk]) == ("ann@exämple.com", "ann@xn--exmple-cua.com")
        assert f"Contact {ann.pk}: e-mail 'ann@exämple.com' left as it is" in capsys.readouterr().out
        assert Account.objects.get(pk=account.pk).email == "u@xn--bcher-kva.de"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
