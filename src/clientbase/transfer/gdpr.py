"""GDPR: everything the shop holds about one contact, as one JSON document
(the right of access, art. 15, and to portability, art. 20), and the
erasure of a contact's personal data (art. 17).

Both receive the acting account (None: the system), which needs the
permission (`customers.export_personal_data`, `customers.erase_contact`;
the Administrators role holds every permission) and must see the contact —
one it cannot see is a NotFound, as anywhere else. The erasure also needs a
manage grant on the contact (it changes it).

What the erasure does, in one transaction (docs/gdpr.md):

- the contact's names, e-mail, phone, birth date and preferences are
  replaced; its addresses are deleted; `erased_at` is set;
- its account is closed: inactive, the e-mail replaced, the password
  unusable (which also ends its sessions: Django checks a session against
  the password hash), its API tokens revoked, its login records deleted;
- its carts are deleted;
- its orders — those of the contact or its account, and guest orders placed
  with its e-mail — are kept for accounting (lines, totals, prices, the
  country of each address) with the e-mail and the addresses' personal
  fields replaced;
- the old values are rewritten in the history (django-simple-history's
  tables) and in the back office's log, so that the old name or e-mail
  finds nothing anywhere; the erasure itself is a history record of the
  contact naming who erased it and when, holding no old value.

Erasing twice is refused (409 `already_erased`): there is nothing left to erase.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from clientbase.core.batches import update_rows
from clientbase.core.currencies import quantize
from clientbase.core.errors import Conflict, Forbidden, NotFound
from clientbase.core.models import looks_like_uuid
from clientbase.core.permissions import require
from clientbase.core.writes import record_actor
from clientbase.customers.models import Account, Address, ApiToken, Contact
from clientbase.customers.models.visibility import contact_scope, organization_scope
from clientbase.customers.services.access import lock_for_change
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.shopping.models import Cart, Order

EXPORT_PERMISSION = "customers.export_personal_data"
ERASE_PERMISSION = "customers.erase_contact"
FORMAT = "clientbase.personal-data"
FORMAT_VERSION = 1

# What an erased contact is called (the list and search show it as this).
ERASED_NAME = "Erased"
ERASURE_REASON = "GDPR erasure"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox

# The contact's personal fields and what the erasure leaves in them, in the
# contact and in every history record of it. The key stays: it is the
# shop's or its ERP's code for the customer, which accounting and the
# customer's price rows refer to (keys must not hold personal data).
ERASED_CONTACT = {
    "first_name": "", "last_name": ERASED_NAME, "email": None, "phone": "", "birth_date": None,
    "preferred_language": "", "preferred_currency": "",
}
# An address's text that names or locates a person; the country stays
# (orders keep it: tax depends on it).
ERASED_ADDRESS = {"name": "", "first_name": "", "last_name": "", "line1": "", "line2": "", "city": "",
                  "postcode": "", "region": "", "phone": ""}
_CONTACT_FIELDS = ("id", "key", "first_name", "last_name", "email", "phone", "birth_date",
                   "preferred_language", "preferred_currency", "source", "version", "created_at",
                   "updated_at", "erased_at")
_ADDRESS_FIELDS = ("id", "name", "first_name", "last_name", "line1", "line2", "city", "postcode", "region",
                   "country", "phone", "is_default_shipping", "is_default_billing", "created_at", "updated_at")
_CONTACT_HISTORY_FIELDS = (*ERASED_CONTACT, "key", "source", "erased_at")
_ACCOUNT_HISTORY_FIELDS = ("email", "is_active", "email_verified_at")
_LOGIN_MODELS = ("AccessAttempt", "AccessFailureLog", "AccessLog")  # django-axes, by e-mail


def erased_email(contact: Contact) -> str:
    """The address an erased contact's account and orders carry instead:
    unique per contact (accounts need one), and no one's mailbox."""
    return f"erased-{contact.pk}@{ERASED_DOMAIN}"


# --- finding the contact -------------------------------------------------------

def visible_contact(actor, ident: str) -> Contact:
    """The contact `actor` sees whose id, key or e-mail is `ident`; NotFound
    (404) otherwise — one it may not see is answered as one that does not exist."""
    ident = (ident or "").strip()
    contacts = Contact.objects.all() if actor is None else Contact.objects.visible_to(actor)
    if looks_like_uuid(ident):
        match = Q(pk=ident)
    elif "@" in ident:
        match = Q(email=ident.lower())
    else:
        match = Q(key=ident)
    contact = contacts.filter(match).first() if ident and "\x00" not in ident else None
    if contact is None:
        raise NotFound(detail=f"No contact '{ident}'.", code="not_found")
    return contact


def _check_visible(contact: Contact, actor) -> None:
    if actor is not None and not Contact.objects.visible_to(actor).filter(pk=contact.pk).exists():
        raise NotFound(detail=f"No contact '{contact.pk}'.", code="not_found")


