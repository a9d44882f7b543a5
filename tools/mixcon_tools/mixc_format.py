"""Reader and writer of the .mixc model file (FORMAT.md, format 1.0).

Writer (deterministic: the same model and options always give the same bytes):
- JSON header: json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False),
  UTF-8. Top-level keys: config, tokenizer, tensors, blobs ({} when none), metadata
  ({} when none). A tokenizer of kind "none" is written as {"kind":"none"}.
- Payload order: every tensor sorted by name (byte-wise), then every blob sorted by name;
  each payload at the smallest 64-aligned offset after the previous one, zero padding in
  between, and the file ends right after the last payload.
- zstd: one frame per payload with the content size in the frame header, no frame
  checksum, no dictionary, single-threaded, level 3 unless asked otherwise.
Reader: every reject rule of "What a reader must reject", raising MixcError with the
C engine's status name (FORMAT, CHECKSUM, UNSUPPORTED) and a message naming the file,
the field or tensor, and the reason.
"""
import json
import re
import struct

import numpy as np
import xxhash
import zstandard

from . import dtypes
from .config import expected_tensors, validate_config
from .errors import MixcError

MAGIC = b"MIXC\r\n\x1a\n"
MAJOR, MINOR = 1, 0
PREAMBLE = 32
ALIGN = 64
MAX_HEADER = 64 * 1024 * 1024
_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def xxh64_hex(data):
    return xxhash.xxh64(data, seed=0).hexdigest()


def align_up(n, a=ALIGN):
    return (n + a - 1) // a * a


def dumps_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- writer

def write_model(config, tensors, *, blobs=None, tokenizer=None, metadata=None,
                codec="raw", zstd_level=3):
    """Bytes of a .mixc file.

    tensors: {name: (dtype, shape, payload bytes as stored for dtype)}
    blobs:   {name: bytes}
    The config is validated and the tensor set checked against it, so a writer bug
    cannot produce a file the reader rejects.
    """
    if codec not in ("raw", "zstd"):
        raise MixcError("INVALID_ARGUMENT", f"unknown codec {codec!r} (raw, zstd)")
    config = validate_config(config)
    blobs = dict(blobs or {})
    tokenizer = dict(tokenizer or {"kind": "none"})
    metadata = dict(metadata or {})
    want = {n: (s, q8) for n, s, q8 in expected_tensors(config)}
    if set(want) != set(tensors):
        missing = sorted(set(want) - set(tensors))
        extra = sorted(set(tensors) - set(want))
        raise MixcError("INVALID_ARGUMENT", f"tensor set does not match the config: missing {missing[:5]}, unknown {extra[:5]}")
    cctx = zstandard.ZstdCompressor(level=zstd_level, write_content_size=True,
                                    write_checksum=False, write_dict_id=False, threads=0)
    entries, payloads = {}, []
    offset = 0

    def place(data):
        nonlocal offset
        stored = cctx.compress(data) if codec == "zstd" else bytes(data)
        off = align_up(offset)
        payloads.append((off, stored))
        offset = off + len(stored)
        return off, stored

    for name in sorted(tensors):
        dt, shape, data = tensors[name]
        shape = [int(s) for s in shape]
        if shape != want[name][0]:
            raise MixcError("INVALID_ARGUMENT", f"tensor {name}: shape {shape}, config needs {want[name][0]}")
        if dt not in dtypes.DTYPES or (dt == "q8_0" and not want[name][1]):
            raise MixcError("INVALID_ARGUMENT", f"tensor {name}: dtype {dt} not allowed")
        if len(data) != dtypes.payload_size(dt, shape):
            raise MixcError("INVALID_ARGUMENT", f"tensor {name}: payload is {len(data)} bytes, {dt}{shape} needs {dtypes.payload_size(dt, shape)}")
        off, stored = place(data)
        entries[name] = {"codec": codec, "dtype": dt, "offset": off, "shape": shape,
                         "stored_size": len(stored), "xxh64": xxh64_hex(data)}
    blob_entries = {}
    for name in sorted(blobs):
        data = bytes(blobs[name])
        off, stored = place(data)
        blob_entries[name] = {"codec": codec, "offset": off, "size": len(data),
                              "stored_size": len(stored), "xxh64": xxh64_hex(data)}
    header = {"config": config, "tokenizer": tokenizer, "tensors": entries,
              "blobs": blob_entries, "metadata": metadata}
    return assemble(dumps_json(header).encode("utf-8"), payloads)


