"""How /api/v1 URLs resolve (issue 13): each route is tried once, and every
operation still resolves and reverses as ninja declared it — the route is
the metrics' `route` label (clientbase.ops), the name is reversed by ninja
and by clients of the schema."""

import re

from django.urls import URLPattern, URLResolver, resolve, reverse

from clientbase.api.main import api

PREFIX = "api/v1/"


def operations() -> list[tuple[str, str]]:
    """(route, name) of every pattern ninja made, in its order, the API's
    root and catch-all left out."""
    patterns, _, _ = api.urls
    found = []
    for pattern in patterns:
        assert isinstance(pattern, URLPattern), pattern  # one level: nothing nests below /api/v1/
        if pattern.name not in ("api-root", "no-such-url"):
            found.append((str(pattern.pattern), pattern.name))
    return found


def example_path(route: str) -> str:
    return "/" + PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"x-\1", route)


def test_every_operation_resolves_to_its_route_and_the_first_name_declared_for_it():
    first_name = {}
    for route, name in operations():
        first_name.setdefault(route, name)
    for route, name in operations():
        match = resolve(example_path(route))
        assert (match.route, match.url_name, match.namespace) == (PREFIX + route, first_name[route], "api-v1")


def test_every_operation_name_reverses_to_its_route():
    for route, name in operations():
        kwargs = {key: f"x-{key}" for key in re.findall(r"<(?:\w+:)?(\w+)>", route)}
        assert reverse(f"api-v1:{name}", kwargs=kwargs) == example_path(route)


def test_the_resolver_tries_each_route_once():
    # given the last operation ninja declared
    route, _ = operations()[-1]
    routes = {route for route, _ in operations()}
    # when
    match = resolve(example_path(route))
    # then it tried each route once on the way (ninja declares one pattern per
    # operation: `contacts/<ident>` three times, each tried in turn before)
    api_tries = [str(tried[1].pattern) for tried in match.tried if isinstance(tried[0], URLResolver)]
    assert len(api_tries) == len(set(api_tries)) <= len(routes)


def test_anything_else_under_the_api_is_a_problem():
    match = resolve("/" + PREFIX + "no/such/thing")
    assert match.url_name == "no-such-url"
