"""Issue 8, finding 7: a body over the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE,
2.5 MB by default) got Django's HTML 400 page from the API. Every answer of
the API is a problem: this one is a 413 problem+json, and nothing is written."""

import json

import pytest
from django.conf import settings

from clientbase.customers.models import Contact


def oversized_json() -> str:
    return json.dumps({"first_name": "Big", "last_name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_body_over_the_limit_is_a_413_problem(admin_api, method):
    response = getattr(admin_api.client, method)("/api/v1/contacts", data=oversized_json(),
                                                 content_type="application/json")
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 413 and body["type"].endswith("payload_too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in body["detail"] or "MB" in body["detail"]
    assert not Contact.objects.exists()


def test_a_form_body_over_the_limit_is_a_413_problem_too(admin_api):
    response = admin_api.client.post("/api/v1/contacts",
                             data="a=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10),
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"


def test_a_body_within_the_limit_still_works(admin_api):
    response = admin_api.post("/contacts", {"first_name": "Small", "last_name": "x" * 50})
    assert response.status_code == 201, response.content
