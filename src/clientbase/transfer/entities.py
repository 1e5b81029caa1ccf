"""The entities a file may hold, by the name the commands use."""

from clientbase.transfer.contacts import ContactsEntity
from clientbase.transfer.customer_groups import CustomerGroupsEntity
from clientbase.transfer.memberships import MembershipsEntity
from clientbase.transfer.organizations import OrganizationsEntity
from clientbase.transfer.prices import PricesEntity

IMPORTS = {
    "contacts": ContactsEntity,
    "organizations": OrganizationsEntity,
    "customer-groups": CustomerGroupsEntity,
    "memberships": MembershipsEntity,
    "prices": PricesEntity,
}
