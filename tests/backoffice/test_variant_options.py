"""Issue 10, item 6: a variant's options edited as named fields (rows of
name and value), checked with form errors; stored (and served by the API) as
the same JSON object."""

import pytest
from django.test import Client
from django.urls import reverse

from clientbase.catalog.models import Variant
from clientbase.customers.models import Role
from tests.conftest import make_account
from tests.pricing.conftest import catalog  # noqa: F401 - fixture


@pytest.fixture
def manager(accounts) -> Client:
    client = Client()
    client.force_login(make_account("catalog@example.com", Role.CATALOG_MANAGERS))
    return client


def add_variant(client, catalog, names, values):
    return client.post(reverse("admin:catalog_variant_add"), {
        "sku": "TS-XL", "product": str(catalog["TSHIRT"].pk), "name": "XL",
        "options__name": names, "options__value": values, "is_active": "on"})


def test_options_typed_as_rows_are_stored_as_the_json_object(manager, catalog, admin_api):
    response = add_variant(manager, catalog, ["size", "colour", ""], ["XL", " red ", ""])
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Variant.objects.get(sku="TS-XL").options == {"size": "XL", "colour": "red"}
    # the API keeps its shape
    assert admin_api.get("/variants/TS-XL").json()["options"] == {"size": "XL", "colour": "red"}


@pytest.mark.parametrize("names, values, message", [
    (["size", "Size"], ["M", "L"], "appears twice"),
    (["", "colour"], ["M", "red"], "needs an option name"),
    (["size"], [""], "needs a value"),
    (["x" * 51], ["M"], "at most 50 characters"),
    (["size"], ["M" * 201], "at most 200 characters"),
])
def test_bad_rows_are_form_errors_and_change_nothing(manager, catalog, names, values, message):
    response = add_variant(manager, catalog, names, values)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["options"])
    assert not Variant.objects.filter(sku="TS-XL").exists()
    # the rows come back as typed
    assert f'value="{values[-1]}"' in response.content.decode() or not values[-1]


def test_the_change_page_shows_each_option_as_a_named_field(manager, catalog):
    variant = catalog["TS-M"]
    variant.options = {"size": "M", "colour": "blue"}
    variant.save()
    body = manager.get(reverse("admin:catalog_variant_change", args=[variant.pk])).content.decode()
    assert 'name="options__name" value="colour"' in body.replace("\n", " ")
    assert 'value="blue"' in body and "Add option" in body
    assert "{&quot;size&quot;" not in body  # no raw JSON


def test_an_unchanged_numeric_option_is_not_rewritten(manager, catalog):
    variant = catalog["TS-M"]
    variant.options = {"size": 42}
    variant.save()
    version = Variant.objects.get(pk=variant.pk).version
    response = manager.post(reverse("admin:catalog_variant_change", args=[variant.pk]), {
        "sku": "TS-M", "product": str(variant.product_id), "name": "Renamed",
        "options__name": ["size"], "options__value": ["42"], "is_active": "on",
        "expected_version": str(version)})
    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.options == {"size": 42} and variant.name == "Renamed"


def test_the_product_page_takes_each_variants_options_as_rows(manager, catalog):
    response = manager.post(reverse("admin:catalog_product_add"), {
        "name": "Mug", "key": "MUG", "description": "",
        "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000",
        "variants-0-sku": "MUG-W", "variants-0-name": "Mug white",
        "variants-0-options__name": ["colour", "volume"], "variants-0-options__value": ["white", "300 ml"],
    })
    assert response.status_code == 302, response.context["errors"]
    assert Variant.objects.get(sku="MUG-W").options == {"colour": "white", "volume": "300 ml"}
