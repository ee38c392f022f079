"""Compilers for the generated tracking code: TypeScript from npm, Kotlin from Maven Central.

``fetch()`` installs both once: ``npm ci`` into ``devservices/toolchains/node_modules`` (from the
committed lock file) and the Kotlin jars into ``.cache/kotlin/``; both folders are ignored.
"""

import shutil
import subprocess
from pathlib import Path

from . import maven

HERE = Path(__file__).resolve().parent / "toolchains"
PROJECT_ROOT = HERE.parent.parent
NODE_MODULES = HERE / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"
KOTLIN_POM = HERE / "kotlin" / "pom.xml"
KOTLIN_LIBS = PROJECT_ROOT / ".cache" / "kotlin" / "libs"


def fetch() -> None:
    fetch_typescript()
    fetch_kotlin()


def fetch_typescript() -> Path:
    """``tsc``, installed from the lock file unless the installed one is current."""
    lock, installed = HERE / "package-lock.json", NODE_MODULES / ".package-lock.json"
    if TSC.exists() and installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return TSC
    if shutil.which("npm") is None:
        raise RuntimeError("Node.js 20+ and npm are needed to compile the generated TypeScript")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)], check=True)
    return TSC


def fetch_kotlin() -> Path:
    """The Kotlin compiler's jars, resolved by Maven once."""
    return maven.copy_dependencies(KOTLIN_POM, KOTLIN_LIBS, "the Kotlin compiler")


def kotlin_stdlib() -> Path:
    """The Kotlin standard library's jar (its version is the one ``kotlin/pom.xml`` names)."""
    [jar] = fetch_kotlin().glob("kotlin-stdlib-[0-9]*.jar")
    return jar


def kotlinc(
    sources: list[Path], output: Path, classpath: list[Path] = ()
) -> subprocess.CompletedProcess:
    """Compile Kotlin ``sources`` into ``output`` with the embeddable compiler; returns the
    finished process (its output holds the compiler's warnings and errors)."""
    libs = fetch_kotlin()
    return subprocess.run(
        [
            "java",
            "-Xmx1g",
            "-cp",
            f"{libs}/*",
            "org.jetbrains.kotlin.cli.jvm.K2JVMCompiler",
            "-no-stdlib",
            "-no-reflect",
            "-classpath",
            ":".join(map(str, [kotlin_stdlib(), *classpath])),
            "-d",
            str(output),
            *map(str, sources),
        ],
        capture_output=True,
        text=True,
    )
