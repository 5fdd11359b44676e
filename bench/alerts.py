"""Red-flag latency: from an episode's HTTP write returning to the push arriving at a push endpoint.

    .venv/bin/python -m bench.alerts [--check] [--episodes 200] [--rate 10]

PostgreSQL (the diary_bench database, created if missing) and Redis (db 13, purged after) with a real
Celery worker (prefork, 2 processes) started by this script, and a Web Push service on loopback that
verifies VAPID and decrypts each push (tests/support/pushservers.py). One person with one Web Push
device logs ``--episodes`` episodes with ``breathing_difficulty`` at ``--rate`` per second through the
API (in-process Django client: the write commits, publishes its outbox wake-up, returns). Each push
names its alert, each alert its episode, so every latency is write-returned -> push-decrypted.

Printed: p50/p95/max, the median of each hop (write returned -> red-flag outbox row done -> push marked
sent -> push decrypted, from the rows' own timestamps), the Celery queue depth sampled every 50 ms (max,
and at the end), and, as the baseline measured in the same run, a bare Web Push from this process to the same endpoint (encryption,
VAPID signature, HTTP): ratio = alert p50 / bare push p50. Target: p95 under 2 s. ``--check``: exit 1
on a miss or a lost push.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from tests.support.pushservers import WebPushService, ec_public_raw, private_pem  # noqa: E402

VAPID = ec.generate_private_key(ec.SECP256R1())
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
PURGE_BROKER = os.environ["REDIS_URL"].endswith("/13")
os.environ.update({
    "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "bench.settings", "VAPID_PRIVATE_KEY": private_pem(VAPID),
    "VAPID_SUBJECT": "mailto:bench@example.com", "PUSH_ALLOW_LOOPBACK_ENDPOINTS": "1",
    "EMAIL_URL": "memorymail://", "JWT_ACCESS_MINUTES": "120",
    "PYTHONWARNINGS": "ignore:No directory at",
})  # fmt: skip
warnings.filterwarnings("ignore", "No directory at")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from backend.celery import app as celery_app  # noqa: E402
from bench.common import ensure_database  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from diary.accounts.services import user_register  # noqa: E402
from diary.alerts.models import Alert  # noqa: E402
from diary.notifications.delivery.base import PushMessage, PushTarget  # noqa: E402
from diary.notifications.delivery.webpush import WebPushTransport  # noqa: E402
from diary.notifications.models import PushDelivery  # noqa: E402
from diary.outbox.models import OutboxEvent  # noqa: E402
from diary.outbox.routes import URGENT  # noqa: E402

DOMAIN = "@bench-alerts.invalid"
TARGET_P95_S = 2.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_worker(queues: str | None = None, concurrency: int = 2, name: str = "bench") -> subprocess.Popen[bytes]:
    cmd = [str(ROOT / ".venv/bin/celery"), "--quiet", "-A", "backend", "worker", "-P", "prefork", "-c", str(concurrency),
           "-l", "WARNING", "-n", f"{name}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"]  # fmt: skip
    if queues:
        cmd += ["-Q", queues]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if celery_app.control.ping(destination=[f"{name}@{socket.gethostname()}"], timeout=0.5):
            return proc
        if proc.poll() is not None:
            sys.exit("the Celery worker exited at start-up")
    sys.exit("the Celery worker did not answer a ping within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


class QueueDepth(threading.Thread):
    """Samples the broker's default queue length every 50 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append(int(self.client.llen("celery")))
            time.sleep(0.05)


def bare_push_p50(service: WebPushService, rounds: int = 50) -> float:
    sub = service.subscribe(application_server_key=ec_public_raw(VAPID))
    transport = WebPushTransport(private_pem(VAPID), "mailto:bench@example.com")
    message = PushMessage(notification_id="baseline", kind="alert", title="t", body="b")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        transport.send(PushTarget("webpush", sub.endpoint, sub.keys), message)
        times.append(time.perf_counter() - started)
    transport.close()
    return statistics.median(times)


def stage_medians(user: User, written: dict[str, float], arrivals: dict[str, float]) -> dict[str, float]:
    """Median time of each hop, from the rows' own timestamps (wall clock, same machine): the write
    returned -> the red-flag handler's outbox row done -> the push marked sent -> the push decrypted."""
    done = {
        uid: at.timestamp()
        for at, payload in OutboxEvent.objects.filter(
            user=user, handler__in=URGENT, processed_at__isnull=False
        ).values_list("processed_at", "payload")
        if at is not None
        for uid in payload.get("uids", [])
    }
    sent = {
        str(alert_id): at.timestamp()
        for alert_id, at in PushDelivery.objects.filter(notification__user=user, sent_at__isnull=False).values_list(
            "notification__alert_id", "sent_at"
        )
        if at is not None
    }
    hops: dict[str, list[float]] = {"write->evaluated": [], "evaluated->push sent": [], "push sent->received": []}
    for alert_id, episode_uid in Alert.objects.filter(user=user).values_list("uid", "episode_uid"):
        alert_id = str(alert_id)
        if episode_uid in written and episode_uid in done and alert_id in sent and alert_id in arrivals:
            hops["write->evaluated"].append(done[episode_uid] - written[episode_uid])
            hops["evaluated->push sent"].append(sent[alert_id] - done[episode_uid])
            hops["push sent->received"].append(arrivals[alert_id] - sent[alert_id])
    return {name: statistics.median(v) * 1000 for name, v in hops.items() if v}


