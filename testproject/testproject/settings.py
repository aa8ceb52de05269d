"""testproject settings, all from the environment (Dockerflow: configuration via env vars).

SECRET_KEY, DEBUG, ALLOWED_HOSTS, DATABASE_URL and PORT come from the
environment; everything has a default that is safe for local development.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable; refuse values that are not clearly one."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "testproject-insecure-development-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
PORT = int(os.environ.get("PORT", "8000"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "dockerflow.django",
]

MIDDLEWARE = [
    "dockerflow.django.middleware.DockerflowMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"
ASGI_APPLICATION = "testproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Persistent connections suit WSGI workers. Under an ASGI server (uvicorn) set
# CONN_MAX_AGE=0: there each request runs its sync code in a thread of its own,
# so a connection kept open outlives its thread and is only closed by the
# garbage collector.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    ),
}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "dockerflow.logging.JsonLogFormatter",
            "logger_name": "testproject",
        },
    },
    "filters": {
        "request_id": {"()": "dockerflow.logging.RequestIdLogFilter"},
    },
    "handlers": {
        "console": {
            "level": "DEBUG",
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "request.summary": {"handlers": ["console"], "level": "DEBUG", "propagate": False},
        "dockerflow": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

DOCKERFLOW_HEARTBEAT_TIMEOUT = float(os.environ.get("DOCKERFLOW_HEARTBEAT_TIMEOUT", "5"))
# Drain mode: while this file exists the probes answer 503 (unset: off).
DOCKERFLOW_DRAIN_FILE = os.environ.get("DOCKERFLOW_DRAIN_FILE") or None
# The heartbeat's checks, as comma-separated dotted paths (unset: the library's defaults).
if os.environ.get("DOCKERFLOW_CHECKS"):
    DOCKERFLOW_CHECKS = env_list("DOCKERFLOW_CHECKS", "")
DOCKERFLOW_SUMMARY_LOG_PROBES = env_bool("DOCKERFLOW_SUMMARY_LOG_PROBES", False)
# /__error__ (raises on purpose): off unless asked for, and then it needs the token.
DOCKERFLOW_ERROR_ENDPOINT = env_bool("DOCKERFLOW_ERROR_ENDPOINT", False)
DOCKERFLOW_ERROR_ENDPOINT_TOKEN = os.environ.get("DOCKERFLOW_ERROR_ENDPOINT_TOKEN") or None
DOCKERFLOW_HEARTBEAT_SHOW_DETAILS = env_bool("DOCKERFLOW_HEARTBEAT_SHOW_DETAILS", False)
# Reuse a heartbeat result this many seconds (0: every probe runs the checks).
DOCKERFLOW_HEARTBEAT_CACHE_SECONDS = float(
    os.environ.get("DOCKERFLOW_HEARTBEAT_CACHE_SECONDS", "0")
)
# Per-check families in the OpenMetrics answer of /__heartbeat__ (docs: Metrics).
DOCKERFLOW_METRICS_SHOW_CHECKS = env_bool("DOCKERFLOW_METRICS_SHOW_CHECKS", False)
