"""How many of one SKU a shopper may ask for at once: one rule for a cart's
line and for a quote (setting CART_MAX_QUANTITY), so that a quote never
prices a quantity the cart would then refuse."""

from django.conf import settings

from clientbase.core.errors import Invalid


def max_quantity() -> int:
    """The most of one SKU a cart line or a quote holds (CART_MAX_QUANTITY)."""
    return settings.CART_MAX_QUANTITY


def line_quantity(quantity, field: str = "quantity") -> int:
    """`quantity` as an int when it is a whole number from 1 to
    CART_MAX_QUANTITY; Invalid (422, code `invalid_quantity`, on `field`)
    otherwise — a bool, a float or a string is not a quantity."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Invalid.on(field, "A quantity is a whole number.", code="invalid_quantity")
    if not 1 <= quantity <= max_quantity():
        raise Invalid.on(field, f"A quantity is from 1 to {max_quantity()}.", code="invalid_quantity")
    return quantity
