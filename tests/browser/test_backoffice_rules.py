"""The services' rules, seen in a real browser: a refusal is shown on the
page it came from and changes nothing (the same refusals the API answers
with 403, 412 or 422; see tests/parity)."""

import re

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact, Organization, Role
from tests.browser.conftest import log_in
from tests.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_representative_cannot_move_its_organization_to_the_top(live_server, world, page: Page):
    # given a representative who may change the organizations it manages (EU HQ and below)
    rep = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    rep.grants.create(organization=world["EU-HQ"], include_descendants=True, level="manage")
    rep.user_permissions.add(Permission.objects.get(codename="change_organization"))
    mgmt = world["EU-MGMT"]
    log_in(page, live_server.url, "rep@example.com")

    # when it asks to move EU Management to the top level
    page.goto(f"{live_server.url}/admin/customers/organization/{mgmt.pk}/move/")
    page.select_option("#id_parent", "")
    page.click("button[name=_move]")

    # then the form says why, and the tree is as it was
    expect(page.locator("#parent-errors")).to_contain_text("Only administrators")
    assert Organization.objects.get(pk=mgmt.pk).parent_id == world["EU-HQ"].pk


def test_a_contact_saved_over_a_newer_version_is_refused_with_a_message(live_server, world, page: Page):
    # given an administrator who opened a contact's page
    make_account("boss@example.com", Role.ADMINISTRATORS)
    anna = Contact.objects.create(first_name="Anna", last_name="Schmidt")
    anna.organizations.add(world["EU-MGMT"])
    log_in(page, live_server.url, "boss@example.com")
    page.goto(f"{live_server.url}/admin/customers/contact/{anna.pk}/change/")
    page.fill("#id_first_name", "Anne")
    # when someone else saves the contact meanwhile (through the API, say)
    Contact.objects.get(pk=anna.pk).save()
    page.click("button[name=_save]")

    # then the page says it changed since it was read, and nothing is overwritten
    expect(page.get_by_text(re.compile("changed since you read it"))).to_be_visible()
    assert Contact.objects.get(pk=anna.pk).first_name == "Anna"
