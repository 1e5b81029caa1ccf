"""/api/v1/visitor-groups, /segments, /campaigns and /content-slots through
the HTTP client (issue 12): CRUD by key, validation by field, versions,
permissions and the rules each service enforces."""

import pytest
from django.contrib.auth.models import Group

from clientbase.catalog.models import Product, Variant
from clientbase.customers.models import Role
from clientbase.marketing.models import Campaign, ContentSlot, VisitorGroup
from tests.conftest import keys_of, make_account
from tests.pricing import conftest as pricing_fixtures

catalog, price, contact_in = pricing_fixtures.catalog, pricing_fixtures.price, pricing_fixtures.contact_in
shop_prices = pricing_fixtures.shop_prices


@pytest.fixture
def marketer(caller, accounts):
    accounts["marketer"] = make_account("marketer@example.com", Role.MARKETING_MANAGERS)
    return caller("marketer")


@pytest.fixture
def shirt(db):
    product = Product.objects.create(key="TSHIRT", name="T-shirt")
    Variant.objects.create(sku="TS-M", product=product, name="T-shirt M")
    return product


def fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


RETURNING = {"key": "RETURNING", "name": "Returning visitors", "match": "all",
             "criteria": [{"type": "returning"}]}


def test_a_marketing_manager_creates_reads_and_changes_a_visitor_group(marketer):
    created = marketer.post("/visitor-groups", RETURNING)
    assert created.status_code == 201, created.json()
    assert created.json()["criteria"] == [{"type": "returning", "params": {}, "points": 1}]
    assert created["ETag"] == '"1"'

    got = marketer.get("/visitor-groups/RETURNING")
    assert got.status_code == 200 and got.json()["name"] == "Returning visitors"

    changed = marketer.patch("/visitor-groups/RETURNING",
                             {"match": "points", "threshold": 3,
                              "criteria": [{"type": "visits_at_least", "params": {"count": "3"}, "points": 3}]},
                             headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["criteria"][0]["params"] == {"count": 3}
    stale = marketer.patch("/visitor-groups/RETURNING", {"name": "Again"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert marketer.get("/visitor-groups", q="ret").json()["items"][0]["key"] == "RETURNING"


@pytest.mark.parametrize("criteria, field", [
    ([{"type": "no_such_thing"}], "criteria.0.type"),
    ([{"type": "visits_at_least", "params": {}}], "criteria.0.params.count"),
    ([{"type": "time_window", "params": {"start": "9 o'clock", "end": "10:00"}}], "criteria.0.params.start"),
])
def test_bad_criteria_are_422_naming_the_field_and_save_nothing(marketer, criteria, field):
    response = marketer.post("/visitor-groups", {**RETURNING, "criteria": criteria})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in fields(response)
    assert not VisitorGroup.objects.exists()


def test_a_points_group_needs_a_reachable_threshold(marketer):
    response = marketer.post("/visitor-groups", {**RETURNING, "match": "points", "threshold": 5})
    assert response.status_code == 422 and "threshold" in fields(response)


def test_a_segment_names_customer_and_visitor_groups_by_key(marketer, world):
    marketer.post("/visitor-groups", RETURNING)
    response = marketer.post("/segments", {"key": "LOYAL", "name": "Loyal",
                                           "customer_groups": ["GOLD", "SILVER"],
                                           "visitor_groups": ["RETURNING"]})
    assert response.status_code == 201, response.json()
    assert response.json()["customer_groups"] == ["GOLD", "SILVER"]
    unknown = marketer.post("/segments", {"key": "X", "name": "X", "customer_groups": ["PLATINUM"]})
    assert unknown.status_code == 422 and "customer_groups" in fields(unknown)


def test_a_campaign_holds_its_promotions_and_checks_their_targets(marketer, world, shirt):
    marketer.post("/segments", {"key": "GOLD-SEG", "name": "Gold", "customer_groups": ["GOLD"]})
    body = {"key": "GOLD10", "name": "Gold members: 10% off", "segments": ["GOLD-SEG"],
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z",
            "promotions": [{"kind": "percent_off", "target": "product", "target_key": "TSHIRT", "value": "10"},
                           {"kind": "amount_off", "target": "order", "value": "5.00",
                            "coupon": "welcome5", "coupon_limit": 100}]}
    response = marketer.post("/campaigns", body)
    assert response.status_code == 201, response.json()
    promotions = response.json()["promotions"]
    assert [p["target"] for p in promotions] == ["product", "order"]
    assert promotions[1]["coupon"] == "WELCOME5"

    bad = marketer.post("/campaigns", {**body, "key": "BAD", "promotions": [
        {"kind": "percent_off", "target": "variant", "target_key": "NOPE", "value": "10"},
        {"kind": "percent_off", "target": "order", "value": "150"},
        {"kind": "amount_off", "target": "order", "value": "1", "coupon_limit": 3}]})
    assert bad.status_code == 422
    assert {"promotions.0.target_key", "promotions.1.value", "promotions.2.coupon_limit"} <= fields(bad)
    assert not Campaign.objects.filter(key="BAD").exists()

    backwards = marketer.post("/campaigns", {**body, "key": "BACK", "valid_until": "2025-01-01T00:00:00Z"})
    assert backwards.status_code == 422 and "valid_until" in fields(backwards)

    replaced = marketer.patch("/campaigns/GOLD10", {"promotions": [
        {"kind": "percent_off", "target": "variant", "target_key": "TS-M", "value": "15"}]})
    assert replaced.status_code == 200, replaced.json()
    assert [p["target_key"] for p in replaced.json()["promotions"]] == ["TS-M"]
    assert replaced.json()["version"] == 2


def test_content_slot_html_is_sanitized(marketer):
    marketer.post("/visitor-groups", RETURNING)
    response = marketer.post("/content-slots", {
        "key": "home-banner", "name": "Home banner",
        "default_html": "<p onclick='steal()'>Welcome!</p><script>alert(1)</script>",
        "variants": [{"visitor_group": "RETURNING", "html": "<a href='javascript:x()'>Welcome back</a>"}]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["default_html"] == "<p>Welcome!</p>"
    assert "javascript" not in body["variants"][0]["html"]
    assert body["variants"][0]["visitor_group"] == "RETURNING"


def test_a_visitor_group_in_a_content_slot_cannot_be_deleted(marketer):
    marketer.post("/visitor-groups", RETURNING)
    marketer.post("/content-slots", {"key": "banner", "name": "Banner",
                                     "variants": [{"visitor_group": "RETURNING", "html": "Hi"}]})
    refused = marketer.delete("/visitor-groups/RETURNING")
    assert refused.status_code == 409 and "banner" in refused.json()["detail"]
    assert marketer.delete("/content-slots/banner").status_code == 204
    assert marketer.delete("/visitor-groups/RETURNING").status_code == 204
    assert not ContentSlot.objects.exists() and not VisitorGroup.objects.exists()


@pytest.mark.parametrize("path", ["/visitor-groups", "/segments", "/campaigns", "/content-slots"])
def test_without_marketing_permissions_every_list_and_write_is_403(caller, path, world):
    csr = caller("csr")
    assert csr.get(path).status_code == 403
    assert csr.get(f"{path}/ANY").status_code == 403
    assert csr.post(path, {"key": "K", "name": "N"}).status_code == 403
    assert csr.delete(f"{path}/ANY").status_code == 403


def test_lists_cost_the_same_queries_for_one_or_many(marketer, world, django_assert_max_num_queries):
    marketer.post("/visitor-groups", RETURNING)
    for n in range(6):
        marketer.post("/segments", {"key": f"S{n}", "name": f"S{n}", "customer_groups": ["GOLD"],
                                    "visitor_groups": ["RETURNING"]})
        marketer.post("/content-slots", {"key": f"slot{n}", "name": "Slot",
                                         "variants": [{"visitor_group": "RETURNING", "html": "x"}]})
    with django_assert_max_num_queries(8):
        assert len(marketer.get("/segments").json()["items"]) == 6
    with django_assert_max_num_queries(8):
        assert len(marketer.get("/content-slots").json()["items"]) == 6


def test_marketing_managers_hold_the_marketing_permissions(db):
    perms = set(Group.objects.get(name=Role.MARKETING_MANAGERS).permissions.values_list("codename", flat=True))
    assert {"add_visitorgroup", "change_campaign", "delete_segment", "view_contentslot"} <= perms


# --- quotes ----------------------------------------------------------------------------------


@pytest.fixture
def gold_campaign(world, shop_prices):
    from clientbase.marketing.models import Segment
    from clientbase.marketing.services import create_campaign, create_segment

    gold = create_segment(Segment(key="GOLD-SEG", name="Gold"), customer_groups=[world["GOLD"]], actor=None)
    create_campaign(Campaign(key="GOLD10", name="Gold members: 10% off"), segments=[gold], actor=None,
                    promotions=[{"kind": "percent_off", "target": "product", "target_key": "TSHIRT",
                                 "value": "10"},
                                {"kind": "amount_off", "target": "variant", "target_key": "TS-M", "value": "1",
                                 "coupon": "ONE"}])


@pytest.fixture(autouse=True)
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_the_store_quote_names_the_promotion_for_a_gold_shopper_and_not_for_a_visitor(gold_campaign, caller,
                                                                                     contact_in, accounts):
    from django.test import Client

    anonymous = Client().get("/api/v1/store/quote", {"sku": "TS-M", "quantity": "2"})
    assert anonymous.status_code == 200, anonymous.json()
    assert (anonymous.json()["line_total"], anonymous.json()["promotions"]) == ("40.00", [])

    shopper = make_account("gold@example.com", Role.REGISTERED, contact=contact_in(groups=["GOLD"]))
    client = Client()
    client.force_login(shopper)
    body = client.get("/api/v1/store/quote", {"sku": "TS-M", "quantity": "2"}).json()
    assert body["unit_price"] == "15.00" and body["discount"] == "3.00" and body["line_total"] == "27.00"
    assert body["promotions"] == ["Gold members: 10% off (10% off)"]

    with_coupon = client.get("/api/v1/store/quote", {"sku": "TS-M", "quantity": "2", "coupon": "one"}).json()
    assert with_coupon["line_total"] == "27.00"  # the better single offer still wins (3.00 > 2.00)

    assert Client().get("/api/v1/store/quote", {"sku": "NOPE"}).status_code == 404
    assert Client().get("/api/v1/store/quote", {"sku": "TS-M", "quantity": "0"}).status_code == 422


def test_the_store_quote_refuses_a_quantity_a_cart_line_could_not_hold(gold_campaign, settings):
    from django.test import Client

    # given lines of at most 5
    settings.CART_MAX_QUANTITY = 5
    # when a quote asks for 6, then 5
    too_many = Client().get("/api/v1/store/quote", {"sku": "TS-M", "quantity": "6"})
    most = Client().get("/api/v1/store/quote", {"sku": "TS-M", "quantity": "5"})
    # then the first is the cart's refusal, word for word; the second is priced
    assert too_many.status_code == 422
    assert [(e["field"], e["code"], e["message"]) for e in too_many.json()["errors"]] == [
        ("quantity", "invalid_quantity", "A quantity is from 1 to 5.")]
    assert most.status_code == 200 and most.json()["quantity"] == 5


def test_staff_see_why_each_promotion_applied_or_not(gold_campaign, admin_api, contact_in):
    gold = contact_in(groups=["GOLD"], key="GOLDIE")
    response = admin_api.get("/quotes/explain", sku="TS-M", quantity="1", contact="GOLDIE")
    assert response.status_code == 200, response.json()
    verdicts = {(o["campaign"], o["status"], o["reason"]) for o in response.json()["offers"]}
    assert ("GOLD10", "applied", "") in verdicts
    assert ("GOLD10", "not_open", "needs coupon ONE") in verdicts

    anonymous = admin_api.get("/quotes/explain", sku="TS-M").json()
    assert anonymous["promotions"] == []
    assert {o["reason"] for o in anonymous["offers"]} == {"not for this shopper's segments"}
    assert gold.pk


def test_explaining_a_quote_for_a_contact_out_of_scope_is_a_404(gold_campaign, caller, contact_in):
    us = contact_in(organizations=["US-HQ"], groups=["GOLD"], key="US-GOLD")
    csr = caller("csr")  # grant on EU-HQ only, and no campaign permission
    assert csr.get("/quotes/explain", sku="TS-M", contact="US-GOLD").status_code == 403
    from django.contrib.auth.models import Permission

    csr.account.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    assert us.pk and csr.get("/quotes/explain", sku="TS-M", contact="US-GOLD").status_code == 404


def test_a_segments_members_are_the_contacts_effectively_in_its_groups_that_the_caller_sees(caller, admin_api,
                                                                                            world, contact_in):
    from clientbase.marketing.models import Segment
    from clientbase.marketing.services import create_segment

    world["EU-MGMT"].customer_groups.add(world["GOLD"])
    direct = contact_in(groups=["GOLD"], key="DIRECT")               # Gold itself
    via_org = contact_in(organizations=["EU-MGMT"], key="VIA-ORG")   # through its organization
    us_gold = contact_in(organizations=["US-SALES"], groups=["GOLD"], key="US-GOLD")
    contact_in(groups=["SILVER"], key="SILVER-ONLY")
    create_segment(Segment(key="GOLDEN", name="Golden"), customer_groups=[world["GOLD"]], actor=None)

    everyone = admin_api.get("/segments/GOLDEN/members")
    assert everyone.status_code == 200, everyone.json()
    assert sorted(keys_of(everyone)) == ["DIRECT", "US-GOLD", "VIA-ORG"]

    csr = caller("csr")  # grant on EU-HQ: sees VIA-ORG only (DIRECT has no organization)
    from django.contrib.auth.models import Permission

    csr.account.user_permissions.add(Permission.objects.get(codename="view_segment"))
    assert keys_of(csr.get("/segments/GOLDEN/members")) == ["VIA-ORG"]
    assert direct.pk and via_org.pk and us_gold.pk


def test_a_segments_members_export_as_the_contact_export_writes_them(admin_api, world, contact_in):
    import csv
    import io

    from clientbase.marketing.models import Segment
    from clientbase.marketing.services import create_segment

    contact_in(groups=["GOLD"], key="GOLDIE")
    contact_in(groups=["SILVER"], key="SILVIE")
    create_segment(Segment(key="GOLDEN", name="Golden"), customer_groups=[world["GOLD"]], actor=None)
    response = admin_api.client.get("/api/v1/segments/GOLDEN/members/export")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="segment-GOLDEN.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["key"] for r in rows] == ["GOLDIE"]
    assert admin_api.get("/segments/NOPE/members/export").status_code == 404
