"""Issue 10, item 7: every refusal says why on the page — an empty list after
a search or a filter, a filter by an organization the staff member cannot
see, a preview for a contact it cannot see — without telling whether the
hidden object exists."""

import uuid

from django.contrib.messages import get_messages
from django.urls import reverse

CONTACTS = "/admin/customers/contact/"
WHY = "not found, or not visible to you"


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_filter_by_a_hidden_organization_says_why_like_a_missing_one(login, people, world):
    client = login("csr")
    hidden = client.get(CONTACTS, {"organizations__id__exact": str(world["US-SALES"].pk)})
    missing = client.get(CONTACTS, {"organizations__id__exact": str(uuid.uuid4())})
    assert hidden.status_code == missing.status_code == 200
    assert hidden.context["cl"].result_count == 0
    assert WHY in said(hidden) and said(hidden) == said(missing)
    assert "US Sales" not in hidden.content.decode()


def test_an_empty_search_of_a_scoped_list_says_why(login, people):
    response = login("csr").get(CONTACTS, {"q": "Carl"})  # Carl is in the US
    assert response.context["cl"].result_count == 0
    assert f"No contacts you can see match this search or filter: one that is not listed is {WHY}." in said(response)
    assert f"{WHY}." in response.content.decode()


def test_an_empty_search_for_someone_who_sees_everything_just_says_nothing_matches(login, people):
    response = login("admin").get(CONTACTS, {"q": "Nobody"})
    assert said(response) == "No contacts match this search or filter."


def test_a_list_with_results_or_without_a_search_says_nothing(login, people):
    assert said(login("csr").get(CONTACTS, {"q": "Ann"})) == ""
    assert said(login("csr_nogrant").get(CONTACTS)) == ""  # an empty list, but nothing was asked


def test_every_back_office_page_explains_an_empty_autocomplete(login, accounts):
    body = login("csr").get(reverse("admin:index")).content.decode()
    assert "backoffice/explain-empty.js" in body
