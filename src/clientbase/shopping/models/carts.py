from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from clientbase.core.models import BaseModel


class MergePolicy(models.TextChoices):
    """How an anonymous cart joins an account's saved cart at log-in
    (setting CART_MERGE_POLICY; see shopping.services.carts.merged_quantities)."""

    ADD = "add", "Add the quantities"
    LARGER = "larger", "Keep the larger quantity"
    REPLACE = "replace", "Replace the saved cart"


def cart_ttl() -> timedelta:
    return timedelta(days=settings.CART_TTL_DAYS)


class CartQuerySet(models.QuerySet):
    def anonymous(self) -> "CartQuerySet":
        return self.filter(account__isnull=True)

    def expired(self, now: datetime | None = None) -> "CartQuerySet":
        """Carts unchanged for CART_TTL_DAYS."""
        return self.filter(updated_at__lt=(now or timezone.now()) - cart_ttl())

    def live(self, now: datetime | None = None) -> "CartQuerySet":
        """Carts changed within CART_TTL_DAYS."""
        return self.filter(updated_at__gte=(now or timezone.now()) - cart_ttl())


class Cart(BaseModel):
    """A shopper's cart, kept server-side. An anonymous visitor's cart is
    found only by its id, which the storefront carries in a signed cookie; an
    account has at most one cart, its saved cart. A cart prices its lines in
    its market and currency, for its account's contact (anonymous
    otherwise). Every change bumps `updated_at` (and `version`); an anonymous
    cart expires CART_TTL_DAYS after its last change."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="cart",
    )
    market = models.ForeignKey("catalog.Market", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    coupon = models.CharField(max_length=50, blank=True,
                              help_text="The coupon code the shopper entered (marketing's promotions).")

    objects = CartQuerySet.as_manager()

    class Meta:
        # The purge of expired anonymous carts reads this range.
        indexes = [models.Index(fields=["updated_at"], name="cart_updated_idx")]

    def __str__(self) -> str:
        return f"Cart {self.pk} ({self.account or 'anonymous'})"

    @property
    def expires_at(self) -> datetime:
        return self.updated_at + cart_ttl()

    @property
    def contact(self):
        """The contact whose prices the cart shows: its account's, None for an
        anonymous cart (or an account without a contact)."""
        return self.account.contact if self.account_id else None


class CartLine(models.Model):
    """A SKU in a cart and how many: a positive quantity up to CART_MAX_QUANTITY.
    No price: a cart is priced when it is shown (shopping.services.carts.priced)."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One line per SKU: two concurrent adds of one SKU end as one line.
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_one_per_variant"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"
