"""``manage.py codegen LANGUAGE DIR``: typed tracking code for the published contracts."""

from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from schemas_admin.codegen.bundle import LANGUAGES, compare, released_bundle, write
from schemas_admin.codegen.schema import CodegenError


class Command(BaseCommand):
    help = (
        "Write the tracking code of the published contracts to DIR (files an earlier run wrote "
        "and no contract needs any more are removed); with --check, write nothing and exit "
        "non-zero when DIR is out of date."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("language", choices=LANGUAGES)
        parser.add_argument("directory", type=Path)
        parser.add_argument("--event", help="only this contract (its event name)")
        parser.add_argument("--package", help="Kotlin package (default: analytics.tracking)")
        parser.add_argument(
            "--check", action="store_true", help="exit 1 when DIR differs from the contracts"
        )

    def handle(self, *args: object, **options) -> None:
        directory: Path = options["directory"]
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        extra = {"package": options["package"]} if options["package"] else {}
        try:
            bundle = released_bundle(options["language"], options["event"], extra)
            if options["check"]:
                state = compare(bundle, directory)
                if not state.up_to_date:
                    details = "\n".join(f"  {line}" for line in state.differences())
                    raise CommandError(
                        f"{directory} is out of date; run without --check to update it:\n{details}"
                    )
                self.stdout.write(f"{directory} is up to date ({bundle.etag}).")
                return
            state = write(bundle, directory)
        except CodegenError as exc:
            raise CommandError(str(exc)) from exc
        for line in state.changes():
            self.stdout.write(f"  {line}")
        verb = "updated" if not state.up_to_date else "already up to date"
        self.stdout.write(self.style.SUCCESS(f"{directory}: {verb} ({bundle.etag})."))
