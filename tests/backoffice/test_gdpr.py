"""The contact page's "Download personal data" and "Erase personal data" (issue 11, item 5)."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from clientbase.customers.models import Account, Contact
from clientbase.transfer import gdpr
from tests.transfer.gdpr_world import (
    EMAIL, FIRST, LAST, OLD_VALUES, STREET, catalog, old_values_anywhere, subject,
)

__all__ = ["catalog", "subject"]  # fixtures

CONTACTS = "/admin/customers/contact/"


def _page(contact, action: str = "change") -> str:
    return f"{CONTACTS}{contact.pk}/{action}/"


def _give(login, accounts, name: str, *perms: str):
    for perm in perms:
        app_label, codename = perm.split(".")
        accounts[name].user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                                   codename=codename))
    return login(name)


def test_the_contact_page_offers_both_actions_to_an_administrator_only(subject, login):
    admin_page = login("admin").get(_page(subject["contact"])).content.decode()
    csr_page = login("csr").get(_page(subject["contact"])).content.decode()
    for label, action in (("Download personal data", "personal-data"), ("Erase personal data", "erase-personal-data")):
        assert label in admin_page and _page(subject["contact"], action) in admin_page
        assert label not in csr_page


def test_download_gives_the_json_document(subject, login):
    response = login("admin").get(_page(subject["contact"], "personal-data"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["contact"]["email"] == EMAIL and data["addresses"][0]["line1"] == STREET
    assert len(data["orders"]) == 2


def test_the_erase_page_says_what_will_happen_and_changes_nothing(subject, login):
    response = login("admin").get(_page(subject["contact"], "erase-personal-data"))
    assert response.status_code == 200
    text = " ".join(response.content.decode().split())
    assert "irreversible" in text
    assert "1 address is deleted" in text
    assert "the account is closed" in text and "1 API token revoked" in text
    assert "2 orders are kept for accounting" in text
    assert Contact.objects.get(pk=subject["contact"].pk).erased_at is None


def test_erasing_without_ticking_the_box_is_a_form_error(subject, login):
    response = login("admin").post(_page(subject["contact"], "erase-personal-data"), {})
    assert response.status_code == 200
    assert "Tick the box to confirm the erasure." in response.content.decode()
    assert Contact.objects.get(pk=subject["contact"].pk).last_name == LAST


def test_a_confirmed_erasure_erases_and_the_back_office_finds_the_old_values_nowhere(subject, login):
    # given: staff changed the contact through the back office (the admin log names her)
    admin = login("admin")
    contact = subject["contact"]
    saved = admin.post(_page(contact), {
        "first_name": FIRST, "last_name": LAST, "email": EMAIL, "phone": "", "key": "C-4711",
        "organizations": [str(o.pk) for o in contact.organizations.all()],
        "customer_groups": [str(g.pk) for g in contact.customer_groups.all()],
        "preferred_language": "en", "preferred_currency": "", "birth_date": "", "source": "back_office",
        "expected_version": contact.version,
        "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0"})
    assert saved.status_code == 302, saved.content
    assert LogEntry.objects.filter(object_id=str(contact.pk), object_repr__contains=LAST).exists()

    # when
    response = admin.post(_page(contact, "erase-personal-data"), {"confirm": "on"}, follow=True)

    # then
    assert response.status_code == 200
    assert "personal data is erased" in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).erased_at is not None
    for term in (FIRST, LAST, EMAIL, "anneliese q"):
        listed = admin.get(CONTACTS, {"q": term}).content.decode()
        assert "0 contacts" in listed or str(contact.pk) not in listed, term
    pages = [admin.get(_page(contact)), admin.get(_page(contact, "history")), admin.get("/admin/"),
             admin.get(f"/admin/customers/account/{subject['account'].pk}/history/")]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode().lower()
        assert [v for v in OLD_VALUES if v.lower() in body] == []
    assert old_values_anywhere() == []


def test_an_erased_contact_s_erase_page_says_there_is_nothing_left(subject, login):
    admin = login("admin")
    admin.post(_page(subject["contact"], "erase-personal-data"), {"confirm": "on"})
    response = admin.get(_page(subject["contact"], "erase-personal-data"))
    assert "There is nothing left to erase." in response.content.decode()
    again = admin.post(_page(subject["contact"], "erase-personal-data"), {"confirm": "on"}, follow=True)
    assert "was erased on" in again.content.decode()


@pytest.mark.parametrize("action", ["personal-data", "erase-personal-data"])
def test_without_the_permission_both_pages_are_forbidden(subject, login, action):
    response = login("csr").get(_page(subject["contact"], action))
    assert response.status_code == 403
    response = login("csr").post(_page(subject["contact"], action), {"confirm": "on"})
    assert response.status_code == 403
    assert Contact.objects.get(pk=subject["contact"].pk).erased_at is None


@pytest.mark.parametrize("action", ["personal-data", "erase-personal-data"])
def test_a_contact_the_staff_member_cannot_see_is_a_404_like_a_missing_one(subject, login, accounts, world,
                                                                          action):
    subject["contact"].organizations.set([world["US-SALES"]])
    csr = _give(login, accounts, "csr", gdpr.EXPORT_PERMISSION, gdpr.ERASE_PERMISSION)
    hidden = csr.post(_page(subject["contact"], action), {"confirm": "on"})
    missing = csr.post(f"{CONTACTS}00000000-0000-4000-8000-000000000000/{action}/", {"confirm": "on"})
    malformed = csr.get(f"{CONTACTS}not-a-uuid/{action}/")
    assert hidden.status_code == missing.status_code == malformed.status_code == 404
    assert Contact.objects.get(pk=subject["contact"].pk).erased_at is None


def test_a_csr_who_may_only_view_the_contact_may_not_erase_it(subject, login, accounts, world):
    from clientbase.customers.models import Grant

    Grant.objects.filter(account=accounts["csr"]).update(level="view")
    csr = _give(login, accounts, "csr", gdpr.ERASE_PERMISSION)
    assert csr.get(_page(subject["contact"], "erase-personal-data")).status_code == 403
    assert Account.objects.get(pk=subject["account"].pk).is_active