def cleanup() -> None:
    for user in User.objects.filter(email__endswith=DOMAIN):
        user.delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="episodes per second")
    parser.add_argument("--split", action="store_true",
                        help="two one-process workers, one for the alerts queue only (as deployed), instead of one with two")  # fmt: skip
    args = parser.parse_args()
    ensure_database()
    cleanup()
    if PURGE_BROKER:
        celery_app.control.purge()
    service = WebPushService()
    service.start()
    arrivals: dict[str, float] = {}
    received = service.received

    if args.split:
        workers = [start_worker("alerts", 1, "urgent"), start_worker("celery,periodic", 1, "general")]
    else:
        workers = [start_worker()]
    depth = QueueDepth()
    try:
        user = user_register(email=f"p{DOMAIN}", password="a sturdy pass phrase 42", timezone="Europe/Berlin",
                             default_reminders=False)  # fmt: skip
        client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        sub = service.subscribe(application_server_key=ec_public_raw(VAPID))
        r = client.post("/api/v1/devices", {"platform": "webpush", "token": sub.endpoint, "keys": sub.keys},
                        content_type="application/json")  # fmt: skip
        assert r.status_code == 201, r.content
        baseline = bare_push_p50(service)
        seen = len(received)

        def watch() -> None:  # stamp each push's arrival as soon as the service has decrypted it
            nonlocal seen
            while not depth.done.is_set():
                while seen < len(received):
                    arrivals.setdefault(str(received[seen].payload["data"].get("alert_id")), time.time())
                    seen += 1
                time.sleep(0.002)

        watcher = threading.Thread(target=watch, daemon=True)
        depth.start()
        watcher.start()
        written: dict[str, float] = {}
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        for i in range(args.episodes):
            time.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            # a minute ago: alert evaluation reads only the recent weeks
            started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
            body = {"id": f"ep{i}", "kind": "spasm", "body_location": "chest", "started_at": started_at,
                    "pain": 5, "symptoms": ["breathing_difficulty"], "duration_s": 60}  # fmt: skip
            resp = client.post("/api/v1/episodes", body, content_type="application/json")
            written[f"ep{i}"] = time.time()
            assert resp.status_code == 201, resp.content
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # every episode's own alert pushed (window alerts come on top)
            episode_alerts = set(
                Alert.objects.filter(user=user, episode_uid__isnull=False).values_list("uid", flat=True)
            )
            if len(episode_alerts) >= args.episodes and episode_alerts <= arrivals.keys():
                break
            time.sleep(0.05)
        time.sleep(0.2)
        depth.done.set()
        alert_to_episode = dict(Alert.objects.filter(user=user).values_list("uid", "episode_uid"))
        latencies = [arrivals[a] - written[e] for a, e in alert_to_episode.items() if a in arrivals and e in written]
        stages = stage_medians(user, written, arrivals)
    finally:
        depth.done.set()
        for worker in workers:
            stop(worker)
        service.stop()
        cleanup()
        if PURGE_BROKER:
            celery_app.control.purge()
    lost = args.episodes - len(latencies)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(f"{len(latencies)} of {args.episodes} red-flag episodes pushed ({lost} lost) at {args.rate:g}/s; "
          f"write returned -> push decrypted: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms (target p95 < {TARGET_P95_S:g} s) "
          f"{'PASS' if p95 < TARGET_P95_S and not lost else 'FAIL'}")  # fmt: skip
    print(f"Celery queue depth: max {max(depth.samples, default=0)}, at the end {depth.samples[-1] if depth.samples else 0} "
          f"({len(depth.samples)} samples every 50 ms)")  # fmt: skip
    print(f"baseline: a bare Web Push from this process to the same endpoint, p50 {baseline * 1000:.1f} ms; "
          f"alert p50 / bare push p50 = {p50 / baseline:.1f}")  # fmt: skip
    print("where the time goes (medians, ms): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    return 1 if args.check and (p95 >= TARGET_P95_S or lost) else 0


if __name__ == "__main__":
    sys.exit(main())
