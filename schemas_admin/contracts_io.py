"""Contracts as code: each contract is a folder with contract.json and one .avsc per version.

    <dir>/<event_name>/contract.json   metadata, team, and each version's status and changelog
    <dir>/<event_name>/v<N>.avsc        the Avro schema of version N

Import applies the folder to the database through the same rules as the admin: drafts are
checked, published versions stay immutable, publishing checks compatibility. It either
applies everything or nothing, and reports every problem at once.
"""

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from . import history, publishing, versions
from .models import ContractVersion, EventContract, Team

CONTRACT_FIELDS = ["namespace", "description", "compatibility", "output_topic", "status"]
Status = ContractVersion.Status


class ImportRefused(Exception):
    """Nothing was imported; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def export(directory: Path) -> list[Path]:
    """Write every contract under ``directory``; return the folders written."""
    written = []
    for contract in EventContract.objects.select_related("team").prefetch_related("versions"):
        folder = directory / contract.event_name
        folder.mkdir(parents=True, exist_ok=True)
        all_versions = sorted(contract.versions.all(), key=lambda v: v.version)
        for version in all_versions:
            dump(folder / f"v{version.version}.avsc", version.schema)
        dump(folder / "contract.json", metadata(contract, all_versions))
        written.append(folder)
    return written


def dump(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def metadata(contract: EventContract, all_versions: list[ContractVersion]) -> dict[str, Any]:
    return {
        "event_name": contract.event_name,
        "team": {"slug": contract.team.slug, "name": contract.team.name},
        **{field: getattr(contract, field) for field in CONTRACT_FIELDS},
        "versions": [
            {"version": v.version, "status": v.status, "changelog": v.changelog}
            for v in all_versions
        ],
    }


def import_(directory: Path) -> list[str]:
    """Apply every contract folder under ``directory``; return what changed."""
    changes: list[str] = []
    problems: list[str] = []
    with transaction.atomic():
        for path in sorted(directory.glob("*/contract.json")):
            try:
                changes += apply(path.parent, json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError, OSError) as exc:
                problems.append(f"{path}: cannot be read ({type(exc).__name__}: {exc}).")
            except ImportRefused as exc:
                problems += exc.problems
        if problems:
            transaction.set_rollback(True)
            raise ImportRefused(problems)
    return changes


def apply(folder: Path, meta: dict[str, Any]) -> list[str]:
    team, _ = Team.objects.get_or_create(
        slug=meta["team"]["slug"], defaults={"name": meta["team"]["name"]}
    )
    fields = {"team": team, **{field: meta[field] for field in CONTRACT_FIELDS}}
    contract, created = EventContract.objects.get_or_create(
        event_name=meta["event_name"], defaults=fields
    )
    changes = []
    changed = [name for name, value in fields.items() if getattr(contract, name) != value]
    if created or changed:
        for name in changed:
            setattr(contract, name, fields[name])
        contract.full_clean()
        contract.save()
        action = "contract created" if created else "contract changed"
        history.record(contract, f"{action} by import", details=", ".join(changed))
        changes.append(f"{contract}: {action}")
    problems = []
    for entry in sorted(meta["versions"], key=lambda entry: entry["version"]):
        schema = json.loads((folder / f"v{entry['version']}.avsc").read_text())
        try:
            changes += apply_version(contract, entry, schema)
        except (ImportRefused, publishing.PublishRefused) as exc:
            problems += [f"{contract} v{entry['version']}: {p}" for p in exc.problems]
    if problems:
        raise ImportRefused(problems)
    return changes


def apply_version(contract: EventContract, entry: dict[str, Any], schema: Any) -> list[str]:
    number, status = entry["version"], entry["status"]
    version = contract.versions.filter(version=number).first()
    label = f"{contract} v{number}"
    if version is not None and version.status != Status.DRAFT and version.schema != schema:
        raise ImportRefused([f"it is {version.status}, so its schema cannot change."])
    changes = []
    if version is None or (version.schema, version.changelog) != (schema, entry["changelog"]):
        if version is None or version.status == Status.DRAFT:
            problems = versions.style_problems(contract, schema, number)
            if problems:
                raise ImportRefused(problems)
        version = version or ContractVersion(contract=contract, version=number)
        version.schema, version.changelog = schema, entry["changelog"]
        version.save()
        history.record(contract, "imported", version=version)
        changes.append(f"{label}: saved")
    if version.status == Status.DRAFT and status != Status.DRAFT:
        publishing.publish(version, None)
        changes.append(f"{label}: published")
    if version.status == Status.PUBLISHED and status == Status.DEPRECATED:
        publishing.deprecate(version, None)
        changes.append(f"{label}: deprecated")
    return changes
