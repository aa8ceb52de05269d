"""Dockerflow for Django: the container contract, done right."""

__version__ = "2026.11.0.dev0"
