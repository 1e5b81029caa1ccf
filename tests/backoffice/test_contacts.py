"""Contacts in the back office: index-friendly prefix search, addresses,
and memberships the editor cannot see are kept."""

import pytest
from django.urls import reverse

from clientbase.customers.models import Contact
from tests.backoffice.conftest import make_contact


def found(client, term: str) -> set[str]:
    response = client.get(reverse("admin:customers_contact_changelist"), {"q": term})
    assert response.status_code == 200
    return {str(c) for c in response.context["cl"].result_list}


@pytest.mark.parametrize(("term", "expected"), [
    ("smi", {"Ann Smith"}),             # last-name prefix, not "Blacksmith"
    ("SMITH", {"Ann Smith"}),           # case-insensitive
    ("ann", {"Ann Smith"}),             # first-name prefix
    ("ann smi", {"Ann Smith"}),         # first and last name
    ("smith ann", {"Ann Smith"}),       # last and first name
    ("bob@", {"Bob Blacksmith"}),       # e-mail prefix
    ("Carl@Example.com", {"Carl Jones"}),
    ("C-ANN", {"Ann Smith"}),           # key
    ("mith", set()),                    # not a prefix: no match
    ("", {"Ann Smith", "Bob Blacksmith", "Carl Jones"}),
])
def test_the_contact_search_matches_beginnings_of_name_email_and_key(login, people, term, expected):
    assert found(login("admin"), term) == expected


def test_the_contact_search_stays_within_the_scope(login, people):
    assert found(login("csr"), "carl") == set()


def test_the_contact_search_is_not_slowed_by_a_count_of_everything(login, people):
    response = login("admin").get(reverse("admin:customers_contact_changelist"), {"q": "smi"})
    assert response.context["cl"].show_full_result_count is False


def test_a_search_matches_non_ascii_names_by_their_folded_form(login, world):
    make_contact("Jürgen", "Straße", world["EU-HQ"])
    # "ß" case-folds to "ss" on both sides
    assert found(login("admin"), "STRASS") == {"Jürgen Straße"}
    assert found(login("admin"), "straß") == {"Jürgen Straße"}


def _contact_form(contact_or_none=None, **fields) -> dict:
    data = {
        "first_name": "", "last_name": "", "email": "", "phone": "", "key": "",
        "preferred_language": "", "preferred_currency": "", "birth_date": "",
        "source": "back_office",
        "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def test_a_representative_creates_a_contact_with_an_address(login, world):
    # when
    response = login("csr").post(reverse("admin:customers_contact_add"), _contact_form(
        first_name="Dora", last_name="Hill", email="Dora@Example.com", phone="+4930123456",
        organizations=[str(world["EU-MGMT"].pk)],
        **{"addresses-TOTAL_FORMS": "1", "addresses-0-line1": "Unter den Linden 1",
           "addresses-0-city": "Berlin", "addresses-0-country": "DE",
           "addresses-0-is_default_shipping": "on"}))
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    dora = Contact.objects.get(email="dora@example.com")
    assert dora.search_last_name == "hill"
    assert [a.city for a in dora.addresses.all()] == ["Berlin"]
    assert list(dora.organizations.values_list("key", flat=True)) == ["EU-MGMT"]


def test_a_representative_must_put_a_new_contact_in_an_organization_it_manages(login, world):
    response = login("csr").post(reverse("admin:customers_contact_add"),
                                 _contact_form(first_name="Eve", last_name="Stray"))
    assert response.status_code == 200
    assert "organizations" in response.context["adminform"].form.errors
    assert not Contact.objects.filter(last_name="Stray").exists()


def test_an_invalid_phone_number_is_a_form_error(login, world):
    response = login("admin").post(reverse("admin:customers_contact_add"), _contact_form(
        first_name="Fay", last_name="Wrong", phone="12345"))
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors


def test_editing_keeps_memberships_the_editor_cannot_see(login, world, people):
    # given Ann is in EU Management and in US Sales, which csr does not see
    ann = people["ann"]
    ann.organizations.add(world["US-SALES"])
    # when csr renames her; its form only knows EU Management
    response = login("csr").post(
        reverse("admin:customers_contact_change", args=[ann.pk]),
        _contact_form(first_name="Anne", last_name="Smith", email="ann@example.com", key="C-ANN",
                      organizations=[str(world["EU-MGMT"].pk)]))
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    ann.refresh_from_db()
    assert ann.first_name == "Anne"
    assert set(ann.organizations.values_list("key", flat=True)) == {"EU-MGMT", "US-SALES"}


def test_the_contact_list_costs_the_same_queries_for_more_contacts(login, world,
                                                                  django_assert_max_num_queries):
    # given many contacts in EU Management
    for n in range(60):
        make_contact(f"First{n}", f"Last{n}", world["EU-MGMT"])
    client = login("csr")
    # then one page is a bounded number of queries, not one per contact
    with django_assert_max_num_queries(15):
        response = client.get(reverse("admin:customers_contact_changelist"), {"q": "last"})
    assert len(response.context["cl"].result_list) == 50


@pytest.mark.parametrize(("fields", "field"), [
    ({"preferred_currency": "euro"}, "preferred_currency"),
    ({"preferred_language": "English"}, "preferred_language"),
    ({"birth_date": "2999-01-01"}, "birth_date"),
    ({"key": "not a key"}, "key"),
])
def test_the_admin_applies_the_same_field_rules_as_the_api(login, world, fields, field):
    response = login("admin").post(reverse("admin:customers_contact_add"), _contact_form(
        first_name="Gil", last_name="Rules", **fields))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Contact.objects.filter(last_name="Rules").exists()


@pytest.mark.parametrize(("address", "field"), [
    ({"addresses-0-country": "XX"}, "country"),
    ({"addresses-0-phone": "12"}, "phone"),
])
def test_an_invalid_address_is_an_error_on_its_field(login, world, address, field):
    data = _contact_form(first_name="Hal", last_name="Address", **{
        "addresses-TOTAL_FORMS": "1", "addresses-0-line1": "Main St 1",
        "addresses-0-city": "Berlin", "addresses-0-country": "DE", **address})
    response = login("admin").post(reverse("admin:customers_contact_add"), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert field in formset.forms[0].errors
    assert not Contact.objects.filter(last_name="Address").exists()


def test_two_default_shipping_addresses_are_refused(login, world):
    data = _contact_form(first_name="Ida", last_name="Twice", **{"addresses-TOTAL_FORMS": "2"})
    for n in (0, 1):
        data.update({f"addresses-{n}-line1": f"Street {n}", f"addresses-{n}-city": "Berlin",
                     f"addresses-{n}-country": "DE", f"addresses-{n}-is_default_shipping": "on"})
    response = login("admin").post(reverse("admin:customers_contact_add"), data)
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert not Contact.objects.filter(last_name="Twice").exists()
