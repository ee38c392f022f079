"""The generated TypeScript and Kotlin compile with the real compilers (tsc from npm, kotlinc
from Maven Central) under strict settings, and a wrong use of them does not."""

import re

from devservices import toolchains
from tests.codegen_fixtures import tsc

pytest_plugins = ["tests.codegen_fixtures"]


def errors_by_line(output: str, source: str) -> dict[int, str]:
    """``{line: message}`` of the compiler's errors in ``source`` (tsc and kotlinc formats)."""
    found = {}
    for line in output.splitlines():
        match = re.search(rf"{re.escape(source)}[(:](\d+)[,:]\d+\)?:? error:? (.*)", line)
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


def test_typescript_compiles_under_strict_settings(typescript_client):
    assert (typescript_client.root / "out" / "tracking" / "tracker.js").exists()


def test_wrong_typescript_uses_fail_to_compile(typescript_root):
    compiled = tsc(typescript_root, "bad.ts")

    assert compiled.returncode != 0
    output = compiled.stdout + compiled.stderr
    errors = errors_by_line(output, "bad.ts")
    assert "'sorce' does not exist" in errors[5]  # a misspelt property
    assert "'string' is not assignable to type 'boolean'" in errors[6]  # a wrong type
    assert "Property 'items' is missing" in errors[7]  # a required property left out
    assert "'\"MAIL\"' is not assignable" in errors[8]  # not a symbol of the enum
    assert "'string' is not assignable to type 'number'" in errors[9]  # inside a nested record
    assert "tracking/" not in output  # the generated code itself is fine


def test_kotlin_compiles_and_warns_where_a_deprecated_version_is_used(kotlin_build):
    warnings = kotlin_build.warnings()

    # Client.kt's last line sends app_opened v1, which is deprecated (both the track function
    # and the class are); nothing else warns.
    last_line = len((kotlin_build.root / "Client.kt").read_text().splitlines())
    assert warnings, kotlin_build.output
    assert all(f"Client.kt:{last_line}:" in warning for warning in warnings), warnings
    message = "is deprecated. Version 1 of `app_opened` is deprecated; send version 2"
    assert any("fun trackAppOpenedV1" in w and message in w for w in warnings), warnings


def test_wrong_kotlin_uses_fail_to_compile(kotlin_build, tmp_path):
    compiled = toolchains.kotlinc(
        [kotlin_build.root / "Bad.kt"], tmp_path, classpath=[kotlin_build.classes]
    )

    assert compiled.returncode != 0
    errors = errors_by_line(compiled.stdout + compiled.stderr, "Bad.kt")
    assert "no parameter with name 'sorce'" in errors[5]
    assert "actual type is 'String', but 'Boolean' was expected" in errors[6]
