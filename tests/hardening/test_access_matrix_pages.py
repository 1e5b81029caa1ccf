"""Issue 8, item 7: the back office's pages, as each caller, on an object it
sees, one it does not see and one that does not exist: every model's object
pages and add page, the organization move page, the price previews and the
autocompletes. Classification: matrix.py."""

import pytest

from clientbase.customers.models import Role
from tests.conftest import make_account
from tests.hardening.matrix import (
    CALLERS, STAFF, STATES, assert_nothing_foreign, client_for, neutral, scoped, snapshot,
)

# The models whose object pages the matrix opens (admin URL prefix), by the
# matrix resource that holds their objects. Shop-wide ones have nothing
# invisible to staff, except price rows (a customer price of an invisible contact).
ADMIN_OBJECTS = {
    "customers/contact": "contacts", "customers/organization": "organizations",
    "customers/account": "accounts", "customers/grant": "grants",
    "customers/customergroup": "customer-groups", "auth/group": "roles", "catalog/market": "markets",
    "catalog/product": "products", "catalog/variant": "variants", "pricing/pricerow": "prices",
}
SHOP_WIDE_STATES = ["visible", "nonexistent"]
MODEL_STATES = {model: SHOP_WIDE_STATES for model in
                ("customers/customergroup", "auth/group", "catalog/market", "catalog/product", "catalog/variant")}
OBJECT_PAGES = ["change", "history", "delete"]

# Cells that find a real bug: (model, page, caller, state) → the bug.
KNOWN_BACK_OFFICE_BUGS: dict[tuple[str, str, str, str], str] = {}


def _perm(model: str, action: str) -> str:
    app, name = model.split("/")
    return f"{app}.{action}_{name}"


def _missing(matrix: dict, model: str) -> str:
    return "999999" if model == "auth/group" else matrix["missing"]  # roles have integer ids


def _back_office_cells():
    for model in ADMIN_OBJECTS:
        for caller in CALLERS:
            yield pytest.param(model, "changelist", caller, None, id=f"{model}_changelist-{caller}")
            for page in OBJECT_PAGES:
                for state in MODEL_STATES.get(model, STATES):
                    marks = ()
                    if (model, page, caller, state) in KNOWN_BACK_OFFICE_BUGS:
                        marks = pytest.mark.xfail(strict=True,
                                                  reason=KNOWN_BACK_OFFICE_BUGS[(model, page, caller, state)])
                    yield pytest.param(model, page, caller, state, id=f"{model}_{page}-{caller}-{state}",
                                       marks=marks)


def expected_page(model: str, page: str, caller: str, account, state: str | None):
    """"login" (a redirect to the login page), "login-or-403", or a status."""
    if account is None:
        return "login"
    if not account.is_staff:
        return "login-or-403"
    # The back office finds the object before it asks for the permission: what
    # the caller cannot see is a 404 whatever it may do.
    if state == "nonexistent" or (state == "invisible" and not account.sees_everything):
        return 404
    if not (account.has_perm(_perm(model, "view")) or account.has_perm(_perm(model, "change"))):
        return 403
    if page == "changelist":
        return 200
    if page == "delete" and (not account.has_perm(_perm(model, "delete")) or caller == "csr_view"):
        return 403
    return 200


def assert_page(response, expected) -> None:
    if expected == "login":
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    elif expected == "login-or-403":
        assert response.status_code == 403 or (
            response.status_code == 302 and response["Location"].startswith("/admin/login/")), \
            response.status_code
    else:
        assert response.status_code == expected, response.status_code


@pytest.mark.parametrize("model, page, caller, state", list(_back_office_cells()))
def test_back_office_matrix(matrix, model, page, caller, state):
    # given
    account = matrix["callers"][caller]
    target = matrix["objects"][ADMIN_OBJECTS[model]].get(state) if state else None
    missing = _missing(matrix, model)
    ident = str(target.pk) if target is not None else missing
    url = f"/admin/{model}/" if page == "changelist" else f"/admin/{model}/{ident}/{page}/"
    expected = expected_page(model, page, caller, account, state)
    client = client_for(account)

    # when
    if expected == 404 and state == "invisible":
        absent = client.get(url.replace(ident, missing), follow=True)
    # a delete page first redirects to itself with the version it shows
    response = client.get(url, follow=(page == "delete" and isinstance(expected, int)))

    # then
    assert_page(response, expected)
    if expected == 404 and state == "invisible":
        assert neutral(response.content, ident) == neutral(absent.content, missing)
    if scoped(account):
        assert_nothing_foreign(matrix, neutral(response.content, ident))


# A change the view-only CSR may not make: the page offers no save, and a POST changes nothing.
READ_ONLY_POSTS = {
    "contact": {"first_name": "Changed", "last_name": "Smith"},
    "organization": {"name": "Changed", "kind": "unit"},
    "account": {"email": "changed@example.com", "is_active": "on"},
    "grant": {"level": "manage"},
}


