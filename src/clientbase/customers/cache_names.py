"""The names of the customers domain's cache versions (core.caching).

Each names what an entry was read from; customers.signals (and the batch
writes that bypass signals) bump them after a change commits.
"""

# Any move, deletion, key change or group assignment in the organization
# tree or the customer-group tree: whose effective groups follow from them
# (and which paths a grant covers) can only be told by reading the trees.
TREES = "trees"
# Any change to a role (its name, its permissions, its grants): every
# account holds Everyone and most hold Registered, so one generation for all
# roles costs next to nothing over one per role.
ROLES = "roles"


def account_version(account_id) -> str:
    """An account's row (active, superuser, e-mail, contact), its roles and
    its own grants."""
    return f"account:{account_id}"


def token_version(token_hash: str) -> str:
    """One API token: issued, revoked, expired by a change."""
    return f"token:{token_hash}"


def contact_version(contact_id) -> str:
    """A contact's row (its key is its customer sale code), its
    organizations and its own customer groups."""
    return f"contact:{contact_id}"
