"""A module that fails while being imported (for the version-callback check)."""

raise RuntimeError("this module fails on import on purpose")
