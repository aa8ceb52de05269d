"""WSGI entry point: ``gunicorn seedsite.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedsite.settings")
application = get_wsgi_application()
