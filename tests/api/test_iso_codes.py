"""Contacts and markets check countries (ISO 3166-1 alpha-2) and currencies
(ISO 4217) against the same lists, core.countries and core.currencies."""

import pytest

from clientbase.core.countries import is_country
from clientbase.core.currencies import is_currency

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "Hauptstr. 1", "city": "Berlin"}


def field_errors(response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


@pytest.mark.parametrize("code", ["DE", "GB", "JP", "UK", "EU", "XX", "QQ"])
def test_a_contact_s_address_and_a_market_take_the_same_countries(admin_api, world, code):
    # when
    contact = admin_api.post("/contacts", {"last_name": "Iso", "addresses": [{**ADDRESS, "country": code}]})
    market = admin_api.post("/markets", {"key": f"M-{code}", "name": code, "countries": [code],
                                         "currencies": ["EUR"]})
    # then
    if is_country(code):
        assert (contact.status_code, market.status_code) == (201, 201)
    else:
        assert (contact.status_code, market.status_code) == (422, 422)
        assert field_errors(contact) == ["addresses.0.country"]
        assert field_errors(market) == ["countries"]


@pytest.mark.parametrize("code", ["EUR", "JPY", "CHF", "ABC", "DEM", "XYZ"])
def test_a_contact_s_preferred_currency_and_a_market_take_the_same_currencies(admin_api, world, code):
    contact = admin_api.post("/contacts", {"last_name": "Iso", "preferred_currency": code})
    market = admin_api.post("/markets", {"key": f"M-{code}", "name": code, "currencies": [code]})
    if is_currency(code):
        assert (contact.status_code, market.status_code) == (201, 201)
    else:
        assert (contact.status_code, market.status_code) == (422, 422)
        assert field_errors(contact) == ["preferred_currency"]
        assert field_errors(market) == ["currencies"]


def test_a_change_is_checked_against_the_lists_too(admin_api, world):
    # given
    contact = admin_api.post("/contacts", {"last_name": "Iso"}).json()
    admin_api.post("/markets", {"key": "EU", "name": "Europe", "countries": ["DE"], "currencies": ["EUR"]})
    # when
    currency = admin_api.patch(f"/contacts/{contact['id']}", {"preferred_currency": "XYZ"})
    country = admin_api.patch(f"/contacts/{contact['id']}", {"addresses": [{**ADDRESS, "country": "UK"}]})
    market = admin_api.patch("/markets/EU", {"countries": ["DE", "UK"]})
    # then
    assert (currency.status_code, field_errors(currency)) == (422, ["preferred_currency"])
    assert (country.status_code, field_errors(country)) == (422, ["addresses.0.country"])
    assert (market.status_code, field_errors(market)) == (422, ["countries"])
    assert admin_api.get("/markets/EU").json()["countries"] == ["DE"]