# --- the export --------------------------------------------------------------------

def _json(value):
    if hasattr(value, "isoformat"):  # datetimes and dates
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)  # UUIDs, Decimals


def _fields(obj, names: Iterable[str]) -> dict:
    return {name: _json(getattr(obj, name)) for name in names}


def _account_of(contact: Contact) -> Account | None:
    return Account.objects.filter(contact=contact).prefetch_related("groups").first()


def _orders_of(contact: Contact, account: Account | None, emails: set[str]) -> QuerySet:
    """The contact's orders: placed as it or by its account, and the guest
    orders placed with one of its e-mail addresses."""
    mine = Q(contact=contact)
    if account is not None:
        mine |= Q(account=account)
    if emails:
        mine |= Q(account__isnull=True, contact__isnull=True, email__in=emails)
    return Order.objects.filter(mine)


def _emails(contact: Contact, account: Account | None) -> set[str]:
    return {e for e in (contact.email, account.email if account else None) if e}


def _by(history_user_id, account: Account | None) -> str:
    """Who made a change, without naming staff: the contact itself, staff, or the system."""
    if history_user_id is None:
        return "system"
    return "self" if account is not None and history_user_id == account.pk else "staff"


def _history(records, fields: Iterable[str], account: Account | None) -> list[dict]:
    return [{"at": _json(r.history_date), "change": {"+": "created", "~": "changed", "-": "deleted"}[r.history_type],
             "by": _by(r.history_user_id, account), "reason": r.history_change_reason,
             **_fields(r, fields)} for r in records]


def _memberships(records: list, field: str, target: str, visible) -> list[dict]:
    """The memberships (keys of `target`) each history record of the contact
    lists; one query (simple_history keeps them in a table per relation)."""
    through = apps.get_model("customers", f"HistoricalContact_{field}")
    listed: dict[int, list[str]] = {r.history_id: [] for r in records}
    for row in through.objects.filter(history_id__in=list(listed)).select_related(target):
        if visible(getattr(row, target)):
            listed[row.history_id].append(getattr(row, target).key or str(getattr(row, target).pk))
    return [{"at": _json(r.history_date), field: sorted(listed[r.history_id])} for r in records]


def _order(order: Order, guest: bool) -> dict:
    return {
        "number": order.number, "status": order.status, "email": order.email, "guest": guest,
        "market": order.market.key, "currency": order.currency,
        "total": f"{quantize(order.total, order.currency):f}",
        "shipping_address": order.shipping_address, "billing_address": order.billing_address,
        "created_at": _json(order.created_at),
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "unit_price": f"{quantize(line.unit_price, order.currency):f}",
                   "line_total": f"{quantize(line.line_total, order.currency):f}",
                   "price": line.price_why} for line in order.lines.all()],
    }


def _login_records(emails: set[str]) -> list[dict]:
    if not emails or not apps.is_installed("axes"):
        return []
    found = []
    for name in _LOGIN_MODELS:
        for row in apps.get_model("axes", name).objects.filter(username__in=emails).order_by("attempt_time"):
            found.append({"kind": {"AccessAttempt": "failed_logins", "AccessFailureLog": "failed_login",
                                   "AccessLog": "login"}[name],
                          "at": _json(row.attempt_time), "ip_address": row.ip_address,
                          "user_agent": row.user_agent})
    return found


