"""The HTTP benchmark (`scripts/bench http`) at a tiny scale: on its generated
data every API endpoint it loads and the bare view beside it answer the same
JSON, the comparison catches an answer that differs, and wrk's figures are
read back over a real HTTP server. No timing is asserted. PostgreSQL only,
as the benchmark (its bare views' SQL is PostgreSQL's)."""

import copy
import json
from urllib.parse import urlsplit

import pytest
from django.db import connection

from bench import http, http_views

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the HTTP bench runs on PostgreSQL")


@pytest.fixture
def tokens(transactional_db, settings, monkeypatch):
    http.generate("tiny", fast_indexes=False)
    found = http.callers()
    monkeypatch.setattr(http_views, "CALLERS", found)
    settings.ROOT_URLCONF = "bench.http_urls"
    return found


def _fetch(client):
    def fetch(request: http.Request):
        headers = {k: v for k, v in request.headers.items() if k != "Content-Type"}
        response = client.generic(request.method, request.path, data=request.body or "",
                                  content_type="application/json", headers=headers)
        return response.status_code, response.content
    return fetch


def test_every_endpoint_and_its_bare_view_answer_the_same_json(tokens, client):
    # given the four endpoints of the bench
    endpoints = http.endpoints(tokens)
    assert [e.api.method for e in endpoints] == ["GET", "GET", "POST", "GET"]
    # when / then: each pair agrees, and answers something
    for endpoint in endpoints:
        answer = http.same_answer(endpoint, _fetch(client))
        assert answer.get("items", [answer]), endpoint.name
    # and the page is the scoped account's: its grant covers part of the contacts
    page = http.same_answer(endpoints[1], _fetch(client))
    assert 0 < len(page["items"]) and page["next_cursor"]
    # and the resolve prices the Gold contact, some SKUs at a group price
    resolved = http.same_answer(endpoints[2], _fetch(client))
    assert any(i["price"] and i["price"]["sale_type"] == "customer_group" for i in resolved["items"])


def test_the_comparison_catches_a_bare_answer_that_differs(tokens, client):
    # given a fetch that changes one price in the bare view's answer
    fetch = _fetch(client)

    def tampered(request):
        status, body = fetch(request)
        if request.path.startswith("/bare/"):
            answer = copy.deepcopy(json.loads(body))
            answer["items"][0]["unit_price"] = "0.01"
            body = json.dumps(answer).encode()
        return status, body
    # when / then
    with pytest.raises(AssertionError, match=r"differ: \.items\[0\]\.unit_price"):
        http.same_answer(http.endpoints(tokens)[2], tampered)


def test_wrk_loads_an_endpoint_and_its_figures_are_read_back(tokens, live_server, tmp_path):
    # given
    port = urlsplit(live_server.url).port
    endpoint = http.endpoints(tokens)[2]  # a POST with a body and headers
    # when
    load, cpu = http.wrk(port, endpoint.bare, connections=1, seconds=1,
                         script=http.lua_script(endpoint.bare, tmp_path))
    # then
    assert load.requests > 0 and load.errors == 0
    assert 0 < load.p50_ms <= load.p99_ms
    assert cpu > 0


def test_the_in_process_bench_times_each_endpoint_next_to_its_bare_view(tokens):
    # given the in-process bench's pairs, through the whole WSGI stack
    from django.core.handlers.wsgi import WSGIHandler

    from bench import api_inprocess

    app = WSGIHandler()
    pairs = api_inprocess.bare_pairs()
    assert [api.path for api, _ in pairs][2] == "/api/v1/prices/resolve"
    # when
    timed = [api_inprocess.measure_pair(app, api, bare, requests=5, warmup=1) for api, bare in pairs]
    # then each has its figures and its bare twin's, which answered the same JSON
    for result in timed:
        assert len(result.times_ms) == 5 and len(result.bare.times_ms) == 5
        assert result.cpu_ms > 0 and result.bare.cpu_ms > 0 and result.bare.queries > 0
    table = "\n".join(api_inprocess.bare_markdown(timed))
    for api, _ in pairs:
        assert f"| {api.name} | " in table
    assert table.count("×") == len(pairs)
