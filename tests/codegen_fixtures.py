"""Fixtures of the codegen tests (``pytest_plugins = ["tests.codegen_fixtures"]``): the code
generated for ``tests/codegen_contracts.CONTRACTS``, compiled once per test session with the
real compilers, and the client programs in ``tests/codegen/`` built against it.

PYTEST_DONT_REWRITE: test modules import the helpers before pytest loads this as a plugin.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devservices import toolchains
from schemas_admin.codegen.bundle import Bundle, build
from schemas_admin.codegen.contracts import plan
from tests.codegen_contracts import CONTRACTS

SOURCES = Path(__file__).resolve().parent / "codegen"
# As strict as a demanding project compiles: the generated code must pass all of it.
TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "nodenext",
        "moduleResolution": "nodenext",
        "lib": ["ES2022", "DOM"],
        "types": ["node"],
        "typeRoots": [str(toolchains.NODE_MODULES / "@types")],
        "strict": True,
        "noUnusedLocals": True,
        "noUnusedParameters": True,
        "noImplicitOverride": True,
        "noImplicitReturns": True,
        "noUncheckedIndexedAccess": True,
        "exactOptionalPropertyTypes": True,
        "noPropertyAccessFromIndexSignature": True,
        "isolatedModules": True,
        "verbatimModuleSyntax": True,
        "outDir": "out",
        "rootDir": ".",
    }
}


def generated(language: str) -> Bundle:
    return build(language, plan(CONTRACTS), {})


def write_files(files: dict[str, str], directory: Path) -> None:
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


@dataclass
class Client:
    """A compiled client program: ``command(endpoint, key)`` runs it."""

    root: Path
    program: list[str]

    def run(self, endpoint: str, api_key: str, timeout: float = 120.0) -> dict:
        finished = subprocess.run(
            [*self.program, endpoint, api_key],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert finished.returncode == 0, finished.stderr + finished.stdout
        return json.loads(finished.stdout.strip().splitlines()[-1])


def tsc(root: Path, *sources: str) -> subprocess.CompletedProcess:
    config = {**TSCONFIG, "include": ["tracking/*.ts", *sources]}
    (root / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run(
        [str(toolchains.fetch_typescript()), "-p", "tsconfig.json", "--pretty", "false"],
        cwd=root,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def typescript_root(tmp_path_factory) -> Path:
    """The generated TypeScript and the test programs, in a folder of their own."""
    root = tmp_path_factory.mktemp("typescript")
    write_files(generated("typescript").files, root / "tracking")
    (root / "package.json").write_text('{"type": "module"}\n')
    for name in ("client.ts", "bad.ts"):
        shutil.copy(SOURCES / name, root / name)
    return root


@pytest.fixture(scope="session")
def typescript_client(typescript_root) -> Client:
    compiled = tsc(typescript_root, "client.ts")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return Client(typescript_root, ["node", "out/client.js"])


@pytest.fixture(scope="session")
def kotlin_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kotlin")
    write_files(generated("kotlin").files, root / "tracking")
    for name in ("Client.kt", "Bad.kt"):
        shutil.copy(SOURCES / name, root / name)
    return root


@dataclass
class KotlinBuild:
    root: Path
    classes: Path
    output: str  # the compiler's warnings

    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if ": warning: " in line]


@pytest.fixture(scope="session")
def kotlin_build(kotlin_root) -> KotlinBuild:
    """The generated Kotlin and the client program, compiled once."""
    classes = kotlin_root / "classes"
    sources = [*sorted((kotlin_root / "tracking").glob("*.kt")), kotlin_root / "Client.kt"]
    compiled = toolchains.kotlinc(sources, classes)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return KotlinBuild(kotlin_root, classes, compiled.stdout + compiled.stderr)


@pytest.fixture(scope="session")
def kotlin_client(kotlin_build) -> Client:
    classpath = f"{kotlin_build.classes}:{toolchains.kotlin_stdlib()}"
    return Client(kotlin_build.root, ["java", "-cp", classpath, "ClientKt"])
