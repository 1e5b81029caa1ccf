"""The back office for customers (Django admin, themed by django-unfold).

Every ModelAdmin here reads through the models' `visible_to` scopes (see
`base.ScopedMixin`); importing the submodules registers them.
"""

from clientbase.customers.admin import (  # noqa: F401
    accounts,
    contacts,
    grants,
    groups,
    organizations,
    tokens,
)
