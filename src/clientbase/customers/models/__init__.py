"""Who the shop's customers are and how they are organised.

Split by concept: accounts (log-in, roles, tokens), contacts (people and their
addresses), organizations (the tree and its grants) and customer groups.
"""

from clientbase.customers.models.accounts import Account, ApiToken, Role, RoleVersion
from clientbase.customers.models.contacts import Address, Contact, ContactSource
from clientbase.customers.models.groups import CustomerGroup
from clientbase.customers.models.organizations import Grant, Organization, OrganizationKind
from clientbase.customers.models.throttles import Attempt
from clientbase.customers.models.visibility import GrantLevel

__all__ = [
    "Account",
    "Address",
    "ApiToken",
    "Attempt",
    "Contact",
    "ContactSource",
    "CustomerGroup",
    "Grant",
    "GrantLevel",
    "Organization",
    "OrganizationKind",
    "Role",
    "RoleVersion",
]
