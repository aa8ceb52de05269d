# ruff: noqa: I001 (the seed's text, kept as written)
"""Settings of the seed's project, written as the seed documentation instructs.

Blocks between ``# fmt: off`` and ``# fmt: on`` are the seed's text, unchanged
except where a ``# seed:`` comment says why.
"""

# fmt: off
import os
BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# fmt: on

# Configuration: "The simplest is to use Python's os.environ object".
# fmt: off
MY_SETTING = os.environ.get('DJANGO_MY_SETTING', 'default value')
# fmt: on
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "seed-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["testserver", "localhost"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DATABASE_NAME", os.path.join(BASE_DIR, "db.sqlite3")),
    }
}
ROOT_URLCONF = "seedsite.urls"
WSGI_APPLICATION = "seedsite.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Setup, step 1: add dockerflow.django to INSTALLED_APPS.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "dockerflow.django",
    "seedsite",
]

# Setup, step 3, with the Static content section's WhiteNoise middleware after
# SecurityMiddleware. The seed places DockerflowMiddleware among the others, not
# first: that works, and `manage.py check` warns (dockerflow.config.W001).
# seed: MIDDLEWARE_CLASSES -> MIDDLEWARE (removed in Django 2.0).
# fmt: off
MIDDLEWARE = (
    'django.middleware.security.SecurityMiddleware',
    'whitenoise.middleware.WhiteNoiseMiddleware',
    'django.contrib.sessions.middleware.SessionMiddleware',
    'dockerflow.django.middleware.DockerflowMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
)
# fmt: on

# Setup, step 4.
# fmt: off
LOGGING = {
    'version': 1,
    'formatters': {
        'json': {
            '()': 'dockerflow.logging.JsonLogFormatter',
            'logger_name': '<< MySiteName >>'
        }
    },
    'handlers': {
        'console': {
            'level': 'DEBUG',
            'class': 'logging.StreamHandler',
            'formatter': 'json'
        },
    },
    'loggers': {
        'request.summary': {
            'handlers': ['console'],
            'level': 'DEBUG',
        },
    },
}
# fmt: on

# Static content, step 1.
# fmt: off
STATIC_ROOT = os.path.join(BASE_DIR, 'staticfiles')
# fmt: on
STATIC_URL = "/static/"

# Settings: the seed's two settings at their documented values.
# fmt: off
DOCKERFLOW_VERSION_CALLBACK = 'dockerflow.version.get_version'
DOCKERFLOW_CHECKS = [
    'dockerflow.django.checks.check_database_connected',
    'dockerflow.django.checks.check_migrations_applied',
]
# fmt: on
