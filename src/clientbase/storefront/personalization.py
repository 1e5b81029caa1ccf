"""Who the visitor is to marketing, once per request: its visits (a signed
cookie), what the request says (path, query, referrer, language), and for a
logged-in shopper its memberships (ONE query, and only when a visitor group
asks about them). Content slots and promotions read the answer.

Staff may preview the shop as a chosen visitor group or as a chosen
contact (`preview`): the session remembers the choice, the pages say so and
show which groups matched and why.
"""

import logging
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clientbase.customers.models import Contact
from clientbase.marketing import visits as visit_cookie
from clientbase.marketing.audience import Audience, Request as AudienceRequest, build_audience, may_preview
from clientbase.marketing.models import VisitorGroup
from clientbase.shopping.services import carts
from clientbase.storefront.pages import current_cart, is_shopper, page_storefront, safe_next

log = logging.getLogger("clientbase.storefront")

# What a staff preview is kept as in the session: {"group": key} or {"contact": id}.
SESSION_PREVIEW = "marketing_preview"


def audience(request: HttpRequest) -> Audience:
    """The visitor's audience for this request (judged once, then kept)."""
    cached = getattr(request, "_marketing_audience", None)
    if cached is None:
        cached = request._marketing_audience = _audience(request)
    return cached


def matched_groups(request: HttpRequest) -> frozenset[str]:
    """The keys of the visitor groups this visitor matches (for promotions)."""
    return audience(request).matched


def _audience(request: HttpRequest) -> Audience:
    preview = preview_of(request)
    forced = frozenset({preview["group"]}) if preview and preview.get("group") else frozenset()
    contact, account = None, None
    if preview and preview.get("contact"):
        contact = Contact.objects.visible_to(request.user).filter(pk=preview["contact"]).select_related(
            "account").first()
        account = getattr(contact, "account", None) if contact else None
    elif is_shopper(request):
        account = request.user
        contact = account.contact

    def market_key() -> str | None:
        storefront = page_storefront(request)
        return storefront.market.key if storefront else None

    def cart_total() -> Decimal:
        return Decimal(0) if preview and preview.get("contact") else _cart_total(request)

    seen, visits = build_audience(AudienceRequest.of(request.COOKIES, request.META, request.path),
                                  account=account, contact=contact, forced=forced,
                                  market_key=market_key, cart_total=cart_total)
    request._marketing_visits = visits
    return seen


def _cart_total(request: HttpRequest) -> Decimal:
    cart = current_cart(request)
    if cart is None:
        return Decimal(0)
    return carts.priced(cart).total or Decimal(0)


class VisitorCookieMiddleware:
    """Counts visits on storefront pages (GET, answered 200): the signed
    visitor cookie (marketing.visits) is written on the way out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (match is not None and match.namespace == "storefront" and request.method == "GET"
                and response.status_code == 200 and not preview_of(request)):
            visits = getattr(request, "_marketing_visits", None) or visit_cookie.read(
                request.COOKIES.get(visit_cookie.VISITOR_COOKIE))
            response.set_cookie(visit_cookie.VISITOR_COOKIE, visit_cookie.written(visits, request.path),
                                max_age=visit_cookie.COOKIE_AGE, httponly=True, samesite="Lax",
                                secure=request.is_secure())
        return response


# --- Staff preview ---------------------------------------------------------------------


def preview_of(request: HttpRequest) -> dict | None:
    """The staff preview in force for this request, if any (only for staff
    who may still preview)."""
    chosen = request.session.get(SESSION_PREVIEW) if hasattr(request, "session") else None
    return chosen if chosen and may_preview(request.user) else None


def preview_context(request: HttpRequest) -> dict:
    """What the preview bar shows: as whom, and each group's verdict."""
    preview = preview_of(request)
    if not preview:
        return {}
    seen = audience(request)
    return {"preview": preview, "preview_judgements": seen.judgements, "preview_forced": seen.forced}


@require_GET
def start_preview(request: HttpRequest) -> HttpResponse:
    """/preview/?group=KEY or ?contact=ID (&next=/path): show the shop as a
    visitor group or a contact sees it. Staff with the preview permission
    only; a contact must be one the staff member may see."""
    if not may_preview(request.user):
        return render(request, "storefront/preview_refused.html",
                      {"detail": "Previewing needs a back-office account allowed to view visitor groups."},
                      status=403)
    group_key, contact_id = request.GET.get("group", "").strip(), request.GET.get("contact", "").strip()
    if group_key and VisitorGroup.objects.filter(key=group_key).exists():
        request.session[SESSION_PREVIEW] = {"group": group_key}
    elif contact_id and _visible_contact(request, contact_id):
        request.session[SESSION_PREVIEW] = {"contact": contact_id}
    else:
        return render(request, "storefront/preview_refused.html",
                      {"detail": "No such visitor group, or no such contact visible to you."}, status=404)
    return HttpResponseRedirect(safe_next(request, request.GET.get("next"), reverse("storefront:home")))


@require_POST
def stop_preview(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_PREVIEW, None)
    return HttpResponseRedirect(safe_next(request, request.POST.get("next"), reverse("storefront:home")))


def _visible_contact(request: HttpRequest, contact_id: str) -> bool:
    try:
        return Contact.objects.visible_to(request.user).filter(pk=contact_id).exists()
    except Exception:  # noqa: BLE001 - a malformed id is simply no contact
        log.info("preview: malformed contact id %r", contact_id[:50])
        return False
