"""What the generators write: stable bytes, Swift as reviewed, JSON Schema that agrees with the
matcher, deprecated versions marked in each language's own way.

No Swift toolchain installs on these machines, so the Swift output is compared with golden files
that were reviewed by hand (``tests/codegen/golden/swift``; after a deliberate change, regenerate
them with ``CODEGEN_UPDATE_GOLDEN=1`` and review the diff) and parsed with tree-sitter's Swift
grammar, which catches syntax errors.
"""

import base64
import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import fastavro
import msgspec
import pytest
import tree_sitter
import tree_sitter_swift
from jsonschema import Draft202012Validator

from events.matcher.convert import FieldError, compile_schema
from schemas_admin.codegen.bundle import LANGUAGES
from tests.codegen_contracts import CHECKOUT_V2, CONTRACTS
from tests.codegen_fixtures import generated

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "codegen" / "golden" / "swift"


def test_swift_matches_the_reviewed_golden_files():
    files = {
        path: text for path, text in generated("swift").files.items() if path != "Runtime.swift"
    }
    if os.environ.get("CODEGEN_UPDATE_GOLDEN"):
        for path in GOLDEN.glob("*"):
            path.unlink()
        for path, text in files.items():
            (GOLDEN / path).write_text(text)

    assert sorted(path.name for path in GOLDEN.iterdir()) == sorted(files)
    for path, text in files.items():
        assert (GOLDEN / path).read_text() == text, f"{path} differs from its golden file"


def syntax_errors(source: str) -> list[str]:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    data = source.encode()
    found, todo = [], [parser.parse(data).root_node]
    while todo:
        node = todo.pop()
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            found.append(f"line {line}: {data[node.start_byte : node.end_byte][:60]!r}")
        todo.extend(node.children)
    return found


def test_swift_output_and_runtime_parse_as_swift():
    for path, text in generated("swift").files.items():
        if path.endswith(".swift"):
            assert syntax_errors(text) == [], path


def test_the_syntax_check_finds_errors():
    assert syntax_errors("public struct A: Encodable {\n    public var x: Int32 =\n}\n")


STABLE = """
import hashlib, sys
import django
django.setup()
from schemas_admin.codegen.bundle import build
from schemas_admin.codegen.contracts import plan
from tests.codegen_contracts import CONTRACTS
for language in sys.argv[1:]:
    print(language, hashlib.sha256(build(language, plan(CONTRACTS), {}).zip()).hexdigest())
"""


