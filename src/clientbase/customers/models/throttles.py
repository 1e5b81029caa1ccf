"""Attempts that are limited per client address (registrations, password
resets): one row per attempt, so that every app process — and every
machine — counts the same attempts without another service."""

from django.db import models


class Attempt(models.Model):
    kind = models.CharField(max_length=40)
    client = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "client", "at"], name="attempt_kind_client_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} from {self.client} at {self.at:%Y-%m-%d %H:%M:%S}"
