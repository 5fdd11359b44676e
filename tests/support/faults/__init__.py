"""Faults under load: restart Redis, restart PostgreSQL and SIGKILL the worker while people write.

Everything runs on private servers (tests/support/services.py): a PostgreSQL cluster and a
redis-server on free ports, so the shared services at 5432 and 6379 are never touched. The app runs in
its production shape (tests/support/stack.py: gunicorn, a prefork Celery worker, Celery beat) with Web
Push pointed at a loopback push service that verifies VAPID and decrypts every push
(tests/support/pushservers.py).

- ``model``: the parameters and the records (attempts, writes, faults, checks, the report);
- ``client``: one thread per person writing over real HTTP like the offline app (client.py says how);
- ``timeline``: the people seeded, then the faults, in order, each just after a red-flag episode was
  accepted (so the worker is busy with it): Redis restarted, down a few seconds across a beat tick;
  PostgreSQL crashed (``pg_ctl -m immediate``) and restarted across the one-minute tick of the
  dispatcher and the sweepers; the worker's process group SIGKILLed and a new worker started;
- ``state``: the database read back, and the bounded wait for the work to drain;
- ``checks``: one function per check, in order (``CHECK_NAMES``):

  - every write was accepted in the end and every accepted write is stored exactly once, with its content;
  - no write failed while Redis was down;
  - while PostgreSQL was down the API answered 503 with Retry-After, never 500, never no answer;
  - no 500 anywhere, no failure outside the database outage;
  - the outbox and the push outbox drained, no push failed for good;
  - every reminder that fell due has exactly one inbox notification, every red-flag episode its alert,
    every alert exactly one inbox notification;
  - each of those notifications reached its person's push endpoint at least once (deduplicated by the
    notification id every push carries);
  - the worker lived through the Redis and PostgreSQL outages and kept working: between the faults,
    red-flag pushes arrived promptly;
- ``runner``: ``run(Config(...))``, the whole scenario from start to ``Report``.

``tests/faults`` asserts each check; ``bench/faults.py`` prints the report.
"""

from tests.support.faults.checks import CHECK_NAMES
from tests.support.faults.model import MIN_DURATION_S, Check, Config, Report
from tests.support.faults.runner import run
from tests.support.services import ServiceMissing

__all__ = ["CHECK_NAMES", "MIN_DURATION_S", "Check", "Config", "Report", "ServiceMissing", "run"]
