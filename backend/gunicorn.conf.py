"""gunicorn's settings for every place that runs it: the image (Dockerfile, docker-compose.yml) and the
production shape on loopback (bench/stack.py). The bind address stays on each command line.

    gunicorn --config backend/gunicorn.conf.py backend.wsgi:application --bind 0.0.0.0:8000

Access log: off. The app writes its own access line for every request (backend/logs.py,
``RequestLogMiddleware``: method, view name, status, duration, the person's id and the request id), and
it never writes a query string, which may name a symptom (``?has_symptom=``). gunicorn's default line
would be a second, less careful copy: it prints the request line, query string included. Whoever turns
it on anyway (``--access-logfile -``) gets :data:`access_log_format`: method, path without the query,
status and time.

Error log: gunicorn names the request URI when a request cannot be parsed or the application raises
past Django; :class:`NoQueryString` cuts the query string out of those lines too.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

accesslog = None
access_log_format = "%(m)s %(U)s %(s)s %(M)sms"  # method, path (PATH_INFO: no query), status, milliseconds
errorlog = "-"
# Workers: WEB_CONCURRENCY processes (compose sets it; gunicorn reads it when --workers is not given),
# each serving WEB_THREADS requests at once on threads, and keeping a client's connection open between
# requests for ``keepalive`` seconds: a phone's pull and push, and a clinician's pages, then reuse one connection.
# Measured in bench/load.py (README "Load", runs K and N): the same crowd at 100 requests/s cost 16.6 ms
# of the machine per request instead of 17.8, and its p99 fell from 57-69 ms to 34-45 ms. A sync worker
# holds a connection for its one request; with keep-alive it would wait on an idle client.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5  # seconds; the app's own clients (bench/load.py's urgent probe) open a new one after that
# The workers' heartbeat files: /dev/shm is memory, a container's /tmp may be a slow overlay.
_SHM = "/dev/shm"  # noqa: S108  memory for gunicorn's own files, not a predictable temp file  # nosec B108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# No control socket: nothing here uses it, and it would want a writable $HOME.
control_socket_disable = True

_QUERY = re.compile(r"\?[^\s'\"]*")


class NoQueryString(logging.Filter):
    """Drop every ``?query`` from a gunicorn.error line (the whole message, arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("", message), None
        return True


def on_starting(server: Any) -> None:
    """In the master before it forks: the workers inherit the filter."""
    logging.getLogger("gunicorn.error").addFilter(NoQueryString())
