"""Issue 8, item 7: the access-control matrix's classification, its world and
its tools, shared by the test_access_matrix*.py modules.

Every API operation (OPERATIONS) and every back-office URL (ADMIN_MODELS,
ADMIN_PAGES) is classified here, in one place; a new one fails
`test_every_*_is_classified` until it is. The modules then ask each
operation and page, as each kind of caller, about an object the caller sees,
one it does not see, and one that does not exist:

    anonymous → 401; no permission to look the object up → 403;
    invisible → 404, the very answer a nonexistent object gets (ident aside);
    a write refused → the row unchanged;
    no answer to a scoped caller names an object outside its scope.
"""

import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.http import HttpResponse
from django.test import Client

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Account, ApiToken, Contact, Grant, Role
from clientbase.customers.services.accounts import issue_token
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.marketing.models import Campaign, ContentSlot, Segment, VisitorGroup
from tests.conftest import make_account

API = "/api/v1"


# --- classification of the API -----------------------------------------------

@dataclass(frozen=True)
class Op:
    """How an API operation is guarded.

    resource: the resource it belongs to.
    target:   the resource whose object its path names (None: a collection or
              a computation, no object in the path).
    lookup:   permissions checked before the object is looked up (403 then
              tells nothing about which objects exist).
    perm:     the permission the operation itself needs, checked once the
              object is found (None: `lookup` is all it needs).
    public:   open to every caller, anonymous visitors and shoppers
              included (a storefront's own endpoints): the matrix then
              expects no 401/403 from it.
    """

    resource: str
    target: str | None
    lookup: tuple[str, ...]
    perm: str | None = None
    public: bool = False


def _crud(resource: str, perm_model: str, plural: str, singular: str, app: str = "customers") -> dict:
    view, add, change, delete = (f"{app}.{a}_{perm_model}" for a in ("view", "add", "change", "delete"))
    return {
        f"list_{plural}": Op(resource, None, (view,)),
        f"create_{singular}": Op(resource, None, (add,)),
        f"get_{singular}": Op(resource, resource, (view,)),
        f"update_{singular}": Op(resource, resource, (view,), change),
        f"delete_{singular}": Op(resource, resource, (view,), delete),
    }


