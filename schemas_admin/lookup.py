"""What the matcher needs from contracts."""

from django.db.models import QuerySet

from .models import ContractVersion, EventContract


def matchable_versions() -> QuerySet[ContractVersion]:
    """Every version events may match, by event name and newest first: published and
    deprecated versions of active contracts that the registry has given an id."""
    return (
        ContractVersion.objects.select_related("contract")
        .filter(
            contract__status=EventContract.Status.ACTIVE,
            status__in=[ContractVersion.Status.PUBLISHED, ContractVersion.Status.DEPRECATED],
            registry_schema_id__isnull=False,
        )
        .order_by("contract__event_name", "-version")
    )


def published_versions(event_name: str) -> list[ContractVersion]:
    """The versions events named ``event_name`` may match, newest first."""
    return list(matchable_versions().filter(contract__event_name=event_name))
