"""What the matcher needs from contracts."""

from .models import ContractVersion, EventContract


def published_versions(event_name: str) -> list[ContractVersion]:
    """The versions events named ``event_name`` may match, newest first: published and
    deprecated versions of the active contract that the registry has given an id."""
    return list(
        ContractVersion.objects.select_related("contract")
        .filter(
            contract__event_name=event_name,
            contract__status=EventContract.Status.ACTIVE,
            status__in=[ContractVersion.Status.PUBLISHED, ContractVersion.Status.DEPRECATED],
            registry_schema_id__isnull=False,
        )
        .order_by("-version")
    )
