"""The cart and checkout pages through Django's test client: adding from a
product page, the signed cart cookie, changing lines, guest and shopper
checkout, the confirmation page, and every form's error path."""

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client

from clientbase.customers.models import Account, Address, Contact
from clientbase.shopping import cookie
from clientbase.shopping.models import Cart, CartLine, Order
from tests.storefront.conftest import ADDRESS, add, checkout_data


def text(response) -> str:
    return response.content.decode()


def test_the_product_page_has_an_add_to_cart_form_with_csrf_for_priced_variants_only(priced_shop, client):
    page = text(client.get("/products/TSHIRT/"))
    assert page.count('data-role="add-to-cart"') == 2  # TS-S and TS-M; TS-L has no price
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="quantity"' in page and f'max="{settings.CART_MAX_QUANTITY}"' in page


def test_a_visitor_adds_to_a_cart_kept_server_side_behind_a_signed_cookie(priced_shop, client):
    # when
    response = add(client, "TS-M", "2", next="/products/TSHIRT/")

    # then: back on the product page, with a message and the count
    assert response.redirect_chain[-1][0] == "/products/TSHIRT/"
    page = text(response)
    assert "Added 2 × T-shirt M to your cart." in page
    assert 'id="cart-count"' in page and ">2</span>" in page
    raw = client.cookies[settings.CART_COOKIE_NAME]
    assert raw["httponly"] and raw["samesite"] == "Lax"
    cart = Cart.objects.get()
    assert raw.value != str(cart.pk) and raw.value.startswith(f"{cart.pk}:")  # signed, not bare
    assert cart.account is None and cart.lines.get().quantity == 2


def test_the_cart_page_prices_each_line_at_its_quantity(priced_shop, client):
    add(client, "TS-M", "10")
    add(client, "TS-S", "1")
    page = text(client.get("/cart/"))
    assert "18.00 EUR" in page and "180.00 EUR" in page  # the break from 10
    assert "20.00 EUR" in page
    assert 'id="cart-total">200.00 EUR' in page
    assert "Price for all customers from 10" in page


@pytest.mark.parametrize("sku, quantity, message", [
    ("NOPE", "1", "There is no product with the SKU NOPE."),
    ("TS-L", "1", "has no price for you"),
    ("TS-M", "0", "Enter a quantity from 1 to"),
    ("TS-M", "-3", "Enter a quantity from 1 to"),
    ("TS-M", "1.5", "Enter a whole number."),
    ("TS-M", "abc", "Enter a whole number."),
    ("TS-M", str(10**6), "Enter a quantity from 1 to"),
])
def test_a_refused_add_says_why_and_adds_nothing(priced_shop, client, sku, quantity, message):
    response = add(client, sku, quantity)
    assert response.status_code == 200
    assert "Nothing was added" in text(response) and message in text(response)
    assert not CartLine.objects.exists()
    assert not Cart.objects.exists()  # no empty cart made for a refused first add
    assert settings.CART_COOKIE_NAME not in client.cookies or not client.cookies[settings.CART_COOKIE_NAME].value


def test_an_inactive_product_cannot_be_added(priced_shop, client):
    priced_shop["TSHIRT"].is_active = False
    priced_shop["TSHIRT"].save()
    response = add(client, "TS-M")
    assert "is not on sale" in text(response)
    assert not CartLine.objects.exists()


def test_adding_beyond_the_maximum_is_refused(priced_shop, client, settings):
    settings.CART_MAX_QUANTITY = 5
    add(client, "TS-M", "4")
    response = add(client, "TS-M", "2")
    assert "At most 5 of one item per cart" in text(response)
    assert CartLine.objects.get().quantity == 4


def test_a_tampered_cookie_finds_no_cart(priced_shop, client):
    add(client, "TS-M")
    cart = Cart.objects.get()
    other = Client()
    other.cookies[settings.CART_COOKIE_NAME] = str(cart.pk)  # the bare id, unsigned
    page = text(other.get("/cart/"))
    assert 'id="cart-empty"' in page


def test_the_cookie_contract_is_the_shopping_domains(priced_shop, client):
    # The API reads the same cookie: name from settings, the shopping domain's salt.
    add(client, "TS-M")
    request = HttpRequest()
    request.COOKIES[settings.CART_COOKIE_NAME] = client.cookies[settings.CART_COOKIE_NAME].value
    assert cookie.cart_id_from(request) == str(Cart.objects.get().pk)


def test_updating_and_removing_lines(priced_shop, client):
    add(client, "TS-M", "2")
    add(client, "TS-S", "1")
    page = text(client.post("/cart/lines/TS-M/", {"quantity": "12"}, follow=True))
    assert "Updated TS-M to 12." in page and "216.00 EUR" in page
    page = text(client.post("/cart/lines/TS-S/remove/", follow=True))
    assert "Removed TS-S." in page
    page = text(client.post("/cart/lines/TS-M/", {"quantity": "0"}, follow=True))
    assert 'id="cart-empty"' in page
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("quantity, message", [("-1", "Enter a quantity from 0 to"), ("x", "Enter a whole number.")])
def test_a_bad_new_quantity_changes_nothing(priced_shop, client, quantity, message):
    add(client, "TS-M", "2")
    page = text(client.post("/cart/lines/TS-M/", {"quantity": quantity}, follow=True))
    assert "Nothing was changed" in page and message in page
    assert CartLine.objects.get().quantity == 2


