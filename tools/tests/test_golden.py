import json
import os

import numpy as np
import pytest
import torch

from conftest import DATA
from mixcon_tools import mixc_format as mf
from mixcon_tools.golden import VARIANTS, expected_logits, write_golden
from mixcon_tools.model import MixCon

DIR = os.path.join(DATA, "golden")
MANIFEST = json.load(open(os.path.join(DIR, "manifest.json")))
NAMES = ["all-features", "no-scaling", "no-delay", "no-control", "rope", "tied", "f16", "bf16", "q8_0", "zstd"]


def _logits(entry):
    raw = np.fromfile(os.path.join(DIR, entry["logits"]), dtype="<f4")
    return raw.reshape(len(MANIFEST["tokens"]), -1)


def test_manifest_layout():
    assert [v["name"] for v in MANIFEST["variants"]] == NAMES
    assert len(MANIFEST["tokens"]) >= 64
    for v in MANIFEST["variants"]:
        f = mf.read_file(os.path.join(DIR, v["file"]))
        assert f.config["vocab_size"] == 512 and f.tokenizer == {"kind": "none"}
        assert {e["codec"] for e in f.entries.values()} == {v["codec"]}
        lg = _logits(v)
        assert lg.shape == (len(MANIFEST["tokens"]), 512)
        # random weights drawn so activations stay sane
        assert 0.5 < lg.std() < 5 and np.abs(lg).max() < 30


def test_variants_differ_where_they_should():
    by = {v["name"]: v for v in MANIFEST["variants"]}
    cfg = {n: mf.read_file(os.path.join(DIR, by[n]["file"])).config for n in NAMES}
    assert cfg["no-scaling"]["conba"]["features"]["scaling"] is False
    assert cfg["no-delay"]["conba"]["features"]["delay"] is False
    assert cfg["no-control"]["conba"]["features"]["control"] is False
    assert cfg["rope"]["attention"]["rope_theta"] == 10000.0
    assert cfg["tied"]["tie_embeddings"] is True
    assert cfg["all-features"]["n_layers"] == 8


@pytest.mark.parametrize("name", ["all-features", "tied", "q8_0"])
def test_float32_batched_forward_meets_engine_tolerance(name):
    v = next(v for v in MANIFEST["variants"] if v["name"] == name)
    f = mf.read_file(os.path.join(DIR, v["file"]))
    m = MixCon(f.config).load_arrays(f.arrays(np.float32)).eval()
    with torch.no_grad():
        got = m(torch.tensor([MANIFEST["tokens"]]))[0].numpy()
    want = _logits(v)
    assert np.all(np.abs(got - want) <= 1e-4 + 1e-4 * np.abs(want).max(axis=1, keepdims=True))


def test_golden_files_regenerate_identically(tmp_path):
    write_golden(str(tmp_path), log=lambda m: None)
    for v in MANIFEST["variants"]:
        assert (tmp_path / v["file"]).read_bytes() == open(os.path.join(DIR, v["file"]), "rb").read(), v["file"]
        got = np.fromfile(tmp_path / v["logits"], dtype="<f4")
        want = np.fromfile(os.path.join(DIR, v["logits"]), dtype="<f4")
        # float64 BLAS may sum in another order on another machine: allow the last float32 bit
        np.testing.assert_allclose(got, want, rtol=2e-7, atol=1e-7)
    assert json.loads((tmp_path / "manifest.json").read_text()) == MANIFEST
