"""Credentials out of text that leaves the process.

Check messages carry the reason a backend failed (the driver's own words,
which may quote a URL or a connection string), so the text is passed through
:func:`redact` before anyone outside the process can read it: the heartbeat
engine redacts every result it assembles and every traceback it logs, and the
start-up checks redact the ``DOCKERFLOW_CHECKS`` entries they quote.
"""

from __future__ import annotations

import re

from django.conf import settings

__all__ = ["REDACTED", "redact"]

#: What stands in for a removed credential.
REDACTED = "***"

#: ``scheme://user:password@host`` -> ``scheme://user:***@host``.
_URL_CREDENTIALS = r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@"
#: ``password=...`` / ``password: ...`` as in libpq connection strings and reprs.
_CREDENTIAL_PAIR = (
    r"(?i)(?P<head>\b(?:password|passwd|pwd|secret|token)['\"]?\s*[=:]\s*['\"]?)[^\s'\",)]+"
)
#: A configured password shorter than this is not searched for: it would
#: scrub ordinary words, and such a password is not worth hiding.
_MIN_SECRET_LENGTH = 4


def _configured_secrets() -> set[str]:
    """Passwords found in ``DATABASES`` and ``CACHES``, to scrub wherever they show up."""
    secrets: set[str] = set()
    for database in (getattr(settings, "DATABASES", None) or {}).values():
        if isinstance(database, dict) and isinstance(database.get("PASSWORD"), str):
            secrets.add(database["PASSWORD"])
    for cache in (getattr(settings, "CACHES", None) or {}).values():
        options = cache.get("OPTIONS") if isinstance(cache, dict) else None
        if isinstance(options, dict) and isinstance(options.get("PASSWORD"), str):
            secrets.add(options["PASSWORD"])
    return {secret for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH}


def redact(text: str) -> str:
    """``text`` without credentials: URL passwords, ``password=`` pairs, configured passwords."""
    # re keeps the compiled patterns (its own cache): no compile per call.
    text = re.sub(_URL_CREDENTIALS, rf"\g<head>{REDACTED}@", text)
    text = re.sub(_CREDENTIAL_PAIR, rf"\g<head>{REDACTED}", text)
    for secret in _configured_secrets():
        text = text.replace(secret, REDACTED)
    return text
