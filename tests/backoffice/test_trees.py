"""Organizations and customer groups in the back office: tree order, moves
through the service, cycles and non-empty deletes refused with a message."""

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from clientbase.customers.models import CustomerGroup, Organization


def org(key: str) -> Organization:
    return Organization.objects.get(key=key)


def move_url(organization: Organization) -> str:
    return reverse("admin:customers_organization_move", args=[organization.pk])


def test_the_organization_list_is_in_tree_order_and_indented(login, world):
    response = login("admin").get(reverse("admin:customers_organization_changelist"))
    listed = list(response.context["cl"].result_list)
    assert [o.key for o in listed] == sorted((o.key for o in listed),
                                             key=lambda k: org(k).path)
    body = response.content.decode()
    assert "\u2003\u2003└ EU Management" in body


def test_moving_an_organization_under_its_descendant_shows_an_error_and_changes_nothing(
        login, world):
    # given
    before = {o.key: (o.parent_id, o.path) for o in Organization.objects.all()}
    # when
    response = login("admin").post(move_url(world["ADMIN"]), {"parent": world["EU-MGMT"].pk})
    # then
    assert response.status_code == 200
    assert "descendants" in " ".join(response.context["form"].errors["parent"])
    assert {o.key: (o.parent_id, o.path) for o in Organization.objects.all()} == before


def test_moving_an_organization_moves_its_subtree(login, world):
    # when
    response = login("admin").post(move_url(world["EU-HQ"]), {"parent": world["US-HQ"].pk})
    # then
    assert response.status_code == 302
    assert org("EU-HQ").parent_id == world["US-HQ"].pk
    assert org("EU-MGMT").path.startswith(org("US-HQ").path)
    assert org("EU-MGMT").depth == 2


def test_moving_to_the_top_level_makes_a_root(login, world):
    login("admin").post(move_url(world["EU-HQ"]), {"parent": ""})
    assert org("EU-HQ").parent_id is None
    assert org("EU-HQ").depth == 0


def test_the_move_page_offers_only_managed_organizations(login, world, accounts):
    # given the representative may also change organizations (its role may not)
    accounts["csr"].user_permissions.add(
        Permission.objects.get(codename="change_organization"))
    # when
    response = login("csr").get(move_url(world["EU-MGMT"]))
    # then
    assert response.status_code == 200
    choices = {o.key for o in response.context["form"].fields["parent"].queryset}
    assert choices == {"EU-HQ", "EU-MGMT"}


def test_a_representative_without_change_permission_cannot_move(login, world):
    assert login("csr").post(move_url(world["EU-MGMT"]), {"parent": ""}).status_code == 403
    assert org("EU-MGMT").parent_id == world["EU-HQ"].pk


def test_a_representative_cannot_move_an_organization_it_does_not_see(login, world):
    assert login("csr").post(move_url(world["US-SALES"]), {"parent": ""}).status_code == 404
    assert org("US-SALES").parent_id == world["US-HQ"].pk


def test_creating_an_organization_under_another_places_it_in_the_tree(login, world):
    response = login("admin").post(reverse("admin:customers_organization_add"), {
        "name": "EU Sales", "key": "EU-SALES", "kind": "unit", "parent": world["EU-HQ"].pk,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = org("EU-SALES")
    assert created.parent_id == world["EU-HQ"].pk
    assert created.path.startswith(world["EU-HQ"].path)
    assert created.history.latest("history_date").history_user.email == "admin@example.com"


def test_changing_an_organization_saves_through_the_service(login, world):
    eu_hq = world["EU-HQ"]
    response = login("admin").post(
        reverse("admin:customers_organization_change", args=[eu_hq.pk]),
        {"name": "Europe HQ", "key": "EU-HQ", "kind": "organization",
         "customer_groups": [world["GOLD"].pk]})
    assert response.status_code == 302, response.context["adminform"].form.errors
    eu_hq = org("EU-HQ")
    assert eu_hq.name == "Europe HQ"
    assert eu_hq.search_name == "europe hq"
    assert eu_hq.version == 2
    assert list(eu_hq.customer_groups.values_list("key", flat=True)) == ["GOLD"]


def test_deleting_an_organization_with_contacts_shows_the_error(login, world, people):
    # given EU Management has Ann
    eu_mgmt = world["EU-MGMT"]
    # when
    response = login("admin").post(
        reverse("admin:customers_organization_delete", args=[eu_mgmt.pk]), {"post": "yes"})
    # then
    assert response.status_code == 302
    assert Organization.objects.filter(pk=eu_mgmt.pk).exists()
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("1 contact(s)" in m for m in messages), messages


def test_deleting_an_organization_with_children_is_refused(login, world):
    response = login("admin").post(
        reverse("admin:customers_organization_delete", args=[world["US-HQ"].pk]), {"post": "yes"})
    # the confirmation page counts the children that block the delete,
    # without naming them (the caller may not see them)
    assert response.status_code == 200
    assert response.context["protected"] == [
        "1 child organization(s): move or delete them first"]
    assert Organization.objects.filter(key="US-HQ").exists()


def test_deleting_an_empty_organization_works(login, world):
    response = login("admin").post(
        reverse("admin:customers_organization_delete", args=[world["US-SALES"].pk]),
        {"post": "yes"})
    assert response.status_code == 302
    assert not Organization.objects.filter(key="US-SALES").exists()


def test_moving_a_customer_group_under_its_child_is_a_form_error(login, world):
    customers = world["CUSTOMERS"]
    response = login("admin").post(
        reverse("admin:customers_customergroup_change", args=[customers.pk]),
        {"name": "Customers", "key": "CUSTOMERS", "parent": world["GOLD"].pk, "description": ""})
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert CustomerGroup.objects.get(key="CUSTOMERS").parent_id is None


def test_moving_a_customer_group_rewrites_its_path(login, world):
    # given Platinum under Gold
    platinum = CustomerGroup.objects.create(key="PLATINUM", name="Platinum", parent=world["GOLD"])
    # when Platinum moves under Silver
    response = login("admin").post(
        reverse("admin:customers_customergroup_change", args=[platinum.pk]),
        {"name": "Platinum", "key": "PLATINUM", "parent": world["SILVER"].pk, "description": ""})
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    platinum.refresh_from_db()
    assert platinum.parent_id == world["SILVER"].pk
    assert platinum.path.startswith(world["SILVER"].path)


def test_deleting_a_customer_group_with_children_shows_the_error(login, world):
    response = login("admin").post(
        reverse("admin:customers_customergroup_delete", args=[world["CUSTOMERS"].pk]),
        {"post": "yes"})
    assert response.status_code == 200
    assert response.context["protected"] == [
        "3 child customer group(s): move or delete them first"]
    assert CustomerGroup.objects.filter(key="CUSTOMERS").exists()
