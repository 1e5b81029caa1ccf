"""The subtree of a node is the range [path, path + "~") only when paths
compare byte by byte. Migration 0004 pins the path columns to the C collation
on PostgreSQL, where a database created with a linguistic collation would
otherwise break every subtree grant (docs/tree-representation.md); SQLite
compares with BINARY unless a column says otherwise."""

import pytest
from django.db import connection

from clientbase.customers.models import CustomerGroup, Organization


@pytest.mark.parametrize("model", [Organization, CustomerGroup])
def test_tree_path_columns_compare_byte_by_byte(db, model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT collation_name FROM information_schema.columns "
                           "WHERE table_name = %s AND column_name = 'path'", [table])
            assert cursor.fetchone()[0] == "C"
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
            path_column = next(part for part in cursor.fetchone()[0].split(",") if '"path"' in part)
            assert "COLLATE" not in path_column.upper()
