"""The entities a file may hold, by the name the commands use."""

from clientbase.transfer.contacts import ContactsEntity
from clientbase.transfer.organizations import OrganizationsEntity

IMPORTS = {
    "contacts": ContactsEntity,
    "organizations": OrganizationsEntity,
}
