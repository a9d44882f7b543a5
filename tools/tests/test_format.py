import json
import struct

import numpy as np
import pytest

from mixcon_tools import dtypes, mixc_format as mf
from mixcon_tools.config import preset, validate_config
from mixcon_tools.errors import MixcError
from mixcon_tools.weights_init import init_arrays


@pytest.fixture(scope="module")
def small():
    cfg = preset("tiny-random", n_layers=3)
    return cfg, init_arrays(cfg, 5)


@pytest.mark.parametrize("big,small_dt", [("f32", "f32"), ("f16", "f16"), ("bf16", "bf16"), ("q8_0", "f32")])
def test_round_trip_every_dtype(small, big, small_dt):
    cfg, arrays = small
    tensors = mf.encode_arrays(cfg, arrays, big=big, small=small_dt)
    data = mf.write_model(cfg, tensors, metadata={"name": "t", "ü": "unicode ok"})
    f = mf.read_bytes(data)
    assert f.config == cfg
    assert f.metadata == {"name": "t", "ü": "unicode ok"}
    for name, (dt, shape, payload) in tensors.items():
        assert f.tensors[name].dtype == dt and f.tensors[name].data == payload
        np.testing.assert_array_equal(f.tensors[name].array(), dtypes.decode(payload, dt, shape))
    if big == "f32":
        for name in arrays:
            np.testing.assert_array_equal(f.tensors[name].array(np.float32), arrays[name])


def test_layout_is_deterministic_and_aligned(small):
    cfg, arrays = small
    tensors = mf.encode_arrays(cfg, arrays, big="f16")
    a = mf.write_model(cfg, tensors, codec="raw")
    b = mf.write_model(cfg, dict(reversed(list(tensors.items()))), codec="raw")
    assert a == b
    assert a[:8] == b"MIXC\r\n\x1a\n" and struct.unpack_from("<II", a, 8) == (1, 0)
    hsize = struct.unpack_from("<Q", a, 16)[0]
    text = a[32:32 + hsize].decode()
    header = json.loads(text)
    assert text == json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # tensors in name order at the smallest 64-aligned offsets, then blobs
    end = 0
    for name in sorted(header["tensors"]):
        e = header["tensors"][name]
        assert e["offset"] == (end + 63) // 64 * 64
        end = e["offset"] + e["stored_size"]
    data_start = (32 + hsize + 63) // 64 * 64
    assert len(a) == data_start + end
    assert all(x == 0 for x in a[32 + hsize:data_start])


def test_raw_zstd_raw_is_byte_identical(small, tmp_path):
    cfg, arrays = small
    raw = mf.write_model(cfg, mf.encode_arrays(cfg, arrays, big="q8_0"), blobs={"b": b"hello" * 100},
                         metadata={"x": [1, 2.5, "s"]})
    p_raw = tmp_path / "a.mixc"
    p_raw.write_bytes(raw)
    from mixcon_tools.cli import main
    assert main(["convert", str(p_raw), "--codec", "zstd", "--out", str(tmp_path / "z.mixc")]) == 0
    z = (tmp_path / "z.mixc").read_bytes()
    assert len(z) < len(raw)
    assert mf.read_bytes(z).tensors["lm_head"].data == mf.read_bytes(raw).tensors["lm_head"].data
    assert main(["convert", str(tmp_path / "z.mixc"), "--codec", "raw", "--out", str(tmp_path / "r.mixc")]) == 0
    assert (tmp_path / "r.mixc").read_bytes() == raw


def test_convert_dtype_is_exact_from_stored_values(small, tmp_path):
    cfg, arrays = small
    p = tmp_path / "a.mixc"
    p.write_bytes(mf.write_model(cfg, mf.encode_arrays(cfg, arrays, big="f16")))
    from mixcon_tools.cli import main
    assert main(["convert", str(p), "--dtype", "f32", "--out", str(tmp_path / "b.mixc")]) == 0
    a, b = mf.read_file(str(p)), mf.read_file(str(tmp_path / "b.mixc"))
    assert b.tensors["lm_head"].dtype == "f32"
    np.testing.assert_array_equal(a.tensors["lm_head"].array(), b.tensors["lm_head"].array())


def test_checksums_can_be_skipped(small):
    cfg, arrays = small
    data = mf.write_model(cfg, mf.encode_arrays(cfg, arrays))
    p = mf.Parts if hasattr(mf, "Parts") else None
    from mixcon_tools.damaged import Parts
    parts = Parts(data)
    parts.header["tensors"]["output_norm"]["xxh64"] = "0" * 16
    bad = parts.join()
    with pytest.raises(MixcError) as e:
        mf.read_bytes(bad)
    assert e.value.status == "CHECKSUM"
    assert mf.read_bytes(bad, verify_checksums=False).tensors["output_norm"].data


def test_config_rules():
    cfg = preset("tiny-random")
    validate_config(cfg)
    for mutate, field in [
        (lambda c: c.update(d_model=True), "config.d_model"),
        (lambda c: c.update(norm_eps=0.0), "config.norm_eps"),
        (lambda c: c.update(arch="llama"), "config.arch"),
        (lambda c: c["moe"].update(router="sinkhorn"), "config.moe.router"),
        (lambda c: c["conba"]["features"].pop("delay"), "config.conba.features.delay"),
        (lambda c: c.pop("attention"), "config.attention"),
        (lambda c: c["attention"].update(rope_theta=-1.0), "config.attention.rope_theta"),
        (lambda c: c.update(ffn_types=["mlp"] * 7 + ["dense"]), "config.ffn_types[7]"),
    ]:
        c = json.loads(json.dumps(cfg))
        mutate(c)
        with pytest.raises(MixcError) as e:
            validate_config(c)
        assert field in e.value.message and e.value.status == "FORMAT"
