"""What the matcher needs from contracts."""

from django.db.models import QuerySet

from .models import ContractVersion, EventContract
from .versions import RELEASED


def matchable_versions() -> QuerySet[ContractVersion]:
    """Every version events may match, by event name and newest first: published and
    deprecated versions of active contracts that the registry has given an id."""
    return (
        ContractVersion.objects.select_related("contract")
        .filter(
            contract__status=EventContract.Status.ACTIVE,
            status__in=RELEASED,
            registry_schema_id__isnull=False,
        )
        .order_by("contract__event_name", "-version")
    )
