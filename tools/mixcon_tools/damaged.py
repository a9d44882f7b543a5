"""Deliberately damaged .mixc files, one per reject rule of FORMAT.md (tests/data/damaged/),
plus `valid.mixc`, the undamaged control they are made from.

The base model is very small (d_model 32, 2 layers: conba+mlp, attention+moe, vocab 64,
a 64-piece SentencePiece tokenizer) so the folder stays small. Damaged files use the zstd
codec on weights rounded to 1/8 (they compress to almost nothing); the rules about raw
payloads use a raw copy. Each damaged file breaks exactly one rule, and a reader that
checks placement (alignment, bounds, overlap) before decoding payloads reports that rule.
The 64-bit size-product overflow rule has no file: within the per-field limits no
product exceeds 2^42.
"""
import io
import json
import os
import struct

import numpy as np
import sentencepiece as spm
import zstandard

from . import dtypes
from . import mixc_format as mf
from .config import make_config
from .weights_init import init_arrays

_WORDS = ("the cat sat on a mat and the dog ran to the red barn while birds sang over "
          "green hills near seven quiet lakes where old men fish for silver trout each "
          "morning before the sun climbs high").split()


def tiny_tokenizer(vocab=64):
    rng = np.random.default_rng(7)
    lines = [" ".join(rng.choice(_WORDS, 12)) for _ in range(400)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab, model_type="bpe",
        character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        normalization_rule_name="identity", minloglevel=2)  # identity: no 170 KB NFKC table
    return buf.getvalue()


def tiny_config(vocab=64):
    return make_config(vocab, 32, ["conba", "attention"], ["mlp", "moe"], tie_embeddings=False,
                       max_context=256,
                       attention={"n_heads": 2, "n_kv_heads": 1, "head_dim": 16, "rope_theta": 0.0},
                       conba={"d_inner": 32, "d_state": 4, "d_conv": 2, "sel_rank": 4, "delay": 2,
                              "features": {"scaling": True, "delay": True, "control": True}},
                       mlp={"d_ff": 32}, moe={"n_experts": 2, "top_k": 1, "d_ff": 32})


TOK = {"kind": "sentencepiece", "blob": "tokenizer.model", "bos_id": 1, "eos_id": 2,
       "unk_id": 0, "pad_id": -1, "add_bos": True}


def base_model(codec="zstd", vocab=64, proto=None, dtype="f16", rounded=True):
    cfg = tiny_config(vocab)
    arrays = init_arrays(cfg, 11)
    if rounded:
        arrays = {k: np.round(v * 8) / 8 for k, v in arrays.items()}
    tensors = mf.encode_arrays(cfg, arrays, big=dtype, small=dtype)
    return mf.write_model(cfg, tensors, blobs={"tokenizer.model": proto}, tokenizer=TOK,
                          metadata={"name": "damaged-base", "description": "base of the damaged-file tests"},
                          codec=codec)


class Parts:
    """A file split into (header dict, payloads by entry) that can be edited and re-joined."""

    def __init__(self, data):
        hsize = struct.unpack_from("<Q", data, 16)[0]
        self.header = json.loads(data[32:32 + hsize])
        self.data_start = mf.align_up(32 + hsize)
        self.data = data
        # the payloads as placed in the original file, whatever edits the header gets
        self._payloads = []
        for sec in ("tensors", "blobs"):
            for e in self.header[sec].values():
                s = self.data_start + e["offset"]
                self._payloads.append((e["offset"], data[s:s + e["stored_size"]]))

    def payloads(self):
        return list(self._payloads)

    def join(self, header_text=None, payloads=None, **kw):
        text = header_text if header_text is not None else mf.dumps_json(self.header)
        hb = text if isinstance(text, bytes) else text.encode("utf-8")
        return mf.assemble(hb, self.payloads() if payloads is None else payloads, **kw)


def _edit(data, fn):
    p = Parts(data)
    fn(p.header)
    return p.join()


