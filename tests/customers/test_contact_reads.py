"""customers.services.contact_reads: a page's relations in one statement, as
the ORM reads them (in the models' order)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientbase.customers.models import Address, Contact, CustomerGroup, Organization
from clientbase.customers.services.contact_reads import relations_of

FIELDS = ("id", "name", "line1", "city", "country", "is_default_shipping", "is_default_billing")


def test_relations_answer_what_the_orm_reads_in_its_order_in_one_statement(world):
    # given: contacts with several organizations, groups and addresses each,
    # added in an order that is not the models' order, and one with none
    contacts = []
    for n, (orgs, groups) in enumerate([
        (["US-SALES", "ADMIN", "EU-MGMT"], ["SILVER", "CUSTOMERS", "GOLD"]),
        (["EU-HQ"], ["BRONZE"]),
        ([], []),
        (["EU-MGMT", "US-HQ"], ["GOLD", "BRONZE"]),
    ]):
        contact = Contact.objects.create(first_name=f"C{n}", last_name="Reads", key=f"C{n}")
        contact.organizations.set([world[k] for k in orgs])
        contact.customer_groups.set([world[k] for k in groups])
        for name in ["Work", "Home", "Depot"][: 3 - n % 3]:
            Address.objects.create(contact=contact, name=name, line1="a", city="b", country="DE",
                                   is_default_shipping=name == "Home")
        contacts.append(contact)
    ids = [c.pk for c in reversed(contacts)]

    # when
    with CaptureQueriesContext(connection) as queries:
        found = relations_of(ids, address_fields=FIELDS, using="default")

    # then
    assert len(queries.captured_queries) == 1
    assert list(found) == ids
    for contact in contacts:
        relations = found[contact.pk]
        assert relations.organizations == [
            (o.pk, o.path) for o in Organization.objects.filter(contacts=contact)]
        assert relations.customer_groups == list(
            CustomerGroup.objects.filter(contacts=contact).values_list("pk", flat=True))
        assert relations.addresses == list(Address.objects.filter(contact=contact).values(*FIELDS))


def test_no_contacts_read_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert relations_of([], address_fields=FIELDS, using="default") == {}
