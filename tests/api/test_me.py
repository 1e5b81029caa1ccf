"""/api/v1/me: the shopper's API for headless front ends (issue 9, item 7),
through the HTTP client as a browser-like front end uses it: CSRF enforced,
the csrftoken cookie's value sent as X-CSRFToken, the session and the signed
cart cookie kept by the client."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail, signing
from django.db import connection
from django.test import Client

from clientbase.catalog.models import Variant
from clientbase.customers.models import Account, ApiToken, Contact, ContactSource, Role
from clientbase.shopping.models import Cart, Order
from clientbase.shopping import cookie
from tests.conftest import in_parallel, make_account
from tests.shopping import conftest as shopping

catalog, price, contact_in = shopping.catalog, shopping.price, shopping.contact_in
eu_prices, shopper = shopping.eu_prices, shopping.shopper

API = "/api/v1/me"
PROBLEM = "application/problem+json"
PASSWORD = "Secret-pass-123"  # make_account's
NEW_PASSWORD = "Lime-kettle-4821"
ADDRESS = {"first_name": "Pat", "last_name": "Buyer", "line1": "Hauptstr. 1", "city": "Berlin",
           "postcode": "10115", "country": "DE"}


class Browser:
    """A front end on the session: CSRF enforced; every unsafe call sends the
    csrftoken cookie's current value (log-in renews it) unless told not to."""

    def __init__(self):
        self.client = Client(enforce_csrf_checks=True)

    def csrf(self) -> str:
        if "csrftoken" not in self.client.cookies:
            assert self.client.get(f"{API}/csrf").status_code == 200
        return self.client.cookies["csrftoken"].value

    def get(self, path="", **params):
        return self.client.get(API + path, params)

    def send(self, method: str, path: str, body=None, *, csrf: bool = True):
        headers = {"X-CSRFToken": self.csrf()} if csrf else {}
        kwargs = {"content_type": "application/json", "headers": headers}
        if body is not None:
            kwargs["data"] = body
        return getattr(self.client, method)(API + path, **kwargs)

    def post(self, path, body=None, **kw):
        return self.send("post", path, body if body is not None else {}, **kw)

    def patch(self, path, body, **kw):
        return self.send("patch", path, body, **kw)

    def delete(self, path, **kw):
        return self.send("delete", path, **kw)

    def add(self, sku: str, quantity: int = 1):
        response = self.post("/cart/lines", {"sku": sku, "quantity": quantity})
        assert response.status_code == 200, response.content
        return response

    def login(self, email: str, password: str = PASSWORD):
        return self.post("/login", {"email": email, "password": password})

    def quantities(self) -> dict:
        return {line["sku"]: line["quantity"] for line in self.get("/cart").json()["lines"]}


def code(response) -> str:
    assert response["Content-Type"] == PROBLEM, response.content
    return response.json()["type"].rsplit(":", 1)[-1]


@pytest.fixture
def shop(catalog, eu_prices):
    return catalog


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def gold(shopper, shop):
    return shopper("gold@example.com", groups=["GOLD"])


def register(browser: Browser, email: str = "new@example.com", **fields):
    body = {"email": email, "password": NEW_PASSWORD, "first_name": "Nina", "last_name": "New", **fields}
    return browser.post("/register", body)


# --- CSRF -------------------------------------------------------------------------------

def test_csrf_sets_the_cookie_and_answers_its_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.get(f"{API}/csrf")
    assert response.status_code == 200
    assert response.json()["csrf_token"]
    assert "csrftoken" in response.cookies


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/cart/lines", {"sku": "TS-M", "quantity": 1}),
    ("patch", "/cart/lines/TS-M", {"quantity": 2}),
    ("delete", "/cart/lines/TS-M", None),
    ("post", "/checkout", {"email": "g@example.com", "shipping_address": ADDRESS, "billing_address": ADDRESS}),
    ("post", "/register", {"email": "new@example.com", "password": NEW_PASSWORD}),
    ("post", "/login", {"email": "gold@example.com", "password": PASSWORD}),
    ("post", "/logout", None),
])
@pytest.mark.parametrize("who", ["anonymous", "logged_in"])
def test_an_unsafe_request_without_the_csrf_token_is_a_403_problem(gold, browser, method, path, body, who):
    # given a visitor with the CSRF cookie (and, logged in, a session)
    if who == "logged_in":
        assert browser.login("gold@example.com").status_code == 200
    browser.csrf()
    carts_before, accounts_before = Cart.objects.count(), Account.objects.count()
    # when the request omits the header
    response = browser.send(method, path, body, csrf=False)
    # then it is refused, and nothing happened
    assert response.status_code == 403, response.content
    assert code(response) == "csrf_failed"
    assert "X-CSRFToken" in response.json()["detail"]
    assert (Cart.objects.count(), Account.objects.count()) == (carts_before, accounts_before)
    assert browser.get().json()["authenticated"] == (who == "logged_in")


