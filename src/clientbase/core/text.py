"""Text that people read: names of contacts, organizations, groups, roles,
products."""

import re

from clientbase.core.errors import FieldError, Invalid

# Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder
# what follows them on screen ("Trojan Source": a name that reads as another
# one); zero-width characters and marks (U+200B–U+200F, U+FEFF) make two names
# that look alike differ, or hide text. No name needs them.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

MESSAGE = "Invisible or direction-changing characters (zero-width, bidi overrides) are not allowed."


def plain_text_error(value, field: str) -> FieldError | None:
    """The error for `field` when `value` (a string) holds a character that
    changes how the text shows without showing itself; None otherwise."""
    if isinstance(value, str) and _INVISIBLE.search(value):
        return FieldError(field, MESSAGE, "invisible_characters")
    return None


def check_plain_text(value, field: str) -> None:
    """Invalid (422, naming `field`) for such a value; see plain_text_error."""
    if error := plain_text_error(value, field):
        raise Invalid(detail=f"{field}: {error.message}", code="validation", errors=[error])
