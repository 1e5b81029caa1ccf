"""Visitor-group criteria and how groups combine them (issue 12)."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from clientbase.core.errors import Invalid
from clientbase.marketing import criteria as registry
from clientbase.marketing.criteria import Criterion, register
from clientbase.marketing.judging import check_match, clean_criteria, compile_group, judge
from clientbase.marketing.models import VisitorGroup
from clientbase.marketing.visitors import Visitor

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def visitor(**kw) -> Visitor:
    return Visitor(now=kw.pop("now", NOON), **kw)


def group(criteria, match="all", threshold=None) -> VisitorGroup:
    return VisitorGroup(key="G", name="G", match=match, threshold=threshold,
                        criteria=clean_criteria(criteria))


def matches(criteria, v: Visitor, **kw) -> bool:
    return judge(compile_group(group(criteria, **kw)), v).matched


@pytest.mark.parametrize("criteria, yes, no", [
    ([{"type": "first_visit"}], visitor(visits=1), visitor(visits=2)),
    ([{"type": "returning"}], visitor(visits=2), visitor(visits=1)),
    ([{"type": "visits_at_least", "params": {"count": 3}}], visitor(visits=3), visitor(visits=2)),
    ([{"type": "logged_in"}], visitor(logged_in=True), visitor()),
    ([{"type": "has_role", "params": {"role": "Registered"}}],
     visitor(roles=frozenset({"Registered"})), visitor(roles=frozenset({"Everyone"}))),
    ([{"type": "in_customer_group", "params": {"group": "GOLD"}}],
     visitor(group_keys=frozenset({"GOLD", "CUSTOMERS"})), visitor(group_keys=frozenset({"SILVER"}))),
    ([{"type": "in_organization", "params": {"organization": "EU"}}],
     visitor(organization_paths=("0001.0002.0003",), extra={"organization_paths_by_key": {"EU": "0001.0002"}}),
     visitor(organization_paths=("0001.0009",), extra={"organization_paths_by_key": {"EU": "0001.0002"}})),
    ([{"type": "market", "params": {"market": "eu"}}], visitor(market="EU"), visitor(market="US")),
    ([{"type": "country", "params": {"countries": "DE|FR"}}], visitor(country="fr"), visitor(country="US")),
    ([{"type": "country", "params": {"countries": ["DE"]}}], visitor(country="DE"), visitor()),
    ([{"type": "query_contains", "params": {"text": "utm_source=news"}}],
     visitor(query="a=1&UTM_SOURCE=newsletter"), visitor(query="utm_source=ads")),
    ([{"type": "referrer_contains", "params": {"text": "google."}}],
     visitor(referrer="https://www.google.de/"), visitor(referrer="")),
    ([{"type": "visited_page", "params": {"path": "/products/"}}],
     visitor(pages=("/cart/", "/products/shirt/")), visitor(pages=("/cart/",))),
    ([{"type": "cart_total_at_least", "params": {"amount": "50.00"}}],
     visitor(cart_total=Decimal("50.00")), visitor(cart_total=Decimal("49.99"))),
])
def test_each_criterion_matches_and_refuses(criteria, yes, no):
    assert matches(criteria, yes)
    assert not matches(criteria, no)


def at(hour, minute=0):
    return visitor(now=datetime(2026, 12, 2, hour, minute, tzinfo=timezone.utc))


def test_time_window_includes_its_start_and_excludes_its_end():
    window = [{"type": "time_window", "params": {"start": "09:00", "end": "17:30"}}]
    assert matches(window, at(9, 0))
    assert matches(window, at(17, 29))
    assert not matches(window, at(17, 30))
    assert not matches(window, at(8, 59))


def test_time_window_may_wrap_past_midnight():
    night = [{"type": "time_window", "params": {"start": "22:00", "end": "06:00"}}]
    assert matches(night, at(23, 0)) and matches(night, at(0, 0)) and matches(night, at(5, 59))
    assert not matches(night, at(6, 0)) and not matches(night, at(12, 0))


def test_visits_at_least_edges():
    at_least_2 = [{"type": "visits_at_least", "params": {"count": 2}}]
    assert [matches(at_least_2, visitor(visits=n)) for n in (1, 2, 3)] == [False, True, True]


def test_all_any_and_points_combine_criteria():
    two = [{"type": "logged_in", "points": 5}, {"type": "returning", "points": 3}]
    half = visitor(logged_in=True, visits=1)
    both = visitor(logged_in=True, visits=4)
    assert not matches(two, half, match="all") and matches(two, both, match="all")
    assert matches(two, half, match="any") and not matches(two, visitor(), match="any")
    assert matches(two, half, match="points", threshold=5)
    assert not matches(two, half, match="points", threshold=6)
    assert matches(two, both, match="points", threshold=8)


def test_a_group_without_criteria_matches_nobody():
    assert not matches([], visitor())


def test_judgement_says_why():
    result = judge(compile_group(group([{"type": "logged_in"}, {"type": "first_visit"}])),
                   visitor(logged_in=True, visits=3))
    assert not result.matched
    assert result.reason == "not met: First visit"


@pytest.mark.parametrize("criteria, field", [
    ([{"type": "nope"}], "criteria.0.type"),
    ([{"type": "visits_at_least"}], "criteria.0.params.count"),
    ([{"type": "visits_at_least", "params": {"count": "many"}}], "criteria.0.params.count"),
    ([{"type": "visits_at_least", "params": {"count": -1}}], "criteria.0.params.count"),
    ([{"type": "logged_in", "params": {"extra": 1}}], "criteria.0.params.extra"),
    ([{"type": "time_window", "params": {"start": "25:00", "end": "09:00"}}], "criteria.0.params.start"),
    ([{"type": "cart_total_at_least", "params": {"amount": "NaN"}}], "criteria.0.params.amount"),
    ([{"type": "first_visit", "points": -2}], "criteria.0.points"),
    ([{"type": "first_visit", "colour": "red"}], "criteria.0"),
    ("first_visit", "criteria"),
])
def test_bad_criteria_are_refused_by_field(criteria, field):
    with pytest.raises(Invalid) as caught:
        clean_criteria(criteria)
    assert field in [e.field for e in caught.value.errors]


def test_points_need_a_reachable_threshold():
    cleaned = clean_criteria([{"type": "first_visit", "points": 2}])
    with pytest.raises(Invalid):
        check_match("points", None, cleaned)
    with pytest.raises(Invalid):
        check_match("points", 3, cleaned)
    with pytest.raises(Invalid):
        check_match("all", 3, cleaned)
    check_match("points", 2, cleaned)


def test_a_broken_criterion_counts_as_not_matched_and_is_logged(caplog):
    @register
    class Exploding(Criterion):
        type = "test_exploding"
        label = "Explodes"

        def matches(self, visitor, params):
            raise RuntimeError("boom")

    try:
        g = compile_group(group([{"type": "test_exploding"}, {"type": "logged_in"}], match="any"))
        result = judge(g, visitor(logged_in=True))
        assert result.matched  # the other criterion still counts
        assert result.outcomes[0].matched is None
        assert "test_exploding failed" in caplog.text
        assert not judge(g, visitor()).matched
    finally:
        del registry.REGISTRY["test_exploding"]


def test_a_stored_criterion_of_an_unregistered_type_never_matches(caplog):
    stored = VisitorGroup(key="OLD", name="Old", match="any",
                          criteria=[{"type": "removed_type", "params": {}, "points": 1}])
    assert not judge(compile_group(stored), visitor()).matched
    assert "cannot be judged" in caplog.text


@given(visits=st.integers(min_value=1, max_value=10_000), count=st.integers(min_value=0, max_value=10_000))
def test_visits_at_least_is_a_plain_comparison(visits, count):
    criteria = [{"type": "visits_at_least", "params": {"count": count}}]
    assert matches(criteria, visitor(visits=visits)) == (visits >= count)


@given(hour=st.integers(0, 23), minute=st.integers(0, 59),
       start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
       end=st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_a_window_and_its_complement_split_the_day(hour, minute, start, end):
    """[start, end) and [end, start) cover every minute exactly once."""
    if start == end:
        return
    one = [{"type": "time_window", "params": {"start": start.isoformat(), "end": end.isoformat()}}]
    other = [{"type": "time_window", "params": {"start": end.isoformat(), "end": start.isoformat()}}]
    v = at(hour, minute)
    assert matches(one, v) != matches(other, v)


CRITERIA = [{"type": "first_visit", "points": 2}, {"type": "returning", "points": 1},
            {"type": "logged_in", "points": 3}, {"type": "visits_at_least", "params": {"count": 3}, "points": 1},
            {"type": "query_contains", "params": {"text": "a"}, "points": 2},
            {"type": "in_customer_group", "params": {"group": "GOLD"}, "points": 1}]


@given(picked=st.lists(st.sampled_from(CRITERIA), max_size=5), match=st.sampled_from(["all", "any", "points"]),
       threshold=st.integers(1, 6), visits=st.integers(1, 5), logged_in=st.booleans(),
       query=st.sampled_from(["", "a=1", "b=2"]), gold=st.booleans())
def test_the_fast_verdict_is_the_judgement_s(picked, match, threshold, visits, logged_in, query, gold):
    from clientbase.marketing.judging import matches as fast

    criteria = clean_criteria(picked)
    if match == "points" and threshold > sum(c["points"] for c in criteria):
        return
    stored = VisitorGroup(key="G", name="G", match=match, threshold=threshold if match == "points" else None,
                          criteria=criteria)
    compiled = compile_group(stored)
    v = visitor(visits=visits, logged_in=logged_in, query=query,
                group_keys=frozenset({"GOLD"}) if gold else frozenset())
    assert fast(compiled, v) == judge(compiled, v).matched


@pytest.mark.django_db
def test_the_compiled_groups_carry_the_facts_a_door_needs_and_follow_every_change(django_assert_num_queries):
    from django.core.cache import cache

    from clientbase.marketing import services
    from clientbase.marketing.judging import compiled_groups

    cache.clear()
    # given a group that asks about an organization and the market
    eu = services.create_visitor_group(VisitorGroup(key="EU-SHOPPERS", name="EU shoppers", match="all", criteria=[
        {"type": "in_organization", "params": {"organization": "EU"}},
        {"type": "market", "params": {"market": "EU"}}]), actor=None)
    # when a door asks twice
    first = compiled_groups()
    with django_assert_num_queries(0):
        again = compiled_groups()
    # then the criterion types and organization keys come with the groups, worked out once
    assert (first.criteria_types, first.organization_keys) == ({"in_organization", "market"}, {"EU"})
    assert again is first
    # and a change of the group shows in them at once
    services.update_visitor_group(eu, changes={"criteria": [
        {"type": "in_organization", "params": {"organization": "US"}}]}, actor=None)
    changed = compiled_groups()
    assert (changed.criteria_types, changed.organization_keys) == ({"in_organization"}, {"US"})
    assert [g.key for g in changed.groups] == ["EU-SHOPPERS"]
