"""Visitor groups, content slots, segments, campaigns and promotions."""

from django.db import models
from simple_history.models import HistoricalRecords

from clientbase.core.models import BaseModel, KeyField
from clientbase.customers.models import CustomerGroup


class MarketingQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "MarketingQuerySet":
        """Marketing definitions are shop-wide: whoever may view them sees
        them all; permissions decide."""
        return self


class Match(models.TextChoices):
    ALL = "all", "All criteria"
    ANY = "any", "Any criterion"
    POINTS = "points", "Points reach the threshold"


class VisitorGroup(BaseModel):
    """A named set of criteria evaluated on each storefront request, e.g.
    "First-time visitors" or "Returning Gold customers from Germany"."""

    key = KeyField(required=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    match = models.CharField(max_length=10, choices=Match.choices, default=Match.ALL)
    threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="With match 'points': the points a visitor needs.")
    criteria = models.JSONField(
        default=list, blank=True,
        help_text='A list of {"type": ..., "params": {...}, "points": n}.')

    history = HistoricalRecords()
    objects = MarketingQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Segment(BaseModel):
    """An audience: the contacts effectively in any of its customer groups
    and the visitors matching any of its visitor groups."""

    key = KeyField(required=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    customer_groups = models.ManyToManyField(CustomerGroup, blank=True, related_name="segments")
    visitor_groups = models.ManyToManyField(VisitorGroup, blank=True, related_name="segments")

    history = HistoricalRecords(m2m_fields=[customer_groups, visitor_groups])
    objects = MarketingQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Campaign(BaseModel):
    """Promotions for some segments during a window of time. A campaign
    without segments is for everyone."""

    key = KeyField(required=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    segments = models.ManyToManyField(Segment, blank=True, related_name="campaigns")

    history = HistoricalRecords(m2m_fields=[segments])
    objects = MarketingQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class PromotionKind(models.TextChoices):
    PERCENT_OFF = "percent_off", "Percent off"
    AMOUNT_OFF = "amount_off", "Amount off"


class PromotionTarget(models.TextChoices):
    VARIANT = "variant", "A variant (by SKU)"
    PRODUCT = "product", "A product (by key)"
    ORDER = "order", "The whole order"


class Promotion(models.Model):
    """One offer of a campaign: percent or amount off a variant, a product
    or the order, optionally behind a coupon code."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="promotions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=PromotionKind.choices)
    target = models.CharField(max_length=20, choices=PromotionTarget.choices)
    target_key = models.CharField(max_length=100, blank=True,
                                  help_text="The SKU or the product key; empty for the order.")
    value = models.DecimalField(max_digits=19, decimal_places=4)
    coupon = models.CharField(max_length=50, blank=True, db_index=True,
                              help_text="A code the shopper enters; empty: no code needed.")
    coupon_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many orders may use the coupon; empty: no limit.")
    combinable = models.BooleanField(default=False)
    priority = models.IntegerField(default=0)

    class Meta:
        ordering = ["campaign", "position"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} on {self.target} {self.target_key}".strip()


class CouponRedemption(models.Model):
    """An order that used a coupon: counts a coupon's uses against its limit."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="redemptions")
    order_number = models.CharField(max_length=40)
    redeemed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["promotion", "order_number"],
                                               name="one_redemption_per_order")]


class ContentSlot(BaseModel):
    """A place on a storefront page (home banner, product note, cart message)
    whose content depends on the visitor group."""

    key = KeyField(required=True)
    name = models.CharField(max_length=200)
    default_html = models.TextField(blank=True)

    history = HistoricalRecords()
    objects = MarketingQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class ContentVariant(models.Model):
    """The slot's content for the visitors of one visitor group; the first
    matching variant (by position) wins."""

    slot = models.ForeignKey(ContentSlot, on_delete=models.CASCADE, related_name="variants")
    visitor_group = models.ForeignKey(VisitorGroup, on_delete=models.PROTECT, related_name="content_variants")
    position = models.PositiveIntegerField(default=0)
    html = models.TextField()

    class Meta:
        ordering = ["slot", "position"]
        constraints = [models.UniqueConstraint(fields=["slot", "visitor_group"],
                                               name="one_variant_per_group_and_slot")]
