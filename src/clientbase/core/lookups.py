"""A `prefix` lookup that an ordinary B-tree index can answer on every database.

`startswith` compiles to `LIKE 'abc%'`, which SQLite answers with an index only
for NOCASE columns and PostgreSQL only with a pattern-ops index. Search columns
in clientbase hold text already folded to lower case, so the lookup is
case-sensitive by design:

- PostgreSQL: `col LIKE 'abc%'`, served by an index declared with
  `varchar_pattern_ops` (see the `opclasses` of the search indexes).
- Elsewhere: the half-open range `col >= 'abc' AND col < 'abc\U0010ffff'`, which
  a plain index serves; with SQLite's BINARY collation it is exactly the prefix.
"""

from django.db.models import CharField, Lookup, TextField

_TOP = "\U0010ffff"


class Prefix(Lookup):
    lookup_name = "prefix"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs_value = str(self.rhs)
        return f"({lhs} >= %s AND {lhs} < %s)", [*lhs_params, rhs_value, rhs_value + _TOP]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        escaped = str(self.rhs).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{lhs}::text LIKE %s", [*lhs_params, escaped + "%"]


CharField.register_lookup(Prefix)
TextField.register_lookup(Prefix)
