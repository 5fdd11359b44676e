"""The pip-audit step of ``scripts/dev.py lint`` against an OSV-compatible service on loopback (the
``--osv-url`` a company mirror would use): a known vulnerability in the pinned tree fails the step,
none passes, and an unreachable service is reported as not audited (failing when required)."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from scripts import dev


def _pins(text: str) -> dict[str, str]:
    """{canonical name: version} of a hashed lock (``name==version \\`` lines, then ``--hash`` lines)."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", text, re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


RUNTIME, DEVELOPMENT = _pins(dev.LOCK.read_text()), _pins(dev.DEV_LOCK.read_text())


class _Osv(http.server.BaseHTTPRequestHandler):
    advisories: dict[str, list[dict[str, Any]]] = {}
    queried: list[str] = []

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        self.queried.append(name)
        body = json.dumps({"vulns": self.advisories.get(name, [])}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def osv(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Osv]]:
    handler = type("Osv", (_Osv,), {"advisories": {}, "queried": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PIP_AUDIT_OSV_URL", f"http://127.0.0.1:{server.server_port}/v1/query")
    try:
        yield handler
    finally:
        server.shutdown()


def test_a_clean_tree_passes_after_asking_about_every_pin_of_both_locks(osv: type[_Osv]) -> None:
    assert dev.audit() == 0
    assert {re.sub(r"[-_.]+", "-", name).lower() for name in osv.queried} == set(RUNTIME) | set(DEVELOPMENT)


@pytest.mark.parametrize("package", ["django", "pytest"], ids=["runtime", "dev-only"])
def test_a_known_vulnerability_in_a_pin_fails_the_step(
    osv: type[_Osv], capsys: pytest.CaptureFixture[str], package: str
) -> None:
    assert (package in RUNTIME) == (package == "django")
    osv.advisories[package] = [
        {
            "id": "PYSEC-TEST-1",
            "summary": "test advisory",
            "affected": [
                {
                    "package": {"name": package, "ecosystem": "PyPI"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
                    "versions": [DEVELOPMENT[package]],
                }
            ],
        }
    ]
    assert dev.audit() == 1
    assert "PYSEC-TEST-1" in capsys.readouterr().out


def test_an_unreachable_service_is_not_audited_and_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_AUDIT_OSV_URL", "http://127.0.0.1:1/v1/query")  # nothing listens there
    assert dev.audit() == 0
    monkeypatch.setenv("PIP_AUDIT_REQUIRED", "1")
    assert dev.audit() == 1
