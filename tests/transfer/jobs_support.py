"""Fixtures for import jobs: their files in a folder of the test's own, and
jobs run by Django's immediate task backend unless a test picks a queue."""

import csv
import io
import os

import pytest

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DB_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
RQ_QUEUE = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
# Redis database 5 is this suite's (6 is kept for a second queue).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def import_dir(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path / "imports"
    settings.TASKS = IMMEDIATE
    return settings.IMPORT_DIR


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


CONTACT_HEADER = ["key", "first_name", "last_name", "email", "organizations"]


def contacts_csv(*rows: list[str]) -> bytes:
    return csv_bytes([CONTACT_HEADER, *rows])


def numbered_contacts(count: int, org: str = "EU-HQ") -> bytes:
    return contacts_csv(*([f"C-{i:04}", f"First{i}", f"Last{i}", f"person{i}@example.com", org]
                          for i in range(count)))