def test_a_wrong_csrf_token_is_refused_too(shop, browser):
    browser.csrf()
    response = browser.client.post(f"{API}/cart/lines", {"sku": "TS-M"}, content_type="application/json",
                                   headers={"X-CSRFToken": "x" * 64})
    assert response.status_code == 403
    assert Cart.objects.count() == 0


def test_a_token_caller_needs_no_csrf_token(gold):
    # given a bearer token (a browser never sends one by itself)
    _, raw = ApiToken.issue(gold)
    client = Client(enforce_csrf_checks=True)
    # when it adds to its cart without any CSRF token
    response = client.post(f"{API}/cart/lines", {"sku": "TS-M", "quantity": 2}, content_type="application/json",
                           headers={"Authorization": f"Bearer {raw}"})
    # then it works, at its own prices, in its account's cart
    assert response.status_code == 200, response.content
    assert response.json()["lines"][0]["unit_price"] == "15.00"
    assert Cart.objects.get().account == gold


def test_a_token_that_matches_nothing_is_a_401_not_an_anonymous_visitor(db):
    response = Client().get(API, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert code(response) == "unauthenticated"


# --- who is shopping ----------------------------------------------------------------------

def test_an_anonymous_visitor_is_not_authenticated(db, browser):
    response = browser.get()
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}


def test_a_logged_in_shopper_sees_its_account_and_contact(gold, browser):
    # given an address on the shopper's contact
    gold.contact.addresses.create(line1="Hauptstr. 1", city="Berlin", country="DE", is_default_shipping=True)
    browser.login("gold@example.com")
    # when
    body = browser.get().json()
    # then
    assert body["authenticated"] is True
    assert (body["email"], body["email_verified"]) == ("gold@example.com", False)
    assert body["roles"] == sorted([Role.EVERYONE, Role.REGISTERED])
    assert body["contact"]["first_name"] == "Pat"
    [address] = body["contact"]["addresses"]
    assert (address["line1"], address["is_default_shipping"]) == ("Hauptstr. 1", True)


# --- registration -----------------------------------------------------------------------------

def test_registering_creates_a_storefront_customer_logs_in_and_sends_the_verification_link(db, browser):
    # when
    response = register(browser, " New@Example.com ")
    # then: a contact from the storefront and its account, with Everyone and Registered
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["authenticated"], body["email"], body["email_verified"]) == (True, "new@example.com", False)
    assert body["roles"] == sorted([Role.EVERYONE, Role.REGISTERED])
    account = Account.objects.get(email="new@example.com")
    assert account.contact.source == ContactSource.STOREFRONT
    assert (account.contact.first_name, account.contact.last_name) == ("Nina", "New")
    # logged in on the session
    assert browser.get().json()["email"] == "new@example.com"
    # and the link that proves the e-mail went out
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    assert re.search(r"http://testserver/account/verify/[\w:.-]+/", message.body), message.body


def test_the_link_of_the_verification_mail_verifies_the_email(db, browser):
    # given a registration and its mail
    register(browser)
    token = re.search(r"/account/verify/([^/\s]+)/", mail.outbox[0].body)[1]
    # when the front end hands the token back
    response = browser.post("/verify-email", {"token": token})
    # then
    assert response.status_code == 200, response.content
    assert response.json()["email_verified"] is True
    assert Account.objects.get(email="new@example.com").email_verified_at is not None


def test_a_tampered_verification_token_is_a_422(db, browser):
    register(browser)
    response = browser.post("/verify-email", {"token": "not-a-token"})
    assert response.status_code == 422
    assert code(response) == "invalid_token"


@pytest.mark.parametrize("typed", ["gold@example.com", "GOLD@Example.COM", "  gold@example.com\t"])
def test_a_registered_email_in_any_spelling_is_a_409_pointing_to_log_in_and_reset(gold, browser, typed):
    contacts = Contact.objects.count()
    response = register(browser, typed)
    assert response.status_code == 409, response.content
    assert code(response) == "duplicate_email"
    detail = response.json()["detail"]
    assert "Log in" in detail and "reset your password" in detail
    assert Contact.objects.count() == contacts
    assert browser.get().json() == {"authenticated": False}


