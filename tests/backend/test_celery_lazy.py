"""Importing the project configures nothing: the settings load when first used, from the environment
as it is then.

``backend/__init__.py`` imports the Celery app, so anything under ``backend`` (a support module reading
``backend.settings.env``, for one) imports it. The app used to read its own configuration at import,
which made Django load ``DJANGO_SETTINGS_MODULE``'s default there and then: a script that set its
environment after its imports (bench/load.py) ran on the embedded SQLite default instead of the
PostgreSQL database it named, and refused to start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os
import backend.settings.env  # imports backend, and with it the Celery app
os.environ["DJANGO_SETTINGS_MODULE"] = "backend.settings.test"
from django.conf import settings
from backend.celery import app
print(settings.SETTINGS_MODULE, app.conf.task_default_queue, sorted(q.name for q in app.conf.task_queues))
"""


def test_importing_backend_leaves_the_settings_to_the_environment_set_afterwards() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split(None, 2) == [
        "backend.settings.test",
        "celery",
        "['alerts', 'batch', 'celery', 'periodic']\n",
    ]
