"""Settings of the benchmark server: the app's own settings, routed through bench.urls."""

from backend.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