def test_an_international_domain_in_either_form_is_one_email(db, browser):
    assert register(browser, "anna@bücher.example").status_code == 201
    response = register(Browser(), "anna@xn--bcher-kva.example")
    assert response.status_code == 409
    assert Contact.objects.count() == 1


def test_a_weak_password_is_a_422_and_creates_nobody(db, browser):
    response = register(browser, password="12345678")
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"password"}
    assert not Contact.objects.exists()


def test_registrations_from_one_address_are_throttled(db, settings):
    # given a low rate
    settings.REGISTRATION_RATE = "2/hour"
    for n in range(2):
        assert register(Browser(), f"new{n}@example.com").status_code == 201
    # when the next comes from the same address
    response = register(Browser(), "new9@example.com")
    # then
    assert response.status_code == 429, response.content
    assert code(response) == "too_many_attempts"
    assert int(response["Retry-After"]) > 0
    assert not Account.objects.filter(email="new9@example.com").exists()


def test_registering_keeps_the_anonymous_cart(shop, browser):
    # given an anonymous cart
    browser.add("TS-M", 2)
    # when the visitor registers
    assert register(browser).status_code == 201
    # then the cart is the new account's
    assert browser.quantities() == {"TS-M": 2}
    assert Cart.objects.get().account.email == "new@example.com"
    assert browser.client.cookies[settings.CART_COOKIE_NAME].value == ""


# --- log-in, log-out -------------------------------------------------------------------------

def test_logging_in_rotates_the_session(gold, browser):
    # given a session the visitor had before logging in
    session = browser.client.session
    session["seen"] = True
    session.save()
    before = browser.client.cookies[settings.SESSION_COOKIE_NAME].value
    # when
    response = browser.login(" GOLD@example.com")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "gold@example.com"
    after = browser.client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    assert browser.get().json()["authenticated"] is True


def _failed_login(email: str, password: str):
    return Browser().login(email, password)


