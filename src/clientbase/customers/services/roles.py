"""The roles every installation has, and what each may do."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from clientbase.customers.models import Role

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
    ],
    Role.CATALOG_MANAGERS: [
        "customers.access_backoffice",
        "customers.view_customergroup",
    ],
    Role.MARKETING_MANAGERS: [
        "customers.access_backoffice",
        "customers.view_contact", "customers.view_organization",
        "customers.view_customergroup", "customers.add_customergroup",
        "customers.change_customergroup",
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

    A role gets its default permissions when it is created; Administrators
    also gain every permission that a later migration adds. Permissions staff
    took away from the other roles are not given back.
    """
    for name, perms in DEFAULT_PERMISSIONS.items():
        role, created = Group.objects.get_or_create(name=name)
        if created:
            role.permissions.set(_permissions(perms))
    admins, _ = Group.objects.get_or_create(name=Role.ADMINISTRATORS)
    admins.permissions.set(Permission.objects.all())