def assemble(header_bytes, payloads, *, major=MAJOR, minor=MINOR, magic=MAGIC, header_hash=None):
    """Preamble + header + padding + payloads [(offset, stored bytes)] (used by the
    writer and, with odd arguments, by the damaged-file maker)."""
    if header_hash is None:
        header_hash = xxhash.xxh64_intdigest(header_bytes, seed=0)
    out = bytearray(magic + struct.pack("<IIQQ", major, minor, len(header_bytes), header_hash))
    out += header_bytes
    data_start = align_up(len(out))
    out += b"\0" * (data_start - len(out))
    for off, stored in sorted(payloads, key=lambda p: p[0]):
        pos = data_start + off
        if len(out) < pos:
            out += b"\0" * (pos - len(out))
        out[pos:pos + len(stored)] = stored
    return bytes(out)


def encode_arrays(config, arrays, *, big="f32", small="f32"):
    """{name: float array} -> {name: (dtype, shape, bytes)}: large matrices (FORMAT.md's q8_0
    list) as `big`, the rest as `small` (q8_0 falls back to f32 for them)."""
    out = {}
    for name, shape, q8 in expected_tensors(config):
        a = np.asarray(arrays[name], dtype=np.float32)
        if list(a.shape) != shape:
            raise MixcError("INVALID_ARGUMENT", f"tensor {name}: array shape {list(a.shape)}, config needs {shape}")
        is_big = name in ("tok_embeddings", "lm_head") or any(
            name.endswith(s) for s in (".wq", ".wk", ".wv", ".wo", ".in_proj", ".out_proj", ".w_gate", ".w_up", ".w_down"))
        dt = big if is_big else small
        if dt == "q8_0" and not q8:
            dt = "f32"
        out[name] = (dt, shape, dtypes.encode(a, dt))
    return out


# --------------------------------------------------------------------------- reader

class Tensor:
    __slots__ = ("name", "dtype", "shape", "data")

    def __init__(self, name, dtype, shape, data):
        self.name, self.dtype, self.shape, self.data = name, dtype, shape, data

    def array(self, out_dtype=np.float64):
        return dtypes.decode(self.data, self.dtype, self.shape, out_dtype)


class MixcFile:
    """A validated file: config, tokenizer, metadata, tensors (decoded payloads), blobs."""

    def __init__(self, label, header_text, header, config, tensors, blobs, file_size):
        self.label = label
        self.header_text = header_text
        self.header = header
        self.config = config
        self.tokenizer = header.get("tokenizer", {"kind": "none"})
        self.metadata = header.get("metadata", {}) if isinstance(header.get("metadata", {}), dict) else {}
        self.tensors = tensors
        self.blobs = blobs
        self.file_size = file_size
        self.entries = header["tensors"]
        self.blob_entries = header.get("blobs", {})

    def arrays(self, out_dtype=np.float64):
        return {n: t.array(out_dtype) for n, t in self.tensors.items()}

    def fingerprint(self):
        return xxhash.xxh64_intdigest(self.header_text.encode("utf-8"), seed=0)


class _JsonObject(dict):
    """A parsed JSON object that remembers keys it saw twice (json keeps the last)."""
    duplicates = ()


def _object_hook(pairs):
    obj = _JsonObject()
    dups = []
    for k, v in pairs:
        if k in obj:
            dups.append(k)
        obj[k] = v
    obj.duplicates = dups
    return obj


def _first_duplicate(node, path):
    if isinstance(node, _JsonObject):
        if node.duplicates:
            return path, node.duplicates[0]
        for k in sorted(node):
            found = _first_duplicate(node[k], path + [k])
            if found:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found = _first_duplicate(v, path + [str(i)])
            if found:
                return found
    return None


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def read_file(path, verify_checksums=True):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MixcError("IO", f"{path}: cannot read: {e.strerror}") from None
    return read_bytes(data, label=str(path), verify_checksums=verify_checksums)


