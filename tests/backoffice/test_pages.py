"""Every back-office page answers for an administrator, and history shows
who changed what."""

import pytest
from django.urls import reverse

from clientbase.customers.models import (
    Account,
    ApiToken,
    Contact,
    CustomerGroup,
    Grant,
    Organization,
)


def _object(model, world, people, accounts):
    if model is Contact:
        return people["ann"]
    if model is Organization:
        return world["EU-HQ"]
    if model is CustomerGroup:
        return world["GOLD"]
    if model is Account:
        return accounts["csr"]
    if model is Grant:
        return Grant.objects.get(account=accounts["csr"])
    if model is ApiToken:
        return ApiToken.issue(accounts["admin"], name="ci")[0]
    raise AssertionError(model)


MODELS = [Contact, Organization, CustomerGroup, Account, Grant, ApiToken]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
@pytest.mark.parametrize("page", ["changelist", "add", "change"])
def test_admin_can_open_every_page(login, world, people, accounts, model, page):
    # given
    client = login("admin")
    name = f"admin:customers_{model._meta.model_name}_{page}"
    args = [_object(model, world, people, accounts).pk] if page == "change" else []
    # when
    response = client.get(reverse(name, args=args))
    # then
    assert response.status_code == 200


@pytest.mark.parametrize("model", [Contact, Organization, CustomerGroup, Account, Grant],
                         ids=lambda m: m._meta.model_name)
def test_admin_can_open_the_history_of_every_audited_model(login, world, people, accounts, model):
    obj = _object(model, world, people, accounts)
    response = login("admin").get(
        reverse(f"admin:customers_{model._meta.model_name}_history", args=[obj.pk]))
    assert response.status_code == 200


def test_the_roles_list_opens(login):
    assert login("admin").get(reverse("admin:auth_group_changelist")).status_code == 200


def test_history_shows_a_change_with_the_user_who_made_it(login, people):
    # given
    client = login("admin")
    ann = people["ann"]
    url = reverse("admin:customers_contact_change", args=[ann.pk])
    form = {
        "first_name": "Ann", "last_name": "Smyth", "email": "ann@example.com", "phone": "",
        "key": "C-ANN", "organizations": [str(o.pk) for o in ann.organizations.all()],
        "preferred_language": "", "preferred_currency": "", "birth_date": "",
        "source": "back_office",
        "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
    }
    # when
    response = client.post(url, form)
    history = client.get(reverse("admin:customers_contact_history", args=[ann.pk]))
    # then
    assert response.status_code == 302, response.content.decode()[:3000]
    ann.refresh_from_db()
    assert ann.last_name == "Smyth"
    record = ann.history.latest("history_date")
    assert record.history_user.email == "admin@example.com"
    body = history.content.decode()
    assert "admin@example.com" in body
    assert "Smyth" in body


def test_the_dashboard_counts_what_the_account_sees(login, people):
    # csr sees EU HQ and EU Management, and Ann and Bob in them
    response = login("csr").get(reverse("admin:index"))
    assert response.status_code == 200
    cards = {item["title"]: str(item["count"]) for section in response.context["dashboard_sections"]
             for item in section["items"] if item["count"] is not None}
    assert cards == {"Contacts": "2", "Organizations": "2", "Customer groups": "4"}