def test_the_same_contracts_give_the_same_bytes_in_every_process():
    """Different hash seeds change the order of sets and dicts built from them."""
    digests = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONWARNINGS": "ignore"}
        env.setdefault("DJANGO_SETTINGS_MODULE", "analytics_site.settings")
        finished = subprocess.run(
            [sys.executable, "-c", STABLE, *LANGUAGES],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.append(finished.stdout)
    here = "".join(
        f"{language} {hashlib.sha256(generated(language).zip()).hexdigest()}\n"
        for language in LANGUAGES
    )
    assert digests == [here, here]


def test_deprecated_versions_are_marked_in_each_language():
    message = "Version 1 of `app_opened` is deprecated; send version 2"
    typescript = generated("typescript").files
    assert f"@deprecated {message}" in typescript["AppOpened.ts"]
    assert f"@deprecated {message}" in typescript["tracker.ts"]
    kotlin = generated("kotlin").files
    assert (
        f'@Deprecated("{message} (AppOpenedV2).")\ndata class AppOpenedV1('
        in kotlin["AppOpened.kt"]
    )
    swift = generated("swift").files
    available = f'@available(*, deprecated, message: "{message} (AppOpenedV2).")'
    assert f"{available}\npublic struct AppOpenedV1:" in swift["AppOpened.swift"]
    assert f"{available}\n    public func trackAppOpenedV1(" in swift["Tracker.swift"]
    schemas = generated("jsonschema").files
    assert msgspec.json.decode(schemas["app_opened/v1.schema.json"])["deprecated"] is True
    assert "deprecated" not in msgspec.json.decode(schemas["app_opened/v2.schema.json"])


GOOD = {
    "order_id": "A-1",
    "total": 42.5,
    "items": [{"sku": "x", "qty": 2}],
    "coupon": "WELCOME",
    "paid_at": "2026-11-25T10:00:00.123+01:00",
    "currency": "USD",
    "amount": "1234.50",
    "tags": {"a": "1"},
    "delivered_on": "2026-11-27",
    "session_id": "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71",
    "attachment": base64.b64encode(b"\x00\x01").decode(),
    "measured_at": "2026-11-25T10:00:00.123456Z",
    "shipping": {"street": "1 Main St", "city": "Paris", "zip": None},
    "gift": {"code": "G-1", "value": 25},
    "digest": base64.b64encode(b"\x01\x02\x03\x04").decode(),
    "pickup_time": "10:30:00.250",
    "local_pickup": "2026-11-27T10:30:00",
    "priority": 3,
    "rating": 4.5,
    "express": True,
    "metrics": {"clicks": [1, 2, 3]},
}
MINIMAL = {
    "order_id": "A-2",
    "total": 0,
    "items": [],
    "paid_at": 1764064800000,
    "amount": 0.05,
    "session_id": "9f3c2a1b-0000-4000-8000-000000000002",
    "shipping": {"street": "2 Side St", "city": "Lyon"},
    "gift": 7,
}
# (what changes in MINIMAL, whether the matcher takes it)
SAMPLES = [
    ({}, True),
    ({"delivered_on": 20000, "measured_at": 0, "pickup_time": 37800000}, True),
    ({"gift": "a gift"}, True),
    ({"amount": "-99999999.99"}, True),
    ({"extra": 1}, False),
    ({"order_id": None}, False),
    ({"items": [{"sku": "x", "qty": "2"}]}, False),
    ({"items": [{"sku": "x", "qty": 2, "colour": "red"}]}, False),
    ({"currency": "JPY"}, False),
    ({"amount": "1.234"}, False),
    ({"amount": "123456789.00"}, False),
    ({"paid_at": "2026-11-25T10:00:00"}, False),
    ({"paid_at": "2026-11-25T10:00Z"}, False),
    ({"delivered_on": "2026/11/27"}, False),
    ({"pickup_time": "10:30"}, False),
    ({"digest": base64.b64encode(b"abc").decode()}, False),
    ({"priority": 2**31}, False),
    ({"shipping": {"street": "x"}}, False),
]


def matcher_takes(properties: dict) -> bool:
    convert = compile_schema(fastavro.parse_schema(copy.deepcopy(CHECKOUT_V2)))
    try:
        convert(properties)
    except FieldError:
        return False
    return True


@pytest.mark.parametrize(("change", "valid"), SAMPLES)
def test_json_schema_takes_what_the_matcher_takes(change, valid):
    document = msgspec.json.decode(
        generated("jsonschema").files["checkout_completed/v2.schema.json"]
    )
    validator = Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)
    properties = {key: value for key, value in {**MINIMAL, **change}.items() if value is not None}

    assert matcher_takes(properties) is valid
    assert validator.is_valid(properties) is valid, list(validator.iter_errors(properties))


def test_json_schema_refuses_an_offset_on_a_local_timestamp():
    # docs/matcher.md: local timestamps come without an offset. (The matcher itself lets one
    # through today; reported to its owner.)
    document = msgspec.json.decode(
        generated("jsonschema").files["checkout_completed/v2.schema.json"]
    )
    validator = Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)

    assert not validator.is_valid({**MINIMAL, "local_pickup": "2026-11-27T10:30:00Z"})
    assert validator.is_valid({**MINIMAL, "local_pickup": "2026-11-27T10:30:00"})


def test_json_schema_takes_every_field_set():
    document = msgspec.json.decode(
        generated("jsonschema").files["checkout_completed/v2.schema.json"]
    )
    Draft202012Validator.check_schema(document)
    assert matcher_takes(GOOD)
    Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        GOOD
    )


def test_every_contract_version_has_its_json_schema():
    files = generated("jsonschema").files
    expected = {
        f"{name}/v{number}.schema.json"
        for name, _, versions in CONTRACTS
        for number, _, _ in versions
    }
    assert set(files) == expected | {"codegen.json"}
