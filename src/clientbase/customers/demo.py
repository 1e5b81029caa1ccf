"""The demo data: the seed's own example, loaded by `clientbase demo` and
`clientbase serve --demo`.

    Administration > EU Headquarters > EU Management
    US Headquarters > US Sales
    Customers > Gold, Silver, Bronze        (customer groups)

33 contacts spread over them (a few with a storefront account, role
Registered, among them a shopper in each of Gold, Silver and Bronze with an
easy address: gold@, silver@, bronze@example.com), an administrator, and one customer-service representative whose
grant (manage, with descendants) covers only EU Headquarters.

Loading is an upsert by key (organizations, groups, contacts) and by e-mail
(accounts): loading twice changes nothing — no new row, no new version, no
new history entry — and loading after staff edited a demo object puts the demo
value back. Everything here is fixed (no randomness), so every machine gets the
same demo.
"""

import os
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from clientbase.customers.models import (
    Account,
    Address,
    Contact,
    ContactSource,
    CustomerGroup,
    Grant,
    GrantLevel,
    Organization,
    OrganizationKind,
    Role,
)
from clientbase.customers.services.groups import create_customer_group, update_customer_group
from clientbase.customers.services.organizations import create_organization, move_organization

ADMIN_EMAIL = "admin@example.com"
# A fixed, documented password so that a fresh demo can be tried at once; set
# CLIENTBASE_ADMIN_PASSWORD to choose another. It is a demo, not a deployment.
DEFAULT_ADMIN_PASSWORD = "admin-demo-123"
CSR_EMAIL = "csr@example.com"
CSR_PASSWORD = "csr-demo-123"
SHOPPER_PASSWORD = "shopper-demo-123"


