"""Seeded weight draws for random models (golden vectors, benchmarks) and for the
initialization of training. numpy's PCG64 generator, drawn in tensor-name order, so a
seed gives the same weights on every machine.

Ranges: matrices N(0, 1/fan_in) keep every projection's output near unit scale; Conba
gets Mamba's S4D-real A (A_log = log(1..N)) and a step size Δ spread over [dt_min, dt_max]
so that the recurrence, the delay and the control loop all matter; norms near 1.
"""
import math

import numpy as np

from .config import expected_tensors


def _inv_softplus(y):
    return y + np.log(-np.expm1(-y))


def init_arrays(cfg, seed, *, style="random"):
    """{name: float32 array}. style "random": weights of a plausible trained model (golden
    vectors, benchmarks). style "train": the starting point of training (identity-ish
    Conba extras, unit norms, scaled-down residual outputs)."""
    rng = np.random.default_rng(seed)
    train = style == "train"
    dm = cfg["d_model"]
    L = cfg["n_layers"]
    out = {}
    for name, shape, _ in expected_tensors(cfg):
        last = name.rsplit(".", 1)[-1]
        n = shape[-1]
        if name == "tok_embeddings":
            # A tied head reads the embeddings too: a smaller spread keeps logits O(1-10).
            a = rng.normal(0, 0.02 if train else (0.35 if cfg["tie_embeddings"] else 1.0), shape)
        elif name == "lm_head":
            a = rng.normal(0, 1.0 / math.sqrt(dm), shape)
        elif last in ("output_norm", "mixer_norm", "ffn_norm"):
            a = np.ones(shape) if train else rng.normal(1.0, 0.1, shape)
        elif last in ("wo", "out_proj", "w_down"):
            scale = 1.0 / math.sqrt(2 * L) if train else 1.0
            a = rng.normal(0, scale / math.sqrt(n), shape)
        elif last in ("wq", "wk", "wv", "in_proj", "w_gate", "w_up", "router",
                      "sel_gate", "sel_up", "b_proj", "c_proj"):
            a = rng.normal(0, 1.0 / math.sqrt(n), shape)
        elif last == "conv_w":
            a = rng.uniform(-1, 1, shape) / math.sqrt(shape[1])
        elif last == "conv_b":
            a = rng.uniform(-1, 1, shape) / math.sqrt(cfg["conba"]["d_conv"]) * (0.5 if train else 1.0)
        elif last == "dt_proj":
            a = rng.normal(0, 0.5 / math.sqrt(n), shape)
        elif last == "dt_bias":
            lo, hi = (1e-3, 1e-1) if train else (1e-2, 0.5)
            dt = np.exp(rng.uniform(math.log(lo), math.log(hi), shape))
            a = _inv_softplus(dt)
        elif last == "scale_proj":
            a = rng.normal(0, 0.5 / math.sqrt(n), shape)
        elif last == "scale_bias":
            a = np.full(shape, 3.0) if train else rng.normal(2.0, 0.5, shape)
        elif last == "a_log":
            N = shape[1]
            base = np.log(np.arange(1, N + 1, dtype=np.float64))
            a = np.tile(base, (shape[0], 1)) if train else np.log(rng.uniform(0.5, N, shape))
        elif last == "d_skip":
            a = np.ones(shape) if train else rng.normal(1.0, 0.3, shape)
        elif last == "delay_logit":
            a = np.full(shape, -1.0) if train else rng.normal(0.0, 1.0, shape)
        elif last == "w_ref":
            a = np.ones(shape) if train else rng.normal(0.5, 0.5, shape)
        elif last == "gain_init":
            a = np.full(shape, 0.05) if train else rng.uniform(0.0, 0.5, shape)
        elif last == "gain_decay_logit":
            a = np.full(shape, 2.0) if train else rng.normal(1.0, 0.5, shape)
        elif last == "gain_rate_raw":
            a = np.full(shape, -3.0) if train else rng.normal(-2.0, 0.5, shape)
        else:
            raise KeyError(f"no init rule for tensor {name}")
        out[name] = np.asarray(a, dtype=np.float32)
    return out