def test_a_wrong_password_an_unknown_email_and_a_locked_account_answer_alike(gold, settings):
    # when
    wrong = _failed_login("gold@example.com", "wrong-password")
    unknown = _failed_login("nobody@example.com", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _failed_login("gold@example.com", "wrong-password")
    locked = _failed_login("gold@example.com", PASSWORD)  # the right password, during the lock
    # then all three are the same 401 problem
    for response in (wrong, unknown, locked):
        assert response.status_code == 401, response.content
        assert response["Content-Type"] == PROBLEM
    assert wrong.content == unknown.content == locked.content
    assert code(wrong) == "login_failed"


def test_a_broken_multipart_body_is_a_400_and_a_failed_login_in_it_still_counts(gold, settings):
    # given a body that claims to be multipart without a boundary (django-axes
    # reads request.POST when it counts a failure: that raised, and went uncounted)
    browser = Browser()
    response = browser.client.post(f"{API}/cart/lines", b'{"sku": "TS-M"}', content_type="multipart/form-data",
                                   headers={"X-CSRFToken": browser.csrf()})
    assert response.status_code == 400
    assert code(response) == "invalid_body"
    _, raw = ApiToken.issue(make_account("token@example.com", Role.REGISTERED))

    def guess(password):
        return Client().post(f"{API}/login", f'{{"email": "gold@example.com", "password": "{password}"}}',
                             content_type="multipart/form-data", headers={"Authorization": f"Bearer {raw}"})

    # when a token caller guesses through such bodies
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert guess("wrong-password").status_code == 401
    # then the guesses counted: the right password is locked out too
    assert guess(PASSWORD).status_code == 401


def test_logging_out_ends_the_session_and_keeps_the_saved_cart(gold, browser):
    # given a logged-in shopper with a cart
    browser.login("gold@example.com")
    browser.add("TS-M", 3)
    # when
    response = browser.post("/logout")
    # then
    assert response.status_code == 204
    assert browser.get().json() == {"authenticated": False}
    assert browser.get("/cart").json()["lines"] == []
    # and the cart waits for the next log-in
    browser.login("gold@example.com")
    assert browser.quantities() == {"TS-M": 3}


def test_a_shopper_never_reaches_a_staff_endpoint(gold, browser):
    browser.login("gold@example.com")
    for path in ("/api/v1/contacts", "/api/v1/accounts", "/api/v1/prices"):
        response = browser.client.get(path)
        assert response.status_code == 403, (path, response.content)
    response = browser.client.get(f"/api/v1/contacts/{gold.contact.pk}")
    assert response.status_code == 403


# --- the cart ------------------------------------------------------------------------------------

def test_an_anonymous_visitor_without_a_cart_sees_an_empty_one_and_none_is_made(shop, browser):
    response = browser.get("/cart")
    assert response.status_code == 200
    assert response.json() == {"lines": [], "subtotal": "0.00", "order_discount": "0.00", "order_promotions": [],
                               "total": "0.00", "currency": "EUR", "market": "EU", "coupon": "",
                               "coupon_problem": ""}
    assert not Cart.objects.exists()
    assert settings.CART_COOKIE_NAME not in browser.client.cookies


def test_adding_changing_and_removing_lines(shop, browser):
    # when a visitor adds, adds again, changes and removes
    first = browser.add("TS-M", 2).json()
    assert first["lines"] == [{"sku": "TS-M", "name": "T-shirt M", "quantity": 2, "unit_price": "20.00",
                               "line_total": "40.00", "why": "Price for all customers", "problem": "",
                               "discount": "0.00", "promotions": []}]
    assert (first["total"], first["currency"]) == ("40.00", "EUR")
    again = browser.add("TS-M", 8).json()
    # then the resolver's price at the line's quantity (18.00 from 10)
    assert again["lines"][0]["quantity"] == 10
    assert (again["lines"][0]["unit_price"], again["total"]) == ("18.00", "180.00")
    browser.add("TS-S")
    changed = browser.patch("/cart/lines/TS-M", {"quantity": 1})
    assert changed.status_code == 200
    assert {line["sku"]: line["quantity"] for line in changed.json()["lines"]} == {"TS-M": 1, "TS-S": 1}
    removed = browser.delete("/cart/lines/TS-S")
    assert removed.status_code == 200
    assert [line["sku"] for line in removed.json()["lines"]] == ["TS-M"]
    zero = browser.patch("/cart/lines/TS-M", {"quantity": 0})
    assert zero.json()["lines"] == []
    # one cart all along
    assert Cart.objects.count() == 1


def test_the_cart_cookie_is_signed_and_lasts_as_long_as_the_cart(shop, browser):
    response = browser.add("TS-M")
    sent = response.cookies[settings.CART_COOKIE_NAME]
    cart = Cart.objects.get()
    assert sent.value != str(cart.pk) and str(cart.pk) in sent.value
    assert int(sent["max-age"]) == settings.CART_TTL_DAYS * 86400
    assert sent["httponly"] and sent["samesite"] == "Lax"


@pytest.mark.parametrize("forge", [
    lambda cart_id: cart_id,                                                      # the bare id
    lambda cart_id: signing.get_cookie_signer(salt="cart" + "other-salt").sign(cart_id),  # another salt
    lambda cart_id: signing.get_cookie_signer(salt="cart" + cookie.SALT).sign(cart_id)[:-1] + "x",
])
def test_a_forged_cart_cookie_starts_an_empty_cart_not_someone_elses(shop, browser, forge):
    # given another visitor's cart
    other = Browser()
    other.add("TS-S", 5)
    victim = Cart.objects.get()
    # when this visitor writes its id into the cookie
    browser.client.cookies[settings.CART_COOKIE_NAME] = forge(str(victim.pk))
    # then it sees an empty cart, and its add starts a cart of its own
    assert browser.get("/cart").json()["lines"] == []
    assert browser.add("TS-M").json()["lines"][0]["sku"] == "TS-M"
    assert other.quantities() == {"TS-S": 5}
    assert Cart.objects.count() == 2


def _problem_on_add(browser: Browser, body: dict):
    response = browser.post("/cart/lines", body)
    return response.status_code, code(response)


def test_unknown_inactive_and_unpriced_skus_are_refused_and_make_no_cart(shop, browser):
    Variant.objects.filter(sku="TS-L").update(is_active=False)
    Variant.objects.create(sku="TS-XL", product=shop["TSHIRT"], name="T-shirt XL")  # no price
    assert _problem_on_add(browser, {"sku": "NOPE"}) == (409, "unknown_sku")
    assert _problem_on_add(browser, {"sku": "TS-L"}) == (409, "not_on_sale")
    assert _problem_on_add(browser, {"sku": "TS-XL"}) == (409, "no_price")
    assert not Cart.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 1000, "many"])
