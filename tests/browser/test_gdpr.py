"""An administrator downloads a contact's personal data and erases it, in
Chromium (issue 11, item 5)."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact
from tests.browser.conftest import log_in
from tests.transfer.gdpr_world import EMAIL, LAST, catalog, subject

__all__ = ["catalog", "subject"]  # fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_downloads_then_erases_a_contact(live_server, subject, page: Page):
    # given
    base = live_server.url
    contact = subject["contact"]
    log_in(page, base, "admin@example.com")
    page.goto(f"{base}/admin/customers/contact/{contact.pk}/change/")

    # when: the download
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download personal data")).click()
    data = json.loads(open(download.value.path(), encoding="utf-8").read())

    # then
    assert data["contact"]["email"] == EMAIL

    # when: the erasure, confirmed on its page
    page.get_by_role("link", name=re.compile("Erase personal data")).click()
    expect(page.locator("#erasure-plan")).to_contain_text("2 orders are kept for accounting")
    page.click("#erase-form button[name=_erase]")
    expect(page.locator("#erase-form")).to_contain_text("Tick the box")  # not confirmed: nothing happens
    page.check("#erase-form input[name=confirm]")
    page.click("#erase-form button[name=_erase]")

    # then
    expect(page).to_have_url(re.compile(rf"/admin/customers/contact/{contact.pk}/change/$"))
    expect(page.get_by_text("personal data is erased")).to_be_visible()
    assert Contact.objects.get(pk=contact.pk).erased_at is not None
    page.goto(f"{base}/admin/customers/contact/?q={LAST}")
    expect(page.locator("#result_list")).to_have_count(0)
