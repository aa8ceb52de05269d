"""Ordinary models (``BENCH_MODELS``, default 50), so Django's system checks have a real
project's work to do."""

from __future__ import annotations

import os

from django.db import models

MODEL_COUNT = int(os.environ.get("BENCH_MODELS", "50"))


def _model(index: int) -> type[models.Model]:
    attrs = {
        "__module__": __name__,
        "name": models.CharField(max_length=100, db_index=True),
        "slug": models.SlugField(unique=True),
        "notes": models.TextField(blank=True),
        "amount": models.DecimalField(max_digits=10, decimal_places=2, default=0),
        "active": models.BooleanField(default=True),
        "created": models.DateTimeField(auto_now_add=True),
        "Meta": type("Meta", (), {"ordering": ["name"]}),
    }
    if index:
        attrs["parent"] = models.ForeignKey(
            f"inventory.Item{index - 1}", null=True, blank=True, on_delete=models.SET_NULL
        )
    return type(f"Item{index}", (models.Model,), attrs)


ITEMS = [_model(i) for i in range(MODEL_COUNT)]
