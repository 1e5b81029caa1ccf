"""Registers every back-office page with the admin site (Django's admin
autodiscovery imports this module): one module per resource."""

from clientbase.backoffice import (  # noqa: F401
    accounts,
    catalog,
    contacts,
    customer_groups,
    grants,
    imports,
    lockouts,
    marketing,
    organizations,
    prices,
    tokens,
)
