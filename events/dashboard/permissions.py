"""Who sees the dashboard: analysts, product managers (members of a contract team), superusers."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from schemas_admin.models import EventContract
from schemas_admin.permissions import can_edit, is_analyst

User = AbstractBaseUser | AnonymousUser


def can_view(user: User) -> bool:
    """View the dashboard, export samples and replay events."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or is_analyst(user) or user.contract_teams.exists()


def can_draft(user: User, contract: EventContract | None) -> bool:
    """Draft a contract version from samples: the admin's own rule for writing versions (an
    existing contract's team, or any team for a new contract)."""
    return can_view(user) and can_edit(user, contract)
