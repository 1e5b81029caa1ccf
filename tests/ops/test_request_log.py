"""One JSON log line per request, and the request id that ties lines to the
response (X-Request-ID)."""

import pytest
from django.test import Client, override_settings

from clientbase.pricing import services as pricing_services


def request_lines(lines):
    return [line for line in lines if line["logger"] == "clientbase.requests"]


def test_each_request_logs_one_json_line_with_method_path_status_duration_and_request_id(db, log_lines):
    # when
    response = Client().get("/api/v1/nothing-here?email=pat@example.com&token=abc")
    # then
    [line] = request_lines(log_lines())
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/nothing-here"  # the query string stays out
    assert line["status"] == 404 and response.status_code == 404
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert line["account_id"] is None
    assert "pat@example.com" not in str(log_lines()) and "abc" not in str(line)


def test_the_line_names_the_authenticated_account_by_id_never_by_email(caller, log_lines):
    # given
    admin = caller("admin")
    # when
    response = admin.get("/markets")
    # then
    assert response.status_code == 200
    [line] = request_lines(log_lines())
    assert line["account_id"] == str(admin.account.pk)
    assert line["route"].startswith("api/v1/markets")
    assert admin.account.email not in str(line)


def test_a_sane_incoming_request_id_is_kept_and_sent_back():
    # given
    client = Client()
    # when
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2:abc_DEF-9"})
    # then
    assert response["X-Request-ID"] == "lb-7f3a.2:abc_DEF-9"


@pytest.mark.parametrize("sent", ["x" * 129, "two words", "a\nb", "<script>", "é", ""])
def test_an_insane_incoming_request_id_is_replaced_by_a_new_one(sent, log_lines):
    response = Client().get("/healthz", headers={"X-Request-ID": sent})
    new = response["X-Request-ID"]
    assert new != sent and len(new) == 32 and new.isalnum()
    [line] = request_lines(log_lines())
    assert line["request_id"] == new


def test_each_request_gets_its_own_id():
    client = Client()
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_an_api_problem_carries_the_request_id(caller):
    response = caller(None).get("/contacts")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["X-Request-ID"]


def test_an_api_failure_is_a_500_problem_with_the_request_id_and_logged_with_it(caller, log_lines, monkeypatch,
                                                                                priced):
    # given: a bug in the resolver
    def broken(*args, **kwargs):
        raise RuntimeError("the resolver broke")

    monkeypatch.setattr(pricing_services, "resolve_price", broken)
    # when
    response = caller("admin").get("/prices/resolve", sku="TS-M", market="EU")
    # then
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert "the resolver broke" not in response.content.decode()
    request_id = response["X-Request-ID"]
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert errors and all(line["request_id"] == request_id for line in errors)
    assert any("RuntimeError: the resolver broke" in line.get("exception", "") for line in errors)
    assert request_lines(log_lines())[0]["status"] == 500


@override_settings(ROOT_URLCONF="tests.ops.urls")
def test_a_page_that_fails_answers_500_with_the_request_id_and_logs_the_error_with_it(db, log_lines):
    # when
    response = Client(raise_request_exception=False).get("/test-boom")
    # then
    assert response.status_code == 500
    assert "boom at the test" not in response.content.decode()
    request_id = response["X-Request-ID"]
    errors = [line for line in log_lines() if line["logger"] == "django.request"]
    assert errors and all(line["request_id"] == request_id for line in errors)
    assert "RuntimeError: boom at the test's request" in errors[0]["exception"]


def test_django_s_own_line_for_an_error_answer_carries_the_request_id(db, log_lines):
    # Django logs a 4xx/5xx after the middleware has answered (outside its context).
    response = Client().get("/no-such-page-anywhere")
    assert response.status_code == 404
    [warning] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert warning["request_id"] == response["X-Request-ID"]
