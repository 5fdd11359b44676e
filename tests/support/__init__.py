"""Helpers that both the test suite and the benchmarks use: real peers and real services on loopback.

- ``pushservers``: Web Push, FCM and APNs servers that verify and decrypt what the app sends;
- ``services``: private PostgreSQL and Redis servers that a test or benchmark may restart at will;
- ``stack``: the production shape (gunicorn, a Celery worker, Celery beat) as child processes;
- ``faults``: the faults-under-load scenario that ``tests/faults`` asserts and ``bench/faults.py`` prints.

The dependency runs one way: ``tests/`` and ``bench/`` import this package; it imports neither (nor
pytest: fixtures stay in conftest files and plugins such as ``tests/push_fixtures.py``).
"""