OPERATIONS: dict[str, Op] = {
    **_crud("contacts", "contact", "contacts", "contact"),
    "contact_effective_groups": Op("contacts", "contacts", ("customers.view_contact",)),
    # GDPR (issue 11, item 5): the permission first, then the lookup.
    "contact_personal_data": Op("contacts", "contacts", ("customers.view_contact", "customers.export_personal_data")),
    "erase_contact": Op("contacts", "contacts", ("customers.view_contact", "customers.erase_contact")),
    **_crud("organizations", "organization", "organizations", "organization"),
    "move_organization": Op("organizations", "organizations", ("customers.view_organization",),
                            "customers.change_organization"),
    "organization_tree": Op("organizations", "organizations", ("customers.view_organization",)),
    **_crud("customer-groups", "customergroup", "customer_groups", "customer_group"),
    "customer_group_tree": Op("customer-groups", "customer-groups", ("customers.view_customergroup",)),
    **_crud("accounts", "account", "accounts", "account"),
    # Another account's tokens: the token permission first, then the account
    # must be visible (a caller's own tokens are always its own business).
    "list_tokens": Op("tokens", "accounts", ("customers.view_apitoken", "customers.view_account")),
    "create_token": Op("tokens", "accounts", ("customers.add_apitoken", "customers.view_account")),
    "revoke_token": Op("tokens", "accounts", ("customers.delete_apitoken", "customers.view_account")),
    **_crud("roles", "group", "roles", "role", app="auth"),
    # A role's write asks for its own permission, not view, before the lookup.
    "update_role": Op("roles", "roles", ("auth.change_group",)),
    "delete_role": Op("roles", "roles", ("auth.delete_group",)),
    **_crud("grants", "grant", "grants", "grant"),
    **_crud("markets", "market", "markets", "market", app="catalog"),
    **_crud("products", "product", "products", "product", app="catalog"),
    **_crud("variants", "variant", "variants", "variant", app="catalog"),
    **_crud("prices", "pricerow", "prices", "price", app="pricing"),
    "resolve_price": Op("prices", None, ("pricing.view_pricerow",)),
    "resolve_prices": Op("prices", None, ("pricing.view_pricerow",)),
    "explain_price": Op("prices", None, ("pricing.view_pricerow",)),
    # Marketing definitions are shop-wide (tests/api/test_marketing.py).
    **_crud("visitor-groups", "visitorgroup", "visitor_groups", "visitor_group", app="marketing"),
    **_crud("segments", "segment", "segments", "segment", app="marketing"),
    # Its members are contacts: those the caller sees (tests/api/test_marketing.py).
    "segment_members": Op("segments", "segments", ("marketing.view_segment",), "customers.view_contact"),
    "export_segment_members": Op("segments", "segments", ("marketing.view_segment",), "customers.view_contact"),
    **_crud("campaigns", "campaign", "campaigns", "campaign", app="marketing"),
    **_crud("content-slots", "contentslot", "content_slots", "content_slot", app="marketing"),
    "explain_quote": Op("quotes", None, ("pricing.view_pricerow", "marketing.view_campaign")),
    # Files of a list's objects (tests/api/test_exports.py): each entity needs
    # its list's view permission, and keeps to the caller's scope as the list does.
    "export_entity": Op("exports", None, ()),
    # The shop window: anybody, at the caller's own prices (tests/api/test_store.py).
    "store_quote": Op("store", None, (), public=True),
    "list_store_products": Op("store", None, (), public=True),
    "get_store_product": Op("store", "products", (), public=True),
    # The shopper's own side (tests/api/test_me.py): anybody, on the caller's
    # own session, cart and orders; a cart line by SKU and an order by number
    # name nothing of a matrix resource (another shopper's order is a 404 there).
    **{name: Op("me", None, (), public=True) for name in (
        "me_csrf", "me_profile", "me_register", "me_verify_email", "me_login", "me_logout", "me_cart",
        "me_add_cart_line", "me_set_cart_line", "me_set_coupon", "me_remove_cart_line", "me_checkout",
        "me_list_orders",
        "me_get_order")},
}

# The resources whose objects may be named by a key as well as by id: the
# field that holds it. (Accounts: the e-mail address plays the key's part.)
KEYS = {"contacts": "key", "organizations": "key", "customer-groups": "key", "markets": "key",
        "products": "key", "variants": "sku", "accounts": "email", "visitor-groups": "key",
        "segments": "key", "campaigns": "key", "content-slots": "key"}
MISSING_KEYS = {"accounts": "nobody@example.com"}
MISSING_KEY = "NO-SUCH-KEY"

# Objects every staff member with the view permission sees (no grants scope them).
SHOP_WIDE = ("customer-groups", "roles", "markets", "products", "variants", "prices",
             "visitor-groups", "segments", "campaigns", "content-slots")


def _schema_operations() -> dict[str, tuple[str, str]]:
    """operationId → (method, path) for every operation the schema documents."""
    from clientbase.api.main import api

    schema = api.get_openapi_schema()
    return {op["operationId"]: (method.upper(), path)
            for path, item in schema["paths"].items() for method, op in item.items()}


SCHEMA_OPERATIONS = _schema_operations()


# --- classification of the back office -------------------------------------------

