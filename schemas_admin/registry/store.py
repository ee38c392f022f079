"""The registry's operations over its tables, with Confluent's semantics and error codes."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from .. import avro
from ..models import (
    CompatibilityMode,
    ContractVersion,
    RegistrySchema,
    SubjectConfig,
    SubjectVersion,
)
from ..versions import RELEASED
from . import errors

DEFAULT_COMPATIBILITY = CompatibilityMode.BACKWARD
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class Candidate:
    """A schema sent by a client, checked and in the form it is stored."""

    text: str
    value: Any
    references: list[dict[str, Any]]
    dependencies: list[Any]

    @property
    def fingerprint(self) -> str:
        identity = json.dumps(["AVRO", self.text, self.references], sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()


def candidate(payload: Any, normalize: bool) -> Candidate:
    """Check a request body ({"schema": ..., "schemaType": ..., "references": [...]})."""
    if not isinstance(payload, dict) or not isinstance(payload.get("schema"), str):
        raise errors.invalid_schema('the body needs a "schema" string')
    schema_type = payload.get("schemaType") or "AVRO"
    if schema_type != "AVRO":
        raise errors.invalid_schema(
            f"schema type {schema_type} is not supported; this registry stores AVRO schemas only"
        )
    references = _reference_list(payload.get("references") or [])
    dependencies = resolve(references)
    try:
        value = avro.loads(payload["schema"])
        avro.parse(value, dependencies)
        text = avro.normalized(value, dependencies) if normalize else avro.compact(value)
    except avro.InvalidSchema as exc:
        raise errors.invalid_schema(str(exc)) from exc
    return Candidate(text, json.loads(text), references, dependencies)


def _reference_list(references: Any) -> list[dict[str, Any]]:
    if not isinstance(references, list) or not all(
        isinstance(ref, dict)
        and isinstance(ref.get("name"), str)
        and isinstance(ref.get("subject"), str)
        and isinstance(ref.get("version"), int)
        for ref in references
    ):
        raise errors.invalid_schema('"references" must be a list of {name, subject, version}')
    return [{key: ref[key] for key in ("name", "subject", "version")} for ref in references]


def resolve(references: list[dict[str, Any]], seen: set[int] | None = None) -> list[Any]:
    """The referenced schemas and theirs, each after what it depends on, as JSON values."""
    seen = set() if seen is None else seen
    resolved = []
    for ref in references:
        try:
            row = subject_version(ref["subject"], str(ref["version"]), deleted=True)
        except errors.RegistryError as exc:
            raise errors.invalid_schema(
                f"reference {ref['name']} ({ref['subject']} version {ref['version']}) "
                "does not exist"
            ) from exc
        if row.schema_id in seen:
            continue
        seen.add(row.schema_id)
        resolved += resolve(row.schema.references, seen)
        resolved.append(json.loads(row.schema.schema))
    return resolved


def subjects(deleted: bool) -> list[str]:
    rows = SubjectVersion.objects.all() if deleted else SubjectVersion.objects.filter(deleted=False)
    return list(rows.order_by("subject").values_list("subject", flat=True).distinct())


def versions(subject: str, deleted: bool) -> list[SubjectVersion]:
    rows = SubjectVersion.objects.filter(subject=subject).select_related("schema")
    found = list(rows if deleted else rows.filter(deleted=False))
    if not found:
        raise errors.subject_not_found(subject)
    return found


def parse_version(version: str) -> int | None:
    """A version from a URL: a number, or None for "latest" (also written -1)."""
    if version in ("latest", "-1"):
        return None
    if not version.isdigit() or not 1 <= int(version) <= MAX_VERSION:
        raise errors.invalid_version(version)
    return int(version)


def subject_version(subject: str, version: str, deleted: bool = False) -> SubjectVersion:
    """``version`` of ``subject``; "latest" is the newest live version, as in Confluent's
    registry (so after a soft delete of the latest, it is the next live one)."""
    number = parse_version(version)
    if number is None:
        return versions(subject, deleted=False)[-1]
    found = versions(subject, deleted)
    for row in found:
        if row.version == number:
            return row
    raise errors.version_not_found(subject, number)


def schema_by_id(schema_id: str) -> RegistrySchema:
    if not schema_id.isdigit():
        raise errors.schema_not_found(f"Schema {schema_id} not found")
    row = RegistrySchema.objects.filter(pk=int(schema_id), versions__isnull=False).first()
    if row is None:
        raise errors.schema_not_found(f"Schema {schema_id} not found")
    return row


def schema_usages(schema_id: str, deleted: bool) -> list[SubjectVersion]:
    rows = schema_by_id(schema_id).versions.order_by("subject", "version")
    return list(rows if deleted else rows.filter(deleted=False))


def compatibility(subject: str | None) -> str | None:
    """The level set for ``subject`` (the global one when None), or None when unset."""
    row = SubjectConfig.objects.filter(subject=subject or "").first()
    return row.compatibility if row else None


def effective_compatibility(subject: str) -> str:
    return compatibility(subject) or compatibility(None) or DEFAULT_COMPATIBILITY


def set_compatibility(subject: str | None, level: Any) -> str:
    if level not in CompatibilityMode.values:
        raise errors.invalid_compatibility(level)
    SubjectConfig.objects.update_or_create(subject=subject or "", defaults={"compatibility": level})
    return level


def delete_compatibility(subject: str) -> str:
    level = compatibility(subject)
    if level is None:
        raise errors.no_subject_config(subject)
    SubjectConfig.objects.filter(subject=subject).delete()
    return level


def incompatibilities(
    subject: str, new: Candidate, against: list[SubjectVersion], mode: str
) -> list[str]:
    earlier = [
        (f"version {row.version}", json.loads(row.schema.schema), resolve(row.schema.references))
        for row in against
    ]
    try:
        return avro.compatibility_problems(new.value, earlier, mode, new.dependencies)
    except avro.InvalidSchema as exc:
        raise errors.invalid_schema(str(exc)) from exc


def register(subject: str, payload: Any, normalize: bool) -> int:
    """Register a schema under ``subject``; the id of the identical one if already there."""
    new = candidate(payload, normalize)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _register(subject, new)
        except IntegrityError:  # a concurrent registration took the version number
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _register(subject: str, new: Candidate) -> int:
    live = list(
        SubjectVersion.objects.select_for_update()
        .filter(subject=subject, deleted=False)
        .select_related("schema")
    )
    for row in live:
        if row.schema.fingerprint == new.fingerprint:
            return row.schema_id
    reasons = incompatibilities(subject, new, live, effective_compatibility(subject))
    if reasons:
        raise errors.incompatible(subject, reasons)
    schema, _ = RegistrySchema.objects.get_or_create(
        fingerprint=new.fingerprint, defaults={"schema": new.text, "references": new.references}
    )
    top = SubjectVersion.objects.filter(subject=subject).aggregate(top=Max("version"))["top"]
    SubjectVersion.objects.create(subject=subject, version=(top or 0) + 1, schema=schema)
    return schema.pk


def lookup(subject: str, payload: Any, normalize: bool, deleted: bool) -> SubjectVersion:
    new = candidate(payload, normalize)
    for row in versions(subject, deleted):
        if row.schema.fingerprint == new.fingerprint:
            return row
    raise errors.schema_not_found()


def check(subject: str, version: str | None, payload: Any, normalize: bool) -> list[str]:
    """POST /compatibility: against one version, or (version None) as registering would."""
    new = candidate(payload, normalize)
    mode = effective_compatibility(subject)
    if version is None:
        against = list(SubjectVersion.objects.filter(subject=subject, deleted=False))
    else:
        against = [subject_version(subject, version)]
        mode = mode.removesuffix("_TRANSITIVE")
    return incompatibilities(subject, new, against, mode)


def referenced_by(row: SubjectVersion) -> list[int]:
    """Ids of live schemas whose references name ``row``."""
    ref = {"subject": row.subject, "version": row.version}
    return sorted(
        schema.pk
        for schema in RegistrySchema.objects.filter(versions__deleted=False).distinct()
        if any(
            r["subject"] == ref["subject"] and r["version"] == ref["version"]
            for r in schema.references
        )
    )


def delete_version(subject: str, version: str, permanent: bool) -> int:
    row = subject_version(subject, version, deleted=True)
    if permanent:
        if not row.deleted:
            raise errors.RegistryError(
                404,
                40407,
                f"Subject '{subject}' Version {row.version} was not deleted first before "
                "being permanently deleted",
            )
    elif row.deleted:
        raise errors.RegistryError(
            404,
            40406,
            f"Subject '{subject}' Version {row.version} was soft deleted. Set permanent=true "
            "to delete permanently",
        )
    if referenced_by(row):
        raise errors.reference_exists(subject, row.version)
    if permanent:
        refuse_if_published(row)
        row.delete()
    else:
        row.deleted = True
        row.save(update_fields=["deleted"])
    return row.version


def delete_subject(subject: str, permanent: bool) -> list[int]:
    rows = versions(subject, deleted=True)
    live = [row for row in rows if not row.deleted]
    if permanent and live:
        raise errors.RegistryError(
            404,
            40405,
            f"Subject '{subject}' was not deleted first before being permanently deleted",
        )
    if not permanent and not live:
        raise errors.RegistryError(
            404,
            40404,
            f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently",
        )
    targets = rows if permanent else live
    for row in targets:
        if referenced_by(row):
            raise errors.reference_exists(subject, row.version)
        if permanent:
            refuse_if_published(row)
    with transaction.atomic():
        if permanent:
            SubjectVersion.objects.filter(pk__in=[row.pk for row in targets]).delete()
        else:
            SubjectVersion.objects.filter(pk__in=[row.pk for row in targets]).update(deleted=True)
    return [row.version for row in targets]


def refuse_if_published(row: SubjectVersion) -> None:
    """Events in Kafka carry the schema ids of published contract versions: those must stay
    readable, so their subject versions are never deleted for good."""
    user = (
        ContractVersion.objects.filter(status__in=RELEASED, registry_schema_id=row.schema_id)
        .select_related("contract")
        .first()
    )
    if user is not None:
        raise errors.RegistryError(
            422,
            42205,
            f"Subject '{row.subject}' version {row.version} has schema id {row.schema_id}, "
            f"which published data uses ({user}, {user.status}): it cannot be deleted "
            "permanently. Deprecate the contract version instead.",
        )


def schema_body(schema: RegistrySchema) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema.schema}
    if schema.references:
        body["references"] = schema.references
    return body


def version_body(row: SubjectVersion) -> dict[str, Any]:
    return {
        "subject": row.subject,
        "version": row.version,
        "id": row.schema_id,
        **schema_body(row.schema),
    }
