"""A bundle: the generated files of one language, a manifest, an ETag and a stable zip.

The same contracts give the same bytes: files are generated in sorted order with no dates in
them, and the zip's entries carry a fixed date and mode. The ETag is a digest of the files, so
a client build can ask "has anything changed?" with ``If-None-Match``; the manifest
(``codegen.json``) repeats it, with the contract versions the code was generated from.
"""

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import jsonschema, kotlin, swift, typescript
from .contracts import Contract, released
from .schema import CodegenError

GENERATORS: dict[str, Callable[[list[Contract], dict[str, str]], dict[str, str]]] = {
    "typescript": typescript.generate,
    "kotlin": kotlin.generate,
    "swift": swift.generate,
    "jsonschema": jsonschema.generate,
}
LANGUAGES = tuple(GENERATORS)
# The options each language takes, with the check of a value (None when it is fine).
OPTIONS: dict[str, dict[str, Callable[[str], str | None]]] = {
    "kotlin": {"package": kotlin.package_problem},
}
MANIFEST = "codegen.json"
# Raised whenever generated output changes for the same contracts, so that client builds see it.
GENERATOR_VERSION = 1
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Bundle:
    language: str
    files: dict[str, str]  # path -> text, the manifest included
    etag: str  # quoted, as in the ETag header

    def zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(self.files):
                entry = zipfile.ZipInfo(path, date_time=ZIP_DATE)
                entry.create_system = 3  # Unix, so that the mode below applies everywhere
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, self.files[path].encode())
        return buffer.getvalue()

    def filename(self, event_name: str | None = None) -> str:
        return f"tracking-{self.language}{f'-{event_name}' if event_name else ''}.zip"


def language_problem(language: str) -> str | None:
    if language not in GENERATORS:
        return f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}."
    return None


def clean_options(language: str, options: dict[str, str]) -> dict[str, str]:
    """The options ``language`` takes, checked; CodegenError names a bad one."""
    known = OPTIONS.get(language, {})
    cleaned = {}
    for name, value in sorted(options.items()):
        if value in (None, ""):
            continue
        if name not in known:
            raise CodegenError(f"{language} takes no option {name!r}.")
        problem = known[name](value)
        if problem:
            raise CodegenError(problem)
        cleaned[name] = value
    return cleaned


def build(language: str, contracts: list[Contract], options: dict[str, str]) -> Bundle:
    problem = language_problem(language)
    if problem:
        raise CodegenError(problem)
    options = clean_options(language, options)
    files = GENERATORS[language](contracts, options)
    digest = hashlib.sha256(f"{GENERATOR_VERSION}\n{language}\n".encode())
    for path in sorted(files):
        digest.update(f"{path}\n{len(files[path].encode())}\n".encode())
        digest.update(files[path].encode())
    etag = digest.hexdigest()[:40]
    manifest = {
        "generator": f"event-analytics-platform codegen {GENERATOR_VERSION}",
        "language": language,
        "options": options,
        "etag": etag,
        "contracts": {
            contract.event_name: {
                "versions": [version.number for version in contract.versions],
                "deprecated": [v.number for v in contract.versions if v.deprecated],
                "current": contract.current.number,
            }
            for contract in contracts
        },
        "files": sorted(files),
    }
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return Bundle(language, files, f'"{etag}"')


def released_bundle(
    language: str, event_name: str | None = None, options: dict[str, str] | None = None
) -> Bundle:
    """The bundle of every released contract, or of the one named ``event_name``."""
    problem = language_problem(language)
    if problem:
        raise CodegenError(problem)
    contracts = released(event_name)
    if event_name is not None and not contracts:
        raise ContractNotFound(f"No published contract for the event {event_name!r}.")
    return build(language, contracts, options or {})


class ContractNotFound(CodegenError):
    """No released version of the contract asked for."""


@dataclass(frozen=True)
class FolderState:
    missing: list[str]
    changed: list[str]
    stale: list[str]  # files an earlier bundle wrote that this one has no more

    @property
    def up_to_date(self) -> bool:
        return not (self.missing or self.changed or self.stale)

    def differences(self) -> list[str]:
        """What ``--check`` reports."""
        return (
            [f"missing: {path}" for path in self.missing]
            + [f"changed: {path}" for path in self.changed]
            + [f"no longer generated: {path}" for path in self.stale]
        )

    def changes(self) -> list[str]:
        """What writing the bundle did to the folder."""
        return [f"wrote {path}" for path in sorted(self.missing + self.changed)] + [
            f"removed {path}" for path in self.stale
        ]


def compare(bundle: Bundle, directory: Path) -> FolderState:
    """How ``directory`` differs from ``bundle``. Only files a bundle wrote are looked at."""
    missing, changed = [], []
    for path, text in sorted(bundle.files.items()):
        target = directory / path
        if not target.is_file():
            missing.append(path)
        elif target.read_bytes() != text.encode():
            changed.append(path)
    stale = [
        path
        for path in _previous_files(bundle.language, directory)
        if path not in bundle.files and (directory / path).is_file()
    ]
    return FolderState(missing, changed, stale)


def write(bundle: Bundle, directory: Path) -> FolderState:
    """Bring ``directory`` up to date with ``bundle``: write what is missing or changed, and
    remove the files an earlier bundle wrote that this one no longer has."""
    state = compare(bundle, directory)
    for path in state.missing + state.changed:
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bundle.files[path].encode())
    for path in state.stale:
        (directory / path).unlink()
    return state


def _previous_files(language: str, directory: Path) -> list[str]:
    """The files the bundle already in ``directory`` wrote, from its manifest."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return []
    try:
        manifest = json.loads(manifest_path.read_text())
        previous_language, files = manifest["language"], manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CodegenError(f"{manifest_path} is not a codegen manifest: {exc}.") from exc
    if previous_language != language:
        raise CodegenError(
            f"{directory} holds generated {previous_language} code; write {language} code "
            "to another folder."
        )
    root = directory.resolve()
    return [
        path
        for path in files
        if isinstance(path, str) and (directory / path).resolve().is_relative_to(root)
    ]
