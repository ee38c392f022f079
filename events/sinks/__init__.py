"""The sinks: Kafka topics -> large, compressed, Hive-partitioned files in object storage.

A pipeline of small steps, each in its module (see docs/sinks.md):

- ``layout``: where a record's file goes (kind, event, event-time folder) and object names;
- ``envelope``: the envelope columns every Avro and Parquet row carries;
- ``schemas``: registry schemas -> row schemas (Avro, Arrow, Hive types), cached;
- ``routes``: one Kafka record -> its bucket and the item its file holds, or a dead letter;
- ``formats``: gzip JSON Lines, Avro object container and Parquet file writers;
- ``files``: the open files of each Kafka partition, rotation and the memory budget;
- ``progress``: what a partition's commit metadata says, and how a new owner resumes from it;
- ``storage``: atomic object writes through django-storages;
- ``policy``: the commit policy (declare, upload, commit) on the shared consumer loop;
- ``athena``: CREATE EXTERNAL TABLE statements matching the layout.
"""
