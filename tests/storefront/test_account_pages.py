"""Registration, log-in with the cart merge, log-out, e-mail verification,
password reset and change, and My account (profile, addresses, orders)
through Django's test client, with every form's error path."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from clientbase.customers.models import Account, Address, Contact, Role
from clientbase.shopping.models import Cart, Order
from clientbase.shopping.services import carts
from tests.conftest import make_account
from tests.customers.test_session_principals import queries_of
from tests.storefront.conftest import ADDRESS, add, checkout_data

PASSWORD = "Secret-pass-123"
NEW_PASSWORD = "Another-good-pass-456"
REGISTRATION = {"first_name": "Rita", "last_name": "Register", "email": "rita@example.com",
                "password": "Rita-long-pass-987"}


def text(response) -> str:
    return response.content.decode()


def log_in(client, email="gold@example.com", password=PASSWORD, **extra):
    return client.post("/account/login/", {"username": email, "password": password, **extra}, follow=True)


# --- registration ---------------------------------------------------------------


def test_registration_logs_in_keeps_the_cart_and_sends_the_verification_link(priced_shop, client):
    # given: an anonymous cart
    add(client, "TS-M", "3")
    cart = Cart.objects.get()

    # when
    response = client.post("/account/register/", REGISTRATION, follow=True)

    # then: logged in on My account, the contact made from the storefront
    assert response.redirect_chain[-1][0] == "/account/"
    account = Account.objects.get(email="rita@example.com")
    assert account.contact.source == "storefront" and account.contact.first_name == "Rita"
    assert {g.name for g in account.groups.all()} == {Role.EVERYONE, Role.REGISTERED}
    assert response.wsgi_request.user == account
    # the cart is the account's now, the cookie gone
    cart.refresh_from_db()
    assert cart.account == account and cart.lines.get().quantity == 3
    assert client.cookies[settings.CART_COOKIE_NAME].value == ""
    assert ">3</span>" in text(client.get("/cart/"))
    # the mail's link verifies the e-mail
    link = re.search(r"http://testserver(/account/verify/[^/\s]+/)", mail.outbox[-1].body)[1]
    page = text(client.get(link))
    assert "Your e-mail address is confirmed" in page
    account.refresh_from_db()
    assert account.email_verified_at is not None


def test_a_bad_verification_link_says_so(priced_shop, client):
    response = client.get("/account/verify/not-a-token/")
    assert response.status_code == 400
    assert "This link is not valid or has expired" in text(response)


@pytest.mark.parametrize("changes, message", [
    ({"password": "short"}, "This password is too short."),
    ({"password": "12345678901"}, "This password is entirely numeric."),
    ({"password": "rita@example.com"}, "too similar"),
    ({"email": "nope"}, "Enter a valid email address."),
    ({"first_name": ""}, "This field is required."),
    ({"last_name": "a\u200bb"}, "invisible"),
])
def test_a_bad_registration_is_a_form_error(priced_shop, client, changes, message):
    response = client.post("/account/register/", {**REGISTRATION, **changes})
    assert response.status_code == 400
    assert message.lower() in text(response).lower()
    assert not Account.objects.filter(email="rita@example.com").exists()


@pytest.mark.parametrize("spelling", ["GOLD@example.com", "  gold@EXAMPLE.com ", "gold@example.com"])
def test_a_registered_email_in_any_spelling_points_to_log_in_and_reset(priced_shop, client, gold_shopper, spelling):
    contacts = Contact.objects.count()
    response = client.post("/account/register/", {**REGISTRATION, "email": spelling})
    page = text(response)
    assert response.status_code == 400
    assert "is already registered" in page
    assert 'href="/account/login/"' in page and 'href="/account/password/reset/"' in page
    assert Contact.objects.count() == contacts


def test_registrations_are_throttled_per_client_address(priced_shop, client, settings):
    settings.REGISTRATION_RATE = "2/hour"
    for n in range(2):
        Client().post("/account/register/", {**REGISTRATION, "email": f"r{n}@example.com"})
    response = client.post("/account/register/", REGISTRATION)
    assert response.status_code == 429
    assert "Too many attempts from your address" in text(response)
    assert not Account.objects.filter(email="rita@example.com").exists()
    # another address is not affected
    other = Client(REMOTE_ADDR="10.9.9.9").post("/account/register/", REGISTRATION)
    assert other.status_code == 302


# --- log-in, merge, log-out ----------------------------------------------------------


def test_log_in_merges_the_anonymous_cart_by_adding_and_switches_to_the_contacts_prices(
        priced_shop, client, gold_shopper):
    # given: a saved cart with 2 TS-M, an anonymous one with 3 TS-M and 1 TS-S
    saved = carts.cart_for_account(gold_shopper, market=priced_shop["EU"])
    carts.add_line(saved, "TS-M", 2)
    add(client, "TS-M", "3")
    add(client, "TS-S", "1")
    assert "20.00 EUR" in text(client.get("/cart/"))

    # when
    response = log_in(client, next="/cart/")

    # then: back on the cart, quantities added, Gold prices
    assert response.redirect_chain[-1][0] == "/cart/"
    page = text(response)
    assert "You are logged in" in page
    assert "Gold price" in page and "75.00 EUR" in page  # 5 × 15.00
    saved.refresh_from_db()
    assert {line.variant.sku: line.quantity for line in saved.lines.all()} == {"TS-M": 5, "TS-S": 1}
    assert Cart.objects.count() == 1
    assert client.cookies[settings.CART_COOKIE_NAME].value == ""


@pytest.mark.parametrize("policy, expected", [("larger", 3), ("replace", 3), ("add", 5)])
def test_log_in_merges_by_the_configured_policy(priced_shop, client, gold_shopper, settings, policy, expected):
    settings.CART_MERGE_POLICY = policy
    saved = carts.cart_for_account(gold_shopper, market=priced_shop["EU"])
    carts.add_line(saved, "TS-M", 2)
    add(client, "TS-M", "3")
    log_in(client)
    assert saved.lines.get(variant__sku="TS-M").quantity == expected


def test_log_in_rotates_the_session(priced_shop, client, gold_shopper):
    client.post("/market/", {"storefront": "EU:EUR"})  # an anonymous session, holding the choice
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    log_in(client)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before


def test_wrong_password_unknown_email_and_lock_out_answer_alike(priced_shop, gold_shopper, settings):
    settings.AXES_FAILURE_LIMIT = 3
    answers = set()
    client = Client()
    for _ in range(3):
        response = log_in(client, password="wrong-password")
        assert response.status_code == 400
        answers.add(re.search(r'data-role="form-errors">\s*<p>(.*?)</p>', text(response))[1])
    # locked out now: even the right password gets the same answer
    locked = log_in(client)
    answers.add(re.search(r'data-role="form-errors">\s*<p>(.*?)</p>', text(locked))[1])
    unknown = log_in(Client(), email="nobody@example.com")
    answers.add(re.search(r'data-role="form-errors">\s*<p>(.*?)</p>', text(unknown))[1])
    assert len(answers) == 1 and "do not match an account" in answers.pop()
    assert "_auth_user_id" not in client.session


def test_next_never_leaves_the_site(priced_shop, client, gold_shopper):
    response = log_in(client, next="https://evil.example/")
    assert response.redirect_chain[-1][0] == "/account/"


def test_log_out_is_a_post_and_ends_the_session(priced_shop, gold_client):
    assert gold_client.get("/account/logout/").status_code == 405
    response = gold_client.post("/account/logout/", follow=True)
    assert "You are logged out." in text(response)
    assert "Log in" in text(response) and "My account" not in text(response)
    assert gold_client.get("/account/").status_code == 302


def test_the_header_shows_only_the_links_that_fit(priced_shop, client, gold_client):
    anonymous, shopper = text(client.get("/")), text(gold_client.get("/"))
    assert 'href="/account/login/' in anonymous and 'href="/account/register/"' in anonymous
    assert 'href="/account/"' not in anonymous
    assert 'href="/account/"' in shopper and 'action="/account/logout/"' in shopper
    assert 'href="/account/login/' not in shopper


def test_account_forms_need_the_csrf_token(priced_shop, gold_shopper):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/account/login/", {"username": "gold@example.com", "password": PASSWORD}).status_code == 403
    assert client.post("/account/register/", REGISTRATION).status_code == 403
    assert client.post("/account/password/reset/", {"email": "gold@example.com"}).status_code == 403


# --- passwords --------------------------------------------------------------------------


def test_password_reset_answers_alike_and_the_link_sets_a_new_password(priced_shop, client, gold_shopper):
    known = client.post("/account/password/reset/", {"email": " GOLD@example.com"}, follow=True)
    unknown = Client().post("/account/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    assert "Check your mail" in text(known) and "Check your mail" in text(unknown)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["gold@example.com"]
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body)[1]
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 200 and "too short" in text(weak)
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
    assert "Your new password is set" in text(done)
    gold_shopper.refresh_from_db()
    assert gold_shopper.check_password(NEW_PASSWORD)


def test_password_reset_requests_are_throttled(priced_shop, client, gold_shopper, settings):
    settings.PASSWORD_RESET_RATE = "1/hour"
    client.post("/account/password/reset/", {"email": "gold@example.com"})
    response = client.post("/account/password/reset/", {"email": "gold@example.com"})
    assert response.status_code == 429
    assert "Too many attempts from your address" in text(response)
    assert len(mail.outbox) == 1


def test_a_shopper_changes_its_password(priced_shop, gold_client, gold_shopper):
    wrong = gold_client.post("/account/password/", {"old_password": "nope", "password": NEW_PASSWORD})
    assert wrong.status_code == 400 and "Your current password was entered incorrectly." in text(wrong)
    weak = gold_client.post("/account/password/", {"old_password": PASSWORD, "password": "123"})
    assert weak.status_code == 400 and "too short" in text(weak)
    response = gold_client.post("/account/password/", {"old_password": PASSWORD, "password": NEW_PASSWORD},
                                follow=True)
    assert "Your password is changed." in text(response)
    assert gold_client.get("/account/").status_code == 200  # still logged in
    gold_shopper.refresh_from_db()
    assert gold_shopper.check_password(NEW_PASSWORD)


# --- my account -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/", "/account/profile/", "/account/addresses/", "/account/orders/",
                                  "/account/password/", "/account/orders/CB-000001/"])
def test_my_account_pages_send_a_visitor_to_the_storefront_log_in(priced_shop, client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=")


def test_a_shopper_edits_its_profile_by_the_contact_rules(priced_shop, gold_client, gold_shopper):
    bad = gold_client.post("/account/profile/", {"first_name": "Greta", "last_name": "Gold", "phone": "12345"})
    assert bad.status_code == 400 and "E.164" in text(bad)
    response = gold_client.post("/account/profile/", {"first_name": "Greta", "last_name": "Gold",
                                                     "phone": "+4930123456"}, follow=True)
    assert "Your profile is saved." in text(response)
    contact = Contact.objects.get(pk=gold_shopper.contact_id)
    assert (contact.first_name, contact.phone) == ("Greta", "+4930123456")
    assert contact.history.first().history_user == gold_shopper


def test_a_shopper_keeps_addresses_with_one_default_of_each_kind(priced_shop, gold_client, gold_shopper):
    new = {f"new-{k}": v for k, v in ADDRESS.items()}
    gold_client.post("/account/addresses/", {**new, "new-name": "Home", "new-is_default_shipping": "on",
                                             "new-is_default_billing": "on"})
    gold_client.post("/account/addresses/", {**new, "new-name": "Office", "new-city": "Munich",
                                             "new-is_default_billing": "on"})
    home, office = Address.objects.filter(contact=gold_shopper.contact).order_by("created_at")
    assert (home.is_default_shipping, home.is_default_billing) == (True, False)
    assert office.is_default_billing
    # a bad address is a form error
    bad = gold_client.post("/account/addresses/", {**new, "new-city": ""})
    assert bad.status_code == 400 and "This field is required." in text(bad)
    # edit and remove
    gold_client.post(f"/account/addresses/{office.pk}/", {**ADDRESS, "name": "Office", "city": "Cologne"})
    office.refresh_from_db()
    assert office.city == "Cologne"
    gold_client.post(f"/account/addresses/{home.pk}/delete/")
    assert list(Address.objects.filter(contact=gold_shopper.contact)) == [office]


def test_another_contacts_address_is_a_404(priced_shop, gold_client, contact_in):
    stranger = Address.objects.create(contact=contact_in(), line1="X 1", city="Y", country="DE")
    assert gold_client.get(f"/account/addresses/{stranger.pk}/").status_code == 404
    assert gold_client.post(f"/account/addresses/{stranger.pk}/delete/").status_code == 404
    assert gold_client.get("/account/addresses/not-a-uuid/").status_code == 404
    assert Address.objects.filter(pk=stranger.pk).exists()


def test_order_history_shows_own_orders_and_verified_guest_orders_and_404s_the_rest(
        priced_shop, client, gold_client, gold_shopper):
    # given: a guest order with the shopper's e-mail, and one with another
    add(client, "TS-M")
    client.post("/checkout/", checkout_data(email="gold@example.com"))
    add(client, "TS-S")
    client.post("/checkout/", checkout_data(email="someone@example.com"))
    mine, theirs = Order.objects.order_by("number")

    # before verification: neither shows
    assert mine.number not in text(gold_client.get("/account/orders/"))
    assert gold_client.get(f"/account/orders/{mine.number}/").status_code == 404

    # once verified: the guest order with its e-mail shows, the other is a 404
    Account.objects.filter(pk=gold_shopper.pk).update(email_verified_at="2026-01-01T00:00:00Z")
    page = text(gold_client.get("/account/orders/"))
    assert mine.number in page and theirs.number not in page
    assert gold_client.get(f"/account/orders/{mine.number}/").status_code == 200
    assert gold_client.get(f"/account/orders/{theirs.number}/").status_code == 404


def test_a_staff_account_without_a_contact_sees_its_account_page(priced_shop, world):
    staff = make_account("staffer@example.com", Role.CUSTOMER_SERVICE)
    client = Client()
    client.force_login(staff)
    assert client.get("/account/").status_code == 200
    assert client.get("/account/profile/").status_code == 302
    assert client.post("/account/addresses/", {}).status_code == 302


def reads_of_access(sql: list[str]) -> list[str]:
    """The statements of `sql` that read an account's roles, permissions or grants."""
    return [s for s in sql if "auth_permission" in s or "customers_grant" in s or "auth_group" in s]


