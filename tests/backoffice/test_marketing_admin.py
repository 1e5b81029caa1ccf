"""Marketing in the back office (issue 12): visitor groups with criteria as
rows, segments, campaigns with their promotions, content slots with their
variants — every write through marketing.services."""

import pytest
from django.test import Client
from django.urls import reverse

from clientbase.customers.models import Role
from clientbase.marketing.models import Campaign, ContentSlot, Segment, VisitorGroup
from tests.conftest import make_account
from tests.pricing.conftest import catalog, price  # noqa: F401 - fixtures


@pytest.fixture
def marketer(db) -> Client:
    client = Client()
    client.force_login(make_account("marketer@example.com", Role.MARKETING_MANAGERS))
    return client


def criteria_rows(*rows) -> dict:
    return {"criteria__type": [r[0] for r in rows], "criteria__value": [r[1] for r in rows],
            "criteria__points": [str(r[2]) for r in rows]}


def test_a_visitor_group_is_made_from_criteria_rows(marketer):
    data = {"key": "NIGHT-OWLS", "name": "Night owls", "description": "", "match": "points", "threshold": "3",
            **criteria_rows(("time_window", "22:00-06:00", 2), ("returning", "", 1), ("", "", 1))}
    response = marketer.post(reverse("admin:marketing_visitorgroup_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    group = VisitorGroup.objects.get(key="NIGHT-OWLS")
    assert group.criteria == [{"type": "time_window", "params": {"start": "22:00", "end": "06:00"}, "points": 2},
                              {"type": "returning", "params": {}, "points": 1}]
    page = marketer.get(reverse("admin:marketing_visitorgroup_change", args=[group.pk])).content.decode()
    assert 'value="22:00-06:00"' in page


@pytest.mark.parametrize("row, message", [
    (("visits_at_least", "many", 1), "Row 1"),
    (("time_window", "9 o'clock", 1), "Row 1"),
])
def test_a_bad_criterion_row_is_a_field_error_and_saves_nothing(marketer, row, message):
    data = {"key": "BAD", "name": "Bad", "description": "", "match": "all", **criteria_rows(row)}
    response = marketer.post(reverse("admin:marketing_visitorgroup_add"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["criteria"])
    assert not VisitorGroup.objects.exists()


def test_a_campaign_is_saved_with_its_promotions_in_one_service_call(marketer, catalog):
    segment = Segment.objects.create(key="ALL", name="All")
    data = {"key": "SUMMER", "name": "Summer sale", "description": "", "is_active": "on",
            "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
            "segments": [str(segment.pk)],
            "promotions-TOTAL_FORMS": "2", "promotions-INITIAL_FORMS": "0",
            "promotions-MIN_NUM_FORMS": "0", "promotions-MAX_NUM_FORMS": "1000",
            "promotions-0-kind": "percent_off", "promotions-0-target": "product", "promotions-0-target_key": "TSHIRT",
            "promotions-0-value": "10", "promotions-0-priority": "0",
            "promotions-1-kind": "amount_off", "promotions-1-target": "order", "promotions-1-target_key": "",
            "promotions-1-value": "5", "promotions-1-coupon": "summer5", "promotions-1-priority": "0"}
    response = marketer.post(reverse("admin:marketing_campaign_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(key="SUMMER")
    assert [(p.target, p.coupon) for p in campaign.promotions.all()] == [("product", ""), ("order", "SUMMER5")]
    assert list(campaign.segments.all()) == [segment]


def test_a_promotion_on_an_unknown_product_is_refused_with_a_message(marketer, catalog):
    data = {"key": "BAD", "name": "Bad", "description": "", "is_active": "on",
            "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
            "promotions-TOTAL_FORMS": "1", "promotions-INITIAL_FORMS": "0",
            "promotions-MIN_NUM_FORMS": "0", "promotions-MAX_NUM_FORMS": "1000",
            "promotions-0-kind": "percent_off", "promotions-0-target": "product", "promotions-0-target_key": "NOPE",
            "promotions-0-value": "10", "promotions-0-priority": "0"}
    response = marketer.post(reverse("admin:marketing_campaign_add"), data, follow=True)
    assert "No product has key" in response.content.decode()
    assert not Campaign.objects.filter(key="BAD").exists()


def test_a_content_slot_keeps_only_safe_html(marketer):
    group = VisitorGroup.objects.create(key="BACK", name="Back", criteria=[{"type": "returning", "params": {},
                                                                           "points": 1}])
    data = {"key": "home-banner", "name": "Home banner", "default_html": "<p>Hi<script>x()</script></p>",
            "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0",
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000",
            "variants-0-visitor_group": str(group.pk), "variants-0-html": "<b onclick='x()'>Welcome back</b>"}
    response = marketer.post(reverse("admin:marketing_contentslot_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    slot = ContentSlot.objects.get(key="home-banner")
    assert slot.default_html == "<p>Hi</p>"
    assert [v.html for v in slot.variants.all()] == ["<b>Welcome back</b>"]


def test_customer_service_cannot_open_marketing_pages(caller, accounts):
    client = Client()
    client.force_login(accounts["csr"])
    for name in ("visitorgroup", "segment", "campaign", "contentslot"):
        assert client.get(reverse(f"admin:marketing_{name}_changelist")).status_code == 403


def test_a_segment_page_lists_its_members_and_exports_them(db, world, accounts):
    from clientbase.customers.models import Contact

    admin = Client()
    admin.force_login(accounts["admin"])
    gold = Contact.objects.create(first_name="Greta", last_name="Gold", email="greta@example.com", key="GRETA")
    gold.customer_groups.add(world["GOLD"])
    segment = Segment.objects.create(key="GOLDEN", name="Golden")
    segment.customer_groups.add(world["GOLD"])
    page = admin.get(reverse("admin:marketing_segment_change", args=[segment.pk])).content.decode()
    assert "Greta Gold" in page
    export = admin.get(reverse("admin:marketing_segment_export_members", args=[segment.pk]))
    assert export.status_code == 200 and "GRETA" in b"".join(export.streaming_content).decode()
    # the group's page names the segments that target it
    group_page = admin.get(reverse("admin:customers_customergroup_change", args=[world["GOLD"].pk])).content.decode()
    assert "Golden (GOLDEN)" in group_page


def test_staff_preview_the_shop_as_a_contact_from_its_page(db, world, accounts):
    from clientbase.customers.models import Contact

    admin = Client()
    admin.force_login(accounts["admin"])
    contact = Contact.objects.create(first_name="Pat", last_name="Doe", email="pat@example.com")
    response = admin.get(reverse("admin:customers_contact_preview_storefront", args=[contact.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"/preview/?contact={contact.pk}"
    csr = Client()
    csr.force_login(accounts["csr"])  # no preview permission, and the contact is out of its scope
    assert csr.get(reverse("admin:customers_contact_preview_storefront", args=[contact.pk])).status_code == 404
