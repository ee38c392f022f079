"""Where records go: Hive-style folders from the event time, and deterministic object names.

``<kind>/[<event>/]<SINK_PARTITION_FORMAT of the event time>/<topic>+<partition>+<offset>.<ext>``
with the first offset of the file zero-padded, so names sort in offset order and a replay of
the same records writes the same name.
"""

import re
from datetime import UTC, datetime
from functools import lru_cache

# Directives the partition format may use, with their Athena projection (Java) equivalents.
DIRECTIVES = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH"}
_DIRECTIVE = re.compile(r"%.")
_SEGMENT = re.compile(r"^([a-z][a-z0-9_]*)=([^/=]+)$")


class LayoutError(ValueError):
    """SINK_PARTITION_FORMAT cannot be used; the message says why."""


def partition_columns(partition_format: str) -> list[tuple[str, str]]:
    """The Hive partition columns of a format, as (name, strftime pattern) pairs."""
    columns = []
    for segment in partition_format.strip("/").split("/"):
        match = _SEGMENT.match(segment)
        if match is None:
            raise LayoutError(
                f"SINK_PARTITION_FORMAT segment {segment!r} is not name=pattern "
                "(for example dt=%Y-%m-%d/hour=%H)."
            )
        unknown = set(_DIRECTIVE.findall(match.group(2))) - DIRECTIVES.keys()
        if unknown or not _DIRECTIVE.search(match.group(2)):
            raise LayoutError(
                f"SINK_PARTITION_FORMAT segment {segment!r} must use only "
                f"{', '.join(DIRECTIVES)} (found {', '.join(sorted(unknown)) or 'none'})."
            )
        if "%Y" not in match.group(2) and match.group(2) not in ("%m", "%d", "%H"):
            raise LayoutError(
                f"SINK_PARTITION_FORMAT segment {segment!r}: without %Y, a segment holds one "
                "of %m, %d or %H alone."
            )
        columns.append((match.group(1), match.group(2)))
    if len({name for name, _ in columns}) != len(columns):
        raise LayoutError("SINK_PARTITION_FORMAT repeats a partition column name.")
    return columns


class Layout:
    """Folders and names of one sink's files; the format is checked once, here."""

    def __init__(self, partition_format: str) -> None:
        partition_columns(partition_format)
        self.partition_format = partition_format.strip("/")
        self._folders = lru_cache(maxsize=4096)(self._folder)

    def time_folder(self, hour: str) -> str:
        """The partition folders of an event-time hour given as ``YYYY-MM-DDTHH`` (UTC)."""
        return self._folders(hour)

    def _folder(self, hour: str) -> str:
        moment = datetime(int(hour[:4]), int(hour[5:7]), int(hour[8:10]), int(hour[11:13]))
        return moment.strftime(self.partition_format)


def object_name(folder: str, topic: str, partition: int, first_offset: int, extension: str) -> str:
    return f"{folder}/{topic}+{partition}+{first_offset:020d}{extension}"


def utc_hour(value: object) -> str | None:
    """``YYYY-MM-DDTHH`` (UTC) of an ISO-8601 date-time with offset, or None if it is not one.

    The collector writes times in UTC (``...+00:00`` or ``...Z``): those are sliced, not parsed
    (each hour checked once, so that a sliced ``2026-02-30T10`` is not taken for a date).
    """
    if not isinstance(value, str) or len(value) < 20:
        return None
    if (value.endswith(("+00:00", "Z"))) and value[10] == "T" and value[4] == "-":
        hour = value[:13]
        return hour if _is_hour(hour) else None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    hour = moment.astimezone(UTC).strftime("%Y-%m-%dT%H")
    return hour if _is_hour(hour) else None


@lru_cache(maxsize=4096)
def _is_hour(hour: str) -> bool:
    """Whether ``hour`` is ``YYYY-MM-DDTHH`` of a real date and hour."""
    fields = (hour[:4], hour[5:7], hour[8:10], hour[11:13])
    if len(hour) != 13 or not all(field.isdigit() for field in fields):
        return False
    try:
        datetime(*map(int, fields))
    except ValueError:
        return False
    return True


def hour_of_millis(millis: int) -> str:
    """``YYYY-MM-DDTHH`` (UTC) of a Kafka record timestamp."""
    return datetime.fromtimestamp(max(millis, 0) / 1000, UTC).strftime("%Y-%m-%dT%H")