def test_a_quantity_out_of_range_is_a_422(shop, browser, quantity):
    response = browser.post("/cart/lines", {"sku": "TS-M", "quantity": quantity})
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["quantity"]


def test_changing_a_line_the_cart_does_not_hold_is_a_404(shop, browser):
    assert browser.patch("/cart/lines/TS-M", {"quantity": 2}).status_code == 404
    browser.add("TS-S")
    response = browser.delete("/cart/lines/TS-M")
    assert response.status_code == 404
    assert code(response) == "not_in_cart"


def test_a_price_is_never_taken_from_the_client(shop, browser):
    # a price in the body is an unknown field, refused: nothing is added
    response = browser.post("/cart/lines", {"sku": "TS-M", "quantity": 1, "unit_price": "0.01"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "unit_price", "message": "Unknown field.",
                                          "code": "extra_forbidden"}]
    assert not Cart.objects.exists()
    browser.add("TS-M")
    response = browser.post("/checkout", {"email": "g@example.com", "shipping_address": ADDRESS,
                                          "billing_address": ADDRESS, "total": "0.01"})
    assert response.status_code == 422
    assert not Order.objects.exists()


def test_the_market_and_currency_move_the_cart(shop, price, browser):
    price("TS-M", "22.00", market="US")
    browser.add("TS-M")
    response = browser.post("/cart/lines", {"sku": "TS-M", "quantity": 1, "market": "US"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["market"], body["currency"], body["total"]) == ("US", "USD", "44.00")


# --- log-in merges the cart -----------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "expected"), [
    ("add", {"TS-S": 2, "TS-M": 4, "TS-L": 1}),
    ("larger", {"TS-S": 2, "TS-M": 3, "TS-L": 1}),
    ("replace", {"TS-M": 3, "TS-L": 1}),
])
def test_logging_in_merges_the_anonymous_cart_by_the_policy(gold, settings, policy, expected):
    # given a saved cart (S 2, M 1) and, in another browser, an anonymous one (M 3, L 1)
    settings.CART_MERGE_POLICY = policy
    saved = Browser()
    saved.login("gold@example.com")
    saved.add("TS-S", 2)
    saved.add("TS-M", 1)
    browser = Browser()
    browser.add("TS-M", 3)
    browser.add("TS-L", 1)
    # when the visitor logs in
    assert browser.login("gold@example.com").status_code == 200
    # then one cart, merged by the policy; the anonymous one is gone
    assert browser.quantities() == expected
    assert Cart.objects.get().account == gold
    assert browser.client.cookies[settings.CART_COOKIE_NAME].value == ""


def test_after_logging_in_every_price_is_the_contacts(gold, browser):
    # given an anonymous cart at the list price
    assert browser.add("TS-M", 2).json()["lines"][0]["unit_price"] == "20.00"
    # when a Gold customer logs in
    browser.login("gold@example.com")
    # then the cart shows the Gold price
    cart = browser.get("/cart").json()
    assert (cart["lines"][0]["unit_price"], cart["lines"][0]["why"], cart["total"]) == (
        "15.00", "Gold price", "30.00")


# --- checkout and orders ---------------------------------------------------------------------------

def checkout(browser: Browser, **fields):
    return browser.post("/checkout", {"shipping_address": ADDRESS, "billing_address": ADDRESS, **fields})


def test_a_guest_checks_out_without_becoming_a_customer(shop, browser):
    # given an anonymous cart
    browser.add("TS-M", 10)
    browser.add("TS-S", 1)
    contacts, accounts = Contact.objects.count(), Account.objects.count()
    # when the guest checks out
    response = checkout(browser, email="Guest@Example.com", market="EU", currency="EUR")
    # then an order with the resolver's prices and why
    assert response.status_code == 201, response.content
    order = response.json()
    assert re.fullmatch(r"CB-\d{6}", order["number"])
    assert order["email"] == "guest@example.com"
    assert [(line["sku"], line["quantity"], line["unit_price"], line["line_total"], line["why"])
            for line in order["lines"]] == [("TS-M", 10, "18.00", "180.00", "Price for all customers from 10"),
                                             ("TS-S", 1, "20.00", "20.00", "Price for all customers")]
    assert (order["total"], order["currency"], order["market"]) == ("200.00", "EUR", "EU")
    assert order["shipping_address"]["city"] == "Berlin"
    # no customer and no account for a guest; the cart is empty
    assert (Contact.objects.count(), Account.objects.count()) == (contacts, accounts)
    stored = Order.objects.get()
    assert (stored.contact, stored.account) == (None, None)
    assert browser.get("/cart").json()["lines"] == []
    # a guest has no order history
    assert browser.get("/orders").json() == {"items": [], "next_cursor": None}


