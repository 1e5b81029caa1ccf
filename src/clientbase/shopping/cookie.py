"""The anonymous cart's cookie: one contract for every door that reads it
(the storefront's pages and the /api/v1/me endpoints).

An anonymous visitor's cart lives server-side; the visitor's browser holds
only the cart's id, in a signed cookie named CART_COOKIE_NAME (default
"cart"), kept CART_TTL_DAYS like the cart itself. The signature (Django's
signed cookies with this salt) means a visitor cannot point the cookie at
someone else's cart by guessing or editing an id; `find_cart` then checks
that the cart is anonymous and alive. A logged-in shopper's cart is
`cart_for_account`, never the cookie's.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from clientbase.shopping.models import Cart

SALT = "clientbase.shopping.cart"


def cookie_name() -> str:
    return settings.CART_COOKIE_NAME


def max_age() -> int:
    """Seconds the cookie (and a cart unchanged since) is kept."""
    return settings.CART_TTL_DAYS * 86400


def cart_id_from(request: HttpRequest) -> str | None:
    """The cart id the request's cookie carries, or None: no cookie, a bad
    signature or an expired one. Pass it to `carts.find_cart`."""
    return request.get_signed_cookie(cookie_name(), default=None, salt=SALT, max_age=max_age())


def keep_cart(response: HttpResponse, cart: Cart) -> None:
    """Give the visitor's browser the cookie naming `cart` (an anonymous cart)."""
    response.set_signed_cookie(cookie_name(), str(cart.pk), salt=SALT, max_age=max_age(), httponly=True,
                               samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)


def forget_cart(response: HttpResponse) -> None:
    """Drop the cookie (the cart was merged into an account's at log-in)."""
    response.delete_cookie(cookie_name(), samesite="Lax")
