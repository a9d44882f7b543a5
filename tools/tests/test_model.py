import math

import numpy as np
import pytest
import torch

from mixcon_tools.config import make_config, preset
from mixcon_tools.model import MixCon, Session, step_logits, topk_lower_index
from mixcon_tools.weights_init import init_arrays


def _model(cfg, seed=3):
    return MixCon(cfg).double().load_arrays(init_arrays(cfg, seed)).eval()


@pytest.mark.parametrize("opts", [
    {}, {"features": {"scaling": False}}, {"features": {"delay": False}}, {"features": {"control": False}},
    {"features": {"scaling": False, "delay": False, "control": False}}, {"rope_theta": 10000.0, "tie": True},
], ids=["all", "no-scaling", "no-delay", "no-control", "mamba", "rope-tied"])
def test_step_by_step_equals_batched(opts):
    cfg = preset("tiny-random", n_layers=4, **opts)
    m = _model(cfg)
    toks = [int(t) for t in np.random.default_rng(1).integers(0, 512, 40)]
    a = step_logits(m, toks)
    with torch.no_grad():
        b = m(torch.tensor([toks]))[0]
    assert torch.max(torch.abs(a - b)).item() < 1e-10


def test_delay_three_uses_the_ring():
    # tau = 3 and d_conv = 1 (empty conv window): shapes of the state other than the preset's
    lt, ft = ["conba", "attention"], ["moe", "mlp"]
    cfg = make_config(64, 32, lt, ft, attention={"n_heads": 2, "n_kv_heads": 2, "head_dim": 8, "rope_theta": 500.0},
                      conba={"d_inner": 16, "d_state": 3, "d_conv": 1, "sel_rank": 2, "delay": 3,
                             "features": {"scaling": True, "delay": True, "control": True}},
                      mlp={"d_ff": 32}, moe={"n_experts": 3, "top_k": 2, "d_ff": 32})
    m = _model(cfg)
    toks = list(range(20))
    s = Session(m)
    s.feed(1)
    assert tuple(s.states[0]["ring"].shape) == (3, 16, 3) and tuple(s.states[0]["conv"].shape) == (0, 16)
    with torch.no_grad():
        assert torch.max(torch.abs(step_logits(m, toks) - m(torch.tensor([toks]))[0])).item() < 1e-10


def test_session_state_matches_model_md():
    cfg = preset("tiny-random")
    s = Session(_model(cfg))
    s.feed(5)
    st = s.states[0]
    assert set(st) == {"conv", "ring", "k"}
    assert tuple(st["conv"].shape) == (3, 128) and tuple(st["ring"].shape) == (2, 128, 8)
    assert tuple(st["k"].shape) == (128,)
    assert len(s.states[2]["k"]) == 1  # attention layer: one cached position


def test_topk_ties_take_lower_index():
    r = torch.tensor([[1.0, 3.0, 3.0, 3.0, 0.0]])
    vals, idx = topk_lower_index(r, 2)
    assert idx.tolist() == [[1, 2]]


def test_conba_matches_hand_written_equations():
    # One Conba layer, one channel of work checked by a scalar re-implementation of (1)-(9).
    cfg = preset("tiny-random", n_layers=1)
    m = _model(cfg, seed=9)
    c = m.layers[0].conba
    P = {k: v.detach().numpy() for k, v in c.named_parameters()}
    D, N, K, tau = c.D, c.N, c.K, c.tau
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((6, 64))
    sig = lambda a: 1 / (1 + np.exp(-a))
    silu = lambda a: a * sig(a)
    sp = lambda a: np.where(a > 20, a, np.log1p(np.exp(np.minimum(a, 20))))
    us, hs, k = [], [], P["gain_init"].copy()
    st = c.init_state()
    for t, x in enumerate(xs):
        uz = P["in_proj"] @ x
        u, z = uz[:D], uz[D:]
        us.append(u)
        cc = P["conv_b"] + sum(P["conv_w"][:, j] * (us[t - K + 1 + j] if t - K + 1 + j >= 0 else 0) for j in range(K))
        ub = silu(cc)
        g = silu(P["sel_gate"] @ ub) * (P["sel_up"] @ ub)
        dt = sp(P["dt_proj"] @ g + P["dt_bias"])
        B, C = P["b_proj"] @ g, P["c_proj"] @ g
        s = sig(P["scale_proj"] @ g + P["scale_bias"])
        Ab = np.exp(dt[:, None] * -np.exp(P["a_log"]))
        rho = 0.5 * sig(P["delay_logit"])
        h1 = hs[t - 1] if t >= 1 else 0
        ht = hs[t - tau] if t >= tau else 0
        h = s[:, None] * Ab * ((1 - rho)[:, None] * h1 + rho[:, None] * ht) + dt[:, None] * B[None, :] * ub[:, None]
        hs.append(h)
        y = h @ C + P["d_skip"] * ub
        e = P["w_ref"] * ub - y
        k = sig(P["gain_decay_logit"]) * k + sp(P["gain_rate_raw"]) * np.linalg.norm(e) / math.sqrt(D)
        out = P["out_proj"] @ ((y + k * e) * silu(z))
        with torch.no_grad():
            got = c.step(torch.tensor(x), st).numpy()
        np.testing.assert_allclose(got, out, rtol=1e-10, atol=1e-12)
