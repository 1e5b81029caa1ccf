import json

import pytest

from clientbase.api import rendering


@pytest.fixture(autouse=True)
def rendered_as_ninja_would(monkeypatch):
    """Every answer api.rendering writes in these tests is checked against
    what ninja wrote before it (model_dump, then json.dumps with ninja's
    encoder, Django's): the same JSON once parsed. Yields the list of the
    answers checked."""
    checked = []
    render = rendering.RenderedOperation._render

    def checked_render(self, writer, answer, context):
        written = render(self, writer, answer, context)
        dumped = writer.to_python(answer, context=context, **self._dump_options())
        old = self.api.renderer.render(context["request"], dumped, response_status=context["response_status"])
        assert json.loads(written) == json.loads(old), (self.view_func.__name__, written, old)
        checked.append((self.view_func.__name__, written))
        return written

    monkeypatch.setattr(rendering.RenderedOperation, "_render", checked_render)
    return checked
