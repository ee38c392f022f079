"""Jars from Maven Central: a ``pom.xml``'s runtime dependencies, copied into a cache folder."""

import shutil
import subprocess
from pathlib import Path


def copy_dependencies(pom: Path, libs: Path, what: str) -> Path:
    """The runtime dependencies of ``pom`` in ``libs``, resolved by Maven unless already there;
    ``what`` names them in the error when Java or Maven is missing."""
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise RuntimeError(f"Java 17+ and Maven are needed to fetch {what} (mvn, java)")
    shutil.rmtree(libs, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )
    marker.touch()
    return libs
