"""A process skips the password hasher for a username and password it verified recently
(analytics_site/passwords.py), and never for a wrong, changed or deactivated one."""

import base64
import uuid

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.test import Client


class CountingHasher(MD5PasswordHasher):
    """A real (fast) hasher that counts the passwords it verifies."""

    algorithm = "counting_md5"
    verified = 0

    def verify(self, password: str, encoded: str) -> bool:
        CountingHasher.verified += 1
        return super().verify(password, encoded)


@pytest.fixture
def hasher(settings) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    settings.PASSWORD_CACHE_SECONDS = 60
    CountingHasher.verified = 0
    return CountingHasher


@pytest.fixture
def user(db, hasher) -> User:
    # A name of its own: nothing another test verified can be remembered for it.
    return User.objects.create_user(f"svc-{uuid.uuid4().hex[:8]}", password="first password")


def read_subjects(user: User, password: str) -> int:
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    client = Client(REMOTE_ADDR="192.0.2.7")
    return client.get("/registry/subjects", HTTP_AUTHORIZATION=f"Basic {token}").status_code


def test_a_verified_password_is_hashed_once(user, hasher):
    assert [read_subjects(user, "first password") for _ in range(3)] == [200, 200, 200]
    assert hasher.verified == 1


def test_wrong_passwords_are_never_remembered(user, hasher):
    assert [read_subjects(user, "guess") for _ in range(2)] == [401, 401]
    assert hasher.verified == 2


def test_a_changed_password_takes_effect_at_once(user, hasher):
    assert read_subjects(user, "first password") == 200
    user.set_password("second password")
    user.save()
    assert read_subjects(user, "first password") == 401
    assert read_subjects(user, "second password") == 200


def test_a_deactivated_account_is_refused_at_once(user):
    assert read_subjects(user, "first password") == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert read_subjects(user, "first password") == 401


def test_zero_seconds_remembers_nothing(user, hasher, settings):
    settings.PASSWORD_CACHE_SECONDS = 0
    assert [read_subjects(user, "first password") for _ in range(2)] == [200, 200]
    assert hasher.verified == 2
