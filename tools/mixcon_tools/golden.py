"""Golden vectors for the engine's tests (tests/data/golden/).

Every variant is a random model of the tiny-random preset (vocab 512, tokenizer "none"),
drawn by weights_init.init_arrays(cfg, seed) and stored with the variant's dtype/codec.
Its expected logits are computed from the weights AS STORED (decoded exactly to
float64) by the step-by-step reference in float64 and saved as raw little-endian
float32 [len(tokens), vocab], row i = logits after feeding tokens[0..i].

Size: ten full 8-layer tiny-random models cannot fit the folder's 10 MB budget (one is
2.7 MB in f32), so "all-features" is the full preset in f32, and the other variants keep
the preset's widths but only its first 3 layers (conba+mlp, conba+moe, attention+mlp,
every kind of layer), with the large matrices in f16 unless the variant is
about another dtype. f16 weights decode exactly, so those tests stay tight.
"""
import json
import os

import numpy as np
import torch

from . import mixc_format
from .config import preset
from .model import MixCon, step_logits
from .weights_init import init_arrays

TOKENS_SEED = 2024
N_TOKENS = 64
SMALL_LAYERS = 3
HOW = "cd tools && /usr/bin/python3 -m mixcon_tools golden --out ../tests/data/golden"

# name, preset options, big-matrix dtype, small-tensor dtype, codec, seed, description
VARIANTS = [
    ("all-features", {}, "f32", "f32", "raw", 1,
     "full tiny-random preset (8 layers), every Conba feature on, untied head, no RoPE, all f32, raw"),
    ("no-scaling", {"features": {"scaling": False}, "n_layers": SMALL_LAYERS}, "f16", "f32", "raw", 2,
     "conba.features.scaling off (s = 1); first 3 layers; large matrices f16"),
    ("no-delay", {"features": {"delay": False}, "n_layers": SMALL_LAYERS}, "f16", "f32", "raw", 3,
     "conba.features.delay off (rho = 0, ring of 1); first 3 layers; large matrices f16"),
    ("no-control", {"features": {"control": False}, "n_layers": SMALL_LAYERS}, "f16", "f32", "raw", 4,
     "conba.features.control off (y_hat = y); first 3 layers; large matrices f16"),
    ("rope", {"rope_theta": 10000.0, "n_layers": SMALL_LAYERS}, "f16", "f32", "raw", 5,
     "attention.rope_theta = 10000 (rotate-half RoPE); first 3 layers; large matrices f16"),
    ("tied", {"tie": True, "n_layers": SMALL_LAYERS}, "f16", "f32", "raw", 6,
     "tie_embeddings = true (no lm_head); first 3 layers; large matrices f16"),
    ("f16", {"n_layers": SMALL_LAYERS}, "f16", "f16", "raw", 7,
     "every tensor f16; first 3 layers"),
    ("bf16", {"n_layers": SMALL_LAYERS}, "bf16", "bf16", "raw", 8,
     "every tensor bf16; first 3 layers"),
    ("q8_0", {"n_layers": SMALL_LAYERS}, "q8_0", "f32", "raw", 9,
     "large matrices q8_0 (FORMAT.md's list), the rest f32; first 3 layers"),
    ("zstd", {"n_layers": SMALL_LAYERS}, "f16", "f32", "zstd", 10,
     "codec zstd for every payload; first 3 layers; large matrices f16"),
]


def golden_tokens():
    return [int(t) for t in np.random.default_rng(TOKENS_SEED).integers(0, 512, N_TOKENS)]


def expected_logits(mf, tokens):
    """float64 step-by-step logits of a read file, from its stored weights."""
    model = MixCon(mf.config).double().load_arrays(mf.arrays(np.float64)).eval()
    return step_logits(model, tokens).numpy()


def build_variant(spec):
    name, opts, big, small, codec, seed, desc = spec
    cfg = preset("tiny-random", **opts)
    tensors = mixc_format.encode_arrays(cfg, init_arrays(cfg, seed), big=big, small=small)
    meta = {"name": f"golden {name}", "description": desc, "license": "CC0-1.0",
            "generator": f"mixcon_tools golden, weights_init seed {seed}"}
    return mixc_format.write_model(cfg, tensors, metadata=meta, codec=codec)


def write_golden(out_dir, log=print):
    os.makedirs(out_dir, exist_ok=True)
    tokens = golden_tokens()
    entries = []
    for spec in VARIANTS:
        name, _, big, small, codec, _, desc = spec
        data = build_variant(spec)
        mf = mixc_format.read_bytes(data, label=name)
        logits = expected_logits(mf, tokens)
        lg = logits.astype("<f4")
        with open(os.path.join(out_dir, f"{name}.mixc"), "wb") as f:
            f.write(data)
        with open(os.path.join(out_dir, f"{name}.logits.f32"), "wb") as f:
            f.write(lg.tobytes())
        log(f"{name}: {len(data)} bytes, logits std {logits.std():.3f} max|.| {np.abs(logits).max():.3f}")
        entries.append({"name": name, "file": f"{name}.mixc", "logits": f"{name}.logits.f32",
                        "weight_dtype": big, "small_dtype": small, "codec": codec,
                        "n_layers": mf.config["n_layers"], "description": desc})
    manifest = {"tokens": tokens, "vocab_size": 512, "variants": entries, "how": HOW,
                "logits_format": "raw little-endian float32, shape [len(tokens), vocab_size], row i = logits after feeding tokens[0..i]"}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    return manifest