@pytest.mark.parametrize("model", sorted(READ_ONLY_POSTS))
def test_the_view_only_csr_gets_a_read_only_change_page(matrix, model):
    # given
    target = matrix["objects"][ADMIN_OBJECTS[f"customers/{model}"]]["visible"]
    client = client_for(matrix["callers"]["csr_view"])
    url = f"/admin/customers/{model}/{target.pk}/change/"
    before = snapshot(target)

    # when
    page = client.get(url)
    response = client.post(url, READ_ONLY_POSTS[model])

    # then
    if model == "grant":  # a CSR may not even view grants
        assert page.status_code == 403
    else:
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
    assert response.status_code == 403
    assert snapshot(target) == before


# --- add pages ---------------------------------------------------------------------

ADD_PAGES = [*ADMIN_OBJECTS, "customers/apitoken"]


@pytest.mark.parametrize("model, caller", [pytest.param(m, c, id=f"{m}-{c}") for m in ADD_PAGES for c in STAFF])
def test_back_office_add_page_matrix(matrix, model, caller):
    account = matrix["callers"][caller]
    response = client_for(account).get(f"/admin/{model}/add/")
    # Everyone with the back office issues their own tokens.
    allowed = model == "customers/apitoken" or account.has_perm(_perm(model, "add"))
    assert response.status_code == (200 if allowed else 403), response.status_code
    if scoped(account):
        assert_nothing_foreign(matrix, response.content.decode(), ids=True)


# --- the move page, the organization tree and the organization page's members ------------

# Each page or fragment about one organization: the permission it needs besides
# viewing organizations.
TREE_FRAGMENTS = {"{}/move": "customers.change_organization", "tree/{}/children": None,
                  "tree/{}/count": None, "{}/members": "customers.view_contact",
                  "tree/{}/create": "customers.add_organization",
                  "tree/{}/move": "customers.change_organization"}


@pytest.mark.parametrize("fragment, caller, state", [
    pytest.param(f, c, s, id=f"{f.replace('/{}/', '_').replace('{}/', '')}-{c}-{s}")
    for f in TREE_FRAGMENTS for c in CALLERS for s in STATES])
def test_organization_page_and_tree_fragment_matrix(matrix, fragment, caller, state):
    # given
    account = matrix["callers"][caller]
    target = matrix["objects"]["organizations"].get(state)
    ident = str(target.pk) if target is not None else matrix["missing"]
    expected = expected_page("customers/organization", "tree", caller, account, state)
    needs = TREE_FRAGMENTS[fragment]
    if expected == 200 and needs and not account.has_perm(needs):
        expected = 403
    client = client_for(account)

    # when
    response = client.get(f"/admin/customers/organization/{fragment.format(ident)}/")
    absent = client.get(f"/admin/customers/organization/{fragment.format(matrix['missing'])}/")

    # then
    assert_page(response, expected)
    if expected == 404 and state == "invisible":
        assert neutral(response.content, ident) == neutral(absent.content, matrix["missing"])
    if scoped(account):
        assert_nothing_foreign(matrix, neutral(response.content, ident), ids=state != "visible")


@pytest.mark.parametrize("query", ["", "?q=US", "?q=U", "?q=EU"])
@pytest.mark.parametrize("caller", STAFF)
def test_the_organization_tree_page_keeps_to_the_scope(matrix, caller, query):
    account = matrix["callers"][caller]
    client = client_for(account)
    for url in (f"/admin/customers/organization/tree/{query}", "/admin/customers/organization/tree/tops/"):
        response = client.get(url)
        assert response.status_code == 200
        if scoped(account):
            assert_nothing_foreign(matrix, response.content.decode(), ids=True)


# --- price previews ----------------------------------------------------------------------

PREVIEW = "/admin/pricing/pricerow/preview/"


def _contact_ref(matrix: dict, state: str, by: str) -> str:
    contact = matrix["objects"]["contacts"].get(state)
    if contact is None:
        return matrix["missing"] if by == "id" else "C-NOBODY"
    return str(contact.pk) if by == "id" else contact.key


def _preview_expected(account, state: str) -> int:
    if state == "nonexistent" or (state == "invisible" and not account.sees_everything):
        return 404
    return 200


@pytest.mark.parametrize("caller, state, by", [pytest.param(c, s, b, id=f"{c}-{s}-by_{b}")
                                               for c in STAFF for s in STATES for b in ("id", "key")])
def test_contact_prices_preview_matrix(matrix, caller, state, by):
    # given
    account = matrix["callers"][caller]
    ref, missing = _contact_ref(matrix, state, by), _contact_ref(matrix, "nonexistent", by)
    client = client_for(account)

    # when
    response = client.get(PREVIEW, {"contact": ref, "market": "EU"})
    absent = client.get(PREVIEW, {"contact": missing, "market": "EU"})

    # then
    assert response.status_code == _preview_expected(account, state), response.status_code
    if state == "visible":
        assert b"SHIRT-M" in response.content and b"9.00" in response.content  # Ann's own price
    if state == "invisible" and scoped(account):
        assert neutral(response.content, ref) == neutral(absent.content, missing)
    if scoped(account):
        assert_nothing_foreign(matrix, neutral(response.content, ref), ids=state != "visible")