# Each model the back office shows, and whether its objects are scoped by
# organization grants (an invisible one answers 404).
ADMIN_MODELS = {
    "customers_contact": "scoped",
    "customers_organization": "scoped",
    "customers_account": "scoped",
    "customers_grant": "scoped",
    "customers_apitoken": "scoped",
    "customers_customergroup": "shop-wide",
    "auth_group": "shop-wide",
    "catalog_market": "shop-wide",
    "catalog_product": "shop-wide",
    "catalog_variant": "shop-wide",
    "pricing_pricerow": "shop-wide",
    "axes_accessattempt": "administrators",
    "axes_accesslog": "administrators",
    "axes_accessfailurelog": "administrators",
    "marketing_visitorgroup": "shop-wide",
    "marketing_segment": "shop-wide",
    "marketing_campaign": "shop-wide",
    "marketing_contentslot": "shop-wide",
    "transfer_importjob": "owner",  # its owner's, and administrators' (tests/backoffice/test_imports.py)
}
# The pages Django's ModelAdmin gives each model (simple_history's version page
# only where the model keeps history).
MODEL_PAGES = ["changelist", "add", "change", "history", "delete"]
HISTORY_PAGE = "simple_history"

# Every other back-office URL, by name: what guards it.
ADMIN_PAGES = {
    "login": "public",
    "logout": "public",
    "jsi18n": "public",
    "index": "staff",
    "app_list": "staff",
    "search": "staff",
    "autocomplete": "staff",
    "password_change": "staff",
    "password_change_done": "staff",
    "view_on_site": "staff",
    "catch_all": "staff",                         # admin/<anything>: Django's final catch-all
    "auth_user_password_change": "object:customers_account",
    "customers_organization_move": "object:customers_organization",
    "customers_account_scope": "object:customers_account",
    "customers_organization_open_tree": "staff",
    "customers_organization_tree": "staff",
    "customers_organization_tree_tops": "staff",
    "customers_organization_tree_children": "object:customers_organization",
    "customers_organization_tree_count": "object:customers_organization",
    "customers_organization_tree_create": "object:customers_organization",
    "customers_organization_tree_move": "object:customers_organization",
    "customers_organization_members": "object:customers_organization",
    "customers_contact_download_personal_data": "object:customers_contact",
    "customers_contact_invite": "object:customers_contact",
    "customers_contact_deactivate": "object:customers_contact",
    "customers_contact_reactivate": "object:customers_contact",
    "customers_contact_password_reset": "object:customers_contact",
    "customers_contact_preview_storefront": "object:customers_contact",
    "marketing_segment_export_members": "object:marketing_segment",
    "customers_contact_erase_personal_data": "object:customers_contact",
    "customers_customergroup_members": "object:customers_customergroup",
    "customers_contact_organization_choices": "staff",
    "pricing_pricerow_preview": "staff",
    "pricing_pricerow_preview_prices": "staff",
    "pricing_variant_preview": "staff",
    "pricing_contact_autocomplete": "staff",
    "transfer_importjob_run": "object:transfer_importjob",
    "transfer_importjob_progress": "object:transfer_importjob",
    "transfer_importjob_errors": "object:transfer_importjob",
}


def admin_patterns():
    """(name, route) of every URL the admin site serves, its ModelAdmins' included."""
    from django.contrib import admin
    from django.urls import URLResolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield pattern.name, prefix + str(pattern.pattern)

    found = list(walk(admin.site.get_urls()))
    for model_admin in admin.site._registry.values():
        found += list(walk(model_admin.get_urls(), f"{model_admin.opts.app_label}/{model_admin.opts.model_name}/"))
    return found


def classified_names() -> set[str]:
    names = set(ADMIN_PAGES)
    for model in ADMIN_MODELS:
        names.update(f"{model}_{page}" for page in [*MODEL_PAGES, HISTORY_PAGE])
    return names


def name_of(name: str | None, route: str) -> str:
    # Unnamed routes: Django's redirect from <object_id>/ to its change page,
    # and the site's catch-all.
    if name is None:
        return "catch_all" if route.endswith("(?P<url>.*)$") else "object_redirect"
    return name


