"""Bump the customers domain's cache versions (customers.cache_names) when
what they name changes: after every save, delete and membership change of
a row, whichever door or service made it, and after every batch of rows
written in bulk (core.batches.rows_written: contact imports, membership
batches, the GDPR erasure's tokens).

Every bump waits for the transaction's commit (core.caching.bump).
"""

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from clientbase.core.batches import rows_written
from clientbase.core.caching import bump
from clientbase.customers.cache_names import ROLES, TREES, account_version, contact_version, token_version
from clientbase.customers.models import Account, ApiToken, Contact, CustomerGroup, Grant, Organization

CHANGING = {"post_add", "post_remove", "post_clear", "pre_clear"}


def _account_saved(sender, instance: Account, **kwargs) -> None:
    bump(account_version(instance.pk))


def _token_saved(sender, instance: ApiToken, **kwargs) -> None:
    bump(token_version(instance.token_hash))


def _role_changed(sender, instance: Group, created: bool = False, **kwargs) -> None:
    if not created:  # a new role has no members yet
        bump(ROLES)


def _grant_holder(grant: Grant) -> str | None:
    if grant.account_id:
        return account_version(grant.account_id)
    return ROLES if grant.role_id else None


def _grant_before(sender, instance: Grant, **kwargs) -> None:
    # An update may hand the grant to someone else: the old holder loses it.
    if not instance._state.adding:
        old = Grant.objects.filter(pk=instance.pk).values("account_id", "role_id").first()
        if old:
            instance._cache_old_holder = _grant_holder(Grant(**old))


def _grant_changed(sender, instance: Grant, **kwargs) -> None:
    bump(*filter(None, (_grant_holder(instance), getattr(instance, "_cache_old_holder", None))))


def _tree_changed(sender, instance, created: bool = False, **kwargs) -> None:
    # A new node has no members, grants or groups yet: nobody's answer changes.
    if not created:
        bump(TREES)


def _contact_changed(sender, instance: Contact, created: bool = False, **kwargs) -> None:
    if not created:
        bump(contact_version(instance.pk))


def _contacts_written(sender, rows, fields=None, **kwargs) -> None:
    # A batch of contacts updated in bulk (their fields, or their memberships:
    # each moves on a version); new ones, as created above, change no answer.
    if fields is not None:
        bump(*(contact_version(contact.pk) for contact in rows))


def _tokens_written(sender, rows, **kwargs) -> None:
    # Tokens written in bulk (the GDPR erasure revokes an account's so): each
    # stops, or changes, at once, as after its save.
    bump(*(token_version(token.token_hash) for token in rows))


def _membership_receiver(version, member: str):
    """An m2m_changed receiver that bumps `version(id)` for every row of
    the `member` column (contact_id, account_id) whose links changed, from
    either side of the relation."""

    def receiver(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
        if action not in CHANGING:
            return
        if not reverse:
            ids = [instance.pk]
        elif pk_set:
            ids = pk_set
        else:  # cleared from the other side: who was linked is known at pre_clear only
            other = next(f.attname for f in sender._meta.concrete_fields
                         if f.is_relation and f.attname != member)
            ids = sender.objects.filter(**{other: instance.pk}).values_list(member, flat=True)
        bump(*(version(pk) for pk in ids))

    return receiver


def _role_permissions(sender, action: str, **kwargs) -> None:
    if action in CHANGING:
        bump(ROLES)


def connect() -> None:
    uid = "clientbase.cache."
    for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(_account_saved, sender=Account, dispatch_uid=f"{uid}account.{name}")
        signal.connect(_token_saved, sender=ApiToken, dispatch_uid=f"{uid}token.{name}")
        signal.connect(_role_changed, sender=Group, dispatch_uid=f"{uid}role.{name}")
        signal.connect(_grant_changed, sender=Grant, dispatch_uid=f"{uid}grant.{name}")
        signal.connect(_tree_changed, sender=Organization, dispatch_uid=f"{uid}organization.{name}")
        signal.connect(_tree_changed, sender=CustomerGroup, dispatch_uid=f"{uid}group.{name}")
        signal.connect(_contact_changed, sender=Contact, dispatch_uid=f"{uid}contact.{name}")
    pre_save.connect(_grant_before, sender=Grant, dispatch_uid=f"{uid}grant.before")
    rows_written.connect(_contacts_written, sender=Contact, dispatch_uid=f"{uid}contact.rows")
    rows_written.connect(_tokens_written, sender=ApiToken, dispatch_uid=f"{uid}token.rows")
    contact_links = _membership_receiver(contact_version, "contact_id")
    for through in (Contact.organizations.through, Contact.customer_groups.through):
        m2m_changed.connect(contact_links, sender=through, weak=False, dispatch_uid=f"{uid}{through.__name__}")
    m2m_changed.connect(_tree_changed_m2m, sender=Organization.customer_groups.through,
                        dispatch_uid=f"{uid}organization.groups")
    m2m_changed.connect(_membership_receiver(account_version, "account_id"), sender=Account.groups.through,
                        weak=False, dispatch_uid=f"{uid}account.roles")
    m2m_changed.connect(_role_permissions, sender=Group.permissions.through, dispatch_uid=f"{uid}role.perms")


def _tree_changed_m2m(sender, action: str, **kwargs) -> None:
    if action in CHANGING:
        bump(TREES)
