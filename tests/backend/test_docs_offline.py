"""The API docs work with no internet (issue 17, item 4): Swagger UI comes from drf-spectacular-sidecar,
every file the page loads is served from here, and nothing in the page or its start-up script names
another origin (the CSP would refuse it anyway: script-src 'self')."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

ANY_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


# The embedded default (dev.py run, DEBUG) serves static files through the finders; the image collects
# them at build time (Dockerfile). Here the finders stand in for both: the files are the pinned package's.
@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_the_docs_page_and_everything_it_loads_are_served_from_here() -> None:
    client = Client()
    page = client.get("/api/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and "script-src 'self'" in page["Content-Security-Policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), asset  # same origin: no CDN, no pinned-elsewhere build
        r = client.get(asset)
        assert r.status_code == 200, asset
        body = b"".join(r.streaming_content) if r.streaming else r.content  # type: ignore[attr-defined]
        assert body, asset
    script = client.get("/api/docs/?script=").content.decode()
    assert not ANY_URL.search(html) and not ANY_URL.search(script), (ANY_URL.findall(html), ANY_URL.findall(script))
    assert "/api/schema" in script  # the UI loads the schema from here too
    # Swagger UI's default validatorUrl (in the bundle) would load a badge from validator.swagger.io.
    assert re.search(r'"validatorUrl":\s*null', script), script[:400]