def personal_data(contact: Contact, *, actor) -> dict:
    """Everything held about `contact`, as one JSON-ready document (see
    docs/gdpr.md for its parts). Forbidden (403) without
    `customers.export_personal_data`; NotFound (404) when `actor` cannot see
    the contact. A scoped actor gets the organizations it sees (the others
    do not exist for it); an administrator, everything."""
    require(actor, EXPORT_PERMISSION)
    _check_visible(contact, actor)
    scope = organization_scope(actor) if actor is not None else None

    def sees(org) -> bool:
        return scope is None or scope.contains(org.pk, org.path)

    account = _account_of(contact)
    emails = _emails(contact, account)
    orders = (_orders_of(contact, account, emails).select_related("market")
              .prefetch_related("lines").order_by("created_at", "number"))
    carts = Cart.objects.filter(account=account) if account is not None else Cart.objects.none()
    prices = (PriceRow.objects.filter(sale_type=SaleType.CUSTOMER, sale_code=contact.sale_code)
              .select_related("variant", "product", "market").order_by("created_at", "id"))
    contact_history = list(Contact.history.filter(id=contact.pk).order_by("history_date", "history_id"))
    address_history = (Address.history.filter(contact_id=contact.pk)
                       .order_by("history_date", "history_id"))
    account_history = (Account.history.filter(id=account.pk).order_by("history_date", "history_id")
                       if account is not None else [])
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "contact": _fields(contact, _CONTACT_FIELDS),
        "addresses": [_fields(a, _ADDRESS_FIELDS) for a in contact.addresses.order_by("created_at", "id")],
        "organizations": [{"key": o.key, "name": o.name}
                          for o in contact.organizations.order_by("path") if sees(o)],
        "customer_groups": [{"key": g.key, "name": g.name} for g in contact.customer_groups.order_by("path")],
        "account": None if account is None else {
            **_fields(account, ("id", "email", "is_active", "date_joined", "last_login", "email_verified_at")),
            "roles": sorted(g.name for g in account.groups.all()),
        },
        "api_tokens": [_fields(t, ("id", "name", "hint", "created_at", "last_used_at", "expires_at", "revoked_at"))
                       for t in (ApiToken.objects.filter(account=account).order_by("created_at")
                                 if account is not None else [])],
        "login_records": _login_records(emails),
        "carts": [{**_fields(c, ("id", "currency", "created_at", "updated_at")), "market": c.market.key,
                   "lines": [{"sku": line.variant.sku, "quantity": line.quantity,
                              "added_at": _json(line.created_at)}
                             for line in c.lines.select_related("variant")]}
                  for c in carts.select_related("market")],
        "orders": [_order(o, guest=o.account_id is None and o.contact_id is None) for o in orders],
        "prices": [{"variant": p.variant.sku if p.variant_id else None,
                    "product": p.product.key if p.product_id else None, "market": p.market.key,
                    "currency": p.currency, "min_quantity": f"{p.min_quantity.normalize():f}",
                    "unit_price": f"{quantize(p.unit_price, p.currency):f}",
                    "valid_from": _json(p.valid_from), "valid_until": _json(p.valid_until)} for p in prices],
        "history": {
            "contact": _history(contact_history, _CONTACT_HISTORY_FIELDS, account),
            "organizations": _memberships(contact_history, "organizations", "organization", sees),
            "customer_groups": _memberships(contact_history, "customer_groups", "customergroup", lambda g: True),
            "addresses": _history(address_history, ("id",) + _ADDRESS_FIELDS[1:-2], account),
            "account": _history(account_history, _ACCOUNT_HISTORY_FIELDS, account),
        },
    }


# --- the erasure ------------------------------------------------------------------------

@dataclass(frozen=True)
class Erasure:
    """What an erasure did (no personal value in it: it is safe to log)."""

    contact_id: str
    erased_at: datetime
    addresses_deleted: int
    account_closed: bool
    tokens_revoked: int
    carts_deleted: int
    orders_anonymised: int
    login_records_deleted: int


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing the contact would do, for a confirmation page."""

    addresses: int
    has_account: bool
    tokens: int
    carts: int
    orders: int


def plan_erasure(contact: Contact, *, actor) -> ErasurePlan:
    """What erase_contact would delete and anonymise; changes nothing.
    Forbidden (403) and NotFound (404) as erase_contact."""
    require(actor, ERASE_PERMISSION)
    _check_visible(contact, actor)
    account = _account_of(contact)
    return ErasurePlan(
        addresses=contact.addresses.count(), has_account=account is not None,
        tokens=ApiToken.objects.filter(account=account).active().count() if account else 0,
        carts=Cart.objects.filter(account=account).count() if account else 0,
        orders=_orders_of(contact, account, _emails(contact, account)).count())


def _erased_address(address: dict | None) -> dict | None:
    if not isinstance(address, dict):
        return address
    return {name: ERASED_ADDRESS.get(name, value) for name, value in address.items()}


def _scrub_orders(orders: list[Order], email: str, actor) -> None:
    for order in orders:
        order.email = email
        order.shipping_address = _erased_address(order.shipping_address)
        order.billing_address = _erased_address(order.billing_address)
        record_actor(order, actor)
        order._change_reason = ERASURE_REASON
        order.save(update_fields=["email", "shipping_address", "billing_address"])
    # The order's earlier versions in its history hold the old values too.
    records = list(Order.history.filter(id__in=[o.pk for o in orders]))
    for record in records:
        record.email = email
        record.shipping_address = _erased_address(record.shipping_address)
        record.billing_address = _erased_address(record.billing_address)
    Order.history.model.objects.bulk_update(records, ["email", "shipping_address", "billing_address"],
                                            batch_size=500)


def _scrub_admin_log(model, object_id, text: str) -> None:
    """The back office's own log names objects as they were called (the
    dashboard's "recent actions"), and its messages name the addresses."""
    if not apps.is_installed("django.contrib.admin"):
        return
    apps.get_model("admin", "LogEntry").objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(object_id),
    ).update(object_repr=text, change_message="")


