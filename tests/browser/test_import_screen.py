"""A back-office import in Chromium: upload a CSV, see its first rows, check
it, import it, see what was created."""

import re

import pytest
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact, Role
from tests.browser.conftest import log_in
from tests.conftest import make_account
from tests.transfer.jobs_support import contacts_csv, import_dir  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_uploads_checks_and_imports_a_contacts_file(
        live_server, world, import_dir, tmp_path, page: Page):
    base = live_server.url
    make_account("boss@example.com", Role.ADMINISTRATORS)
    csv_file = tmp_path / "new-contacts.csv"
    csv_file.write_bytes(contacts_csv(["C-ZOE", "Zoe", "Zeta", "zoe@example.com", "EU-HQ"],
                                      ["C-YAN", "Yan", "Ypsilon", "bad-address", "EU-MGMT"],
                                      ["C-XIA", "Xia", "Xi", "xia@example.com", "EU-MGMT"]))
    log_in(page, base, "boss@example.com")

    # the sidebar leads to the imports; upload the file
    page.goto(f"{base}/admin/")
    page.get_by_role("link", name="Imports").first.click()
    expect(page).to_have_url(re.compile(r"/admin/transfer/importjob/$"))
    page.goto(f"{base}/admin/transfer/importjob/add/")
    page.select_option("#id_entity", "contacts")
    page.set_input_files("#id_file", str(csv_file))
    page.click("#upload-submit")

    # the preview shows the rows as read; nothing is written yet
    expect(page.locator("#preview-table .preview-row")).to_have_count(3)
    expect(page.locator("#preview-table")).to_contain_text("Ypsilon")
    assert not Contact.objects.exists()

    # the dry run names the bad row, its column and why
    page.click("#dry-run")
    expect(page.locator("#job-status")).to_have_text("Checked (dry run)")
    expect(page.locator("#row-errors .row-error")).to_have_count(1)
    expect(page.locator("#row-errors .row-error")).to_contain_text("3")
    expect(page.locator("#row-errors .row-error")).to_contain_text("email")
    assert not Contact.objects.exists()

    # confirm: two contacts created, the failed row downloadable
    page.click("#confirm-import")
    expect(page.locator("#job-status")).to_have_text("Imported")
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-failed")).to_have_text("1")
    with page.expect_download() as download:
        page.click("#errors-file")
    assert download.value.suggested_filename == "new-contacts-errors.csv"
    assert set(Contact.objects.values_list("key", flat=True)) == {"C-ZOE", "C-XIA"}


def test_a_background_job_page_follows_the_worker_until_the_import_ends(
        live_server, world, import_dir, tmp_path, page: Page, settings):
    import signal

    from django.core.management import call_command

    from tests.transfer.jobs_support import DB_QUEUE, numbered_contacts

    # given the database queue, and files over 5 rows run in the background
    settings.TASKS = DB_QUEUE
    settings.IMPORT_BACKGROUND_ROWS = 5
    base = live_server.url
    make_account("boss@example.com", Role.ADMINISTRATORS)
    csv_file = tmp_path / "many.csv"
    csv_file.write_bytes(numbered_contacts(12))
    log_in(page, base, "boss@example.com")
    page.goto(f"{base}/admin/transfer/importjob/add/")
    page.set_input_files("#id_file", str(csv_file))
    page.click("#upload-submit")
    page.click("#confirm-import")
    # the job waits for a worker; its page says so and polls
    expect(page.locator("#job-progress")).to_be_visible()
    expect(page.locator("#queued-note")).to_be_visible()
    with page.expect_response(re.compile(r"/progress/$")):
        pass
    assert not Contact.objects.exists()

    # when a worker runs it, the page follows without being reloaded by hand
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("worker", "--burst", verbosity=0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    expect(page.locator("#job-status")).to_have_text("Imported")
    expect(page.locator("#count-created")).to_have_text("12")
    assert Contact.objects.count() == 12
