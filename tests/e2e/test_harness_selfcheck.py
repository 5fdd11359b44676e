"""Self-check of the end-to-end sync harness (harness.py + client.mjs), not of the server.

The real WatermelonDB client runs against `FakeSyncServer`, a few dozen lines that speak just
enough of SYNC.md to show that the harness does what the real tests rely on: it pushes and pulls
through synchronize(), loops while a pull says has_more, passes experimentalStrategy and
experimentalRejectedIds through, reports a 409 on push (or any HTTP error) as a failed sync that a
later sync recovers from, and merges check-ins with the app's conflict resolver. The server's own
behaviour is tested against the Django server elsewhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.harness import TABLES, Device, DeviceError

TOKEN = "fake-token"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


class FakeSyncServer:
    """Per-person change sequence, tombstones, paging, conflicts: the bare minimum of SYNC.md."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = 1
        # table -> id -> (seq, raw, or None for a tombstone)
        self.rows: dict[str, dict[str, tuple[int, dict[str, Any] | None]]] = {t: {} for t in TABLES}
        self.requests: list[dict[str, Any]] = []
        self.fail_next_push: int | None = None
        self.replacement = False
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server_self.handle(self, "GET")

            def do_POST(self) -> None:
                server_self.handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- server-side writes (what REST or a server job would do) --

    def put(self, table: str, raw: dict[str, Any] | None, id: str) -> None:
        with self.lock:
            self.seq += 1
            self.rows[table][id] = (self.seq, raw and {**raw, "id": id})

    def purge(self, table: str, id: str) -> None:
        with self.lock:
            del self.rows[table][id]

    def live(self, table: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {id: raw for id, (_, raw) in self.rows[table].items() if raw is not None}

    # -- HTTP --

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length)) if length else None
        self.requests.append({"method": method, "path": url.path, "query": query, "body": body})
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, answer = 401, {"error": "unauthenticated"}
        elif method == "GET" and url.path == "/api/v1/sync/pull":
            status, answer = self.pull(query)
        elif method == "POST" and url.path == "/api/v1/sync/push" and isinstance(body, dict):
            status, answer = self.push(int(query["last_pulled_at"]), body)
        else:
            status, answer = 404, {"error": "not found"}
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def pull(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        cursor = None if query["last_pulled_at"] in ("null", "0") else int(query["last_pulled_at"])
        limit = int(query["limit"]) if "limit" in query else None
        with self.lock:
            changes: dict[str, dict[str, list[Any]]] = {
                t: {"created": [], "updated": [], "deleted": []} for t in TABLES
            }
            if self.replacement:
                self.replacement = False
                for table, rows in self.rows.items():
                    changes[table]["updated"] = [raw for _, raw in rows.values() if raw is not None]
                return 200, {"changes": changes, "timestamp": self.seq, "experimentalStrategy": "replacement"}
            changed = sorted(
                (seq, table, id, raw)
                for table, rows in self.rows.items()
                for id, (seq, raw) in rows.items()
                if (cursor is None and raw is not None) or (cursor is not None and seq > cursor)
            )
            has_more = limit is not None and len(changed) > limit
            page = changed[:limit] if has_more else changed
            for _, table, id, raw in page:
                if raw is None:
                    changes[table]["deleted"].append(id)
                else:
                    changes[table]["created" if cursor is None else "updated"].append(raw)
            answer: dict[str, Any] = {"changes": changes, "timestamp": page[-1][0] if has_more else self.seq}
            if has_more:
                answer["has_more"] = True
            return 200, answer

    def push(self, last_pulled_at: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.fail_next_push is not None:
            status, self.fail_next_push = self.fail_next_push, None
            return status, {"error": "conflict", "conflicts": {}}
        with self.lock:
            writes: list[tuple[str, str, dict[str, Any] | None]] = []
            rejected: dict[str, list[str]] = {}
            for table, change in body.items():
                for raw in change["created"] + change["updated"]:
                    if table in ("notifications", "alerts") and raw["id"] not in self.rows[table]:
                        rejected.setdefault(table, []).append(raw["id"])
                        continue
                    writes.append(
                        (table, raw["id"], {k: v for k, v in raw.items() if k not in ("_status", "_changed")})
                    )
                writes.extend((table, id, None) for id in change["deleted"])
            conflicts: dict[str, list[str]] = {}
            for table, id, new in writes:
                seq, old = self.rows[table].get(id, (0, None))
                if seq > last_pulled_at and old != new and not (old is None and new is None):
                    conflicts.setdefault(table, []).append(id)
            if conflicts:
                return 409, {"error": "conflict", "conflicts": conflicts}
            for table, id, new in writes:
                if self.rows[table].get(id, (0, None))[1] != new and (new is not None or id in self.rows[table]):
                    self.seq += 1
                    self.rows[table][id] = (self.seq, new)
            return 200, {"ok": True, "experimentalRejectedIds": rejected, "rejected": {}}

    def pulls(self) -> list[dict[str, str]]:
        return [r["query"] for r in self.requests if r["path"] == "/api/v1/sync/pull"]

    def pushes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/api/v1/sync/push"]


def episode(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "cramp",
        "subtype": None,
        "body_location": "calf",
        "side": "left",
        "started_at": T0,
        "tz": "Europe/Berlin",
        "duration_s": 60,
        "pain": 4,
        "symptoms": "[]",
        "triggers": '["dehydration"]',
        "activity": "sleep",
        "relief": "[]",
        "relief_score": None,
        "notes": "",
        "created_at": T0,
        "updated_at": T0,
        **fields,
    }


@pytest.fixture
def server() -> Iterator[FakeSyncServer]:
    fake = FakeSyncServer()
    yield fake
    fake.close()


@pytest.fixture
def devices(server: FakeSyncServer) -> Iterator[list[Device]]:
    """Two devices of the same person, initialised against the fake server."""
    made = [Device("phone", base_url=server.url, token=TOKEN), Device("tablet", base_url=server.url, token=TOKEN)]
    yield made
    for device in made:
        device.close()


def test_harness_pushes_and_pulls_through_watermelondb(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, tablet = devices
    ep = phone.create("episodes", episode(pain=7, symptoms=["weakness"]))
    phone.create("checkins", {"date": "2026-01-02", "water_ml": 1500, "stretched": True}, id="2026-01-02")
    assert phone.get("episodes", ep)["status"] == "created"  # type: ignore[index]

    result = phone.sync()
    assert result["ok"], result
    assert (result["pulls"], result["pushes"], result["protocolProblems"]) == (1, 1, [])
    first_pull = server.pulls()[0]
    assert first_pull == {"last_pulled_at": "null", "schema_version": "1", "migration": "null"}
    push = server.pushes()[0]
    assert push["query"] == {"last_pulled_at": str(result["lastPulledAt"])}
    assert [r["id"] for r in push["body"]["episodes"]["created"]] == [ep]
    assert set(push["body"]) == set(TABLES)
    assert server.live("episodes")[ep]["symptoms"] == '["weakness"]'
    assert {r["status"] for r in phone.all("episodes") + phone.all("checkins")} == {"synced"}

    # The other device's first pull brings both rows. The server sends them as `created` (SYNC.md
    # rule 2), which WatermelonDB with sendCreatedAsUpdated reports as an error in its log.
    result = tablet.sync()
    assert result["ok"], result
    assert tablet.rows("episodes")[ep]["pain"] == 7
    assert tablet.rows("checkins")["2026-01-02"]["water_ml"] == 1500
    assert any("sendCreatedAsUpdated" in w for w in result["warnings"]), result["warnings"]

    # An edit and a synced delete travel as `updated` and `deleted`.
    phone.update("episodes", ep, {"duration_s": 300, "notes": "woke me"})
    assert phone.get("episodes", ep)["changed"] == ["updated_at", "duration_s", "notes"]  # type: ignore[index]
    phone.delete("checkins", "2026-01-02")
    assert phone.get("checkins", "2026-01-02")["status"] == "deleted"  # type: ignore[index]
    assert phone.sync()["ok"]
    assert phone.get("checkins", "2026-01-02") is None  # deletion pushed: gone for good
    assert "2026-01-02" not in server.live("checkins")

    result = tablet.sync()
    assert result["ok"] and result["warnings"] == [], result
    assert tablet.rows("episodes")[ep]["notes"] == "woke me"
    assert tablet.rows("checkins") == {}


def test_harness_loops_synchronize_while_has_more(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, tablet = devices
    for i in range(5):
        server.put("episodes", episode(pain=i), id=f"ep{i}")
    mine = phone.create("episodes", episode())
    server.fail_next_push = 409

    result = phone.sync(limit=2)
    assert result["ok"], result
    assert result["pulls"] == 3 and not result["hasMore"]
    t1, t2, t3 = result["timestamps"]
    assert t1 < t2 < t3 == result["lastPulledAt"]
    assert [q["last_pulled_at"] for q in server.pulls()] == ["null", str(t1), str(t2)]
    assert all(q["limit"] == "2" for q in server.pulls())
    # Every synchronize() pushes with its own page's cursor; the 409 after page 1 does not stop
    # the loop, the push after page 2 carries the same record.
    assert [p["query"]["last_pulled_at"] for p in server.pushes()] == [str(t1), str(t2)]
    assert [e[:9] for e in result["pushErrors"]] == ["push 409:"]
    assert set(phone.rows("episodes")) == {f"ep{i}" for i in range(5)} | {mine}
    assert mine in server.live("episodes")

    # defer_push: the push waits for the last page.
    theirs = tablet.create("episodes", episode())
    result = tablet.sync(limit=2, defer_push=True)
    assert result["ok"] and result["pulls"] == 3 and result["pushes"] == 1, result
    assert server.pushes()[-1]["query"]["last_pulled_at"] == str(result["lastPulledAt"])
    assert theirs in server.live("episodes")


def test_harness_reports_a_409_and_recovers_on_the_next_sync(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, _ = devices
    assert phone.sync()["ok"]
    ep = phone.create("episodes", episode())
    server.fail_next_push = 409

    result = phone.sync()
    assert not result["ok"]
    assert (result.get("phase"), result.get("status")) == ("push", 409)
    assert result.get("error", "").startswith("push 409")
    assert result.get("body") == {"error": "conflict", "conflicts": {}}
    assert phone.get("episodes", ep)["status"] == "created"  # type: ignore[index]

    result = phone.sync()
    assert result["ok"], result
    assert phone.get("episodes", ep)["status"] == "synced"  # type: ignore[index]
    assert ep in server.live("episodes")


def test_harness_reports_pull_errors(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, _ = devices
    phone.configure(token="someone-else")
    result = phone.sync()
    assert not result["ok"] and (result.get("phase"), result.get("status")) == ("pull", 401), result
    assert result["lastPulledAt"] is None
    phone.configure(baseUrl="http://127.0.0.1:9")
    result = phone.sync()
    assert not result["ok"] and result.get("error", "").startswith("pull failed"), result


def test_checkin_conflict_resolver_merges_logs_of_the_same_day(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, tablet = devices
    assert phone.sync()["ok"] and tablet.sync()["ok"]
    phone.create("checkins", {"date": "2026-01-02", "water_ml": 1500, "stress": 2}, id="2026-01-02")
    assert phone.sync()["ok"]
    tablet.create("checkins", {"date": "2026-01-02", "stress": 4, "notes": "long day"}, id="2026-01-02")

    result = tablet.sync()
    assert result["ok"] and result["resolvedConflicts"] == 0, result  # a local create has no _changed
    merged = {"water_ml": 1500, "stress": 4, "notes": "long day", "stretched": None}
    assert {k: tablet.rows("checkins")["2026-01-02"][k] for k in merged} == merged
    assert {k: server.live("checkins")["2026-01-02"][k] for k in merged} == merged
    assert phone.sync()["ok"]
    assert {k: phone.rows("checkins")["2026-01-02"][k] for k in merged} == merged

    # As SYNC.md words it, a local non-null value wins even in a column only the other device
    # changed: the tablet's edit of stress keeps its stale water_ml.
    phone.update("checkins", "2026-01-02", {"water_ml": 2000})
    assert phone.sync()["ok"]
    tablet.update("checkins", "2026-01-02", {"stress": 5})
    result = tablet.sync()
    assert result["ok"] and result["resolvedConflicts"] == 1, result
    assert tablet.rows("checkins")["2026-01-02"]["water_ml"] == 1500
    assert server.live("checkins")["2026-01-02"]["water_ml"] == 1500

    # Other tables keep WatermelonDB's per-column default: the remote value of a column not
    # changed locally wins.
    server.put("episodes", episode(pain=3), id="ep1")
    assert phone.sync()["ok"] and tablet.sync()["ok"]
    phone.update("episodes", "ep1", {"pain": 6})
    assert phone.sync()["ok"]
    tablet.update("episodes", "ep1", {"notes": "stretching helped"})
    assert tablet.sync()["ok"]
    assert {k: server.live("episodes")["ep1"][k] for k in ("pain", "notes")} == {
        "pain": 6,
        "notes": "stretching helped",
    }


def test_harness_passes_replacement_and_rejected_ids_through(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, _ = devices
    server.put("episodes", episode(), id="kept")
    server.put("episodes", episode(), id="purged")
    assert phone.sync()["ok"]
    unsynced = phone.create("episodes", episode())
    server.purge("episodes", "purged")  # tombstone gone: only a replacement answer can tell
    server.replacement = True

    result = phone.sync()
    assert result["ok"] and result["strategies"] == ["replacement"], result
    assert set(phone.rows("episodes")) == {"kept", unsynced}  # a local create survives replacement
    assert unsynced in server.live("episodes")

    # A create in a server-owned table comes back in experimentalRejectedIds and stays pending.
    note = phone.create("notifications", {"kind": "share", "title": "t", "body": "b", "scheduled_for": T0}, id="n1")
    result = phone.sync()
    assert result["ok"] and result["rejectedIds"] == {"notifications": [note]}, result
    assert phone.get("notifications", note)["status"] == "created"  # type: ignore[index]


def test_device_reports_bad_commands_and_keeps_running(server: FakeSyncServer, devices: list[Device]) -> None:
    phone, _ = devices
    with pytest.raises(DeviceError, match="unknown op"):
        phone.call("fly")
    with pytest.raises(DeviceError, match="unknown table"):
        phone.create("diaries", {})
    with pytest.raises(DeviceError, match=r"episodes\.pain is a number"):
        phone.create("episodes", {"pain": "7"})
    with pytest.raises(DeviceError, match="does not exist locally"):
        phone.update("episodes", "nope", {"pain": 1})
    with pytest.raises(DeviceError, match="already initialised"):
        phone.init(server.url, TOKEN)
    assert phone.get("episodes", "nope") is None
    assert phone.sync()["ok"]
