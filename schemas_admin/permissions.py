"""Who may do what with contracts: owning-team members edit, other staff view, analysts read."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import EventContract, Team

User = AbstractBaseUser | AnonymousUser


def is_analyst(user: User) -> bool:
    analysts = settings.CONTRACTS_ANALYSTS_GROUP
    return user.is_authenticated and user.groups.filter(name=analysts).exists()


def editable_teams(user: User):
    """The teams whose contracts ``user`` may edit."""
    if not user.is_active or is_analyst(user):
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(members=user)


def can_edit(user: User, contract: EventContract | None) -> bool:
    """Edit ``contract``, or (None) add contracts at all: members of a team, and superusers
    even before any team exists (they create the first one from the contract form)."""
    teams = editable_teams(user)
    if contract is None:
        return teams.exists() or (user.is_superuser and user.is_active and not is_analyst(user))
    return teams.filter(pk=contract.team_id).exists()


def why_not_add(user: User) -> str:
    """What a staff member who may not add contracts should do about it."""
    if is_analyst(user):
        return "Analysts read contracts; writing them is for the team that owns each event."
    return (
        "You can view contracts, but you are in no team, and contracts are written by the "
        "team that owns them. Ask an administrator to add you to your team (Contracts → "
        "Teams)."
    )


def contract_for_subject(subject: str) -> EventContract | None:
    """The contract whose output topic's value subject is ``subject``, if any."""
    topic = subject.removesuffix("-value")
    if topic == subject:
        return None
    return EventContract.objects.filter(output_topic=topic).select_related("team").first()
