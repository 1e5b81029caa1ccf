"""The roles every installation has, and what each may do."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from clientbase.customers.models import Role

# Seeing the catalog and its prices, e.g. to preview what a customer pays.
_VIEW_PRICES = ["catalog.view_market", "catalog.view_product", "catalog.view_variant",
                "pricing.view_pricerow"]

# app_label.codename of the permissions each role starts with. Organization
# grants then say on which organizations and contacts a role may use them.
DEFAULT_PERMISSIONS: dict[str, list[str]] = {
    Role.EVERYONE: [],
    Role.REGISTERED: [],
    Role.CUSTOMER_SERVICE: [
        "customers.access_backoffice",
        "customers.view_contact", "customers.add_contact", "customers.change_contact",
        "customers.view_address", "customers.add_address", "customers.change_address",
        "customers.delete_address",
        "customers.view_organization",
        "customers.view_customergroup",
        "customers.view_account",
        *_VIEW_PRICES,
    ],
    Role.CATALOG_MANAGERS: [
        "customers.access_backoffice",
        "customers.view_customergroup",
        *(f"catalog.{action}_{model}" for model in ("market", "product", "variant")
          for action in ("view", "add", "change", "delete")),
        *(f"pricing.{action}_pricerow" for action in ("view", "add", "change", "delete")),
    ],
    Role.MARKETING_MANAGERS: [
        "customers.access_backoffice",
        "customers.view_contact", "customers.view_organization",
        "customers.view_customergroup", "customers.add_customergroup",
        "customers.change_customergroup",
        *_VIEW_PRICES,
        *(f"marketing.{action}_{model}" for model in ("visitorgroup", "segment", "campaign", "promotion",
                                                     "couponredemption", "contentslot", "contentvariant")
          for action in ("view", "add", "change", "delete")),
    ],
}


def _permissions(names: list[str]):
    q = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        q |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(q)


def seed_roles(**kwargs) -> None:
    """Create the built-in roles (after every `migrate`).

    Each role is given its default permissions (add-only: what staff granted
    beyond them stays), so a role also gains the defaults of apps installed
    after it was created. Administrators hold every permission.
    """
    for name, perms in DEFAULT_PERMISSIONS.items():
        role, _ = Group.objects.get_or_create(name=name)
        role.permissions.add(*_permissions(perms))
    admins, _ = Group.objects.get_or_create(name=Role.ADMINISTRATORS)
    admins.permissions.set(Permission.objects.all())