def make_damaged(out_dir, log=print):
    os.makedirs(out_dir, exist_ok=True)
    proto = tiny_tokenizer()
    valid = base_model(codec="raw", proto=proto, dtype="f32", rounded=False)
    base = base_model(codec="zstd", proto=proto)
    base_raw = base_model(codec="raw", proto=proto, dtype="f16")
    files = [("valid.mixc", "OK", "none (the undamaged control)", "", valid)]

    def add(name, status, rule, key, data):
        files.append((name, status, rule, key, data))

    def cfg_edit(name, rule, key, fn):
        def f(h):
            fn(h["config"])
        add(name, "FORMAT", rule, key, _edit(base, f))

    # ---- preamble and header
    add("bad_magic.mixc", "FORMAT", "wrong magic", "magic", b"MIXD" + base[4:])
    add("bad_major.mixc", "UNSUPPORTED", "wrong major version (2)", "version",
        base[:8] + struct.pack("<I", 2) + base[12:])
    add("truncated_preamble.mixc", "FORMAT", "file shorter than the 32-byte preamble", "truncated", base[:20])
    hsize = struct.unpack_from("<Q", base, 16)[0]
    add("header_larger_than_file.mixc", "FORMAT", "header larger than the file", "header size",
        base[:16] + struct.pack("<Q", len(base)) + base[24:])
    add("header_over_64mib.mixc", "FORMAT", "header larger than 64 MiB", "header size",
        base[:16] + struct.pack("<Q", 64 * 1024 * 1024 + 1) + base[24:])
    h = struct.unpack_from("<Q", base, 24)[0]
    add("header_checksum.mixc", "CHECKSUM", "header checksum mismatch", "checksum",
        base[:24] + struct.pack("<Q", h ^ 1) + base[32:])
    p = Parts(base)
    text = mf.dumps_json(p.header)
    add("json_syntax.mixc", "FORMAT", "header JSON does not parse", "json", p.join(text[:-1] + ","))
    bad_utf8 = text.replace('"damaged-base"', '"damaged-\xff-base"').encode("utf-8").replace(b"\xc3\xbf", b"\xff")
    add("json_not_utf8.mixc", "FORMAT", "header is not valid UTF-8", "utf-8", p.join(bad_utf8))
    add("json_not_object.mixc", "FORMAT", "header JSON is not an object", "json", p.join("[1,2,3]"))

    # ---- config
    cfg_edit("config_d_model_zero.mixc", "config value out of range (d_model 0)", "config.d_model",
             lambda c: c.update(d_model=0))
    cfg_edit("config_d_model_too_large.mixc", "config value out of range (d_model 65537)", "config.d_model",
             lambda c: c.update(d_model=65537))
    cfg_edit("config_vocab_too_large.mixc", "config value out of range (vocab_size 16777217)", "config.vocab_size",
             lambda c: c.update(vocab_size=16777217))
    cfg_edit("config_n_layers_too_large.mixc", "config value out of range (n_layers 1025)", "config.n_layers",
             lambda c: c.update(n_layers=1025))
    cfg_edit("config_max_context_too_large.mixc", "config value out of range (max_context 16777217)",
             "config.max_context", lambda c: c.update(max_context=16777217))
    cfg_edit("config_d_inner_zero.mixc", "config value out of range (conba.d_inner 0)", "config.conba.d_inner",
             lambda c: c["conba"].update(d_inner=0))
    cfg_edit("config_heads_not_divisible.mixc", "n_heads % n_kv_heads != 0 (3 % 2)", "n_kv_heads",
             lambda c: c["attention"].update(n_heads=3, n_kv_heads=2))
    cfg_edit("config_top_k_over_experts.mixc", "top_k > n_experts (3 > 2)", "config.moe.top_k",
             lambda c: c["moe"].update(top_k=3))
    cfg_edit("config_experts_too_many.mixc", "n_experts > 1024", "config.moe.n_experts",
             lambda c: c["moe"].update(n_experts=1025))
    cfg_edit("config_list_length.mixc", "layer_types length != n_layers", "config.layer_types",
             lambda c: c.update(layer_types=["conba", "attention", "conba"]))
    cfg_edit("config_unknown_key.mixc", "unknown key inside config", "config.rope_scaling",
             lambda c: c.update(rope_scaling=2.0))
    cfg_edit("config_unknown_feature.mixc", "unknown conba feature", "feature",
             lambda c: c["conba"]["features"].update(quantum=True))

    # ---- tensor table
    add("tensor_missing.mixc", "FORMAT", "missing tensor (layers.0.conba.a_log)", "layers.0.conba.a_log",
        _edit(base, lambda h: h["tensors"].pop("layers.0.conba.a_log")))
    add("tensor_unknown.mixc", "FORMAT", "unknown tensor name", "layers.0.conba.bogus",
        _edit(base, lambda h: h["tensors"].update({"layers.0.conba.bogus": h["tensors"]["output_norm"]})))
    p = Parts(base)
    text = mf.dumps_json(p.header)
    entry = mf.dumps_json(p.header["tensors"]["output_norm"])
    key = '"output_norm":' + entry
    assert text.count(key) == 1
    add("tensor_duplicate.mixc", "FORMAT", "duplicate tensor (output_norm twice in the JSON text)", "duplicate",
        p.join(text.replace(key, key + "," + key)))

    def wrong_shape(h):
        h["tensors"]["output_norm"]["shape"] = [16, 2]
    add("tensor_wrong_shape.mixc", "FORMAT", "shape differs from the table", "shape", _edit(base, wrong_shape))

    p = Parts(base)
    e = p.header["tensors"]["output_norm"]
    q = dtypes.encode(np.ones(32, dtype=np.float32), "q8_0")
    z = zstandard.ZstdCompressor(level=3).compress(q)
    pays = [pp for pp in p.payloads()]
    end = max(o + len(b) for o, b in pays)
    new_off = mf.align_up(end)
    # re-point output_norm at a fresh payload at the end of the data section
    pays = [(o, b) for o, b in pays if o != e["offset"]] + [(new_off, z)]
    e.update(dtype="q8_0", offset=new_off, stored_size=len(z), xxh64=mf.xxh64_hex(q))
    add("tensor_q8_0_on_norm.mixc", "FORMAT", "dtype not allowed (q8_0 on a norm vector)", "dtype",
        p.join(payloads=pays))
    add("tensor_unknown_dtype.mixc", "FORMAT", "unknown dtype (f64)", "dtype",
        _edit(base, lambda h: h["tensors"]["output_norm"].update(dtype="f64")))
    add("tensor_unknown_codec.mixc", "FORMAT", "unknown codec (lz4)", "codec",
        _edit(base, lambda h: h["tensors"]["output_norm"].update(codec="lz4")))

    # ---- placement
    p = Parts(base)
    last = max(p.header["tensors"].values(), key=lambda e: e["offset"])
    last_blob = p.header["blobs"]["tokenizer.model"]
    pays = p.payloads()
    # move the last payload (the blob) 16 bytes on: inside the file, overlapping nothing
    moved = [(o + 16 if o == last_blob["offset"] else o, b) for o, b in pays]
    last_blob["offset"] += 16
    add("offset_unaligned.mixc", "FORMAT", "offset not 64-aligned", "offset", p.join(payloads=moved))
    add("offset_outside_file.mixc", "FORMAT", "payload outside the file", "outside",
        _edit(base, lambda h: h["tensors"]["output_norm"].update(offset=1 << 40)))

    def overlap(h):
        t = h["tensors"]
        small = sorted(t, key=lambda n: t[n]["stored_size"])[0]   # the shortest payload
        other = next(n for n in sorted(t) if n != small)
        t[small]["offset"] = t[other]["offset"]
    add("payload_overlap.mixc", "FORMAT", "payloads overlap", "overlap", _edit(base, overlap))
    add("truncated_payloads.mixc", "FORMAT", "file cut inside its payloads", "outside",
        base[:Parts(base).data_start + 200])

    # ---- payload contents
    def raw_size(h):
        h["tensors"]["output_norm"]["stored_size"] -= 2
    add("raw_stored_size.mixc", "FORMAT", "raw stored size differs from the payload size", "stored_size",
        _edit(base_raw, raw_size))
    p = Parts(base)
    e = p.header["tensors"]["output_norm"]
    pays = [(o, (b"\x00\x00\x00\x00" + b[4:]) if o == e["offset"] else b) for o, b in p.payloads()]
    add("zstd_corrupt.mixc", "FORMAT", "zstd frame fails to decode", "zstd", p.join(payloads=pays))
    p = Parts(base)
    e = p.header["tensors"]["output_norm"]
    payload = dtypes.encode(np.ones(32 + 8, dtype=np.float32), "f16")   # 8 values too many
    z = zstandard.ZstdCompressor(level=3).compress(payload)
    pays = [(o, b) for o, b in p.payloads() if o != e["offset"]]
    new_off = mf.align_up(max(o + len(b) for o, b in pays))
    pays.append((new_off, z))
    e.update(offset=new_off, stored_size=len(z), xxh64=mf.xxh64_hex(payload))
    add("zstd_decoded_size.mixc", "FORMAT", "zstd frame decodes to another size", "decoded size",
        p.join(payloads=pays))

    def bad_sum(h):
        x = h["tensors"]["output_norm"]["xxh64"]
        h["tensors"]["output_norm"]["xxh64"] = x[:-1] + ("0" if x[-1] != "0" else "1")
    add("payload_checksum.mixc", "CHECKSUM", "payload checksum mismatch", "checksum", _edit(base, bad_sum))

    # ---- tokenizer
    add("tokenizer_piece_count.mixc", "FORMAT", "tokenizer piece count (64) != vocab_size (96)", "piece count",
        base_model(codec="zstd", vocab=96, proto=proto))
    add("tokenizer_special_id.mixc", "FORMAT", "tokenizer special id outside the vocabulary (bos_id 64)", "bos_id",
        _edit(base, lambda h: h["tokenizer"].update(bos_id=64)))
    add("tokenizer_missing_blob.mixc", "FORMAT", "tokenizer blob absent", "blob",
        _edit(base, lambda h: h["tokenizer"].update(blob="spm.model")))

    entries = []
    for name, status, rule, key, data in files:
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        entries.append({"file": name, "status": status, "rule": rule, "message_contains": key})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        f.write(json.dumps({"files": entries, "how": "cd tools && /usr/bin/python3 -m mixcon_tools damaged --out ../tests/data/damaged"}, indent=1) + "\n")
    log(f"{len(files)} files in {out_dir}")
    return entries
