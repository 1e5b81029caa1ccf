"""Settings for `scripts/bench http` only: the product's settings, with the
bench's URLconf (the product's URLs plus the bare views under /bare/), so
that the product itself has no bench routes."""

from clientbase import settings as _product

globals().update({name: value for name, value in vars(_product).items() if name.isupper()})

ROOT_URLCONF = "bench.http_urls"