def admin_url(route: str) -> str:
    """A concrete URL for a route: every parameter a fresh UUID (or a real app label)."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<app_label>[^)]*\)", "customers", route)
    route = re.sub(r"\(\?P<url>\.\*\)", "no-such-page/", route)
    route = re.sub(r"<(?:\w+:)?\w+>", lambda _m: str(uuid.uuid4()), route)
    route = re.sub(r"\(\[\^/\]\+\)", lambda _m: "1", route)
    return "/admin/" + route


# --- callers and the world they look at -------------------------------------------

CALLERS = ["anonymous", "shopper", "csr", "csr_view", "lead", "admin"]
STAFF = ["csr", "csr_view", "lead", "admin"]
STATES = ["visible", "invisible", "nonexistent"]


def _perms(*names: str) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def build_matrix(world, accounts) -> dict:
    """The world, the callers, and on each side of it one object of each
    scoped resource: visible ones in EU Management, invisible ones in US
    Sales; of each shop-wide resource one object all staff see (and for
    prices, a customer price of a contact each side)."""
    csr_view = make_account("csr-view@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=csr_view, organization=world["EU-HQ"], include_descendants=True,
                         level="view")
    lead = make_account("lead@example.com", Role.CUSTOMER_SERVICE)
    lead.user_permissions.add(*_perms(
        "customers.add_account", "customers.change_account", "customers.view_account",
        "customers.add_grant", "customers.change_grant", "customers.view_grant"))
    Grant.objects.create(account=lead, organization=world["EU-HQ"], include_descendants=True,
                         level="manage")
    world["EU-MGMT"].customer_groups.add(world["GOLD"])
    world["US-SALES"].customer_groups.add(world["SILVER"])

    # Ann is in EU Management and, unseen by the CSRs, in US Sales too: her
    # answers may not name US Sales.
    ann = Contact.objects.create(first_name="Ann", last_name="Smith", email="ann@example.com", key="C-ANN")
    ann.organizations.add(world["EU-MGMT"], world["US-SALES"])
    carl = Contact.objects.create(first_name="Carl", last_name="Jones", email="carl@example.com",
                                  key="C-CARL")
    carl.organizations.add(world["US-SALES"])
    carl.customer_groups.add(world["GOLD"])  # Gold's pages and answers may not name him
    ann_account = make_account("ann@example.com", Role.REGISTERED, contact=ann)
    carl_account = make_account("carl@example.com", Role.REGISTERED, contact=carl)
    marketing = Group.objects.get(name=Role.MARKETING_MANAGERS)
    eu_grant = Grant.objects.create(role=marketing, organization=world["EU-MGMT"], level="view")
    us_grant = Grant.objects.create(role=marketing, organization=world["US-SALES"], level="view")
    ann_token, _ = issue_token(ann_account, actor=None, name="ann's")
    carl_token, _ = issue_token(carl_account, actor=None, name="carl's")

    # The shop-wide side: a role of the shop's own (a built-in one may not be
    # renamed or deleted), the catalog, and a customer price for Ann and Carl.
    role = Group.objects.create(name="Matrix role")
    market = Market.objects.create(key="EU", name="Europe", countries=["DE"], currencies=["EUR"],
                                   default_currency="EUR")
    product = Product.objects.create(key="SHIRT", name="Shirt")
    variant = Variant.objects.create(sku="SHIRT-M", product=product, name="Shirt M")
    PriceRow.objects.create(variant=variant, market=market, currency="EUR", unit_price=Decimal("10"))
    ann_price, carl_price = (
        PriceRow.objects.create(variant=variant, market=market, currency="EUR", unit_price=price,
                                sale_type=SaleType.CUSTOMER, sale_code=contact.key)
        for contact, price in ((ann, Decimal("9")), (carl, Decimal("777.77"))))

    callers = {"anonymous": None, "shopper": accounts["registered"], "csr": accounts["csr"],
               "csr_view": csr_view, "lead": lead, "admin": accounts["admin"]}
    objects = {
        "contacts": {"visible": ann, "invisible": carl},
        "organizations": {"visible": world["EU-MGMT"], "invisible": world["US-SALES"]},
        "accounts": {"visible": ann_account, "invisible": carl_account},
        "grants": {"visible": eu_grant, "invisible": us_grant},
        "tokens": {"visible": ann_token, "invisible": carl_token},
        "customer-groups": {"visible": world["GOLD"]},
        "roles": {"visible": role},
        "markets": {"visible": market},
        "products": {"visible": product},
        "variants": {"visible": variant},
        "prices": {"visible": ann_price, "invisible": carl_price},
        "visitor-groups": {"visible": VisitorGroup.objects.create(key="RETURNING", name="Returning",
                                                                  criteria=[{"type": "returning"}])},
        "segments": {"visible": Segment.objects.create(key="LOYAL", name="Loyal")},
        "campaigns": {"visible": Campaign.objects.create(key="SALE", name="Sale")},
        "content-slots": {"visible": ContentSlot.objects.create(key="banner", name="Banner")},
    }
    # What no answer to a scoped caller may contain (item 6: a visible object
    # may refer to an invisible one by id only). Carl's price is 777.77 (a figure no timestamp or id can hold).
    foreign = ["Carl", "Jones", "carl@example.com", "C-CARL", "US Sales", "US-SALES",
               "US Headquarters", "US-HQ", "carl's", carl_token.hint, "777.77"]
    foreign_ids = [str(o.pk) for o in (carl, carl_account, us_grant, carl_token, world["US-SALES"],
                                       world["US-HQ"], carl_price)]
    return {"callers": callers, "objects": objects, "missing": str(uuid.uuid4()), "foreign": foreign,
            "foreign_ids": foreign_ids}


def client_for(account: Account | None) -> Client:
    client = Client()
    if account is not None:
        client.force_login(Account.objects.get(pk=account.pk))
    return client


def holds(account: Account | None, perms) -> bool:
    return account is not None and all(account.has_perm(p) for p in perms)


def scoped(account: Account | None) -> bool:
    """Whether the caller's answers must keep to its scope."""
    return account is not None and not account.sees_everything


