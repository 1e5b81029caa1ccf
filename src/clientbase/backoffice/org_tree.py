"""The organization tree page of the back office, one level at a time.

The page shows the tops of what the staff member sees; expanding a node asks
for its children (one query, with their contact and child counts), so a page
costs the same for ten organizations or a hundred thousand. A search shows
the matches with their ancestors expanded. A unit is created in place and a
subtree moved with a tree picker, both through the organization services
(the move page's `move_organization`): the services decide, and their
refusals are shown on the page.

Every read starts from `Organization.objects.visible_to(request.user)`: a
node the staff member may not see is never listed, counted or expanded, and
its URL answers 404.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.decorators import action

from clientbase.backoffice.base import without_nul
from clientbase.core.errors import DomainError, Invalid
from clientbase.core.models import ids_in_path, subtree_q
from clientbase.core.pagination import Keyset
from clientbase.customers.models import Contact, GrantLevel, Organization, OrganizationKind
from clientbase.customers.services.organizations import create_organization, move_organization

LEVEL_SIZE = 100  # children shown per level before "Show more"
SEARCH_HITS = 50  # matches shown by a search, with their ancestors
LEVEL_ORDER = Keyset("search_name", "id")


def tree_url(**params: Any) -> str:
    """The tree page, e.g. tree_url(open=org.pk) with the path to `org` open."""
    url = reverse("admin:customers_organization_tree")
    return f"{url}?{urlencode(params)}" if params else url


def with_counts(nodes: QuerySet, account) -> QuerySet:
    """`nodes` with, on each, `member_count` (its direct contacts),
    `child_count` (its children that `account` sees) and `managed` (whether
    `account` may change it), in the same query: a level costs one query
    however many nodes it has."""
    visible = Organization.objects.visible_to(account)
    # Every contact of an organization the account sees is a contact it sees
    # (customers.models.visibility), so the memberships count them exactly,
    # on the index of the membership table.
    memberships = Contact.organizations.through.objects.filter(organization_id=OuterRef("pk"))
    children = visible.filter(parent_id=OuterRef("pk"))
    if account.sees_everything:
        managed = Value(True, output_field=BooleanField())
    else:
        managed = Q(pk__in=Organization.objects.visible_to(account, GrantLevel.MANAGE).values("pk"))
    return nodes.annotate(
        member_count=Coalesce(Subquery(_count(memberships, "organization_id")), 0),
        child_count=Coalesce(Subquery(_count(children, "parent_id")), 0),
        managed=managed,
    )


def _count(rows: QuerySet, group: str) -> QuerySet:
    return rows.order_by().values(group).annotate(n=Count("*")).values("n")


def tops(account) -> QuerySet:
    """The organizations `account` sees whose parent it does not see (or that
    have none): the roots of its part of the tree."""
    visible = Organization.objects.visible_to(account)
    if account.sees_everything:
        return visible.filter(parent__isnull=True)
    return visible.exclude(parent__in=visible.values("pk"))


@dataclass
class Level:
    """One level of the tree as shown: its nodes and where more of them are."""

    nodes: list[Organization]
    more_url: str | None = None
    partial: bool = False  # only the way to a search's matches: expanding again loads it all


def load_level(request: HttpRequest, parent: Organization | None, *, cursor: str | None = None,
               pick: Organization | None = None) -> Level:
    """The children of `parent` (None: the tops) that the caller sees, a page
    of LEVEL_SIZE in name order, counted."""
    user = request.user
    rows = (Organization.objects.visible_to(user).filter(parent=parent) if parent is not None
            else tops(user))
    try:
        page = LEVEL_ORDER.page(with_counts(rows, user), limit=LEVEL_SIZE, cursor=cursor)
    except Invalid:  # a cursor we did not give out: the first page
        page = LEVEL_ORDER.page(with_counts(rows, user), limit=LEVEL_SIZE)
    more_url = None
    if page.next_cursor:
        name = ("admin:customers_organization_tree_children" if parent is not None
                else "admin:customers_organization_tree_tops")
        more_url = reverse(name, args=[parent.pk] if parent is not None else [])
        more_url += f"?cursor={page.next_cursor}" + (f"&pick={pick.pk}" if pick else "")
    return Level(page.items, more_url)


def open_path(request: HttpRequest, target: Organization) -> Level:
    """The tops, with every visible ancestor of `target` (and `target`)
    expanded one level: a query per level of the path, whatever the number
    of children."""
    top = load_level(request, None)
    expanded = set(ids_in_path(target.path))
    _expand(request, top, expanded)
    return top


def _expand(request: HttpRequest, level: Level, expanded: set[UUID]) -> None:
    for node in level.nodes:
        if node.pk in expanded and node.child_count:
            node.level = load_level(request, node)
            _expand(request, node.level, expanded)


def search_tree(request: HttpRequest, term: str, search) -> tuple[Level, set[UUID], bool]:
    """The organizations matching `term` (by `search`, the list page's rule)
    with their visible ancestors, as a tree in which each ancestor shows only
    the way to the matches. Returns the tops, the ids of the matches and
    whether there were more matches than SEARCH_HITS. Two queries."""
    visible = Organization.objects.visible_to(request.user)
    found = list(search(visible, term).order_by("path").values_list("pk", "path")[: SEARCH_HITS + 1])
    more = len(found) > SEARCH_HITS
    found = found[:SEARCH_HITS]
    hits = {pk for pk, _ in found}
    wanted = hits | {pk for _, org_path in found for pk in ids_in_path(org_path)}
    nodes = {node.pk: node for node in with_counts(visible.filter(pk__in=wanted), request.user)
             .order_by("search_name", "id")}
    roots: list[Organization] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id)
        if parent is None:
            roots.append(node)
        else:
            parent.__dict__.setdefault("level", Level([], partial=True)).nodes.append(node)
    return Level(roots), hits, more


class CreateChildForm(forms.Form):
    name = forms.CharField(max_length=200)
    key = forms.CharField(max_length=100, required=False,
                          help_text="Optional external code, e.g. EU-SALES.")
    kind = forms.ChoiceField(choices=OrganizationKind.choices, initial=OrganizationKind.UNIT)


class OrganizationTreeMixin:
    """The tree page and its fragments, for OrganizationAdmin."""

    actions_list = ["open_tree"]

    @action(description="Tree view", url_path="open-tree", icon="account_tree")
    def open_tree(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(tree_url())

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("tree/", wrap(self.tree_view), name="customers_organization_tree"),
            path("tree/tops/", wrap(self.tops_view), name="customers_organization_tree_tops"),
            path("tree/<uuid:org_id>/children/", wrap(self.children_view),
                 name="customers_organization_tree_children"),
            path("tree/<uuid:org_id>/count/", wrap(self.subtree_count_view),
                 name="customers_organization_tree_count"),
            path("tree/<uuid:org_id>/create/", wrap(self.create_child_view),
                 name="customers_organization_tree_create"),
            path("tree/<uuid:org_id>/move/", wrap(self.move_picker_view),
                 name="customers_organization_tree_move"),
            *super().get_urls(),
        ]

    # -- helpers ---------------------------------------------------------------
    def _require_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _visible(self, request: HttpRequest, org_id: UUID) -> Organization:
        self._require_view(request)
        return visible_or_404(request, org_id)

    def _counted(self, request: HttpRequest, org: Organization) -> Organization:
        return with_counts(Organization.objects.visible_to(request.user).filter(pk=org.pk),
                           request.user).get()

    def _tree_context(self, request: HttpRequest, **extra) -> dict[str, Any]:
        return {
            "can_add": self.has_add_permission(request),
            "can_move": self.has_change_permission(request),
            "highlight": set(),
            **extra,
        }

    def _fragment(self, request: HttpRequest, template: str, context: dict, **headers) -> HttpResponse:
        response = TemplateResponse(request, f"backoffice/org_tree/{template}",
                                    self._tree_context(request, **context))
        for name, value in headers.items():
            response.headers[name.replace("_", "-")] = value
        return response

    # -- the page and its levels -----------------------------------------------
    def tree_view(self, request: HttpRequest) -> HttpResponse:
        """The tree: its tops (or the path to `?open=`, or the matches of `?q=`)."""
        self._require_view(request)
        term = without_nul(request.GET.get("q") or "").strip()
        highlight: set[UUID] = set()
        more_hits = False
        if term:
            level, highlight, more_hits = search_tree(
                request, term, lambda rows, text: self.get_search_results(request, rows, text)[0])
        elif opened := parse_uuid(request.GET.get("open")):
            target = self._visible(request, opened)
            level = open_path(request, target)
            highlight = {target.pk}
        else:
            level = load_level(request, None)
        context = {
            **self.admin_site.each_context(request),
            **self._tree_context(request, highlight=highlight),
            "title": "Organization tree",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": True,
            "level": level,
            "term": term,
            "more_hits": more_hits,
            "search_hits": SEARCH_HITS,
            "list_url": reverse("admin:customers_organization_changelist"),
        }
        return TemplateResponse(request, "backoffice/org_tree/page.html", context)

    def tops_view(self, request: HttpRequest) -> HttpResponse:
        self._require_view(request)
        pick = self._pick(request)
        level = load_level(request, None, cursor=request.GET.get("cursor"), pick=pick)
        return self._fragment(request, "_nodes.html", {"level": level, "pick": pick})

    def children_view(self, request: HttpRequest, org_id: UUID) -> HttpResponse:
        """One level: the children of an organization the caller sees."""
        org = self._visible(request, org_id)
        pick = self._pick(request)
        level = load_level(request, org, cursor=request.GET.get("cursor"), pick=pick)
        return self._fragment(request, "_nodes.html", {"level": level, "pick": pick})

    def subtree_count_view(self, request: HttpRequest, org_id: UUID) -> HttpResponse:
        """The contacts in an organization and every organization below it
        that the caller sees, counted once each: asked for per node, since
        counting a large subtree on every page load would read it all."""
        org = self._visible(request, org_id)
        below = Organization.objects.visible_to(request.user).filter(subtree_q(org.path))
        count = (Contact.objects.visible_to(request.user)
                 .filter(organizations__in=below.values("pk")).distinct().count())
        return HttpResponse(f"{count} in all", content_type="text/plain; charset=utf-8")

    def _pick(self, request: HttpRequest) -> Organization | None:
        """The organization a tree picker is moving (its `?pick=`)."""
        picked = parse_uuid(request.GET.get("pick"))
        return self._visible(request, picked) if picked else None

    # -- writes -----------------------------------------------------------------
    def create_child_view(self, request: HttpRequest, org_id: UUID) -> HttpResponse:
        """GET: the form for a new organization under this one; POST: create
        it through `create_organization` and answer the parent's node, open,
        with the new child marked (the form with its errors on a refusal)."""
        parent = self._visible(request, org_id)
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CreateChildForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                created = create_organization(actor=request.user, name=data["name"], parent=parent,
                                              key=data["key"] or None, kind=data["kind"])
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                node = self._counted(request, parent)
                node.level = load_level(request, node)
                if all(child.pk != created.pk for child in node.level.nodes):
                    # Past the first page of a long level: shown anyway, last.
                    node.level.nodes.append(self._counted(request, created))
                return self._fragment(request, "_node.html", {"node": node, "highlight": {created.pk},
                                                              "created": created})
        # The form goes back into its slot under the node, not over the node.
        return self._fragment(request, "_create_form.html", {"form": form, "parent": parent},
                              HX_Retarget=f"#slot-{parent.pk}", HX_Reswap="innerHTML")

    def move_picker_view(self, request: HttpRequest, org_id: UUID) -> HttpResponse:
        """GET: a tree picker for where to move this organization; POST
        (`parent`, empty for the top level): move it with its subtree through
        `move_organization`. A refusal (under its own subtree, outside the
        caller's managed scope, a stale version) is shown in the picker."""
        org = self._visible(request, org_id)
        if not self.has_change_permission(request, org):
            raise PermissionDenied
        error = None
        if request.method == "POST":
            parent = None
            if parent_id := request.POST.get("parent"):
                parent = visible_or_404(request, parse_uuid(parent_id))
            version = request.POST.get("expected_version")
            try:
                moved = move_organization(org, parent, actor=request.user,
                                          expected_version=int(version) if version and version.isdigit()
                                          else None)
            except DomainError as exc:
                error = exc.detail
            else:
                where = f"under {moved.parent}" if moved.parent_id else "to the top level"
                messages.success(request, f"Moved {moved} {where}.")
                response = HttpResponse(status=204)
                response.headers["HX-Redirect"] = tree_url(open=moved.pk)
                return response
        return self._fragment(request, "_picker.html", {
            "moving": org, "pick": org, "error": error, "level": load_level(request, None, pick=org),
        })


def visible_or_404(request: HttpRequest, org_id: UUID | None) -> Organization:
    """The organization if the caller sees it; a 404 otherwise, exactly as
    for one that does not exist."""
    org = Organization.objects.visible_to(request.user).filter(pk=org_id).first() if org_id else None
    if org is None:
        raise Http404("No organization matches the given query.")
    return org


def _form_errors(form: forms.Form, exc: DomainError) -> None:
    """The service's refusal as the form's errors: on the fields it names,
    else for the whole form."""
    named = [e for e in exc.errors if e.field in form.fields]
    for error in named:
        form.add_error(error.field, error.message)
    if not named:
        form.add_error(None, exc.detail)


def parse_uuid(value: str | None) -> UUID | None:
    """`value` as a UUID; None when it is empty or cannot be one."""
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None