@pytest.mark.parametrize("caller", STAFF)
def test_the_preview_action_leads_to_the_preview(matrix, caller):
    response = client_for(matrix["callers"][caller]).get("/admin/pricing/pricerow/preview-prices/")
    assert response.status_code == 302
    assert response["Location"].startswith(PREVIEW)


@pytest.mark.parametrize("caller, state", [pytest.param(c, s, id=f"{c}-{s}") for c in STAFF for s in STATES])
def test_variant_preview_matrix(matrix, caller, state):
    # given
    account = matrix["callers"][caller]
    variant = matrix["objects"]["variants"]["visible"]
    ref, missing = _contact_ref(matrix, state, "key"), _contact_ref(matrix, "nonexistent", "key")
    url = f"/admin/pricing/pricerow/variant/{variant.pk}/preview/"
    client = client_for(account)

    # when
    response = client.get(url, {"market": "EU", "contact": ref})
    absent = client.get(url, {"market": "EU", "contact": missing})
    no_variant = client.get(f"/admin/pricing/pricerow/variant/{matrix['missing']}/preview/")

    # then
    assert response.status_code == 200, response.status_code
    assert no_variant.status_code == 404
    if state == "visible":
        assert b"9.00" in response.content  # Ann's own price won
    if state == "invisible" and scoped(account):
        assert neutral(response.content, ref) == neutral(absent.content, missing)
    if scoped(account):
        assert_nothing_foreign(matrix, neutral(response.content, ref), ids=True)


# --- autocompletes ---------------------------------------------------------------------------

# (source app, source model, field, term, what the term finds): Django's
# autocomplete searches the field's model as the caller may pick it for the
# field: organizations and contacts it manages (putting something in them
# changes them; backoffice.scopes.choices_for), accounts it sees.
AUTOCOMPLETES = [
    ("customers", "contact", "organizations", "US", "US Sales"),
    ("customers", "contact", "organizations", "EU", "EU Management"),
    ("customers", "grant", "account", "carl", "carl@example.com"),
    ("customers", "grant", "account", "ann", "ann@example.com"),
    ("customers", "account", "contact", "Jones", "Jones"),
    ("customers", "account", "contact", "Smith", "Smith"),
]
PICKED_IF_MANAGED = ("organizations", "contact")


def _found(matrix: dict, caller: str, account, text: str, field: str | None = None) -> bool:
    if account.sees_everything:
        return True
    if field in PICKED_IF_MANAGED and caller == "csr_view":  # sees Ann and EU Management, manages nothing
        return False
    return text not in matrix["foreign"]


@pytest.mark.parametrize("app, model, field, term, text, caller", [
    pytest.param(*case, c, id=f"{case[1]}.{case[2]}-{case[3]}-{c}") for case in AUTOCOMPLETES for c in STAFF])
def test_autocomplete_matrix(matrix, app, model, field, term, text, caller):
    account = matrix["callers"][caller]
    response = client_for(account).get("/admin/autocomplete/", {
        "app_label": app, "model_name": model, "field_name": field, "term": term})
    assert response.status_code == 200, response.content
    found = [r["text"] for r in response.json()["results"]]
    assert any(text in f for f in found) == _found(matrix, caller, account, text, field), found
    if scoped(account):
        assert_nothing_foreign(matrix, response.content.decode(), ids=True)


@pytest.mark.parametrize("term, text, caller", [
    pytest.param(t, x, c, id=f"{t}-{c}") for t, x in (("Jones", "Jones"), ("Smith", "Smith"), ("C-CARL", "Jones"),
                                                        ("carl@", "Jones")) for c in STAFF])
def test_price_contact_autocomplete_matrix(matrix, term, text, caller):
    account = matrix["callers"][caller]
    response = client_for(account).get("/admin/pricing/pricerow/contacts/", {"term": term})
    assert response.status_code == 200, response.content
    found = [r["text"] for r in response.json()["results"]]
    assert any(text in f for f in found) == _found(matrix, caller, account, text), found
    if scoped(account):
        assert_nothing_foreign(matrix, neutral(response.content, term), ids=True)


# --- what a delete takes along ---------------------------------------------------------------

# A catalog manager deletes products and variants, and with them their price
# rows, but sees no customer: the confirmation page says that customer prices
# go too, without naming or counting them (their sale code is the customer's key).
@pytest.mark.parametrize("model", ["catalog/product", "catalog/variant"])
def test_a_delete_page_names_no_price_of_a_customer_the_caller_cannot_see(matrix, model):
    # given
    manager = make_account("catalog@example.com", Role.CATALOG_MANAGERS)
    target = matrix["objects"][ADMIN_OBJECTS[model]]["visible"]

    # when
    response = client_for(manager).get(f"/admin/{model}/{target.pk}/delete/", follow=True)

    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "Price rows of customers you cannot see" in body
    assert "Price rows: 1" in " ".join(body.split())  # the summary counts the one it shows
    assert "(all_customers," in body  # the price for all customers is listed as before
    assert_nothing_foreign(matrix, body.replace("C-ANN", "Carl"), ids=True)  # Ann is as unseen as Carl
