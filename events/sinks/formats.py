"""File writers: many records in, one compressed file's bytes out.

Each keeps its output compressed as it goes, so that what a file holds in memory is close to
its final size (``memory``), and ``size`` is the compressed size reached so far (for rotation).
Records are gathered into chunks of ``CHUNK_BYTES`` and each chunk is compressed in one call:
zlib and Snappy release the GIL on such buffers, so with a thread pool (``Compression``) a
chunk is compressed on another core while the consumer loop routes the next records.

- ``JsonLinesFile``: gzip JSON Lines, one gzip member of one deflate stream whose chunks are
  compressed independently (as pigz does: each chunk primed with the 32 KiB before it and
  ended on a byte boundary); the header has no time, so the same lines give the same bytes.
- ``AvroFile``: an Avro object container file whose blocks are the records' Avro binary
  encodings, concatenated: the caller hands over encoded datums, nothing is decoded again.
- ``ParquetFile``: rows gathered into Arrow record batches, written as one Parquet file.
"""

import io
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import cramjam
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK_BYTES = 1024 * 1024  # uncompressed bytes per compression call / Avro block
WINDOW = 32 * 1024  # deflate's window: the input a chunk's compression is primed with
DEFAULT_LEVEL = 3


class FileWriter(Protocol):
    extension: str
    records: int

    def add(self, item: Any, size: int) -> None: ...

    @property
    def size(self) -> int: ...

    @property
    def memory(self) -> int: ...

    def finish(self) -> bytes: ...


class Compression:
    """Where chunks are compressed: a pool of ``threads`` threads, or the calling thread (0)."""

    IN_FLIGHT = 4  # chunks of one file being compressed at once, at most

    def __init__(self, threads: int = 0) -> None:
        self.pool = (
            ThreadPoolExecutor(threads, thread_name_prefix="sink-compress") if threads else None
        )

    def run(self, compress: Callable[..., bytes], *args: Any) -> "bytes | Future[bytes]":
        return compress(*args) if self.pool is None else self.pool.submit(compress, *args)


INLINE = Compression(0)


class CompressedOutput:
    """Compressed output so far, in order (chunks still being compressed among it), and the
    input bytes not compressed yet."""

    def __init__(self, compression: Compression) -> None:
        self._compression = compression
        self._output: list[bytes | Future[bytes]] = []
        self._running: deque[tuple[int, Future[bytes], int]] = deque()
        self._compressed = 0
        self._pending = 0  # input bytes being compressed
        self._gathered = 0  # input bytes not handed to compression yet

    @property
    def size(self) -> int:
        # A rough compression ratio for the input not compressed yet.
        return self._compressed + (self._pending + self._gathered) // 4

    @property
    def memory(self) -> int:
        return self._compressed + self._pending + self._gathered

    def _put(self, data: bytes) -> None:
        if data:
            self._output.append(data)
            self._compressed += len(data)

    def _compress(self, size: int, compress: Callable[..., bytes], *args: Any) -> None:
        """Append the output of ``compress(*args)`` (from ``size`` input bytes), computed in the
        pool if there is one; wait for the oldest chunks while too many are in flight."""
        self._gathered = 0
        found = self._compression.run(compress, *args)
        if isinstance(found, bytes):
            self._put(found)
            return
        self._pending += size
        self._running.append((len(self._output), found, size))
        self._output.append(found)
        self._collect(keep=Compression.IN_FLIGHT)

    def _collect(self, keep: int = 0) -> None:
        """Take the compressed chunks that are ready, waiting until at most ``keep`` run."""
        while self._running and (len(self._running) > keep or self._running[0][1].done()):
            index, future, size = self._running.popleft()
            data = future.result()
            self._output[index] = data
            self._compressed += len(data)
            self._pending -= size

    def _joined(self) -> bytes:
        self._collect()
        return b"".join(self._output)


def _deflate_chunk(data: bytes, level: int, primer: bytes) -> bytes:
    """Raw deflate of ``data`` as the continuation of a stream whose input so far ended with
    ``primer``, flushed to a byte boundary without ending the stream."""
    compressor = (
        zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=primer)
        if primer
        else zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    )
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


_LAST_BLOCK = zlib.compressobj(wbits=-zlib.MAX_WBITS).flush()  # an empty final deflate block


