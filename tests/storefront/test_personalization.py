"""Visitor groups on storefront requests (issue 12): content slots by
visitor group, the visit cookie, the query budget, broken criteria, and the
staff preview."""

import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.db import connection

from clientbase.customers.models import Role
from clientbase.marketing import criteria as registry, visits
from clientbase.marketing.criteria import Criterion, register
from clientbase.marketing.models import ContentSlot, VisitorGroup
from clientbase.marketing.services import create_content_slot, create_visitor_group
from tests.conftest import make_account


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def group(key: str, criteria: list, match: str = "all", threshold=None) -> VisitorGroup:
    return create_visitor_group(VisitorGroup(key=key, name=key.title(), match=match, threshold=threshold,
                                             criteria=criteria), actor=None)


@pytest.fixture
def banners(priced_shop):
    first = group("FIRST", [{"type": "first_visit"}])
    back = group("BACK", [{"type": "returning"}])
    gold = group("GOLDEN", [{"type": "in_customer_group", "params": {"group": "GOLD"}}])
    create_content_slot(ContentSlot(key="home-banner", name="Home banner", default_html="<p>Hello</p>"),
                        variants=[(gold, "<p>Gold welcome</p>"), (first, "<p>Welcome, new visitor</p>"),
                                  (back, "<p>Welcome back</p>")], actor=None)
    return {"FIRST": first, "BACK": back, "GOLDEN": gold}


def returning_cookie(client: Client, hours_ago: float = 2, pages=("/products/",)) -> None:
    seen = int(time.time() - hours_ago * 3600)
    client.cookies[visits.VISITOR_COOKIE] = visits.written(visits.Visits(1, tuple(pages), seen), "/cart/")


def slot(response) -> str:
    html = response.content.decode()
    start = html.find('data-slot="home-banner"')
    return html[start:html.find("</div>", start)] if start >= 0 else ""


def test_a_first_visit_and_a_return_see_different_banners(banners):
    client = Client()
    first = client.get("/")
    assert "Welcome, new visitor" in slot(first)
    assert visits.VISITOR_COOKIE in first.cookies

    # the same browser within the visit: still its first visit
    assert "Welcome, new visitor" in slot(client.get("/"))

    # two hours later: a new visit, so a returning visitor
    returning_cookie(client)
    assert "Welcome back" in slot(client.get("/"))


def test_a_forged_visit_cookie_is_a_first_visit(banners):
    client = Client()
    client.cookies[visits.VISITOR_COOKIE] = "eyJ2Ijo5OX0:forged:signature"
    assert "Welcome, new visitor" in slot(client.get("/"))


def test_a_gold_shopper_sees_the_gold_variant_first(banners, gold_client):
    assert "Gold welcome" in slot(gold_client.get("/"))


def test_without_a_matching_variant_the_default_shows(priced_shop):
    create_content_slot(ContentSlot(key="home-banner", name="Home banner", default_html="<p>Hello</p>"),
                        actor=None)
    assert "Hello" in slot(Client().get("/"))


def test_a_shop_without_slots_shows_no_slot(priced_shop):
    assert 'data-slot=' not in Client().get("/").content.decode()


def queries_for(client: Client, path: str = "/") -> int:
    client.get(path)  # warm the definitions' cache and the visit cookie
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_fifty_visitor_groups_add_no_query_for_an_anonymous_visitor(priced_shop):
    baseline = queries_for(Client())
    for n in range(50):
        group(f"G{n}", [{"type": "returning"}, {"type": "visits_at_least", "params": {"count": n}},
                        {"type": "query_contains", "params": {"text": f"utm={n}"}},
                        {"type": "referrer_contains", "params": {"text": "news"}},
                        {"type": "time_window", "params": {"start": "08:00", "end": "20:00"}}], match="any")
    create_content_slot(ContentSlot(key="home-banner", name="Banner", default_html="x"),
                        variants=[(VisitorGroup.objects.get(key="G3"), "three")], actor=None)
    assert queries_for(Client()) <= baseline


def test_membership_criteria_add_at_most_one_query_for_a_shopper(priced_shop, gold_client):
    baseline = queries_for(gold_client)
    for n in range(50):
        group(f"G{n}", [{"type": "in_customer_group", "params": {"group": "GOLD"}},
                        {"type": "has_role", "params": {"role": "Registered"}},
                        {"type": "in_organization", "params": {"organization": "EU-HQ"}},
                        {"type": "returning"}, {"type": "logged_in"}], match="any")
    assert queries_for(gold_client) <= baseline + 1


def test_a_broken_criterion_never_breaks_the_page(banners, caplog):
    @register
    class Broken(Criterion):
        type = "test_broken"
        label = "Broken"

        def matches(self, visitor, params):
            raise ZeroDivisionError

    try:
        group("BROKEN", [{"type": "test_broken"}])
        response = Client().get("/")
        assert response.status_code == 200
        assert "Welcome, new visitor" in slot(response)
        assert "test_broken failed" in caplog.text
    finally:
        del registry.REGISTRY["test_broken"]


