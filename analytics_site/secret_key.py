"""The secret key: from SECRET_KEY, from a file, or (development mode only) generated once.

Sessions, password-reset links and the built-in registry's publisher password all derive from
it, so a running deployment must never use a key that someone else can know: without one, every
entry point (``manage.py``, gunicorn, Celery) refuses to start and says how to set it.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Keys that were public in the source of earlier releases.
PUBLIC_KEYS = frozenset({"insecure-development-key-change-me"})

HOW_TO = (
    "Set SECRET_KEY to a long random value, for example the output of\n"
    "  python -c 'import secrets; print(secrets.token_urlsafe(50))'\n"
    "or put one in a file and set SECRET_KEY_FILE to its path. For development on your own "
    "machine only, set DJANGO_DEV_MODE=1 to have a key generated once into {key_file} "
    "(make run does this)."
)


class MissingSecretKey(ImproperlyConfigured):
    """No usable secret key; the message says how to set one."""


def secret_key(value: str, key_file: Path, dev_mode: bool) -> str:
    """The key to run with: ``value`` (SECRET_KEY) if set, else the content of ``key_file``;
    in development mode a missing ``key_file`` is created with a new random key."""
    if not value:
        if key_file.is_file():
            value = key_file.read_text().strip()
        elif dev_mode:
            value = _generate(key_file)
        else:
            raise MissingSecretKey(
                f"SECRET_KEY is not set and {key_file} does not exist. "
                + HOW_TO.format(key_file=key_file)
            )
    if value in PUBLIC_KEYS:
        raise MissingSecretKey(
            "SECRET_KEY is the development key that was published in this project's source. "
            + HOW_TO.format(key_file=key_file)
        )
    if not value:
        raise MissingSecretKey(f"{key_file} is empty. " + HOW_TO.format(key_file=key_file))
    return value


def _generate(key_file: Path) -> str:
    """Write a new key to ``key_file`` unless a concurrent process did first; return the key
    the file holds. Only the owner can read it."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    draft = key_file.with_name(f".{key_file.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(50) + "\n")
    try:
        os.link(draft, key_file)  # atomic, and fails if another process linked its key first
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return key_file.read_text().strip()


def require_settings() -> None:
    """Load the settings, or exit with the reason (not a traceback) when they are unusable."""
    from django.conf import settings

    try:
        settings.SECRET_KEY  # noqa: B018  (loading the settings is the point)
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Cannot start: {exc}") from None
