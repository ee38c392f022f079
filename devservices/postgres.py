"""A throwaway PostgreSQL server from Debian's packages, on its own port and data folder."""

import getpass
import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ._process import free_port, port_open, wait_until


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found; install Debian's 'postgresql' package"
        )
    return Path(candidates[-1]).parent


def _as_service_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; drop to the packaged 'postgres' account.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class PostgresServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    database: str = "analytics"

    @property
    def user(self) -> str:
        return "postgres" if os.geteuid() == 0 else getpass.getuser()

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *command: str) -> None:
        subprocess.run(_as_service_user(list(command)), check=True, capture_output=True)

    def start(self, timeout: float = 60.0) -> None:
        bin_dir = _bin_dir()
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        if not pgdata.exists():
            self._run(
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            )
        self._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-w",
            "-l",
            str(self.data_dir / "log"),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data_dir} -c fsync=off",
            "start",
        )
        wait_until(lambda: port_open(self.port), timeout, f"PostgreSQL on port {self.port}")
        self._run(
            str(bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-c",
            f"CREATE DATABASE {self.database}",
        )

    def stop(self) -> None:
        self._run(
            str(_bin_dir() / "pg_ctl"),
            "-D",
            str(self.data_dir / "pgdata"),
            "-m",
            "fast",
            "-w",
            "stop",
        )
