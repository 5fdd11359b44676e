# One image for every process of the production shape (docker-compose.yml): gunicorn, the Celery
# worker, Celery beat and the one-shot migrate. Build: docker build -t spasm-diary .
#
# Two stages. The first installs the runtime dependencies, and only those, from requirements.lock
# (every package pinned with its hashes; the development tools are in requirements-dev.lock, which
# never enters the image) into a virtualenv. The second copies that virtualenv beside the code: no
# pip cache, no build step, no test or lint tool in the image that runs.

# --- build: the runtime dependencies ---------------------------------------------------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A virtualenv without pip or setuptools: what runs needs neither. The build stage's own pip installs
# into it. --require-hashes refuses any file whose hash is not in the lock; --no-deps installs exactly
# the lock's list. Every pin has a wheel for this platform except http-ece (pure Python, an sdist
# checked against its hash and built here).
RUN python -m venv --without-pip /opt/venv
COPY requirements.lock /tmp/requirements.lock
RUN pip --python /opt/venv/bin/python install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements.lock

# --- the service -------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=backend.settings.production \
    DIARY_VAR_DIR=/app/var

WORKDIR /app

# Pango and HarfBuzz for WeasyPrint (the clinician PDF); fonts so text renders.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 diary \
    && useradd --system --uid 10001 --gid diary --create-home --home-dir /home/diary diary

# Same base image as the build stage, so the virtualenv's python link resolves.
COPY --from=build /opt/venv /opt/venv

COPY . .

# Static files are baked into the image (WhiteNoise serves them). The production settings insist on
# real-looking values, so the build hands them throwaway ones; nothing here connects to a database or
# Redis, and none of these values is kept in the image's environment.
RUN DJANGO_SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time-0123456789 \
    DATABASE_URL=postgres://build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    ALLOWED_HOSTS=localhost \
    EMAIL_URL=smtp://localhost:25 \
    DEFAULT_FROM_EMAIL=build@localhost \
    python manage.py collectstatic --noinput -v0 \
    && chown diary:diary /app/var

# /app stays root-owned and read-only for the service; only /app/var (beat's schedule) is writable.
USER diary

EXPOSE 8000
# /healthz answers 200 when the database and the broker answer (backend/healthcheck.py: standard
# library only, no curl in the image). Worker and beat override it in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["python", "backend/healthcheck.py"]
# Access log off, error log without query strings: backend/gunicorn.conf.py.
CMD ["gunicorn", "--config", "backend/gunicorn.conf.py", "backend.wsgi:application", "--bind", "0.0.0.0:8000"]
