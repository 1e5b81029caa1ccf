"""Settings for a `clientbase serve` the tests start: clientbase's own, with
the test-only routes of tests/ops/urls.py in front."""

from clientbase import settings as clientbase_settings

globals().update({name: value for name, value in vars(clientbase_settings).items() if name.isupper()})
ROOT_URLCONF = "tests.ops.urls"
