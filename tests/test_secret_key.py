"""No public secret key in a running deployment: every entry point refuses to start without
one, and development mode generates one once and keeps it."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analytics_site.secret_key import MissingSecretKey, secret_key
from devservices._process import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_without_a_key_the_settings_refuse(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretKey, match="SECRET_KEY is not set") as refused:
        secret_key("", tmp_path / "secret-key", dev_mode=False)
    assert "DJANGO_DEV_MODE=1" in str(refused.value) and "SECRET_KEY_FILE" in str(refused.value)
    assert not (tmp_path / "secret-key").exists()


def test_the_formerly_public_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretKey, match="published in this project's source"):
        secret_key("insecure-development-key-change-me", tmp_path / "k", dev_mode=True)


def test_an_explicit_key_wins_and_a_key_file_is_read(tmp_path: Path) -> None:
    key_file = tmp_path / "secret-key"
    key_file.write_text("from-the-file\n")
    assert secret_key("from-the-environment", key_file, dev_mode=False) == "from-the-environment"
    assert secret_key("", key_file, dev_mode=False) == "from-the-file"
    key_file.write_text("\n")
    with pytest.raises(MissingSecretKey, match="is empty"):
        secret_key("", key_file, dev_mode=False)


def test_development_mode_generates_a_private_key_once(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret-key"
    first = secret_key("", key_file, dev_mode=True)
    assert len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_key("", key_file, dev_mode=True) == first
    assert secret_key("", key_file, dev_mode=False) == first  # manage.py by hand, later
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["secret-key"]


def keyless_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_DEV_MODE")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {**env, "SECRET_KEY_FILE": str(tmp_path / "secret-key"), **extra}


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        [str(BIN / "celery"), "-A", "analytics_site", "inspect", "ping"],
        [str(BIN / "gunicorn"), "-c", "analytics_site/gunicorn.conf.py"],
    ],
    ids=["manage.py", "celery", "gunicorn"],
)
def test_every_entry_point_refuses_to_start_without_a_key(tmp_path: Path, command) -> None:
    env = keyless_environment(tmp_path, WEB_BIND=f"127.0.0.1:{free_port()}")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Cannot start: SECRET_KEY is not set" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_mode_starts_and_keeps_its_key(tmp_path: Path) -> None:
    env = keyless_environment(tmp_path, DJANGO_DEV_MODE="1")
    show_key = [
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
    ]
    runs = [
        subprocess.run(show_key, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    keys = {run.stdout.strip().splitlines()[-1] for run in runs}
    assert keys == {(tmp_path / "secret-key").read_text().strip()}
