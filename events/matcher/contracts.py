"""The published contract versions the matcher matches against, reloaded while it runs."""

import logging
from dataclasses import dataclass

import fastavro
from confluent_kafka.schema_registry.common.avro import AVRO_TYPE
from confluent_kafka.schema_registry.serde import SchemaId
from fastavro.schema import SchemaParseException, UnknownType

from analytics_site.kafka import create_topics
from schemas_admin.lookup import matchable_versions
from schemas_admin.models import ContractVersion

from .convert import Converter, compile_schema

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Version:
    number: int
    deprecated: bool
    schema_id: int
    parsed_schema: dict
    convert: Converter
    wire_prefix: bytes  # Confluent wire format: magic byte 0, then the schema id (big-endian)


@dataclass(frozen=True)
class Contract:
    event_name: str
    output_topic: str
    versions: tuple[Version, ...]  # newest first
    published: tuple[Version, ...]  # the versions not deprecated, newest first

    def version(self, number: int) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)


class ContractBook:
    """Contracts by event name. ``refresh()`` reloads them; a published schema never changes,
    so each version's schema is compiled only once per process."""

    def __init__(self) -> None:
        self._contracts: dict[str, Contract] = {}
        self._compiled: dict[tuple[int, int], tuple[dict, Converter]] = {}
        self._topics: set[str] = set()

    def get(self, event_name: str) -> Contract | None:
        return self._contracts.get(event_name)

    def create_output_topics(self) -> None:
        """Create the output topics of contracts new to this book, unless they exist."""
        topics = {contract.output_topic for contract in self._contracts.values()}
        if topics - self._topics:
            create_topics(topics - self._topics)
            self._topics |= topics

    def refresh(self) -> None:
        versions: dict[str, list[Version]] = {}
        topics: dict[str, str] = {}
        for row in matchable_versions():
            version = self._version(row)
            if version is not None:
                versions.setdefault(row.contract.event_name, []).append(version)
                topics[row.contract.event_name] = row.contract.output_topic
        self._contracts = {
            name: Contract(
                name, topics[name], tuple(found), tuple(v for v in found if not v.deprecated)
            )
            for name, found in versions.items()
        }

    def _version(self, row: ContractVersion) -> Version | None:
        key = (row.pk, row.registry_schema_id)
        if key not in self._compiled:
            try:
                parsed = fastavro.parse_schema(row.schema)
                self._compiled[key] = (parsed, compile_schema(parsed))
            except (SchemaParseException, UnknownType, KeyError, TypeError, ValueError):
                logger.exception("%s: the schema is not valid Avro; the matcher skips it", row)
                return None
        parsed, convert = self._compiled[key]
        return Version(
            number=row.version,
            deprecated=row.status == ContractVersion.Status.DEPRECATED,
            schema_id=row.registry_schema_id,
            parsed_schema=parsed,
            convert=convert,
            wire_prefix=SchemaId(AVRO_TYPE, row.registry_schema_id).id_to_bytes(),
        )