def read_bytes(data, label="<memory>", verify_checksums=True):
    data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    size = len(data)

    def fail(status, msg):
        raise MixcError(status, f"{label}: {msg}")

    if size < PREAMBLE:
        fail("FORMAT", f"truncated: the file is {size} bytes, shorter than the {PREAMBLE}-byte preamble")
    if bytes(data[:8]) != MAGIC:
        fail("FORMAT", "bad magic: not a .mixc file")
    major, minor, header_size, header_hash = struct.unpack_from("<IIQQ", data, 8)
    if major != MAJOR:
        fail("UNSUPPORTED", f"format version {major}.{minor} is not supported (this reader reads major version {MAJOR})")
    if header_size > MAX_HEADER:
        fail("FORMAT", f"header size {header_size} exceeds the 64 MiB limit")
    if PREAMBLE + header_size > size:
        fail("FORMAT", f"header size {header_size} is larger than the file ({size} bytes)")
    header_bytes = bytes(data[PREAMBLE:PREAMBLE + header_size])
    if xxhash.xxh64_intdigest(header_bytes, seed=0) != header_hash:
        fail("CHECKSUM", "header checksum mismatch")
    try:
        header_text = header_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("FORMAT", f"header is not valid UTF-8 (byte {e.start})")
    try:
        header = json.loads(header_text, object_pairs_hook=_object_hook)
    except (ValueError, RecursionError) as e:
        fail("FORMAT", f"header JSON does not parse: {e}")
    if not isinstance(header, dict):
        fail("FORMAT", "header JSON is not an object")
    # JSON libraries keep one of two equal keys silently; a file that relies on that is
    # ambiguous, so any duplicate key is an error.
    dup = _first_duplicate(header, [])
    if dup:
        where, key = dup
        if where in (["tensors"], ["blobs"]):
            fail("FORMAT", f"duplicate {where[0][:-1]} name {key!r}")
        fail("FORMAT", f"duplicate key {key!r} in {'.'.join(where) or 'the header'}")
    try:
        config = validate_config(header.get("config"))
    except MixcError as e:
        fail(e.status, e.message)

    data_start = align_up(PREAMBLE + header_size)
    region = size - data_start  # may be negative for a file cut inside the padding

    # ---- tensor table
    entries = header.get("tensors")
    if not isinstance(entries, dict):
        fail("FORMAT", "tensors: missing or not an object")
    want = {n: (s, q8) for n, s, q8 in expected_tensors(config)}
    for name in sorted(entries):
        if name not in want:
            fail("FORMAT", f"unknown tensor name {name!r} (not in the config's tensor table)")
    for name in sorted(want):
        if name not in entries:
            fail("FORMAT", f"missing tensor {name}")
    payloads = []  # (offset, stored_size, kind, name, size, entry)
    for name in sorted(entries):
        e = entries[name]
        if not isinstance(e, dict):
            fail("FORMAT", f"tensor {name}: entry is not an object")
        shape, q8 = want[name]
        if e.get("shape") != shape or not all(_is_int(s) for s in e.get("shape", [])):
            fail("FORMAT", f"tensor {name}: shape {e.get('shape')} differs from the config's {shape}")
        dt = e.get("dtype")
        if dt not in dtypes.DTYPES:
            fail("FORMAT", f"tensor {name}: unknown dtype {dt!r}")
        if dt == "q8_0" and not q8:
            fail("FORMAT", f"tensor {name}: dtype q8_0 is not allowed for this tensor")
        payloads.append(_entry(fail, "tensor", name, e, dtypes.payload_size(dt, shape)))
    blob_entries = header.get("blobs", {})
    if not isinstance(blob_entries, dict):
        fail("FORMAT", "blobs: not an object")
    for name in sorted(blob_entries):
        e = blob_entries[name]
        if not isinstance(e, dict):
            fail("FORMAT", f"blob {name}: entry is not an object")
        bsize = e.get("size")
        if not _is_int(bsize) or bsize < 0:
            fail("FORMAT", f"blob {name}: size {bsize!r} is not a non-negative integer")
        payloads.append(_entry(fail, "blob", name, e, bsize))

    # ---- placement: alignment, bounds, overlap
    for off, stored, kind, name, _, _ in payloads:
        if off % ALIGN != 0:
            fail("FORMAT", f"{kind} {name}: offset {off} is not 64-byte aligned")
        if off + stored > region:
            fail("FORMAT", f"{kind} {name}: payload [{off}, {off + stored}) lies outside the file (data section is {max(region, 0)} bytes)")
    by_offset = sorted((p for p in payloads if p[1] > 0), key=lambda p: (p[0], p[1]))
    for a, b in zip(by_offset, by_offset[1:]):
        if b[0] < a[0] + a[1]:
            fail("FORMAT", f"{b[2]} {b[3]}: payload at offset {b[0]} overlaps {a[2]} {a[3]} [{a[0]}, {a[0] + a[1]})")

    # ---- payloads: codec, size, checksum
    dctx = zstandard.ZstdDecompressor()
    tensors, blobs = {}, {}
    for off, stored, kind, name, psize, e in payloads:
        raw = bytes(data[data_start + off:data_start + off + stored])
        if e["codec"] == "raw":
            if stored != psize:
                fail("FORMAT", f"{kind} {name}: stored_size {stored} differs from its payload size {psize}")
            payload = raw
        else:
            payload = _zstd_decode(fail, dctx, kind, name, raw, psize)
        if verify_checksums and xxh64_hex(payload) != e["xxh64"]:
            fail("CHECKSUM", f"{kind} {name}: payload checksum mismatch")
        if kind == "tensor":
            tensors[name] = Tensor(name, e["dtype"], tuple(e["shape"]), payload)
        else:
            blobs[name] = payload

    mf = MixcFile(label, header_text, header, config, tensors, blobs, size)
    _check_tokenizer(fail, mf)
    return mf


