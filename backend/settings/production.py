"""Production settings: every secret and address must come from the environment.

``manage.py check --deploy`` passes with no warnings once real values are given (tested).
"""

from backend.settings import env as cfg
from backend.settings.base import *  # noqa: F403

DEBUG = cfg.boolean("DEBUG", default=False)
SECRET_KEY = cfg.required("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
    raise cfg.ImproperlyConfigured("Configuration error in DJANGO_SECRET_KEY: use at least 50 random characters")
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": SECRET_KEY}  # noqa: F405
DATABASES = {"default": cfg.db_url("DATABASE_URL")}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
ALLOWED_HOSTS = cfg.host_list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise cfg.ImproperlyConfigured("Configuration error in ALLOWED_HOSTS: this variable is required and is not set")
REDIS_URL = cfg.url("REDIS_URL", cfg.required("REDIS_URL"), schemes=("redis", "rediss", "unix"))

# Mail must really leave: an SMTP server, never the console or memory backends (which would print
# or drop the alert emails to clinicians and emergency contacts), and a real sender address.
# base.py has already read EMAIL_URL into the EMAIL_* settings; here it must be given, and SMTP.
cfg.required("EMAIL_URL")
if EMAIL_BACKEND != cfg.SMTP_BACKEND:  # noqa: F405
    raise cfg.ImproperlyConfigured(
        "Configuration error in EMAIL_URL: production sends real mail; use smtp+tls://, smtp+ssl:// or smtp://"
    )
DEFAULT_FROM_EMAIL = cfg.email_address("DEFAULT_FROM_EMAIL", cfg.required("DEFAULT_FROM_EMAIL"))
SERVER_EMAIL = cfg.email_address("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = cfg.boolean("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = cfg.integer("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
