"""``manage.py contracts export DIR`` / ``manage.py contracts import DIR``: contracts as code."""

from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from schemas_admin import contracts_io


class Command(BaseCommand):
    help = "Export contracts to a folder of .avsc files, or import them from one."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("directory", type=Path)

    def handle(self, *args: object, action: str, directory: Path, **options: object) -> None:
        if action == "export":
            for folder in contracts_io.export(directory):
                self.stdout.write(f"wrote {folder}")
            return
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        try:
            changes = contracts_io.import_(directory)
        except contracts_io.ImportRefused as exc:
            report = "\n".join(f"  - {problem}" for problem in exc.problems)
            raise CommandError(f"Import refused; nothing was changed:\n{report}") from exc
        for change in changes:
            self.stdout.write(change)
        self.stdout.write(self.style.SUCCESS(f"{len(changes)} change(s) imported."))