def _delete_login_records(emails: set[str]) -> int:
    if not emails or not apps.is_installed("axes"):
        return 0
    return sum(apps.get_model("axes", name).objects.filter(username__in=emails).delete()[0]
               for name in _LOGIN_MODELS)


def _revoke_tokens(account: Account, now: datetime) -> int:
    """Revoke the account's live tokens and blank every one's name (its owner
    may have named it after themselves); how many were revoked. Written in
    bulk by core.batches.update_rows, whose rows_written moves each token's
    cache version (customers.signals): a revoked token is refused at once,
    in every process, as after its save."""
    tokens = list(ApiToken.objects.select_for_update().filter(account=account))
    revoked = 0
    for token in tokens:
        if token.revoked_at is None:
            token.revoked_at = now
            revoked += 1
        token.name = ""
        token.version += 1
        token.updated_at = now
    update_rows(tokens, ["revoked_at", "name", "version", "updated_at"])
    return revoked


@transaction.atomic
def erase_contact(contact: Contact, *, actor) -> Erasure:
    """Erase the contact's personal data, for good (see the module's
    docstring); returns what was done. Forbidden (403) without
    `customers.erase_contact` or a manage grant on the contact; NotFound
    (404) when `actor` cannot see it; Conflict (409, `already_erased`) for
    a contact erased before."""
    require(actor, ERASE_PERMISSION)
    _check_visible(contact, actor)
    contact = lock_for_change(contact, actor, ERASE_PERMISSION)
    if contact.erased_at is not None:
        raise Conflict(detail=f"The contact {contact.pk} was erased on {contact.erased_at:%Y-%m-%d}.",
                       code="already_erased")
    now = timezone.now()
    account = Account.objects.select_for_update().filter(contact=contact).first()
    emails = _emails(contact, account)
    orders = list(_orders_of(contact, account, emails).select_for_update())

    # Addresses go; their history keeps the structure, without the text.
    address_ids = list(contact.addresses.values_list("pk", flat=True))
    for address in contact.addresses.all():
        record_actor(address, actor)
        address.delete()
    Address.history.filter(Q(id__in=address_ids) | Q(contact_id=contact.pk)).update(**ERASED_ADDRESS)

    # The contact: the erasure is its last history record, who and when, with no old value.
    for name, value in ERASED_CONTACT.items():
        setattr(contact, name, value)
    contact.erased_at = now
    record_actor(contact, actor)
    contact._change_reason = ERASURE_REASON
    contact.save()
    Contact.history.filter(id=contact.pk).update(**ERASED_CONTACT)
    _scrub_admin_log(Contact, contact.pk, str(contact))

    tokens = carts = 0
    if account is not None:
        account.email = erased_email(contact)
        account.is_active = False
        account.email_verified_at = None
        account.set_unusable_password()  # and every session of it ends: its hash no longer matches
        record_actor(account, actor)
        account._change_reason = ERASURE_REASON
        account.save()
        Account.history.filter(id=account.pk).update(email=account.email)
        tokens = _revoke_tokens(account, now)
        carts = Cart.objects.filter(account=account).delete()[1].get(Cart._meta.label, 0)
        _scrub_admin_log(Account, account.pk, account.email)

    _scrub_orders(orders, erased_email(contact), actor)
    logins = _delete_login_records(emails)
    return Erasure(contact_id=str(contact.pk), erased_at=now, addresses_deleted=len(address_ids),
                   account_closed=account is not None, tokens_revoked=tokens,
                   carts_deleted=carts, orders_anonymised=len(orders), login_records_deleted=logins)


@transaction.atomic
def erase_guest_orders(email: str, *, actor) -> int:
    """Anonymise the guest orders placed with `email` (kept for accounting,
    as a contact's orders are) and delete the login records under it: the
    erasure for someone who only ever ordered as a guest. Returns how many
    orders were anonymised (0 when there is none: nothing to do).

    Guest orders belong to no organization, so it takes the erase
    permission and sight of every contact (Forbidden, 403, otherwise).
    Conflict (409, `has_contact`) when a contact or an account has this
    e-mail: erase that contact, which takes its guest orders along.
    """
    require(actor, ERASE_PERMISSION)
    if actor is not None and not contact_scope(actor).everything:
        raise Forbidden(detail="Only who sees every contact may erase guest orders.", code="forbidden")
    email = (email or "").strip().lower()
    if Contact.objects.filter(email=email).exists() or Account.objects.filter(email__iexact=email).exists():
        raise Conflict(detail="A contact or an account has this e-mail: erase the contact instead.",
                       code="has_contact")
    orders = list(Order.objects.select_for_update().filter(account__isnull=True, contact__isnull=True,
                                                           email=email))
    _scrub_orders(orders, f"erased-{uuid.uuid4()}@{ERASED_DOMAIN}", actor)
    _delete_login_records({email})
    return len(orders)
