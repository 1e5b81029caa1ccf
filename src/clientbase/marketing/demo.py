"""The demo's marketing: a first-visit and a returning-visitor banner on the
home page, "Gold members: 10% off" for the Gold group, and a coupon.
Idempotent: each object is made once, by key, through the services."""

from dataclasses import dataclass

from clientbase.customers.models import CustomerGroup
from clientbase.marketing import services
from clientbase.marketing.models import Campaign, ContentSlot, Segment, VisitorGroup

COUPON = "WELCOME5"


@dataclass
class MarketingSummary:
    created: int = 0

    def lines(self) -> list[str]:
        return [f"{VisitorGroup.objects.count()} visitor groups, {Segment.objects.count()} segments, "
                f"{Campaign.objects.count()} campaigns, {ContentSlot.objects.count()} content slots "
                f"({self.created} created)"]


def load_marketing_demo() -> MarketingSummary:
    summary = MarketingSummary()

    def group(key: str, name: str, criteria: list) -> VisitorGroup:
        found = VisitorGroup.objects.filter(key=key).first()
        if found:
            return found
        summary.created += 1
        return services.create_visitor_group(VisitorGroup(key=key, name=name, criteria=criteria), actor=None)

    first = group("FIRST-VISIT", "First-time visitors", [{"type": "first_visit"}])
    back = group("RETURNING", "Returning visitors", [{"type": "returning"}])
    group("NEWSLETTER", "From the newsletter", [{"type": "query_contains", "params": {"text": "utm_source=news"}}])

    if not ContentSlot.objects.filter(key="home-banner").exists():
        summary.created += 1
        services.create_content_slot(
            ContentSlot(key="home-banner", name="Home page banner",
                        default_html="<p>New arrivals every week.</p>"),
            variants=[(first, f"<h2>Welcome!</h2><p>First time here? Take 5 off your first order "
                              f"with the coupon <strong>{COUPON}</strong>.</p>"),
                      (back, "<h2>Welcome back!</h2><p>Good to see you again: have a look at what is new "
                             "since your last visit.</p>")],
            actor=None)
    if not ContentSlot.objects.filter(key="cart-message").exists():
        summary.created += 1
        services.create_content_slot(ContentSlot(key="cart-message", name="Cart message",
                                                 default_html="<p>Free returns within 30 days.</p>"), actor=None)

    gold = CustomerGroup.objects.filter(key="GOLD").first()
    if gold is not None and not Segment.objects.filter(key="GOLD-MEMBERS").exists():
        summary.created += 1
        services.create_segment(Segment(key="GOLD-MEMBERS", name="Gold members"), customer_groups=[gold],
                                actor=None)
    gold_members = Segment.objects.filter(key="GOLD-MEMBERS").first()
    if gold_members is not None and not Campaign.objects.filter(key="GOLD-10").exists():
        summary.created += 1
        services.create_campaign(
            Campaign(key="GOLD-10", name="Gold members: 10% off"), segments=[gold_members],
            promotions=[{"kind": "percent_off", "target": "order", "value": "10", "priority": 10}], actor=None)
    if not Campaign.objects.filter(key="WELCOME").exists():
        summary.created += 1
        services.create_campaign(
            Campaign(key="WELCOME", name="Welcome coupon"),
            promotions=[{"kind": "amount_off", "target": "order", "value": "5", "coupon": COUPON,
                         "combinable": False}], actor=None)
    return summary