# --- calling the API ----------------------------------------------------------------

# What a write sends: a harmless change, so that an allowed write succeeds.
WRITE_BODIES = {
    "update_contact": {"first_name": "Changed"},
    "update_organization": {"name": "Changed"},
    "move_organization": {"parent": "EU-HQ"},
    "update_account": {"is_active": True},
    "create_token": {"name": "matrix"},
    "update_grant": {"level": "view"},
    "update_customer_group": {"name": "Changed"},
    "update_role": {"name": "Changed role"},
    "update_market": {"name": "Changed"},
    "update_product": {"name": "Changed"},
    "update_variant": {"name": "Changed"},
    "update_price": {"unit_price": "8.50"},
    "me_set_cart_line": {"quantity": 2},
    "me_set_coupon": {"coupon": "NO-SUCH-COUPON"},
    **{f"update_{name}": {"name": "Changed"} for name in ("visitor_group", "segment", "campaign", "content_slot")},
}

_ADDRESS = {"first_name": "Pat", "last_name": "Buyer", "line1": "Hauptstr. 1", "city": "Berlin",
            "country": "DE"}

# What a create (or a batch) sends: a body the schema accepts, naming objects
# that exist, so that what answers is the permission check and not the
# validation of the body.
CREATE_BODIES = {
    "create_contact": {"first_name": "New"},
    "create_organization": {"name": "New"},
    "create_customer_group": {"key": "NEW", "name": "New"},
    "create_account": {"email": "new@example.com", "password": "Secret-pass-123"},
    "create_role": {"name": "New"},
    "create_grant": {"organization": "EU-HQ", "role": Role.REGISTERED},
    "create_market": {"key": "NEW", "name": "New", "countries": ["DE"], "currencies": ["EUR"]},
    "create_product": {"key": "NEW", "name": "New"},
    "create_variant": {"sku": "NEW-1", "product": "SHIRT", "name": "New"},
    "create_price": {"variant": "SHIRT-M", "market": "EU", "currency": "EUR", "unit_price": "1.00",
                     "min_quantity": "5"},
    "resolve_prices": {"skus": ["NEW-1"], "market": "NEW"},
    "create_visitor_group": {"key": "NEW", "name": "New"},
    "create_segment": {"key": "NEW", "name": "New"},
    "create_campaign": {"key": "NEW", "name": "New"},
    "create_content_slot": {"key": "new-slot", "name": "New"},
    "move_organization": {"parent": None},
    # The shopper's writes: the matrix's shopper logs in; the others are
    # refused for what they send, never for who sends it (PUBLIC_ANSWERS).
    "me_register": {"email": "new-shopper@example.com", "password": "Lime-kettle-4821"},
    "me_login": {"email": "shopper@example.com", "password": "Secret-pass-123"},
    "me_verify_email": {"token": "not-a-token"},
    "me_add_cart_line": {"sku": "NO-SUCH-SKU", "quantity": 1},
    "me_checkout": {"email": "guest@example.com", "shipping_address": _ADDRESS, "billing_address": _ADDRESS},
}

