"""File writers: many records in, one compressed file's bytes out.

Each keeps its output compressed as it goes, so that what a file holds in memory is close to
its final size (``memory``), and ``size`` is the compressed size reached so far (for rotation).

- ``JsonLinesFile``: gzip JSON Lines (one deflate stream, RFC 1952 header without a time, so
  the same lines always give the same bytes).
- ``AvroFile``: an Avro object container file whose blocks are the records' Avro binary
  encodings, concatenated: the caller hands over encoded datums, nothing is decoded again.
- ``ParquetFile``: rows gathered into Arrow record batches, written as one Parquet file.
"""

import io
import os
import struct
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import cramjam
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK_BYTES = 64 * 1024  # uncompressed bytes per deflate call / Avro block


class FileWriter(Protocol):
    extension: str
    records: int

    def add(self, item: Any, size: int) -> None: ...

    @property
    def size(self) -> int: ...

    @property
    def memory(self) -> int: ...

    def finish(self) -> bytes: ...


class CompressedOutput:
    """Compressed output so far, and input bytes not compressed yet."""

    _compressed = 0
    _pending = 0

    @property
    def size(self) -> int:
        return self._compressed + self._pending // 4  # a rough compression ratio for the rest

    @property
    def memory(self) -> int:
        return self._compressed + self._pending


class JsonLinesFile(CompressedOutput):
    extension = ".jsonl.gz"

    def __init__(self, level: int = 6) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._output: list[bytes] = []
        self._compressed = 0
        self._lines: list[bytes] = []
        self._pending = 0
        self.records = 0

    def add(self, line: bytes, size: int) -> None:
        self._lines.append(line)
        self._pending += size + 1
        self.records += 1
        if self._pending >= CHUNK_BYTES:
            self._compress()

    def _compress(self) -> None:
        self._lines.append(b"")
        self._put(self._compressor.compress(b"\n".join(self._lines)))
        self._lines, self._pending = [], 0

    def _put(self, data: bytes) -> None:
        if data:
            self._output.append(data)
            self._compressed += len(data)

    def finish(self) -> bytes:
        if self._lines:
            self._compress()
        self._put(self._compressor.flush())
        return b"".join(self._output)


_SMALL = [bytes(((n << 1) ^ (n >> 63),)) for n in range(-64, 64)]


def avro_long(value: int) -> bytes:
    """Avro's zig-zag varint encoding of a long."""
    if -64 <= value < 64:
        return _SMALL[value + 64]
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value & ~0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _bytes(value: bytes) -> bytes:
    return avro_long(len(value)) + value


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, per spec
    return compressor.compress(data) + compressor.flush()


def _snappy(data: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(data)) + struct.pack(">I", zlib.crc32(data))


CODECS = {"null": bytes, "deflate": _deflate, "snappy": _snappy}


class AvroFile(CompressedOutput):
    extension = ".avro"

    def __init__(self, schema_json: str, codec: str = "deflate") -> None:
        if codec not in CODECS:
            raise ValueError(f"unknown Avro codec {codec!r}: use {', '.join(CODECS)}")
        self._codec = CODECS[codec]
        self._sync = os.urandom(16)
        metadata = {b"avro.schema": schema_json.encode(), b"avro.codec": codec.encode()}
        header = [b"Obj\x01", avro_long(len(metadata))]
        for key, value in metadata.items():
            header += [_bytes(key), _bytes(value)]
        header += [avro_long(0), self._sync]
        self._output: list[bytes] = [b"".join(header)]
        self._compressed = len(self._output[0])
        self._datums: list[bytes] = []
        self._pending = 0
        self.records = 0

    def add(self, datum: bytes, size: int) -> None:
        self._datums.append(datum)
        self._pending += size
        self.records += 1
        if self._pending >= CHUNK_BYTES:
            self._block()

    def _block(self) -> None:
        data = self._codec(b"".join(self._datums))
        block = b"".join((avro_long(len(self._datums)), avro_long(len(data)), data, self._sync))
        self._output.append(block)
        self._compressed += len(block)
        self._datums, self._pending = [], 0

    def finish(self) -> bytes:
        if self._datums:
            self._block()
        return b"".join(self._output)


class ParquetFile:
    extension = ".parquet"
    BATCH_ROWS = 2048

    def __init__(
        self,
        schema: pa.Schema,
        to_batch: Callable[[list], pa.RecordBatch],
        compression: str = "snappy",
    ) -> None:
        self.schema = schema
        self.to_batch = to_batch  # rows as the caller adds them -> one Arrow record batch
        self.compression = compression
        self._batches: list[pa.RecordBatch] = []
        self._columnar = 0
        self._rows: list = []
        self._pending = 0
        self.records = 0

    def add(self, row: Any, size: int) -> None:
        self._rows.append(row)
        self._pending += size
        self.records += 1
        if len(self._rows) >= self.BATCH_ROWS:
            self._batch()

    def _batch(self) -> None:
        batch = self.to_batch(self._rows)
        self._batches.append(batch)
        self._columnar += batch.nbytes
        self._rows, self._pending = [], 0

    @property
    def size(self) -> int:
        # Columnar data compresses several times over; rotation counts the expected file size.
        return (self._columnar + self._pending * 2) // 4

    @property
    def memory(self) -> int:
        return self._columnar + self._pending * 4  # decoded rows weigh more than their bytes

    def finish(self) -> bytes:
        if self._rows:
            self._batch()
        table = pa.Table.from_batches(self._batches, schema=self.schema)
        sink = io.BytesIO()
        pq.write_table(
            table,
            sink,
            compression=self.compression,
            row_group_size=max(table.num_rows, 1),
            use_dictionary=True,
            write_statistics=True,
        )
        return sink.getvalue()
