"""A file that cannot be imported at all: one line on standard error, exit
status 1, and nothing written."""

import pytest

from clientbase.customers.models import Contact
from clientbase.transfer.readers import MAX_FIELD

GOOD_ROW = b"key,first_name,email\r\nC-1,Ann,ann@example.com\r\n"


@pytest.mark.parametrize("content, message", [
    (b"key,first_name\r\nC-1,J\xfcrgen\r\n", "The file is not UTF-8 text"),
    (b"", "The file has no header row"),
    (b"\r\n\r\n", "The file has no header row"),
    (b"key,first_name,nickname\r\nC-1,Ann,Annie\r\n", "Unknown column 'nickname'"),
    (b"first_name,email\r\nAnn,ann@example.com\r\n", "Missing column 'key'"),
    (b"key,key\r\nC-1,C-2\r\n", "The column 'key' appears twice."),
    (GOOD_ROW + b'C-2,"' + b"x" * (10 * 1024 * 1024) + b'",b@example.com\r\n',
     f"Row 3: a field is longer than {MAX_FIELD:,} characters"),
    (GOOD_ROW + b'C-2,"never closed\r\n', "Row 3"),
    (b"PK\x03\x04 not really a workbook", "Not a readable XLSX workbook"),
], ids=["latin-1", "empty", "blank-lines", "unknown-column", "missing-key", "duplicate-column",
        "ten-megabyte-field", "unclosed-quote", "broken-xlsx"])
def test_a_bad_file_gets_one_line_and_changes_nothing(world, tmp_path, run_cli, content, message):
    # given
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    # when
    code, out, err = run_cli("import", "contacts", str(path))
    # then
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err[:500]
    assert not Contact.objects.exists()


def test_an_encoding_error_late_in_the_file_still_writes_nothing(world, tmp_path, run_cli):
    # given: thousands of good rows, then one in Latin-1
    rows = b"".join(b"C-%d,Ann,a%d@example.com\r\n" % (i, i) for i in range(3000))
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"key,first_name,email\r\n" + rows + b"C-X,J\xfcrgen,j@example.com\r\n")
    # when
    code, _, err = run_cli("import", "contacts", str(path))
    # then
    assert code == 1 and "not UTF-8" in err
    assert not Contact.objects.exists()


def test_a_missing_file_or_unknown_account_is_one_line(world, tmp_path, run_cli):
    code, _, err = run_cli("import", "contacts", str(tmp_path / "nowhere.csv"))
    assert code == 1 and err.strip().count("\n") == 0 and "No such file" in err
    path = tmp_path / "contacts.csv"
    path.write_bytes(GOOD_ROW)
    code, _, err = run_cli("import", "contacts", str(path), "--as", "nobody@example.com")
    assert code == 1 and err.strip() == "CommandError: No account with the e-mail nobody@example.com."
    assert not Contact.objects.exists()


def test_a_row_with_more_cells_than_columns_fails_alone(world, tmp_path, run_cli):
    path = tmp_path / "contacts.csv"
    path.write_bytes(GOOD_ROW + b"C-2,Bob,bob@example.com,extra\r\n")
    code, out, err = run_cli("import", "contacts", str(path))
    assert code == 1
    assert "row 3: The row has 4 cells but the header names 3 columns." in out
    assert list(Contact.objects.values_list("key", flat=True)) == ["C-1"]


def test_the_help_says_who_acts_by_default(run_cli):
    code, out, _ = run_cli("import", "--help")
    assert code == 0 and "Default: the system" in " ".join(out.split())
