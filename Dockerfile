# One image for every process of the production shape (docker-compose.yml): gunicorn, the Celery
# worker, Celery beat and the one-shot migrate. Build: docker build -t spasm-diary .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=backend.settings.production \
    DIARY_VAR_DIR=/app/var

WORKDIR /app

# Pango and HarfBuzz for WeasyPrint (the clinician PDF); fonts so text renders.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

RUN groupadd --system --gid 10001 diary \
    && useradd --system --uid 10001 --gid diary --create-home --home-dir /home/diary diary

COPY . .

# Static files are baked into the image (WhiteNoise serves them). The production settings insist on
# real-looking values, so the build hands them throwaway ones; nothing here connects to a database or
# Redis, and none of these values is kept in the image's environment.
RUN DJANGO_SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time-0123456789 \
    DATABASE_URL=postgres://build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput -v0 \
    && chown diary:diary /app/var

# /app stays root-owned and read-only for the service; only /app/var (beat's schedule) is writable.
USER diary

EXPOSE 8000
CMD ["gunicorn", "backend.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
