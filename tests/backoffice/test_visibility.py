"""The back office shows each account only what its grants cover: lists,
change pages, history, autocomplete, raw-id popups and form choices."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from clientbase.customers.models import Contact, Grant, Organization


def names_in(response) -> set[str]:
    return {str(obj) for obj in response.context["cl"].result_list}


def test_a_representative_sees_only_eu_contacts_in_the_list(login, people):
    response = login("csr").get(reverse("admin:customers_contact_changelist"))
    assert response.status_code == 200
    assert names_in(response) == {"Ann Smith", "Bob Blacksmith"}


def test_an_administrator_sees_every_contact_in_the_list(login, people):
    response = login("admin").get(reverse("admin:customers_contact_changelist"))
    assert names_in(response) == {"Ann Smith", "Bob Blacksmith", "Carl Jones"}


def test_a_representative_sees_only_eu_organizations_in_the_list(login, people):
    response = login("csr").get(reverse("admin:customers_organization_changelist"))
    assert names_in(response) == {"EU Headquarters", "EU Management"}


def test_a_representative_without_grant_sees_no_contact(login, people):
    response = login("csr_nogrant").get(reverse("admin:customers_contact_changelist"))
    assert names_in(response) == set()


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_a_us_contact_answers_404_to_a_representative(login, people, view):
    url = reverse(f"admin:customers_contact_{view}", args=[people["carl"].pk])
    assert login("csr").get(url).status_code == 404


@pytest.mark.parametrize("key", ["ADMIN", "US-HQ", "US-SALES"])
def test_an_organization_outside_the_grant_answers_404(login, world, key):
    url = reverse("admin:customers_organization_change", args=[world[key].pk])
    assert login("csr").get(url).status_code == 404


def test_a_contact_that_does_not_exist_answers_404_not_a_redirect(login, world):
    url = reverse("admin:customers_contact_change", args=["00000000-0000-0000-0000-000000000000"])
    assert login("admin").get(url).status_code == 404


def test_the_history_of_an_old_version_of_a_hidden_contact_answers_404(login, people):
    carl = people["carl"]
    version = carl.history.latest("history_date").history_id
    url = reverse("admin:customers_contact_simple_history", args=[carl.pk, version])
    assert login("csr").get(url).status_code == 404


@pytest.mark.parametrize(("model_name", "field_name", "expected"), [
    ("contact", "organizations", {"EU Headquarters", "EU Management"}),
    ("account", "contact", {"Ann Smith", "Bob Blacksmith"}),
    ("grant", "organization", {"EU Headquarters", "EU Management"}),
])
def test_autocomplete_offers_only_visible_objects(login, people, model_name, field_name, expected):
    # given a representative with a grant on EU Headquarters
    client = login("csr")
    # when
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "customers", "model_name": model_name, "field_name": field_name, "term": "",
    })
    # then
    assert response.status_code == 200, response.content
    assert {item["text"] for item in response.json()["results"]} == expected


def test_autocomplete_offers_everything_to_an_administrator(login, people):
    response = login("admin").get(reverse("admin:autocomplete"), {
        "app_label": "customers", "model_name": "contact", "field_name": "organizations",
        "term": "",
    })
    assert len(response.json()["results"]) == Organization.objects.count()


def test_the_raw_id_popup_lists_only_visible_contacts(login, people):
    response = login("csr").get(reverse("admin:customers_contact_changelist"),
                                {"_to_field": "id", "_popup": "1"})
    assert response.status_code == 200
    assert names_in(response) == {"Ann Smith", "Bob Blacksmith"}


def test_the_contact_form_offers_only_managed_organizations(login, people):
    response = login("csr").get(reverse("admin:customers_contact_add"))
    field = response.context["adminform"].form.fields["organizations"]
    assert {o.name for o in field.queryset} == {"EU Headquarters", "EU Management"}


def test_a_representative_cannot_put_a_contact_in_a_us_organization(login, world):
    # when
    response = login("csr").post(reverse("admin:customers_contact_add"), {
        "first_name": "Dora", "last_name": "Hill", "organizations": [str(world["US-HQ"].pk)],
        "source": "back_office", "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
    })
    # then the form is shown again with an error, nothing is created
    assert response.status_code == 200
    assert "organizations" in response.context["adminform"].form.errors
    assert not Contact.objects.filter(last_name="Hill").exists()


def test_a_view_only_grant_makes_the_change_page_read_only(login, accounts, world, people):
    # given csr_nogrant may view (not manage) US Headquarters and below
    Grant.objects.create(account=accounts["csr_nogrant"], organization=world["US-HQ"],
                         level="view")
    client = login("csr_nogrant")
    url = reverse("admin:customers_contact_change", args=[people["carl"].pk])
    # when
    page = client.get(url)
    post = client.post(url, {"first_name": "Changed", "last_name": "Jones", "source": "back_office",
                             "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0"})
    # then
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert post.status_code == 403
    people["carl"].refresh_from_db()
    assert people["carl"].first_name == "Carl"


def test_a_registered_shopper_cannot_enter_the_back_office(login):
    response = login("registered").get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_registered_shopper_cannot_open_a_changelist(login, people):
    response = login("registered").get(reverse("admin:customers_contact_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_administrator_creates_a_grant_through_the_admin(login, accounts, world):
    response = login("admin").post(reverse("admin:customers_grant_add"), {
        "account": accounts["csr_nogrant"].pk, "organization": world["US-HQ"].pk,
        "level": "view", "include_descendants": "on",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    grant = Grant.objects.get(account=accounts["csr_nogrant"])
    assert grant.organization == world["US-HQ"]
    assert grant.history.latest("history_date").history_user.email == "admin@example.com"


def test_a_grant_needs_exactly_one_holder(login, accounts, world):
    response = login("admin").post(reverse("admin:customers_grant_add"), {
        "organization": world["US-HQ"].pk, "level": "view",
    })
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Grant.objects.filter(organization=world["US-HQ"]).exists()


def test_a_representative_sees_only_grants_on_its_organizations(login, accounts, world):
    Grant.objects.create(account=accounts["csr_nogrant"], organization=world["US-HQ"])
    accounts["csr"].user_permissions.add(Permission.objects.get(codename="view_grant"))
    response = login("csr").get(reverse("admin:customers_grant_changelist"))
    assert {g.organization.key for g in response.context["cl"].result_list} == {"EU-HQ"}