def test_my_account_costs_five_statements_and_reads_no_access(world):
    """Without a shared cache: the session, the account, the recent orders,
    the (default) market and the cart. The page asks for none of the
    account's roles, permissions or grants, so none is read."""
    # given a logged-in shopper (without a contact: its page reads no profile)
    shopper = make_account("shopper@example.com", Role.REGISTERED)
    client = Client()
    client.force_login(shopper)
    # when
    sql = queries_of(client, "/account/")
    # then
    assert len(sql) <= 5, sql
    assert not reads_of_access(sql), sql


def test_my_account_in_an_open_shop_adds_the_profile_and_the_market_selector_only(priced_shop, gold_client):
    # the contact and its addresses (the profile), and the open markets (the frame's selector)
    sql = queries_of(gold_client, "/account/")
    assert len(sql) <= 8, sql
    assert not reads_of_access(sql), sql


def test_a_shopper_asks_for_the_verification_link_again(priced_shop, gold_client, gold_shopper, settings):
    settings.PASSWORD_RESET_RATE = "1/hour"
    assert "Send the link again" in text(gold_client.get("/account/"))
    first = gold_client.post("/account/verify/again/", follow=True)
    assert "We sent a new link to gold@example.com." in text(first)
    again = gold_client.post("/account/verify/again/", follow=True)
    assert "Too many attempts from your address" in text(again)
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/account/verify/[^/\s]+/)", mail.outbox[0].body)[1]
    gold_client.get(link)
    assert "Send the link again" not in text(gold_client.get("/account/"))


def test_a_saved_cart_from_another_market_moves_to_the_one_the_visitor_shops_in(
        priced_shop, price, client, gold_shopper):
    # given: a saved cart in the US, a visitor shopping in the EU with no cart of its own
    price("TS-M", "22.00", market="US")
    saved = carts.cart_for_account(gold_shopper, market=priced_shop["US"])
    carts.add_line(saved, "TS-M", 2)
    client.post("/market/", {"storefront": "EU:EUR"})

    # when
    page = text(log_in(client, next="/cart/"))

    # then: the cart is priced where the selector says
    assert 'id="cart-total">30.00 EUR' in page  # 2 × the Gold 15.00
    saved.refresh_from_db()
    assert (saved.market, saved.currency) == (priced_shop["EU"], "EUR")
