"""DATABASE_PREPARED: server-side binding and psycopg's prepared statements on
PostgreSQL (Django's OPTIONS `server_side_binding` and `prepare_threshold`)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from clientbase.customers.models import Contact
from clientbase.settings import PREPARE_THRESHOLD, database_prepared

POSTGRES = "django.db.backends.postgresql"
PREPARED = {"server_side_binding": True, "prepare_threshold": PREPARE_THRESHOLD}


@pytest.mark.parametrize("value, options", [("", PREPARED), ("on", PREPARED), (" 1 ", PREPARED),
                                            ("yes", PREPARED), ("0", {}), ("off", {}), ("False", {})])
def test_database_prepared_is_on_unless_turned_off(value, options):
    assert database_prepared(value, POSTGRES) == options


def test_sqlite_is_left_as_it_is():
    assert database_prepared("on", "django.db.backends.sqlite3") == {}


def test_a_database_prepared_that_is_neither_on_nor_off_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARED"):
        database_prepared("sometimes", POSTGRES)


@pytest.mark.django_db
def test_postgresql_prepares_a_statement_once_it_has_run_past_the_threshold():
    if not connection.settings_dict["OPTIONS"].get("server_side_binding"):
        pytest.skip("statements are prepared on PostgreSQL with DATABASE_PREPARED on")
    # given: a query the ORM sends, its parameters bound on the server
    marker = "prepared-statement-probe"

    def run_query():
        return list(Contact.objects.filter(key=marker).values_list("id"))

    def prepared_statements() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [statement for (statement,) in cursor.fetchall()
                    if '"key" = $1' in statement and "customers_contact" in statement]

    # when: it runs as often as the threshold says, then once more
    for _ in range(PREPARE_THRESHOLD):
        run_query()
    before = prepared_statements()
    run_query()
    # then: prepared on the run after the threshold, not before
    assert before == []
    assert len(prepared_statements()) == 1