def test_changing_a_line_the_cart_does_not_hold_is_a_message(priced_shop, client):
    add(client, "TS-M", "2")
    page = text(client.post("/cart/lines/TS-S/", {"quantity": "3"}, follow=True))
    assert "The cart holds no TS-S." in page
    page = text(Client().post("/cart/lines/TS-S/remove/", follow=True))
    assert "Your cart is empty." in page


def test_cart_forms_need_the_csrf_token(priced_shop):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/cart/add/", {"sku": "TS-M", "quantity": "1"}).status_code == 403
    assert client.post("/checkout/", checkout_data()).status_code == 403
    assert not CartLine.objects.exists()


def test_a_guest_checks_out_and_sees_the_confirmation(priced_shop, client):
    # given
    add(client, "TS-M", "10")
    contacts, accounts = Contact.objects.count(), Account.objects.count()

    # when
    response = client.post("/checkout/", checkout_data(email=" Guest@Example.com "), follow=True)

    # then
    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == f"/checkout/done/{order.number}/"
    page = text(response)
    assert order.number in page and "Thank you for your order" in page
    assert "Price for all customers from 10" in page and "180.00 EUR" in page
    assert order.email == "guest@example.com" and order.account is None and order.contact is None
    assert order.shipping_address == ADDRESS == order.billing_address
    assert (Contact.objects.count(), Account.objects.count()) == (contacts, accounts)
    assert not CartLine.objects.exists()
    # another browser cannot open the confirmation
    assert Client().get(f"/checkout/done/{order.number}/").status_code == 404


def test_a_guest_gives_a_different_billing_address(priced_shop, client):
    add(client, "TS-M")
    billing = {f"billing-{k}": v for k, v in {**ADDRESS, "city": "Paris", "country": "FR"}.items()}
    client.post("/checkout/", checkout_data(same=False, **billing))
    order = Order.objects.get()
    assert order.billing_address["city"] == "Paris" and order.shipping_address["city"] == "Berlin"


@pytest.mark.parametrize("changes, field_message", [
    ({"email": ""}, "This field is required."),
    ({"email": "not-an-email"}, "Enter a valid email address."),
    ({"shipping-city": ""}, "This field is required."),
    ({"shipping-country": "XX"}, "Select a valid choice."),
    ({"shipping-line1": "a\u202eb"}, "invisible"),
    ({"shipping-line1": "x" * 201}, "at most 200 characters"),
])
def test_a_bad_checkout_form_is_a_form_error_and_no_order(priced_shop, client, changes, field_message):
    add(client, "TS-M")
    response = client.post("/checkout/", checkout_data(**changes))
    assert response.status_code == 400
    assert field_message.lower() in text(response).lower()
    assert not Order.objects.exists()
    assert CartLine.objects.count() == 1


def test_billing_fields_are_required_when_billing_differs(priced_shop, client):
    add(client, "TS-M")
    response = client.post("/checkout/", checkout_data(same=False))
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_checking_out_an_item_no_longer_on_sale_is_a_form_error(priced_shop, client):
    add(client, "TS-M")
    priced_shop["TS-M"].is_active = False
    priced_shop["TS-M"].save()
    response = client.post("/checkout/", checkout_data())
    assert response.status_code == 400
    assert "Some items cannot be ordered" in text(response)
    assert not Order.objects.exists()


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(priced_shop, client):
    response = client.get("/checkout/", follow=True)
    assert response.redirect_chain[-1][0] == "/cart/"
    assert "Your cart is empty: add something before checking out." in text(response)


def test_a_shopper_checks_out_from_its_default_addresses_at_its_prices(priced_shop, gold_client, gold_shopper):
    # given: a default shipping and a default billing address
    contact = gold_shopper.contact
    Address.objects.create(contact=contact, line1="Ship St 1", city="Hamburg", country="DE",
                           is_default_shipping=True)
    Address.objects.create(contact=contact, line1="Bill St 2", city="Lyon", country="FR",
                           is_default_billing=True)
    add(gold_client, "TS-M", "2")

    # when: the form starts from them
    page = text(gold_client.get("/checkout/"))

    # then
    assert 'value="Ship St 1"' in page and 'value="Bill St 2"' in page
    assert 'name="email"' not in page
    data = {f"shipping-{k}": v for k, v in {**ADDRESS, "line1": "Ship St 1"}.items()}
    data.update({f"billing-{k}": v for k, v in {**ADDRESS, "line1": "Bill St 2", "country": "FR"}.items()})
    response = gold_client.post("/checkout/", data, follow=True)
    order = Order.objects.get()
    assert order.account == gold_shopper and order.contact == contact and order.email == "gold@example.com"
    assert order.billing_address["line1"] == "Bill St 2"
    assert "Gold price" in text(response) and "30.00 EUR" in text(response)


def test_choosing_another_market_moves_the_cart_there(priced_shop, price, client):
    price("TS-M", "22.00", market="US")
    add(client, "TS-M", "2")
    client.post("/market/", {"storefront": "US:USD", "next": "/cart/"})
    page = text(client.get("/cart/"))
    assert 'id="cart-total">44.00 USD' in page
    assert Cart.objects.get().currency == "USD"


def test_the_cart_page_costs_the_same_queries_however_many_lines(priced_shop, price, client,
                                                                steady_unshared_caches):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add(client, "TS-M", "1")
    with CaptureQueriesContext(connection) as one_line:
        client.get("/cart/")
    price("TS-L", "30.00")
    add(client, "TS-S", "1")
    add(client, "TS-L", "1")
    with CaptureQueriesContext(connection) as three_lines:
        assert "TS-L" in text(client.get("/cart/"))
    assert len(three_lines) == len(one_line)
