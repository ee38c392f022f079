"""Typed tracking code generated from the published contracts (see ``docs/codegen.md``).

``schema`` walks a contract version's Avro schema into a small model; ``typescript``,
``kotlin``, ``swift`` and ``jsonschema`` print it; ``bundle`` packs a language's files with a
manifest and an ETag; ``views`` and ``admin`` serve the bundles, ``manage.py codegen`` writes them.
"""
