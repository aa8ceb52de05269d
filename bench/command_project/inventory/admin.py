"""Every model in the admin, as real projects do (the admin's checks then run on them)."""

from __future__ import annotations

from django.contrib import admin

from .models import ITEMS

for item in ITEMS:
    admin.site.register(
        item, list_display=["name", "slug", "active"], search_fields=["name", "slug"]
    )
