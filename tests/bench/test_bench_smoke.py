"""The benchmark at a tiny scale: its data look like what the models' save()
would write, and the ORM pages it times equal its hand-written SQL pages.
No timing is asserted."""

import pytest

from bench import generate as gen
from bench import measure
from bench.scales import Scale
from clientbase.core.trees import path_for
from clientbase.customers.models import Account, Contact, Organization

TINY = Scale("test", organizations=50, contacts=300, subtree_orgs=12, max_depth=5)


@pytest.fixture
def generated(db):
    return gen.generate(TINY, fast_indexes=False)


def test_generated_organizations_carry_the_paths_and_names_save_would_give(generated):
    orgs = {o.id: o for o in Organization.objects.all()}

    assert len(orgs) == TINY.organizations
    for org in orgs.values():
        parent_path = orgs[org.parent_id].path if org.parent_id else ""
        assert org.path == path_for(org.id, parent_path)
        assert org.depth == org.path.count("/") - 1 < TINY.max_depth
        assert org.search_name == org.name.casefold()


def test_generated_contacts_carry_folded_search_names_and_at_least_one_organization(generated):
    contacts = Contact.objects.prefetch_related("organizations")

    assert contacts.count() == TINY.contacts
    for contact in contacts:
        assert contact.search_first_name == contact.first_name.casefold()
        assert contact.search_last_name == contact.last_name.casefold()
        assert 1 <= len(contact.organizations.all()) <= 2


def test_the_bench_account_sees_exactly_the_contacts_of_the_granted_subtree(generated):
    # given: the subtree computed by walking parents, not by path
    parents = dict(Organization.objects.values_list("id", "parent_id"))

    def under_root(org_id):
        while org_id is not None:
            if org_id == generated.root_id:
                return True
            org_id = parents[org_id]
        return False

    subtree = {org_id for org_id in parents if under_root(org_id)}
    expected = set(Contact.objects.filter(organizations__in=subtree).values_list("id", flat=True))
    account = Account.objects.get(email=generated.account_email)

    # when / then
    assert len(subtree) == TINY.subtree_orgs
    assert set(Contact.objects.visible_to(account).values_list("id", flat=True)) == expected


def test_every_orm_page_equals_the_hand_written_page(generated):
    account = Account.objects.get(email=generated.account_email)
    cases = measure.build_cases(account, generated.root_id, generated.root_path, "s")

    results = measure.run(cases, repetitions=2, warmup=0)  # asserts ORM == SQL per case

    by_name = {r.name: r for r in results}
    assert by_name["list page 1"].rows == measure.PAGE
    assert by_name["search q='s' page 1"].rows > 0
    assert by_name["search q='s' page 1, plain"].rows > 0
    assert all(len(r.orm_ms) == 2 for r in results)


def test_the_hand_written_pages_follow_the_api_order_and_cursor(generated):
    account = Account.objects.get(email=generated.account_email)
    sql = measure.HandWritten()
    visible = list(Contact.objects.visible_to(account).order_by(*measure.ORDERING)
                   .values_list("id", "search_last_name", "search_first_name"))
    last = visible[measure.PAGE - 1]

    first_page = sql.page(generated.root_path)
    second_page = sql.page(generated.root_path, after=(last[1], last[2], str(last[0])))

    assert first_page == [v[0] for v in visible[: measure.PAGE]]
    assert second_page == [v[0] for v in visible[measure.PAGE: 2 * measure.PAGE]]
    assert sql.page_by_cte(generated.root_id) == first_page


def test_late_rows_pages_walk_the_same_contacts_as_plain_pages(generated):
    from clientbase.core.pagination import Keyset

    account = Account.objects.get(email=generated.account_email)

    def walk(late_rows: bool) -> list:
        seen, cursor = [], None
        while True:
            page = Keyset(*measure.ORDERING, late_rows=late_rows).page(
                measure.api_queryset(account, "s"), limit=7, cursor=cursor)
            seen, cursor = seen + [c.pk for c in page.items], page.next_cursor
            if cursor is None:
                return seen

    assert walk(late_rows=True) == walk(late_rows=False) != []
