"""Who sees which sidebar link: the same model permissions the admin checks."""

from django.http import HttpRequest


def _can_view(request: HttpRequest, model: str, app_label: str = "customers") -> bool:
    user = request.user
    return user.has_perm(f"{app_label}.view_{model}") or user.has_perm(f"{app_label}.change_{model}")


def can_view_contacts(request: HttpRequest) -> bool:
    return _can_view(request, "contact")


def can_view_organizations(request: HttpRequest) -> bool:
    return _can_view(request, "organization")


def can_view_customer_groups(request: HttpRequest) -> bool:
    return _can_view(request, "customergroup")


def can_view_accounts(request: HttpRequest) -> bool:
    return _can_view(request, "account")


def can_view_roles(request: HttpRequest) -> bool:
    return _can_view(request, "group", "auth")


def can_view_grants(request: HttpRequest) -> bool:
    return _can_view(request, "grant")


def can_view_api_tokens(request: HttpRequest) -> bool:
    return _can_view(request, "apitoken")


def can_view_markets(request: HttpRequest) -> bool:
    return _can_view(request, "market", "catalog")


def can_view_products(request: HttpRequest) -> bool:
    return _can_view(request, "product", "catalog")


def can_view_variants(request: HttpRequest) -> bool:
    return _can_view(request, "variant", "catalog")


def can_view_prices(request: HttpRequest) -> bool:
    """The price list and the price previews."""
    return _can_view(request, "pricerow", "pricing")


def can_view_login_attempts(request: HttpRequest) -> bool:
    """django-axes' tables, in the Security section only."""
    return _can_view(request, "accessattempt", "axes")


def can_view_failed_logins(request: HttpRequest) -> bool:
    return _can_view(request, "accessfailurelog", "axes")


def can_view_login_log(request: HttpRequest) -> bool:
    return _can_view(request, "accesslog", "axes")


def can_import(request: HttpRequest) -> bool:
    """Every staff member imports, with its own permissions (backoffice.imports)."""
    return request.user.is_active and request.user.is_staff


def can_view_visitor_groups(request: HttpRequest) -> bool:
    return _can_view(request, "visitorgroup", "marketing")


def can_view_segments(request: HttpRequest) -> bool:
    return _can_view(request, "segment", "marketing")


def can_view_campaigns(request: HttpRequest) -> bool:
    return _can_view(request, "campaign", "marketing")


def can_view_content_slots(request: HttpRequest) -> bool:
    return _can_view(request, "contentslot", "marketing")
