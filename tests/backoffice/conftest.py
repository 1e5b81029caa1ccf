"""Fixtures for the back office: contacts on both sides of the world and
admin clients logged in as the shared `accounts`."""

import pytest
from django.test import Client

from clientbase.customers.models import Contact


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """argon2id costs most of a second per account on purpose; the shared
    `accounts` fixture makes four per test. Tests about hashing put it back."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.Argon2PasswordHasher"]


def make_contact(first: str, last: str, *orgs, email: str | None = None, key: str | None = None):
    contact = Contact.objects.create(first_name=first, last_name=last, email=email, key=key)
    contact.organizations.add(*orgs)
    return contact


@pytest.fixture
def people(world):
    """Ann Smith in EU Management, Bob Blacksmith in EU HQ, Carl Jones in US Sales."""
    return {
        "ann": make_contact("Ann", "Smith", world["EU-MGMT"], email="ann@example.com", key="C-ANN"),
        "bob": make_contact("Bob", "Blacksmith", world["EU-HQ"], email="bob@example.com"),
        "carl": make_contact("Carl", "Jones", world["US-SALES"], email="carl@example.com"),
    }


@pytest.fixture
def login(accounts):
    """login("csr") → a Django test client with that account's session."""

    def make(name: str) -> Client:
        client = Client()
        client.force_login(accounts[name])
        return client

    return make
