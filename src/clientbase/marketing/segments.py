"""A segment's members: the contacts effectively in any of its customer
groups (a Gold member is in Customers too), as the viewer may see them.
Visitor groups make a segment an audience on the storefront as well —
anonymous visitors included — but they are judged per request, so they
have no list of members."""

from functools import reduce
from operator import or_

from django.db.models import QuerySet

from clientbase.customers.models import Contact
from clientbase.marketing.models import Segment


def members(segment: Segment, *, viewer) -> QuerySet:
    """The visible contacts effectively in the segment's customer groups;
    none when it names no customer group."""
    groups = list(segment.customer_groups.all())
    visible = Contact.objects.visible_to(viewer)
    if not groups:
        return visible.none()
    anyone = reduce(or_, (Contact.objects.effectively_in(group) for group in groups))
    return visible.filter(pk__in=anyone.values("pk"))
