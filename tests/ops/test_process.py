"""A serving process settles once loaded: clientbase.wsgi imports every view
and freezes what it loaded out of the garbage collector's sight
(clientbase.ops.process)."""

import json
import os
import subprocess
import sys


def test_loading_the_wsgi_application_imports_every_view_and_freezes_what_it_loaded():
    # given a fresh interpreter, as a granian worker is
    probe = ("import gc, json, sys; import clientbase.wsgi; "
             "print(json.dumps([gc.get_freeze_count(), "
             "'clientbase.api.prices' in sys.modules, 'clientbase.backoffice.contacts' in sys.modules]))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clientbase.settings"}
    # when
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    # then
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, api_loaded, backoffice_loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert frozen > 10_000
    assert api_loaded and backoffice_loaded
