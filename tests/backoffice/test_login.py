"""Logging in to the back office: by e-mail, through django-axes, staff only."""

from django.test import Client
from django.urls import reverse

PASSWORD = "Secret-pass-123"  # what tests.conftest.make_account sets


def post_login(client: Client, email: str, password: str, next_url: str | None = None):
    data = {"username": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("admin:login"), data)


def test_an_administrator_logs_in_by_email_and_lands_on_the_dashboard(accounts):
    client = Client()
    login_page = client.get(reverse("admin:login"))
    assert 'name="next"' in login_page.content.decode()
    response = post_login(client, "Admin@Example.com", PASSWORD, reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_representative_logs_in_and_is_sent_where_it_wanted_to_go(accounts):
    client = Client()
    target = reverse("admin:customers_contact_changelist")
    response = post_login(client, "csr@example.com", PASSWORD, target)
    assert response["Location"] == target


def test_a_registered_shopper_is_refused_at_the_login_form(accounts):
    client = Client()
    response = post_login(client, "shopper@example.com", PASSWORD)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("admin:index")).status_code == 302


def test_an_inactive_staff_account_cannot_log_in(accounts):
    accounts["csr"].is_active = False
    accounts["csr"].save()
    response = post_login(Client(), "csr@example.com", PASSWORD)
    assert response.status_code == 200
    assert response.context["form"].errors


def test_too_many_wrong_passwords_lock_the_login(accounts, settings):
    # given as many failures as axes allows
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "admin@example.com", "wrong-password")
    # when the right password comes next
    response = post_login(client, "admin@example.com", PASSWORD)
    # then axes refuses it, answering as a wrong password (no "locked" page
    # that would tell a guesser anything), and no session starts
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("admin:index")).status_code == 302
