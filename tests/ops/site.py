"""Settings for a `clientbase serve` the tests start: clientbase's own, with
the test-only routes of tests/ops/urls.py in front."""

from clientbase.settings import *  # noqa: F403

ROOT_URLCONF = "tests.ops.urls"
