from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from events.matcher.replay import ReplayFilter, replay, summary
from events.models import ReplayRun, UnmatchedGroup
from events.tasks import replay_unmatched


class Command(BaseCommand):
    help = (
        "Match recorded unmatched events again (after a contract or client fix). Replayed events "
        "that match go to their contract's topic; replaying them again produces nothing twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--group", type=int, help="id of an unmatched group")
        parser.add_argument("--event", help="event name")
        parser.add_argument("--reason", help="unknown_event, invalid_field, ...")
        parser.add_argument("--field", help="path of the bad field, as in the group")
        parser.add_argument("--since", type=datetime.fromisoformat, help="ISO-8601 date-time")
        parser.add_argument("--until", type=datetime.fromisoformat, help="ISO-8601 date-time")
        parser.add_argument(
            "--all", dest="replay_all", action="store_true", help="every unmatched event"
        )
        parser.add_argument(
            "--async",
            dest="in_background",
            action="store_true",
            help="queue a Celery task instead of replaying in this process",
        )

    def handle(
        self, *args, group, event, reason, field, since, until, replay_all, in_background, **options
    ) -> None:
        times = {"since": since, "until": until}
        if group is not None:
            try:
                replay_filter = ReplayFilter.for_group(
                    UnmatchedGroup.objects.get(pk=group), **times
                )
            except UnmatchedGroup.DoesNotExist:
                raise CommandError(f"There is no unmatched group {group}.") from None
        else:
            replay_filter = ReplayFilter(event, reason, field, **times)
        if not replay_filter.as_json() and not replay_all:
            raise CommandError("Say what to replay (--group, --event, ...), or --all.")
        run = ReplayRun.objects.create(filters=replay_filter.as_json())
        if in_background:
            result = replay_unmatched.delay(run.pk)
            self.stdout.write(f"replay {run.pk} queued as task {result.id}")
            return
        try:
            replay(run, self.report_progress)
        except Exception as exc:
            raise CommandError(f"{summary(run)}; it failed: {exc}") from exc
        self.stdout.write(summary(run))

    def report_progress(self, run: ReplayRun) -> None:
        if run.status == ReplayRun.Status.RUNNING:  # the final counts go to stdout
            self.stderr.write(summary(run))
