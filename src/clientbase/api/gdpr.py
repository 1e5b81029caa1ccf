"""/api/v1/contacts/{ident}/personal-data and /erase: GDPR export and
erasure of one contact (transfer.gdpr; docs/gdpr.md)."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Router

from clientbase.api.common import IdOrKey, by_id_or_key, require_perm
from clientbase.core.errors import NotFound
from clientbase.customers.models import Contact
from clientbase.transfer import gdpr

router = Router(tags=["contacts"])


def _contact(request: HttpRequest, ident: str, permission: str) -> Contact:
    # The permission first: a caller without it learns nothing of which contacts exist.
    require_perm(request, "customers.view_contact", permission)
    if "\x00" in ident:
        raise NotFound(detail="No such contact.", code="not_found")
    return by_id_or_key(Contact.objects.visible_to(request.user), ident, label="contact")


@router.get("/{ident}/personal-data", response=dict[str, Any],
            summary="Everything held about a contact (GDPR export), as one JSON document")
def contact_personal_data(request: HttpRequest, ident: IdOrKey):
    contact = _contact(request, ident, gdpr.EXPORT_PERMISSION)
    return gdpr.personal_data(contact, actor=request.user)


@router.post("/{ident}/erase", response=gdpr.Erasure,
             summary="Erase a contact's personal data (GDPR); irreversible, orders are kept anonymised")
def erase_contact(request: HttpRequest, ident: IdOrKey):
    contact = _contact(request, ident, gdpr.ERASE_PERMISSION)
    with transaction.atomic():
        erasure = gdpr.erase_contact(contact, actor=request.user)
    return erasure
