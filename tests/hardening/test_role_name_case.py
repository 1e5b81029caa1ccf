"""Issue 8, finding 7: role names differing only in case were both created
under concurrency — the service's case-insensitive check ran before the save,
and no database constraint backed it. A unique index on lower(name) (migration
customers 0006) turns the race's loser into the same 409 duplicate_name."""

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from clientbase.customers.services import accounts as account_services

BEFORE = [("customers", "0005_role_versions_and_history")]
AFTER = [("customers", "0006_role_names_unique_ignoring_case")]


def test_creating_a_role_whose_name_is_taken_in_another_case_is_a_409(admin_api):
    assert admin_api.post("/roles", {"name": "auditors", "permissions": []}).status_code == 201
    response = admin_api.post("/roles", {"name": "Auditors", "permissions": []})
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["field"] == "name"
    assert response.json()["type"].endswith("duplicate_name")


def test_a_race_past_the_check_is_the_same_409(admin_api, monkeypatch):
    # given "auditors", and the service's check not seeing it (as when two
    # requests run it at the same moment)
    assert admin_api.post("/roles", {"name": "auditors", "permissions": []}).status_code == 201
    def racing_check(name, role=None):
        # the other request's row is not visible yet: the pre-check passes
        return (name or "").strip()

    monkeypatch.setattr(account_services, "_check_role_name", racing_check)
    # when
    created = admin_api.post("/roles", {"name": "Auditors", "permissions": []})
    renamed_id = admin_api.post("/roles", {"name": "Reviewers", "permissions": []}).json()["id"]
    renamed = admin_api.patch(f"/roles/{renamed_id}", {"name": "AUDITORS"})
    # then the database refuses, and the service says so as its check would
    assert created.status_code == 409, created.content
    assert created.json()["type"].endswith("duplicate_name")
    assert renamed.status_code == 409, renamed.content
    assert Group.objects.filter(name__iexact="auditors").count() == 1


def test_the_database_refuses_a_second_spelling(db):
    Group.objects.create(name="Auditors")
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.create(name="AUDITORS")


@pytest.mark.django_db(transaction=True)
def test_the_migration_applies_over_existing_roles_and_reverses():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        # given a database with roles, before the index
        Group.objects.create(name="Auditors")
        Group.objects.create(name="Reviewers")
        Group.objects.create(name="auditors-eu")
        # when
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        # then the roles are there, and a second spelling is refused
        assert set(Group.objects.values_list("name", flat=True)) >= {"Auditors", "Reviewers", "auditors-eu"}
        with pytest.raises(IntegrityError), transaction.atomic():
            Group.objects.create(name="reviewers")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_roles_that_already_collide():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        Group.objects.create(name="Auditors")
        Group.objects.create(name="AUDITORS")
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        with pytest.raises(RuntimeError, match="'AUDITORS' and 'Auditors'"):
            executor.migrate(AFTER)
        Group.objects.filter(name="AUDITORS").delete()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