def _gzip_header(level: int) -> bytes:
    """RFC 1952: deflate, no name, no time; XFL and OS as zlib writes them on Unix."""
    extra = 4 if level == 1 else 2 if level == 9 else 0
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes((extra, 3))


class JsonLinesFile(CompressedOutput):
    extension = ".jsonl.gz"

    def __init__(self, level: int = DEFAULT_LEVEL, compression: Compression = INLINE) -> None:
        super().__init__(compression)
        self._level = level
        self._put(_gzip_header(level))
        self._lines: list[bytes] = []
        self._primer = b""
        self._crc = 0
        self._length = 0
        self.records = 0

    def add(self, line: bytes, size: int) -> None:
        self._lines.append(line)
        self._gathered += size + 1
        self.records += 1
        if self._gathered >= CHUNK_BYTES:
            self._chunk()

    def _chunk(self) -> None:
        self._lines.append(b"")
        data = b"\n".join(self._lines)
        self._lines = []
        self._crc = zlib.crc32(data, self._crc)
        self._length += len(data)
        self._compress(len(data), _deflate_chunk, data, self._level, self._primer)
        self._primer = data[-WINDOW:]

    def finish(self) -> bytes:
        if self._lines:
            self._chunk()
        self._put(_LAST_BLOCK + struct.pack("<II", self._crc, self._length & 0xFFFFFFFF))
        return self._joined()


_ONE = [bytes((n,)) for n in range(128)]
_SMALL = [_ONE[(n << 1) ^ (n >> 63)] for n in range(-64, 64)]
# Two 7-bit groups of a varint at once: with the continuation bit on both, and as its end.
_PAIRS = [bytes((n & 0x7F | 0x80, n >> 7 | 0x80)) for n in range(1 << 14)]
_ENDS = [_ONE[n] if n < 128 else bytes((n & 0x7F | 0x80, n >> 7)) for n in range(1 << 14)]


def avro_long(value: int) -> bytes:
    """Avro's zig-zag varint encoding of a long (14 bits a lookup: times in milliseconds take
    three)."""
    if -64 <= value < 64:
        return _SMALL[value + 64]
    value = (value << 1) ^ (value >> 63)
    out = b""
    while value >> 14:
        out += _PAIRS[value & 0x3FFF]
        value >>= 14
    return out + _ENDS[value]


def _bytes(value: bytes) -> bytes:
    return avro_long(len(value)) + value


def _deflate(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, per spec
    return compressor.compress(data) + compressor.flush()


def _snappy(data: bytes, level: int) -> bytes:
    return bytes(cramjam.snappy.compress_raw(data)) + struct.pack(">I", zlib.crc32(data))


def _null(data: bytes, level: int) -> bytes:
    return data


CODECS = {"null": _null, "deflate": _deflate, "snappy": _snappy}


class AvroFile(CompressedOutput):
    extension = ".avro"

    def __init__(
        self,
        schema_json: str,
        codec: str = "deflate",
        level: int = DEFAULT_LEVEL,
        compression: Compression = INLINE,
    ) -> None:
        if codec not in CODECS:
            raise ValueError(f"unknown Avro codec {codec!r}: use {', '.join(CODECS)}")
        super().__init__(compression)
        self._codec = CODECS[codec]
        self._level = level
        self._sync = os.urandom(16)
        metadata = {b"avro.schema": schema_json.encode(), b"avro.codec": codec.encode()}
        header = [b"Obj\x01", avro_long(len(metadata))]
        for key, value in metadata.items():
            header += [_bytes(key), _bytes(value)]
        header += [avro_long(0), self._sync]
        self._put(b"".join(header))
        self._datums: list[bytes] = []
        self.records = 0

    def add(self, datum: bytes, size: int) -> None:
        self._datums.append(datum)
        self._gathered += size
        self.records += 1
        if self._gathered >= CHUNK_BYTES:
            self._block()

    def _block(self) -> None:
        data = b"".join(self._datums)
        self._compress(
            len(data), _avro_block, self._codec, data, self._level, len(self._datums), self._sync
        )
        self._datums = []

    def finish(self) -> bytes:
        if self._datums:
            self._block()
        return self._joined()


def _avro_block(
    codec: Callable[[bytes, int], bytes], data: bytes, level: int, count: int, sync: bytes
) -> bytes:
    compressed = codec(data, level)
    return b"".join((avro_long(count), avro_long(len(compressed)), compressed, sync))


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
