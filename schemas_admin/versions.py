"""Rules for one contract version: style checks and compatibility with published versions."""

from django.db.models import Max

from . import avro
from .models import ContractVersion, EventContract

RELEASED = [ContractVersion.Status.PUBLISHED, ContractVersion.Status.DEPRECATED]


def next_number(contract: EventContract) -> int:
    return (contract.versions.aggregate(top=Max("version"))["top"] or 0) + 1


def released_before(contract: EventContract, number: int | None) -> list[ContractVersion]:
    """Published and deprecated versions older than ``number`` (all when None), oldest first."""
    versions = contract.versions.filter(status__in=RELEASED).order_by("version")
    return list(versions if number is None else versions.filter(version__lt=number))


def style_problems(contract: EventContract, schema: object, number: int | None) -> list[str]:
    """What a product manager must fix before ``schema`` can be saved as a draft."""
    earlier = released_before(contract, number)
    try:
        return avro.style_problems(
            schema,
            event_name=contract.event_name,
            namespace=contract.namespace,
            previous=earlier[-1].schema if earlier else None,
            mode=contract.compatibility,
        )
    except avro.InvalidSchema as exc:
        return [str(exc)]


def compatibility_problems(
    contract: EventContract, schema: object, number: int | None
) -> list[str]:
    """Why ``schema`` breaks the contract's compatibility mode; empty when it does not."""
    earlier = [(f"version {v.version}", v.schema, ()) for v in released_before(contract, number)]
    try:
        problems = avro.compatibility_problems(schema, earlier, contract.compatibility)
    except avro.InvalidSchema as exc:
        return [str(exc)]
    return [problem[:1].upper() + problem[1:] for problem in problems]