def _entry(fail, kind, name, e, psize):
    codec = e.get("codec")
    if codec not in ("raw", "zstd"):
        fail("FORMAT", f"{kind} {name}: unknown codec {codec!r}")
    off, stored = e.get("offset"), e.get("stored_size")
    if not _is_int(off) or off < 0:
        fail("FORMAT", f"{kind} {name}: offset {off!r} is not a non-negative integer")
    if not _is_int(stored) or stored < 0:
        fail("FORMAT", f"{kind} {name}: stored_size {stored!r} is not a non-negative integer")
    h = e.get("xxh64")
    if not isinstance(h, str) or not _HEX16.match(h):
        fail("FORMAT", f"{kind} {name}: xxh64 {h!r} is not 16 lowercase hex digits")
    return (off, stored, kind, name, psize, e)


def _zstd_decode(fail, dctx, kind, name, raw, psize):
    try:
        declared = zstandard.frame_content_size(raw)
    except zstandard.ZstdError as ex:
        fail("FORMAT", f"{kind} {name}: zstd frame does not decode ({ex})")
    if declared not in (-1, psize):
        fail("FORMAT", f"{kind} {name}: zstd frame decoded size {declared} differs from the payload size {psize}")
    try:
        reader = dctx.stream_reader(raw, read_across_frames=False)
        out = reader.read(psize + 1) if psize > 0 else reader.read(1)
        # read() may return less than asked; loop until the frame ends or we have too much
        chunks = [out]
        total = len(out)
        while total <= psize:
            more = reader.read(psize + 1 - total)
            if not more:
                break
            chunks.append(more)
            total += len(more)
        out = b"".join(chunks)
    except zstandard.ZstdError as ex:
        fail("FORMAT", f"{kind} {name}: zstd frame does not decode ({ex})")
    if len(out) != psize:
        fail("FORMAT", f"{kind} {name}: zstd frame decoded size {len(out)} differs from the payload size {psize}")
    return out


def _check_tokenizer(fail, mf):
    tok = mf.tokenizer
    if not isinstance(tok, dict):
        fail("FORMAT", "tokenizer: not an object")
    kind = tok.get("kind", "none")
    vocab = mf.config["vocab_size"]
    if kind == "none":
        return
    if kind != "sentencepiece":
        fail("FORMAT", f"tokenizer.kind: unknown kind {kind!r} (sentencepiece, none)")
    blob = tok.get("blob")
    if blob not in mf.blobs:
        fail("FORMAT", f"tokenizer.blob: blob {blob!r} is not in the file")
    for key in ("bos_id", "eos_id", "unk_id", "pad_id"):
        v = tok.get(key, -1)
        if not _is_int(v) or v < -1 or v >= vocab:
            fail("FORMAT", f"tokenizer.{key}: {v!r} does not fit the vocabulary of {vocab}")
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(mf.blobs[blob])
    except Exception as ex:  # the library raises RuntimeError/OSError variants
        fail("FORMAT", f"tokenizer blob {blob!r} is not a SentencePiece model ({ex})")
    if sp.GetPieceSize() != vocab:
        fail("FORMAT", f"tokenizer piece count {sp.GetPieceSize()} differs from vocab_size {vocab}")