def admin_password() -> str:
    """The demo administrator's password: CLIENTBASE_ADMIN_PASSWORD, or the default."""
    return os.environ.get("CLIENTBASE_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD


# key, name, parent key, kind, customer group keys
ORGANIZATIONS: list[tuple[str, str, str | None, str, list[str]]] = [
    ("ADMIN", "Administration", None, OrganizationKind.ORGANIZATION, []),
    ("EU-HQ", "EU Headquarters", "ADMIN", OrganizationKind.ORGANIZATION, ["SILVER"]),
    ("EU-MGMT", "EU Management", "EU-HQ", OrganizationKind.UNIT, ["GOLD"]),
    ("US-HQ", "US Headquarters", None, OrganizationKind.ORGANIZATION, ["BRONZE"]),
    ("US-SALES", "US Sales", "US-HQ", OrganizationKind.UNIT, []),
]

# key, name, parent key
CUSTOMER_GROUPS: list[tuple[str, str, str | None]] = [
    ("CUSTOMERS", "Customers", None),
    ("GOLD", "Gold", "CUSTOMERS"),
    ("SILVER", "Silver", "CUSTOMERS"),
    ("BRONZE", "Bronze", "CUSTOMERS"),
]

# Where a contact lives, by country: city, postcode, street, phone prefix (the
# contact's number is the prefix plus a few digits of its index).
_PLACES = {
    "DE": ("Berlin", "10115", "Invalidenstraße", "+49309018", 4),
    "FR": ("Paris", "75002", "Rue du Sentier", "+3314235", 4),
    "NL": ("Amsterdam", "1012 AB", "Damrak", "+3120555", 4),
    "GB": ("London", "EC1A 1BB", "King Street", "+442079460", 3),
    "US": ("New York", "10001", "W 34th Street", "+1212555", 4),
}


_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e"})


@dataclass(frozen=True)
class DemoContact:
    key: str
    first_name: str
    last_name: str
    country: str
    organizations: tuple[str, ...] = ()
    customer_groups: tuple[str, ...] = ()
    has_account: bool = False
    source: str = ContactSource.BACK_OFFICE
    login: str = ""  # an e-mail address to show off, instead of first.last@

    @property
    def email(self) -> str:
        if self.login:
            return self.login
        local = f"{self.first_name}.{self.last_name}".lower().replace(" ", "-")
        return local.translate(_ASCII) + "@example.com"

    @property
    def index(self) -> int:
        return int(self.key.rsplit("-", 1)[1])

    @property
    def phone(self) -> str:
        prefix, digits = _PLACES[self.country][3], _PLACES[self.country][4]
        return f"{prefix}{100 + self.index:0{digits}d}"


def _c(n: int, first: str, last: str, country: str, orgs: str = "", groups: str = "",
       account: bool = False, source: str = ContactSource.BACK_OFFICE, login: str = "") -> DemoContact:
    return DemoContact(
        key=f"C-{n:04d}", first_name=first, last_name=last, country=country,
        organizations=tuple(orgs.split()), customer_groups=tuple(groups.split()),
        has_account=account, source=source, login=login,
    )


CONTACTS: list[DemoContact] = [
    # Administration: the group's own staff.
    _c(1, "Anna", "Schmidt", "DE", "ADMIN"),
    _c(2, "Lukas", "Weber", "DE", "ADMIN"),
    _c(3, "Sophie", "Laurent", "FR", "ADMIN"),
    _c(4, "Oliver", "Bennett", "GB", "ADMIN", account=True),
    # EU Headquarters (Silver through the organization).
    _c(5, "Marie", "Dubois", "FR", "EU-HQ"),
    _c(6, "Jan", "de Vries", "NL", "EU-HQ", "GOLD"),
    _c(7, "Emma", "Müller", "DE", "EU-HQ"),
    _c(8, "Hugo", "Martin", "FR", "EU-HQ", account=True),
    _c(9, "Lotte", "Jansen", "NL", "EU-HQ"),
    _c(10, "Felix", "Wagner", "DE", "EU-HQ", "BRONZE"),
    _c(11, "Grace", "Hughes", "GB", "EU-HQ"),
    # EU Management (Gold through the organization, Silver through EU HQ).
    _c(12, "Clara", "Becker", "DE", "EU-MGMT", account=True),
    _c(13, "Louis", "Bernard", "FR", "EU-MGMT"),
    _c(14, "Daan", "Bakker", "NL", "EU-MGMT"),
    _c(15, "Mia", "Hoffmann", "DE", "EU-MGMT"),
    _c(16, "Jules", "Petit", "FR", "EU-MGMT"),
    _c(17, "Amelia", "Clarke", "GB", "EU-MGMT"),
    _c(18, "Noah", "Visser", "NL", "EU-MGMT", account=True),
    _c(19, "Lea", "Schulz", "DE", "EU-MGMT EU-HQ"),
    # US Headquarters (Bronze through the organization).
    _c(20, "Emily", "Johnson", "US", "US-HQ", "GOLD", account=True),
    _c(21, "Michael", "Smith", "US", "US-HQ"),
    _c(22, "Olivia", "Brown", "US", "US-HQ"),
    _c(23, "James", "Miller", "US", "US-HQ", "SILVER"),
    _c(24, "Ava", "Davis", "US", "US-HQ"),
    # US Sales (Bronze through US HQ).
    _c(25, "Ethan", "Wilson", "US", "US-SALES"),
    _c(26, "Isabella", "Moore", "US", "US-SALES", account=True),
    _c(27, "Mason", "Taylor", "US", "US-SALES"),
    # In both branches: an EU manager who also works with US Sales.
    _c(28, "Paul", "Fischer", "DE", "EU-MGMT US-SALES"),
    # Shoppers who registered in the storefront and belong to no organization.
    _c(29, "Nora", "Keller", "DE", "", "BRONZE", account=True, source=ContactSource.STOREFRONT),
    _c(30, "Liam", "Walker", "US", "", "GOLD", account=True, source=ContactSource.STOREFRONT),
    # One shopper per customer group, to compare prices in the storefront.
    _c(31, "Greta", "Goldberg", "DE", "", "GOLD", account=True, source=ContactSource.STOREFRONT,
       login="gold@example.com"),
    _c(32, "Simon", "Silva", "FR", "", "SILVER", account=True, source=ContactSource.STOREFRONT,
       login="silver@example.com"),
    _c(33, "Bruno", "Brandt", "DE", "", "BRONZE", account=True, source=ContactSource.STOREFRONT,
       login="bronze@example.com"),
]

# The storefront shopper of each customer group: group key → e-mail.
GROUP_SHOPPERS = {"GOLD": "gold@example.com", "SILVER": "silver@example.com",
                  "BRONZE": "bronze@example.com"}


@dataclass
class DemoSummary:
    """What a load did: how many objects exist and how many it created or changed."""

    organizations: int = 0
    customer_groups: int = 0
    contacts: int = 0
    accounts: int = 0
    grants: int = 0
    created: int = 0
    changed: int = 0

    def lines(self) -> list[str]:
        return [
            f"{self.organizations} organizations, {self.customer_groups} customer groups, "
            f"{self.contacts} contacts, {self.accounts} accounts, {self.grants} grants",
            f"{self.created} created, {self.changed} updated"
            + (" (already up to date)" if not (self.created or self.changed) else ""),
        ]


def is_loaded() -> bool:
    """True when the demo's administrator and root organization exist."""
    return (Account.objects.filter(email=ADMIN_EMAIL).exists()
            and Organization.objects.filter(key="ADMIN").exists())


def _update(obj, values: dict, summary: DemoSummary) -> None:
    """Set the fields that differ and save only those; nothing differs, no write."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
        summary.changed += 1


def _set_m2m(manager, wanted: list, summary: DemoSummary, *, new: bool = False) -> None:
    """Make a relation hold exactly `wanted`; counts a change unless the owner is new."""
    if {o.pk for o in manager.all()} != {o.pk for o in wanted}:
        manager.set(wanted)
        summary.changed += 0 if new else 1


def _load_groups(summary: DemoSummary) -> dict[str, CustomerGroup]:
    groups: dict[str, CustomerGroup] = {}
    for key, name, parent_key in CUSTOMER_GROUPS:
        parent = groups[parent_key] if parent_key else None
        group = CustomerGroup.objects.filter(key=key).first()
        if group is None:
            group = create_customer_group(actor=None, key=key, name=name, parent=parent)
            summary.created += 1
        else:
            _update(group, {"name": name}, summary)
            if group.parent_id != (parent.pk if parent else None):
                group = update_customer_group(group, actor=None, changes={}, parent=parent,
                                              parent_given=True)
                summary.changed += 1
        groups[key] = group
    return groups


def _load_organizations(groups: dict[str, CustomerGroup],
                        summary: DemoSummary) -> dict[str, Organization]:
    orgs: dict[str, Organization] = {}
    for key, name, parent_key, kind, group_keys in ORGANIZATIONS:
        parent = orgs[parent_key] if parent_key else None
        wanted_groups = [groups[k] for k in group_keys]
        org = Organization.objects.filter(key=key).first()
        if org is None:
            org = create_organization(actor=None, name=name, key=key, kind=kind, parent=parent,
                                      customer_groups=wanted_groups)
            summary.created += 1
        else:
            _update(org, {"name": name, "kind": kind}, summary)
            if org.parent_id != (parent.pk if parent else None):
                org = move_organization(org, parent, actor=None)
                summary.changed += 1
            _set_m2m(org.customer_groups, wanted_groups, summary)
        orgs[key] = org
    return orgs


def _load_contact(spec: DemoContact, orgs: dict[str, Organization],
                  groups: dict[str, CustomerGroup], summary: DemoSummary) -> Contact:
    values = {
        "first_name": spec.first_name, "last_name": spec.last_name, "email": spec.email,
        "phone": spec.phone, "source": spec.source,
        "preferred_currency": "USD" if spec.country == "US" else
                              "GBP" if spec.country == "GB" else "EUR",
        "preferred_language": {"DE": "de", "FR": "fr", "NL": "nl"}.get(spec.country, "en"),
    }
    # A demo contact is found by its key, or by its e-mail if staff removed the key.
    contact = (Contact.objects.filter(key=spec.key).first()
               or Contact.objects.filter(email=spec.email).first())
    new = contact is None
    if new:
        contact = Contact(key=spec.key, **values)
        contact.full_clean()
        contact.save()
        summary.created += 1
    else:
        _update(contact, {"key": spec.key, **values}, summary)
    _set_m2m(contact.organizations, [orgs[k] for k in spec.organizations], summary, new=new)
    _set_m2m(contact.customer_groups, [groups[k] for k in spec.customer_groups], summary, new=new)

    city, postcode, street, _, _ = _PLACES[spec.country]
    address = {
        "name": "Home" if not spec.organizations else "Office",
        "first_name": spec.first_name, "last_name": spec.last_name,
        "line1": f"{street} {spec.index}", "city": city, "postcode": postcode,
        "country": spec.country, "is_default_shipping": True, "is_default_billing": True,
    }
    existing = contact.addresses.first()
    if existing is None:
        Address.objects.create(contact=contact, **address)
        summary.created += 1
    else:
        _update(existing, address, summary)
    return contact


def _ensure_account(email: str, password: str, roles: list[str], summary: DemoSummary,
                    contact: Contact | None = None, superuser: bool = False) -> Account:
    account = Account.objects.filter(email=email).first()
    if account is None:
        create = Account.objects.create_superuser if superuser else Account.objects.create_user
        fields = {} if superuser else {"roles": roles}
        account = create(email, password, contact=contact, **fields)
        summary.created += 1
        return account
    if not account.check_password(password):
        # So that the login the command prints is the one that works.
        account.set_password(password)
        account.save(update_fields=["password"])
        summary.changed += 1
    _update(account, {"is_active": True, "contact": contact}, summary)
    missing = set(roles) - account.role_names
    if missing:
        account.groups.add(*Group.objects.filter(name__in=missing))
        summary.changed += 1
    return account


@transaction.atomic
def load_demo() -> DemoSummary:
    """Create or bring back the demo data; returns what exists and what changed."""
    summary = DemoSummary()
    groups = _load_groups(summary)
    orgs = _load_organizations(groups, summary)
    for spec in CONTACTS:
        contact = _load_contact(spec, orgs, groups, summary)
        if spec.has_account:
            _ensure_account(spec.email, SHOPPER_PASSWORD, [Role.REGISTERED], summary,
                            contact=contact)

    _ensure_account(ADMIN_EMAIL, admin_password(), [Role.ADMINISTRATORS], summary,
                    superuser=True)
    csr = _ensure_account(CSR_EMAIL, CSR_PASSWORD, [Role.CUSTOMER_SERVICE], summary)
    grant = Grant.objects.filter(account=csr, organization=orgs["EU-HQ"]).first()
    if grant is None:
        Grant.objects.create(account=csr, organization=orgs["EU-HQ"], include_descendants=True,
                             level=GrantLevel.MANAGE)
        summary.created += 1
    else:
        _update(grant, {"include_descendants": True, "level": GrantLevel.MANAGE}, summary)

    summary.organizations = Organization.objects.count()
    summary.customer_groups = CustomerGroup.objects.count()
    summary.contacts = Contact.objects.count()
    summary.accounts = Account.objects.count()
    summary.grants = Grant.objects.count()
    return summary


def login_lines() -> list[str]:
    """The demo logins, for the console."""
    return [
        f"Administrator:    {ADMIN_EMAIL} / {admin_password()}",
        f"Customer service: {CSR_EMAIL} / {CSR_PASSWORD} (sees EU Headquarters and below)",
        f"Shoppers:         {', '.join(GROUP_SHOPPERS.values())} / {SHOPPER_PASSWORD} "
        "(Gold, Silver, Bronze prices in the storefront)",
    ]
