"""A customer-service representative downloads the organization list it
sees as a spreadsheet, in Chromium: select the page, pick "Export the
selection as XLSX", and the browser saves a workbook that holds its
organizations and not the others."""

import openpyxl
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import log_in
from tests.browser.test_contact_bulk import run_action

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_representative_downloads_the_organizations_it_sees(live_server, accounts, page: Page, tmp_path):
    # given
    base = live_server.url
    log_in(page, base, "csr@example.com")
    page.goto(f"{base}/admin/customers/organization/")
    # when
    with page.expect_download() as download:
        run_action(page, "export_xlsx")
    # then
    assert download.value.suggested_filename.startswith("organizations-")
    assert download.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved, read_only=True).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == ["key", "name", "kind", "parent", "customer_groups"]
    assert sorted(r[0] for r in rows) == ["EU-HQ", "EU-MGMT"]
