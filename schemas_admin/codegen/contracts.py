"""What code is generated for: the released versions of contracts, named for every language.

Code is generated for exactly the versions the matcher matches (``lookup.matchable_versions``):
published and deprecated versions of active contracts that have a registry id.
"""

from dataclasses import dataclass
from typing import Any

from ..lookup import matchable_versions
from ..models import ContractVersion
from .naming import camel, pascal, unique_names
from .schema import VersionModel, walk


@dataclass(frozen=True)
class Version:
    number: int
    schema: Any
    deprecated: bool
    model: VersionModel


@dataclass(frozen=True)
class Contract:
    """A contract with its versions (oldest first) and the names the generators give it."""

    event_name: str
    description: str
    type_name: str  # CheckoutCompleted: types are CheckoutCompletedV1, CheckoutCompletedV2, ...
    track_name: str  # trackCheckoutCompleted
    versions: tuple[Version, ...]

    @property
    def current(self) -> Version:
        """The version ``track<Event>`` sends: the newest not deprecated, else the newest."""
        live = [version for version in self.versions if not version.deprecated]
        return (live or list(self.versions))[-1]

    def version_type(self, version: Version) -> str:
        return f"{self.type_name}V{version.number}"

    @property
    def current_type(self) -> str:
        return self.version_type(self.current)

    def track_functions(self) -> list[tuple[str, Version]]:
        """``track<Event>`` (the current version), then ``track<Event>V<n>`` for every version."""
        return [(self.track_name, self.current)] + [
            (f"{self.track_name}V{version.number}", version) for version in self.versions
        ]


def released(event_name: str | None = None) -> list[Contract]:
    """The contracts (or the one named ``event_name``) with the versions clients may send,
    sorted by event name; empty when there are none."""
    rows: dict[str, list[ContractVersion]] = {}
    versions = matchable_versions()
    if event_name is not None:
        versions = versions.filter(contract__event_name=event_name)
    for row in versions:
        rows.setdefault(row.contract.event_name, []).append(row)
    return plan(
        [
            (
                name,
                found[0].contract.description,
                [(v.version, v.schema, v.status == v.Status.DEPRECATED) for v in found],
            )
            for name, found in sorted(rows.items())
        ]
    )


def plan(contracts: list[tuple[str, str, list[tuple[int, Any, bool]]]]) -> list[Contract]:
    """Name each (event name, description, [(version, schema, deprecated)]) and walk its
    schemas. Event names that style to the same identifier are told apart by a number."""
    type_names = unique_names(sorted(name for name, _, _ in contracts), pascal, False)
    planned = []
    for name, description, versions in sorted(contracts, key=lambda item: item[0]):
        type_name = type_names[name]
        planned.append(
            Contract(
                event_name=name,
                description=" ".join(description.split()),
                type_name=type_name,
                track_name=camel(f"track_{type_name}"),
                versions=tuple(
                    Version(number, schema, deprecated, walk(schema, f"{type_name}V{number}"))
                    for number, schema, deprecated in sorted(versions, key=lambda v: v[0])
                ),
            )
        )
    return planned
