from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from clientbase.core.models import BaseModel


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


class OrderQuerySet(models.QuerySet):
    def for_account(self, account) -> "OrderQuerySet":
        """An account's orders: those it placed, and the guest orders placed
        with its e-mail once that e-mail is verified (before, anyone could
        claim a stranger's orders by registering with their address)."""
        if account is None or not account.is_authenticated:
            return self.none()
        mine = models.Q(account=account)
        if account.email_verified_at is not None:
            mine |= models.Q(account__isnull=True, email=account.email)
        return self.filter(mine)


class Order(BaseModel):
    """What a shopper bought: the lines at the prices of the moment of
    checkout (each with the price row that won and why), the e-mail and the
    addresses typed at checkout. A guest order has no contact and no account;
    the e-mail is stored canonical (core.emails) so that it finds its
    account once that account's e-mail is verified.

    Addresses are snapshots ({first_name, last_name, line1, line2, city,
    postcode, country}), not links to a contact's addresses, which may change."""

    number = models.CharField(max_length=20, unique=True, editable=False)
    email = models.EmailField(max_length=254, db_index=True)
    contact = models.ForeignKey("customers.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="orders")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="orders")
    market = models.ForeignKey("catalog.Market", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    shipping_address = models.JSONField()
    billing_address = models.JSONField()
    total = models.DecimalField(max_digits=19, decimal_places=4)
    # What promotions took off: the lines' discounts and the order's own
    # (`promotions` names the order-level ones), and the coupon entered.
    discount_total = models.DecimalField(max_digits=19, decimal_places=4, default=0)
    order_discount = models.DecimalField(max_digits=19, decimal_places=4, default=0)
    promotions = models.JSONField(default=list, blank=True)
    coupon = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED)

    history = HistoricalRecords()
    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-number"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """One SKU of an order, with the price snapshot: the winning price row's
    id and terms, and `price_why`, what a person reads ("Gold price from 10")."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=400)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=19, decimal_places=4)
    line_total = models.DecimalField(max_digits=19, decimal_places=4)
    # What promotions took off the line (line_total is after it) and which.
    discount = models.DecimalField(max_digits=19, decimal_places=4, default=0)
    promotions = models.JSONField(default=list, blank=True)
    # The snapshot: no foreign key, the row may change or go later.
    price_row_id = models.UUIDField()
    sale_type = models.CharField(max_length=20)
    sale_code = models.CharField(max_length=100, blank=True)
    min_quantity = models.DecimalField(max_digits=12, decimal_places=2)
    price_why = models.CharField(max_length=300)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class OrderNumber(models.Model):
    """The order-number counter: each checkout inserts a row and takes its
    id, which the database hands out without a race (a sequence on
    PostgreSQL, the rowid under SQLite's write lock) — never max()+1. A
    rolled-back checkout leaves a gap, as a sequence does."""

    id = models.BigAutoField(primary_key=True)
