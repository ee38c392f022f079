"""The matcher: raw JSON events -> Avro records of their contract, or unmatched records.

A pipeline of small steps, each in its module (see docs/matcher.md):

- ``contracts``: the published contract versions, reloaded while running;
- ``convert``: JSON properties -> Avro datum, with the path of any bad value;
- ``match``: one raw event -> ``Matched`` (Confluent wire format) or ``Unmatched`` (a reason);
- ``unmatched``: unmatched records for Kafka, and their bounded groups in the database;
- ``processor``: a batch of raw records -> output records, then metrics and bookkeeping;
- ``transactional``: the commit policy: consume, produce and commit offsets in one transaction;
- ``replay``: matching recorded unmatched events again.
"""
