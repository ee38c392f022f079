"""Names for consumer processes: unique on this host, and the same again after a restart.

A matcher's name makes its transactional id and its static group membership, so two processes
must never share one, while a restarted process should take its predecessor's name back (to
abort what it left open and take over its partitions at once). Each name holds a lock file for
the life of its process: the first free slot of a kind is taken, so one matcher on a host is
always ``<host>-0``, a second one ``<host>-1``, and a restarted one gets its slot back.
"""

import fcntl
import itertools
import socket
import tempfile
from pathlib import Path
from typing import IO

LOCK_DIR = Path(tempfile.gettempdir()) / "event-analytics-instances"
_held: list[IO[str]] = []  # open lock files: a slot stays taken while this process lives


def claim(kind: str) -> str:
    """The first free instance name of ``kind`` on this host, held until the process ends."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    for slot in itertools.count():
        handle = (LOCK_DIR / f"{kind}-{slot}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _held.append(handle)
        return f"{socket.gethostname()}-{slot}"
    raise AssertionError("unreachable")
