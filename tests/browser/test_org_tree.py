"""The organization tree page in Chromium: an administrator and a
customer-service representative whose grant covers EU Headquarters only.

Tree: Acme > EU Headquarters > Berlin office, and Acme > US Headquarters >
Boston. The representative may add and change organizations (besides its
role's permissions), inside its grant only.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact, Organization, Role
from clientbase.customers.services.organizations import create_organization
from tests.browser.conftest import log_in
from tests.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(transactional_db):
    acme = create_organization(actor=None, name="Acme", key="ACME")
    eu = create_organization(actor=None, name="EU Headquarters", key="EU-HQ", parent=acme)
    berlin = create_organization(actor=None, name="Berlin office", key="BERLIN", parent=eu, kind="unit")
    us = create_organization(actor=None, name="US Headquarters", key="US-HQ", parent=acme)
    boston = create_organization(actor=None, name="Boston", key="BOSTON", parent=us, kind="unit")
    for i, (first, last) in enumerate([("Anna", "Berg"), ("Bernd", "Kraus"), ("Clara", "Vogel")]):
        Contact.objects.create(first_name=first, last_name=last,
                               email=f"{first.lower()}@example.com").organizations.add(berlin)
    Contact.objects.create(first_name="Una", last_name="Stone",
                           email="una@example.com").organizations.add(boston)
    make_account("boss@example.com", Role.ADMINISTRATORS)
    rep = make_account("rep@example.com", Role.CUSTOMER_SERVICE)
    rep.user_permissions.add(*Permission.objects.filter(
        codename__in=["add_organization", "change_organization"]))
    rep.grants.create(organization=eu, include_descendants=True, level="manage")
    return {"ACME": acme, "EU-HQ": eu, "BERLIN": berlin, "US-HQ": us, "BOSTON": boston}


def node(page: Page, name: str):
    """The tree row of the organization named `name` (in the main tree)."""
    return page.locator(f"#org-tree [role=treeitem][data-name='{name}']").first


def expand(page: Page, name: str) -> None:
    node(page, name).locator("> .org-row [data-tree-toggle]").click()


def test_an_administrator_expands_counts_searches_and_creates_in_place(live_server, acme, page: Page,
                                                                       tmp_path):
    base = live_server.url
    log_in(page, base, "boss@example.com")

    # the sidebar leads to the tree, which shows the top level only
    # the sidebar's link (the dashboard lists the same sections)
    page.get_by_role("region", name="scrollable content").get_by_role("link", name="Organization tree").click()
    expect(page).to_have_url(re.compile(r"/admin/customers/organization/tree/$"))
    expect(node(page, "Acme")).to_be_visible()
    expect(page.locator("#org-tree [role=treeitem]")).to_have_count(1)

    # expanding loads one level; collapsing hides it again
    expand(page, "Acme")
    expect(node(page, "EU Headquarters")).to_be_visible()
    expect(node(page, "US Headquarters")).to_be_visible()
    expect(node(page, "Berlin office")).to_have_count(0)
    expand(page, "EU Headquarters")
    berlin = node(page, "Berlin office")
    expect(berlin.locator(".org-count")).to_have_text("3 contacts")
    eu = node(page, "EU Headquarters")
    eu.locator("> .org-row .org-subtree-count").click()
    expect(eu.locator("> .org-row")).to_contain_text("3 in all")
    expand(page, "Acme")
    expect(node(page, "EU Headquarters")).to_be_hidden()
    expand(page, "Acme")
    expect(node(page, "Berlin office")).to_be_visible()  # loaded once, shown again

    # a search opens the path to each match
    page.fill("#org-tree-search input[name=q]", "bos")
    page.press("#org-tree-search input[name=q]", "Enter")
    expect(node(page, "Boston")).to_be_visible()
    expect(node(page, "Boston").locator("> .org-row")).to_have_class(re.compile("org-hit"))
    expect(node(page, "US Headquarters")).to_have_attribute("aria-expanded", "true")
    expect(node(page, "EU Headquarters")).to_have_count(0)

    # a unit is created in place, under Boston
    node(page, "Boston").locator("> .org-row").get_by_role("button", name="Add a unit under Boston").click()
    form = page.locator(".org-create")
    form.locator("input[name=name]").fill("Boston harbour desk")
    form.get_by_role("button", name="Create").click()
    expect(node(page, "Boston harbour desk")).to_be_visible()
    created = Organization.objects.get(name="Boston harbour desk")
    assert created.parent_id == acme["BOSTON"].pk and created.kind == "unit"

    # docs/images/backoffice-org-tree.png: a search whose matches are in both branches
    page.set_viewport_size({"width": 1280, "height": 640})
    page.goto(f"{base}/admin/customers/organization/tree/?q=b")
    expect(page.locator("#org-search-summary")).to_contain_text("3 organizations match")
    page.screenshot(path=str(tmp_path / "backoffice-org-tree.png"))


def test_a_representative_sees_its_branch_moves_inside_it_and_is_told_why_a_move_is_refused(
        live_server, acme, page: Page):
    base = live_server.url
    create_organization(actor=None, name="Munich office", key="MUNICH", parent=acme["EU-HQ"], kind="unit")
    log_in(page, base, "rep@example.com")

    # only the EU branch
    page.goto(f"{base}/admin/customers/organization/tree/")
    expect(page.locator("#org-tree > [role=treeitem]")).to_have_count(1)
    expect(node(page, "EU Headquarters")).to_be_visible()
    expect(page.locator("#org-tree")).not_to_contain_text("Acme")
    expect(page.locator("#org-tree")).not_to_contain_text("US Headquarters")
    response = page.goto(f"{base}/admin/customers/organization/{acme['US-HQ'].pk}/change/")
    assert response.status == 404
    response = page.goto(f"{base}/admin/customers/organization/tree/?open={acme['BOSTON'].pk}")
    assert response.status == 404

    # a move within the branch: Munich office under Berlin office, with the picker
    page.goto(f"{base}/admin/customers/organization/tree/")
    expand(page, "EU Headquarters")
    node(page, "Munich office").get_by_role("button", name="Move Munich office").click()
    picker = page.locator("#org-move-dialog")
    expect(picker).to_be_visible()
    picker.locator("[data-tree-toggle]").first.click()
    picker.locator("[role=treeitem][data-name='Berlin office'] .org-move-here").click()
    expect(page).to_have_url(re.compile(rf"\?open={Organization.objects.get(key='MUNICH').pk}"))
    expect(page.locator("body")).to_contain_text("Moved Munich office under Berlin office.")
    expect(node(page, "Munich office")).to_be_visible()
    assert Organization.objects.get(key="MUNICH").parent_id == acme["BERLIN"].pk

    # a move into its own subtree: refused, with the domain's reason on the page
    node(page, "EU Headquarters").locator("> .org-row").get_by_role(
        "button", name="Move EU Headquarters").click()
    picker.locator("[role=treeitem][data-name='EU Headquarters'] > .org-row [data-tree-toggle]").click()
    picker.locator("[role=treeitem][data-name='Berlin office'] > .org-row .org-move-here").click()
    expect(picker.locator("#move-error")).to_contain_text(
        "Cannot move EU Headquarters under Berlin office: it is one of its own descendants.")
    # and moving to the top is for administrators only
    picker.locator(".org-move-top").click()
    expect(picker.locator("#move-error")).to_contain_text("Only administrators")
    assert Organization.objects.get(key="EU-HQ").parent_id == acme["ACME"].pk

    # drag and drop asks the same move: Munich office back under EU Headquarters
    page.goto(f"{base}/admin/customers/organization/tree/?open={acme['BERLIN'].pk}")  # Berlin open
    node(page, "Munich office").locator("> .org-row").drag_to(node(page, "EU Headquarters").locator("> .org-row"))
    expect(page.locator("body")).to_contain_text("Moved Munich office under EU Headquarters.")
    assert Organization.objects.get(key="MUNICH").parent_id == acme["EU-HQ"].pk
    # and a drop into its own subtree opens the picker with the refusal
    node(page, "EU Headquarters").locator("> .org-row").drag_to(node(page, "Munich office").locator("> .org-row"))
    expect(picker.locator("#move-error")).to_contain_text("one of its own descendants")


def test_the_tree_fits_a_laptop_and_a_tablet_without_horizontal_scrolling(live_server, acme, browser):
    deep = acme["BERLIN"]
    for depth in range(6):
        deep = create_organization(actor=None, name=f"A rather long unit name at depth {depth} of Berlin",
                                   parent=deep, kind="unit")
    for width, height in [(1024, 768), (768, 1024)]:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        log_in(page, live_server.url, "boss@example.com")
        page.goto(f"{live_server.url}/admin/customers/organization/tree/?open={deep.pk}")
        expect(page.locator("#org-tree")).to_contain_text("depth 5")
        overflow = page.evaluate("""() => ({
            page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
            tree: document.getElementById('org-tree').scrollWidth - document.getElementById('org-tree').clientWidth,
        })""")
        assert overflow == {"page": 0, "tree": 0}, (width, overflow)
        context.close()
