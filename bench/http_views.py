"""Bare Django views for `scripts/bench http` (bench/http.py): each answers the
same JSON as one API endpoint, from the same database, the way one would
write it without the framework — no django-ninja, no schema, no ORM, no
authentication beyond comparing the `Authorization` header with the tokens
the bench issued (BENCH_HTTP_CALLERS, read once), hand-written SQL and
`json.dumps`. Mounted under /bare/ by bench/http_urls.py only, never by the
product (bench/http_settings.py).

They serve exactly the bench's data and callers: a customer-service
representative whose grants (with descendants) are read from the grant
table, and a Gold shopper. What they leave out (role grants, single
organizations, erasure, ETags, problem+json for every bad input) is what the
product pays for on top.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from clientbase.core.pagination import encode_cursor

CONTACT_COLUMNS = ("id, key, first_name, last_name, email, phone, birth_date, preferred_language, "
                   "preferred_currency, source, version, created_at, updated_at")
ADDRESS_FIELDS = ("id", "name", "first_name", "last_name", "line1", "line2", "city", "postcode", "region",
                  "country", "phone", "is_default_shipping", "is_default_billing")
CENTS = Decimal("0.01")
_ENCODER = DjangoJSONEncoder()


def _callers() -> dict[str, dict]:
    """Raw token -> {"account": id, "contact": id or None}, as bench/http.py
    passes them to the server's environment."""
    return json.loads(os.environ.get("BENCH_HTTP_CALLERS", "{}"))


CALLERS = _callers()


def _caller(request) -> dict | None:
    header = request.headers.get("Authorization", "")
    return CALLERS.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None


def _json(body, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body, separators=(",", ":")), status=status,
                        content_type="application/json")


def _unauthorized() -> HttpResponse:
    return _json({"detail": "Unauthorized"}, status=401)


def _moment(value: datetime | None) -> str | None:
    # As django-ninja writes them (Django's JSON encoder): milliseconds, UTC as "Z".
    return None if value is None else _ENCODER.default(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(CENTS):f}"


