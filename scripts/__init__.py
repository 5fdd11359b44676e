"""Developer scripts. ``scripts/dev.py`` runs as ``python3 scripts/dev.py`` with the standard library only;
this file only lets the tests import it as ``scripts.dev``."""