def test_a_guest_checkout_needs_an_email_and_valid_addresses(shop, browser):
    browser.add("TS-M")
    response = browser.post("/checkout", {"shipping_address": {**ADDRESS, "city": ""},
                                          "billing_address": ADDRESS})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"email", "shipping_address.city"}
    assert not Order.objects.exists()


def test_checking_out_without_a_cart_is_a_409(shop, browser):
    response = checkout(browser, email="g@example.com")
    assert response.status_code == 409
    assert code(response) == "empty_cart"


def test_a_logged_in_shopper_checks_out_at_its_prices_and_sees_its_orders(gold, browser):
    # given
    browser.login("gold@example.com")
    browser.add("TS-M", 2)
    # when
    response = checkout(browser)
    # then
    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["email"], order["total"], order["lines"][0]["why"]) == ("gold@example.com", "30.00", "Gold price")
    assert Order.objects.get().contact == gold.contact
    listed = browser.get("/orders").json()
    assert [o["number"] for o in listed["items"]] == [order["number"]]
    assert browser.get(f"/orders/{order['number']}").json() == order


def test_guest_orders_with_the_email_show_once_it_is_verified(shop):
    # given a guest order, then a registration with that e-mail
    guest = Browser()
    guest.add("TS-M")
    guest_order = checkout(guest, email="new@example.com").json()["number"]
    browser = Browser()
    register(browser)
    # before verification the guest order is not the account's
    assert browser.get("/orders").json()["items"] == []
    assert browser.get(f"/orders/{guest_order}").status_code == 404
    # when the e-mail is verified
    token = re.search(r"/account/verify/([^/\s]+)/", mail.outbox[0].body)[1]
    assert browser.post("/verify-email", {"token": token}).status_code == 200
    # then it is
    assert [o["number"] for o in browser.get("/orders").json()["items"]] == [guest_order]
    assert browser.get(f"/orders/{guest_order}").status_code == 200


def test_orders_are_paged_newest_first(gold, browser):
    browser.login("gold@example.com")
    numbers = []
    for _ in range(3):
        browser.add("TS-M")
        numbers.append(checkout(browser).json()["number"])
    first = browser.get("/orders", limit=2).json()
    second = browser.get("/orders", limit=2, cursor=first["next_cursor"]).json()
    assert [o["number"] for o in first["items"] + second["items"]] == numbers[::-1]
    assert second["next_cursor"] is None


def test_another_shoppers_order_is_a_404_like_one_that_does_not_exist(gold, shopper):
    # given Gold's order
    owner = Browser()
    owner.login("gold@example.com")
    owner.add("TS-M")
    number = checkout(owner).json()["number"]
    # when another shopper, and an anonymous visitor, ask for it
    shopper("silver@example.com", groups=["SILVER"])
    other = Browser()
    other.login("silver@example.com")
    for browser in (other, Browser()):
        theirs = browser.get(f"/orders/{number}")
        absent = browser.get("/orders/CB-999999")
        # then it does not exist for them
        assert theirs.status_code == absent.status_code == 404
        assert theirs.json()["detail"].replace(number, "N") == absent.json()["detail"].replace("CB-999999", "N")
        assert browser.get("/orders").json()["items"] == []


# --- races (PostgreSQL) -------------------------------------------------------------------------------

@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_registrations_racing_with_one_email_end_with_one_customer():
    # given two visitors typing one address in two spellings
    browsers = [Browser(), Browser()]
    for browser in browsers:
        browser.csrf()
    # when they register at once
    results = in_parallel(lambda: register(browsers[0], "race@example.com"),
                          lambda: register(browsers[1], " RACE@example.com"))
    # then one wins, the other is told to log in
    assert sorted(r.status_code for r in results) == [201, 409], [r.content for r in results]
    assert Contact.objects.filter(email="race@example.com").count() == 1
    assert Account.objects.filter(email="race@example.com").count() == 1


def test_a_staff_account_without_a_contact_shops_at_the_list_price(shop, db):
    make_account("staff@example.com", Role.CUSTOMER_SERVICE)
    browser = Browser()
    browser.login("staff@example.com")
    body = browser.add("TS-M").json()
    assert body["lines"][0]["unit_price"] == "20.00"
    assert browser.get().json()["contact"] is None
    assert Decimal(body["total"]) == Decimal("20.00")