def _quantity(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _subtree_paths(account_id: str) -> list[str]:
    """The paths of the organizations the account is granted with descendants."""
    return [path for (path,) in _rows(
        "SELECT o.path FROM customers_grant g JOIN customers_organization o ON o.id = g.organization_id "
        "WHERE g.account_id = %s AND g.include_descendants", [account_id])]


def _in_paths(column: str, paths: list[str]) -> tuple[str, list]:
    if not paths:
        return "FALSE", []
    return "(" + " OR ".join(f"{column} LIKE %s" for _ in paths) + ")", [p + "%" for p in paths]


def _contacts(paths: list[str], where: str, params: list, tail: str = "", tail_params=()) -> list[dict]:
    """The contacts matching `where` that are members of an organization under
    `paths`, as the API answers them (ContactOut)."""
    visible, vparams = _in_paths("o.path", paths)
    rows = _rows(
        f"SELECT {CONTACT_COLUMNS}, (SELECT a.id FROM customers_account a WHERE a.contact_id = c.id), "
        "c.search_last_name, c.search_first_name FROM customers_contact c "
        f"WHERE {where} AND EXISTS (SELECT 1 FROM customers_contact_organizations m "
        f"JOIN customers_organization o ON o.id = m.organization_id WHERE m.contact_id = c.id AND {visible})"
        f"{tail}", [*params, *vparams, *tail_params])
    if not rows:
        return []
    ids = [row[0] for row in rows]
    orgs: dict = {i: [] for i in ids}
    for contact_id, org_id, path in _rows(
            "SELECT m.contact_id, o.id, o.path FROM customers_contact_organizations m "
            "JOIN customers_organization o ON o.id = m.organization_id WHERE m.contact_id = ANY(%s) "
            "ORDER BY o.search_name, o.id", [ids]):
        if any(path.startswith(p) for p in paths):
            orgs[contact_id].append(str(org_id))
    groups: dict = {i: [] for i in ids}
    for contact_id, group_id in _rows(
            "SELECT cg.contact_id, g.id FROM customers_contact_customer_groups cg "
            "JOIN customers_customergroup g ON g.id = cg.customergroup_id WHERE cg.contact_id = ANY(%s) "
            "ORDER BY g.path", [ids]):
        groups[contact_id].append(str(group_id))
    addresses: dict = {i: [] for i in ids}
    for row in _rows(f"SELECT contact_id, {', '.join(ADDRESS_FIELDS)} FROM customers_address "
                     "WHERE contact_id = ANY(%s) ORDER BY created_at, id", [ids]):
        addresses[row[0]].append({name: str(v) if name == "id" else v
                                  for name, v in zip(ADDRESS_FIELDS, row[1:])})
    return [{
        "id": str(r[0]), "key": r[1], "first_name": r[2], "last_name": r[3], "email": r[4], "phone": r[5],
        "birth_date": _day(r[6]), "preferred_language": r[7], "preferred_currency": r[8], "source": r[9],
        "organizations": orgs[r[0]], "customer_groups": groups[r[0]], "addresses": addresses[r[0]],
        "account": str(r[13]) if r[13] else None, "version": r[10], "created_at": _moment(r[11]),
        "updated_at": _moment(r[12]), "_order": (r[14], r[15], r[0]),
    } for r in rows]


def contact_detail(request, ident: str) -> HttpResponse:
    """GET /bare/contacts/<id>: as GET /api/v1/contacts/<id>."""
    caller = _caller(request)
    if caller is None:
        return _unauthorized()
    try:
        UUID(ident)
    except ValueError:
        return _json({"detail": "Not found"}, status=404)
    found = _contacts(_subtree_paths(caller["account"]), "c.id = %s", [ident])
    if not found:
        return _json({"detail": "Not found"}, status=404)
    found[0].pop("_order")
    return _json(found[0])


def contact_page(request) -> HttpResponse:
    """GET /bare/contacts?limit=N: the first page, as GET /api/v1/contacts."""
    caller = _caller(request)
    if caller is None:
        return _unauthorized()
    limit = int(request.GET.get("limit", 50))
    items = _contacts(_subtree_paths(caller["account"]), "TRUE", [],
                      " ORDER BY c.search_last_name, c.search_first_name, c.id LIMIT %s", [limit + 1])
    return _page(items, limit)


def _page(items: list[dict], limit: int) -> HttpResponse:
    more = len(items) > limit
    items = items[:limit]
    cursor = encode_cursor(list(items[-1]["_order"])) if more and items else None
    for item in items:
        item.pop("_order")
    return _json({"items": items, "next_cursor": cursor})


def _resolve_sql() -> str:
    from bench.pricing import hand_written_sql

    # The winning row per SKU (bench.pricing's query), with what the answer
    # names: the product's key for a product-level row.
    return (f"SELECT w.*, p.key FROM ({hand_written_sql()}) w "
            "LEFT JOIN catalog_product p ON p.id = w.product_id")


@csrf_exempt  # a Bearer-token call carries no cookie, as the API's token callers
def price_resolve(request) -> HttpResponse:
    """POST /bare/prices/resolve {"skus", "contact" (key), "market" (key)}: as
    POST /api/v1/prices/resolve, at quantity 1 in the market's default currency."""
    caller = _caller(request)
    if caller is None:
        return _unauthorized()
    body = json.loads(request.body)
    skus = list(dict.fromkeys(body["skus"]))
    paths = _subtree_paths(caller["account"])
    visible, vparams = _in_paths("o.path", paths)
    contact = _rows(
        "SELECT c.id, c.key FROM customers_contact c WHERE c.key = %s AND EXISTS (SELECT 1 FROM "
        "customers_contact_organizations m JOIN customers_organization o ON o.id = m.organization_id "
        f"WHERE m.contact_id = c.id AND {visible})", [body["contact"], *vparams])
    market = _rows("SELECT id, key, default_currency FROM catalog_market WHERE key = %s", [body["market"]])
    if not contact or not market:
        return _json({"detail": "Not found"}, status=404)
    (contact_id, contact_key), (market_id, market_key, currency) = contact[0], market[0]
    from django.utils import timezone

    params = {"contact": contact_id, "key": contact_key or "", "id": str(contact_id), "market": market_id,
              "currency": currency, "quantity": Decimal(1), "at": timezone.now(),
              **{f"sku{i}": sku for i, sku in enumerate(skus)}}
    sql = _RESOLVE.replace("%(skus)s", "(" + ", ".join(f"%(sku{i})s" for i in range(len(skus))) + ")")
    won = {}
    # sku, id, version, product_id, currency, sale_type, sale_code, min_quantity, unit_price,
    # valid_from, valid_until, product key
    for sku, pid, version, product_id, cur, sale_type, code, min_q, price, v_from, v_until, pkey in _rows(
            sql, params):
        won[sku] = {"id": str(pid), "variant": None if product_id else sku,
                    "product": (pkey or str(product_id)) if product_id else None, "market": market_key,
                    "currency": cur, "sale_type": sale_type, "sale_code": code,
                    "min_quantity": _quantity(min_q), "unit_price": _money(price),
                    "valid_from": _moment(v_from), "valid_until": _moment(v_until), "version": version}
    known = {sku for (sku,) in _rows("SELECT sku FROM catalog_variant WHERE sku = ANY(%s)", [skus])}
    items = [{"sku": sku, "unit_price": won[sku]["unit_price"] if sku in won else None, "currency": currency,
              "price": won.get(sku),
              "problem": None if sku in won else ("no_price" if sku in known else "unknown_sku")}
             for sku in skus]
    return _json({"items": items, "market": market_key, "currency": currency, "contact": str(contact_id)})


_RESOLVE = _resolve_sql()


def store_products(request) -> HttpResponse:
    """GET /bare/store/products?limit=N: the first page of the storefront's
    listing at the caller's prices, as GET /api/v1/store/products (the market
    named by STOREFRONT_MARKET, else the first active one by key)."""
    caller = _caller(request)
    limit = int(request.GET.get("limit", 24))
    key = os.environ.get("STOREFRONT_MARKET")
    market = _rows("SELECT id, key, default_currency FROM catalog_market WHERE is_active "
                   + ("AND key = %s " if key else "") + "ORDER BY key LIMIT 1", [key] if key else [])[0]
    contact_id = caller["contact"] if caller and caller.get("contact") else None
    contact_key = ""
    if contact_id:
        contact_key = _rows("SELECT key FROM customers_contact WHERE id = %s", [contact_id])[0][0] or ""
    from django.utils import timezone

    params = {"contact": contact_id or UUID(int=0), "key": contact_key, "id": contact_id or "",
              "market": market[0], "currency": market[2], "at": timezone.now(),
              "limit": limit, "limit_plus_one": limit + 1}
    rows = _rows(_LISTING, params)
    ids = list(dict.fromkeys(row[0] for row in rows))
    details = {pid: (key, description) for pid, key, description in _rows(
        "SELECT id, key, description FROM catalog_product WHERE id = ANY(%s)", [ids])}
    variants = {sku: (name, options) for sku, name, options in _rows(
        "SELECT sku, name, options FROM catalog_variant WHERE product_id = ANY(%s) AND is_active", [ids])}
    products: dict = {}
    for pid, name, sku, unit, listed, step, price, _found in rows:
        product = products.get(pid)
        if product is None:
            key, description = details[pid]
            product = products[pid] = {"id": str(pid), "key": key, "name": name, "description": description,
                                       "variants": []}
        if not product["variants"] or product["variants"][-1]["sku"] != sku:
            vname, options = variants[sku]
            product["variants"].append({
                "sku": sku, "name": vname, "options": options if isinstance(options, dict) else json.loads(options),
                "unit_price": _money(unit), "list_price": _money(listed), "currency": market[2],
                "quantity_breaks": []})
        if step is not None:
            product["variants"][-1]["quantity_breaks"].append(
                {"min_quantity": _quantity(step), "unit_price": _money(price)})
    found = rows[0][7] if rows else 0
    items = list(products.values())
    cursor = encode_cursor([items[-1]["name"], items[-1]["id"]]) if found > limit and items else None
    return _json({"items": items, "next_cursor": cursor, "market": market[1], "currency": market[2]})


def _listing_sql() -> str:
    from bench.store import hand_written_sql

    return hand_written_sql(search=False, after=False)


_LISTING = _listing_sql()
