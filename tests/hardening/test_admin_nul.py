"""Issue 8, finding 6: a NUL character in a back-office list filter or search
term (`?source=%00`, `?q=%00`) or in the autocomplete's term reached
PostgreSQL, which refuses NUL in text: a 500. A list's query string with a NUL
is a 400 page; the autocomplete finds nothing; a bulk action's malformed
selection is no selection."""

import pytest
from django.contrib import admin
from django.test import Client

from clientbase.customers.models import Contact, Organization

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def staff(accounts) -> Client:
    client = Client()
    client.force_login(accounts["admin"])
    return client


def changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def filter_names(model_admin) -> list[str]:
    names = []
    for spec in model_admin.list_filter:
        name = spec if isinstance(spec, str) else getattr(spec, "parameter_name", None)
        if name:
            names += [name, f"{name}__exact", f"{name}__id__exact"]
    return names


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_a_nul_in_a_list_filter_or_search_is_a_400_page(staff, model, model_admin):
    for name in ["q", "o", "p", *filter_names(model_admin)]:
        for value in ["\x00", "a\x00b"]:
            response = staff.get(changelist(model), {name: value})
            assert response.status_code == 400, (name, response.status_code)
    assert staff.get(changelist(model), {"q\x00": "a"}).status_code == 400


AUTOCOMPLETES = [(model, name) for model, model_admin in REGISTERED
                 for name in getattr(model_admin, "autocomplete_fields", ())]


@pytest.mark.parametrize(("model", "field_name"), AUTOCOMPLETES,
                         ids=[f"{m._meta.label}.{f}" for m, f in AUTOCOMPLETES])
def test_a_nul_in_an_autocomplete_term_finds_nothing(staff, world, model, field_name):
    response = staff.get("/admin/autocomplete/", {
        "term": "\x00", "app_label": model._meta.app_label, "model_name": model._meta.model_name,
        "field_name": field_name})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_the_autocomplete_still_finds(staff, world):
    response = staff.get("/admin/autocomplete/", {
        "term": "EU", "app_label": "customers", "model_name": "contact", "field_name": "organizations"})
    assert {r["text"] for r in response.json()["results"]} >= {"EU Headquarters", "EU Management"}


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_a_bulk_action_on_malformed_ids_changes_nothing(staff, world, model, model_admin):
    actions = [name for name in staff_actions(model_admin)]
    if not actions:
        pytest.skip("no bulk action")
    response = staff.post(changelist(model), {"action": actions[0], "_selected_action": ["\x00", "xyz"]})
    assert response.status_code in (200, 302), response.status_code
    assert Organization.objects.count() == 5 and not Contact.objects.exists()


def staff_actions(model_admin) -> list[str]:
    names = [a if isinstance(a, str) else a.__name__ for a in (model_admin.actions or [])]
    return names + (["delete_selected"] if model_admin.model._meta.label not in (
        "customers.Organization", "auth.Group") else [])