def test_a_changed_banner_shows_at_once(banners):
    from clientbase.marketing.services import update_content_slot

    client = Client()
    assert "Welcome, new visitor" in slot(client.get("/"))
    slot_obj = ContentSlot.objects.get(key="home-banner")
    update_content_slot(slot_obj, changes={}, variants=[(banners["FIRST"], "<p>Brand new</p>")], actor=None)
    assert "Brand new" in slot(client.get("/"))


# --- staff preview --------------------------------------------------------------------


@pytest.fixture
def marketer_client(db):
    client = Client()
    client.force_login(make_account("marketer@example.com", Role.MARKETING_MANAGERS))
    return client


def test_staff_preview_the_shop_as_a_visitor_group_and_see_why(banners, marketer_client):
    response = marketer_client.get("/preview/", {"group": "BACK", "next": "/"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Welcome back" in slot(response)
    assert 'id="preview-bar"' in page
    assert "visitor group <code>BACK</code>" in page
    assert "matched (chosen for the preview)" in page
    assert "Welcome, new visitor" not in page  # only the chosen group's content

    stopped = marketer_client.post("/preview/stop/", {"next": "/"}, follow=True)
    assert 'id="preview-bar"' not in stopped.content.decode()


def test_staff_preview_as_a_contact_uses_its_memberships(banners, marketer_client, gold_shopper):
    admin = Client()
    admin.force_login(make_account("admin@example.com", Role.ADMINISTRATORS))
    response = admin.get("/preview/", {"contact": str(gold_shopper.contact_id)}, follow=True)
    assert response.status_code == 200
    assert "Gold welcome" in slot(response)
    assert "<code>GOLDEN</code> Golden:\n        matched" in response.content.decode()
    # a contact the staff member cannot see cannot be previewed (the marketer has no grant)
    assert marketer_client.get("/preview/", {"contact": str(gold_shopper.contact_id)}).status_code == 404


def test_preview_is_refused_to_shoppers_and_for_unknown_groups(banners, gold_client, marketer_client):
    refused = gold_client.get("/preview/", {"group": "BACK"})
    assert refused.status_code == 403
    assert "Gold welcome" in slot(gold_client.get("/"))  # nothing changed
    assert marketer_client.get("/preview/", {"group": "NOPE"}).status_code == 404
    assert marketer_client.get("/preview/", {"contact": "not-a-uuid"}).status_code == 404


# --- promotions on the cart page -----------------------------------------------------------


@pytest.fixture
def gold_campaign(priced_shop, world):
    from clientbase.marketing.models import Campaign, Segment
    from clientbase.marketing.services import create_campaign, create_segment

    gold = create_segment(Segment(key="GOLD-SEG", name="Gold"), customer_groups=[world["GOLD"]], actor=None)
    create_campaign(Campaign(key="GOLD10", name="Gold members: 10% off"), segments=[gold], actor=None,
                    promotions=[{"kind": "percent_off", "target": "product", "target_key": "TSHIRT",
                                 "value": "10"},
                                {"kind": "amount_off", "target": "order", "value": "2", "coupon": "TWO"}])


def test_a_gold_shopper_sees_the_campaign_in_the_cart_and_a_visitor_does_not(gold_campaign, gold_client):
    gold_client.post("/cart/add/", {"sku": "TS-M", "quantity": "2"})
    page = gold_client.get("/cart/").content.decode()
    assert "Gold members: 10% off (10% off)" in page
    assert 'id="cart-total">27.00 EUR' in page

    visitor = Client()
    visitor.post("/cart/add/", {"sku": "TS-M", "quantity": "2"})
    page = visitor.get("/cart/").content.decode()
    assert "Gold members" not in page and 'id="cart-total">40.00 EUR' in page


def test_a_coupon_entered_on_the_cart_page_shows_on_the_order(gold_campaign, gold_client):
    gold_client.post("/cart/add/", {"sku": "TS-M", "quantity": "2"})
    refused = gold_client.post("/cart/coupon/", {"coupon": "BOGUS"}, follow=True).content.decode()
    assert "Coupon BOGUS is not valid." in refused
    page = gold_client.post("/cart/coupon/", {"coupon": "two"}, follow=True).content.decode()
    assert "Coupon TWO entered." in page
    assert 'id="cart-order-discount">−2.00 EUR' in page and 'id="cart-total">25.00 EUR' in page


def test_a_shoppers_own_group_change_shows_at_once_despite_the_cached_context(banners, gold_client, gold_shopper,
                                                                             world):
    from clientbase.customers.services.contacts import remove_from_customer_group

    assert "Gold welcome" in slot(gold_client.get("/"))
    remove_from_customer_group(gold_shopper.contact, world["GOLD"], actor=None)
    assert "Gold welcome" not in slot(gold_client.get("/"))


def test_the_shoppers_context_is_read_once_then_reused(priced_shop, gold_client):
    baseline = queries_for(gold_client)
    for n in range(3):
        group(f"G{n}", [{"type": "in_customer_group", "params": {"group": "GOLD"}}])
    gold_client.get("/")  # reads the shopper's memberships once (one query) ...
    assert queries_for(gold_client) == baseline  # ... and the next pages reuse them