# What a public operation answers an anonymous visitor and a shopper for the
# bodies above, when not 200 (404 for a path naming something that does not exist).
PUBLIC_ANSWERS = {"me_register": 201, "me_logout": 204, "me_verify_email": 422, "me_add_cart_line": 409,
                  "me_checkout": 409, "me_set_coupon": 422, "store_quote": 422}

# What a computation asks in its query string, so that its answer is the permission check's.
QUERIES = {
    "resolve_price": {"sku": "NEW-1", "market": "NEW", "quantity": "1"},
    "explain_price": {"sku": "NEW-1", "market": "NEW", "quantity": "1"},
    "explain_quote": {"sku": "SHIRT-M", "quantity": "1"},
}


def expected_status(op: Op, method: str, caller: str, account: Account | None, state: str) -> int | None:
    """The status the cell must answer; None for an allowed write, whose answer
    is the domain's (2xx, or 409/422 for an invariant) but never a refusal.
    A public operation asks for no permission before its lookup."""
    if account is None and not op.public:
        return 401
    if not op.public and not holds(account, op.lookup):
        return 403
    if state == "nonexistent" or (state == "invisible" and not (account and account.sees_everything)):
        return 404
    if method == "GET":
        return 200
    if op.perm and not holds(account, [op.perm]):
        return 403
    if caller == "csr_view":  # sees it, may not change it
        return 403
    return None


def url_for(path: str, ident: str, token_id: str | None = None) -> str:
    path = path.replace("{ident}", ident).replace("{token_id}", token_id or "")
    # Any other parameter (a cart line's SKU, an order's number) names nothing either.
    return re.sub(r"\{\w+\}", ident, path)


def call(client: Client, method: str, url: str, body, query: dict | None = None) -> HttpResponse:
    kwargs = {"data": query} if query else {}
    if method in ("POST", "PATCH", "PUT"):
        kwargs = {"data": json.dumps(body or {}), "content_type": "application/json"}
    return getattr(client, method.lower())(url, **kwargs)


def snapshot(obj) -> list:
    """The object's row, and for an account its tokens: what a refused write must leave alone."""
    model = type(obj)
    row = list(model._default_manager.filter(pk=obj.pk).values())
    tokens = list(ApiToken.objects.filter(account_id=obj.pk).order_by("pk").values()) if model is Account else []
    return [row, tokens]


def neutral(body: bytes, *idents: str) -> str:
    """The body with each ident (and a form's CSRF token, new on every page) blanked."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', body.decode())
    for ident in idents:
        text = text.replace(ident, "<ident>")
    return text


def assert_nothing_foreign(matrix: dict, body: str, *, ids: bool = False) -> None:
    """No name (and with `ids`, no id) of what a scoped caller cannot see."""
    leaked = [m for m in matrix["foreign"] + (matrix["foreign_ids"] if ids else []) if m in body]
    assert not leaked, f"the answer names what the caller cannot see: {leaked}"
