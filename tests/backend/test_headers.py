"""Security headers on every page: a Content-Security-Policy with no inline script (an injected
``<script>`` never runs), and ``no-store`` on clinician pages and the PDF. The routes come from the URL
map, not a list kept by hand; the admin's pages are walked as a superuser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, get_resolver, reverse

from diary.accounts.models import User
from tests.accounts.test_second_factor import _walk, code_at, enrolled, signed_in, world  # noqa: F401
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


def _script_src(policy: str) -> str:
    return next(d for d in policy.split(";") if d.strip().startswith("script-src"))


def _pages(known: dict[str, str]) -> list[tuple[str, URLPattern, str]]:
    """Every GET route outside the JSON API whose arguments we can fill: (route, pattern, url)."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("api/v1/") or not pattern.name:
            continue
        args = set(pattern.pattern.regex.groupindex)
        if not args <= set(known):
            continue
        try:
            url = reverse(f"admin:{pattern.name}" if route.startswith("admin/") else pattern.name,
                          kwargs={k: known[k] for k in args})  # fmt: skip
        except NoReverseMatch:  # a name reversible only under another namespace
            continue
        found.append((route, pattern, url))
    return found


def test_every_page_has_a_csp_without_inline_script_and_clinician_pages_are_no_store(
    clinician: User,
    world: dict[str, str],  # noqa: F811 - the fixture imported above
) -> None:
    secret = enrolled(clinician)
    doctor = signed_in(clinician)
    assert doctor.post("/clinician/2fa/", {"code": code_at(secret)}).status_code == 302
    admin = Client()
    admin.force_login(User.objects.create_superuser("root@example.com", PASSWORD))
    html = []
    for route, _pattern, url in _pages(world):
        client: Any = admin if route.startswith("admin/") else doctor
        r = client.get(url)
        assert r.status_code < 500, (url, r.status_code)
        policy = r.get("Content-Security-Policy", "")
        assert policy, url
        assert "'unsafe-inline'" not in _script_src(policy) and "'unsafe-eval'" not in _script_src(policy), url
        if r.get("Content-Type", "").startswith("text/html") and r.status_code == 200:
            html.append(url)
            assert not INLINE_SCRIPT.search(r.content.decode()), (url, INLINE_SCRIPT.search(r.content.decode()))
        if route.startswith("clinician"):
            assert r["Cache-Control"] == "no-store", (url, r.get("Cache-Control"))
    pdf = f"/clinician/patients/{world['pid']}/report.pdf"
    must = {"/", "/api/docs", "/accounts/login", "/admin", "/admin/accounts/user", "/clinician", "/clinician/2fa",
            "/clinician/redeem", f"/clinician/patients/{world['pid']}"}  # fmt: skip
    assert must <= {u.rstrip("/") or "/" for u in html}, html
    assert doctor.get(pdf)["Cache-Control"] == "no-store"
    assert len(html) >= 10, html


def test_swagger_ui_is_served_from_here_with_its_script_in_a_file() -> None:
    r = Client().get("/api/docs")
    page = r.content.decode()
    assert r.status_code == 200 and not INLINE_SCRIPT.search(page)
    assert "cdn" not in page.lower() and "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    script = Client().get("/api/docs?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
