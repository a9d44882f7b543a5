"""PyTorch reference of MODEL.md: the whole MixCon network, two forward paths.

- `MixCon.forward(tokens)`: batched over whole sequences [B, T] (training; differentiable;
  optional process noise sigma_w on h_t and observation noise sigma_v on y, MODEL.md §4).
- `Session`: stateful token-by-token forward holding exactly MODEL.md's session state —
  per Conba layer the conv window [K-1, D], the h ring [tau, D, N] (ring[0] = h_{t-1},
  ring[j] = h_{t-1-j}) and the gain k_{t-1} [D]; per attention layer the K/V cache.
  With the `delay` feature off the ring holds h_{t-1} only.

Parameter names are the tensor names of FORMAT.md, so `state_dict()` maps 1:1 to a file.
Run `.double()` for the float64 oracle. Choices where MODEL.md is silent:
- RoPE angles are computed as t * theta**(-2i/head_dim) in the model's dtype;
- MoE ties: a stable descending sort, so the lower expert index wins;
- training noise: w_t ~ N(0, sigma_w^2) is added to h_t before it enters the ring (the
  next steps see it), v_t ~ N(0, sigma_v^2) to y before the control loop reads it.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import expected_tensors


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def softplus(a):
    return F.softplus(a, beta=1.0, threshold=20.0)  # exactly "a for a > 20"


def _p(*shape):
    return nn.Parameter(torch.zeros(*shape))


def rope(x, pos, theta):
    """x [..., T, n, hd] rotated by positions pos [T] (rotate-half pairing)."""
    hd = x.shape[-1]
    half = hd // 2
    i = torch.arange(half, dtype=x.dtype, device=x.device)
    inv = torch.pow(torch.tensor(theta, dtype=x.dtype), -2.0 * i / hd)
    ang = pos.to(x.dtype)[:, None] * inv[None, :]          # [T, half]
    cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:2 * half]
    out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    if hd % 2:
        out = torch.cat([out, x[..., 2 * half:]], dim=-1)
    return out


class Attention(nn.Module):
    def __init__(self, cfg, dm):
        super().__init__()
        self.H, self.G, self.hd = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
        self.theta = cfg["rope_theta"]
        self.wq = _p(self.H * self.hd, dm)
        self.wk = _p(self.G * self.hd, dm)
        self.wv = _p(self.G * self.hd, dm)
        self.wo = _p(dm, self.H * self.hd)

    def _qkv(self, x, pos):
        B, T, _ = x.shape
        q = (x @ self.wq.T).view(B, T, self.H, self.hd)
        k = (x @ self.wk.T).view(B, T, self.G, self.hd)
        v = (x @ self.wv.T).view(B, T, self.G, self.hd)
        if self.theta > 0:
            q, k = rope(q, pos, self.theta), rope(k, pos, self.theta)
        return q, k, v

    def forward(self, x):
        B, T, _ = x.shape
        pos = torch.arange(T, device=x.device)
        q, k, v = self._qkv(x, pos)
        rep = self.H // self.G   # head h uses kv head h // rep
        k = k.repeat_interleave(rep, dim=2).transpose(1, 2)   # [B, H, T, hd]
        v = v.repeat_interleave(rep, dim=2).transpose(1, 2)
        q = q.transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        s = s.masked_fill(mask, float("-inf"))
        att = torch.softmax(s, dim=-1) @ v                     # [B, H, T, hd]
        return att.transpose(1, 2).reshape(B, T, self.H * self.hd) @ self.wo.T

    def step(self, x, cache, t):
        """x [dm]; cache {"k": [list of [G, hd]], "v": [...]}; t = position."""
        q, k, v = self._qkv(x.view(1, 1, -1), torch.tensor([t]))
        cache["k"].append(k[0, 0])
        cache["v"].append(v[0, 0])
        K = torch.stack(cache["k"])          # [S, G, hd]
        V = torch.stack(cache["v"])
        rep = self.H // self.G
        out = []
        for h in range(self.H):
            j = h // rep
            s = (K[:, j, :] @ q[0, 0, h]) / math.sqrt(self.hd)   # [S]
            out.append(torch.softmax(s, dim=0) @ V[:, j, :])
        return self.wo @ torch.cat(out)


class Conba(nn.Module):
    def __init__(self, cfg, dm):
        super().__init__()
        D, N, K, r = cfg["d_inner"], cfg["d_state"], cfg["d_conv"], cfg["sel_rank"]
        self.D, self.N, self.K, self.r = D, N, K, r
        f = cfg["features"]
        self.scaling, self.delay, self.control = f["scaling"], f["delay"], f["control"]
        self.tau = cfg["delay"] if self.delay else 1
        self.in_proj = _p(2 * D, dm)
        self.conv_w, self.conv_b = _p(D, K), _p(D)
        self.sel_gate, self.sel_up = _p(r, D), _p(r, D)
        self.dt_proj, self.dt_bias = _p(D, r), _p(D)
        self.b_proj, self.c_proj = _p(N, r), _p(N, r)
        self.a_log = _p(D, N)
        self.d_skip = _p(D)
        self.out_proj = _p(dm, D)
        if self.scaling:
            self.scale_proj, self.scale_bias = _p(D, r), _p(D)
        if self.delay:
            self.delay_logit = _p(D)
        if self.control:
            self.w_ref, self.gain_init = _p(D), _p(D)
            self.gain_decay_logit, self.gain_rate_raw = _p(D), _p(D)

    def _selection(self, ub):
        """(3)-(5) for ū [..., D]: returns a = s·Ā [..., D, N], bx = Δ·B·ū [..., D, N], C [..., N]."""
        g = F.silu(ub @ self.sel_gate.T) * (ub @ self.sel_up.T)
        dt = softplus(g @ self.dt_proj.T + self.dt_bias)
        Bm, Cm = g @ self.b_proj.T, g @ self.c_proj.T
        A = -torch.exp(self.a_log)
        a = torch.exp(dt[..., None] * A)
        if self.scaling:
            a = torch.sigmoid(g @ self.scale_proj.T + self.scale_bias)[..., None] * a
        bx = (dt * ub)[..., None] * Bm[..., None, :]
        return a, bx, Cm

    def _rho(self):
        return 0.5 * torch.sigmoid(self.delay_logit) if self.delay else None

    def forward(self, x, sigma_w=0.0, sigma_v=0.0):
        B, T, _ = x.shape
        D, K = self.D, self.K
        uz = x @ self.in_proj.T
        u, z = uz[..., :D], uz[..., D:]
        c = F.conv1d(F.pad(u.transpose(1, 2), (K - 1, 0)), self.conv_w.unsqueeze(1),
                     self.conv_b, groups=D)                   # causal: u before start = 0
        ub = F.silu(c).transpose(1, 2)                         # [B, T, D]
        a, bx, Cm = self._selection(ub)                        # [B, T, D, N]
        rho = self._rho()
        hs = []
        zero = torch.zeros_like(bx[:, 0])
        # unbind once: indexing a[:, t] in the loop would make backward allocate a
        # full-size gradient per step (quadratic in T).
        a_t, bx_t = a.unbind(1), bx.unbind(1)
        if rho is not None:
            keep, take = (1 - rho)[:, None], rho[:, None]
        for t in range(T):
            prev = hs[t - 1] if t >= 1 else zero
            if rho is not None:
                old = hs[t - self.tau] if t >= self.tau else zero
                mix = torch.addcmul(keep * prev, take, old)
            else:
                mix = prev
            h = torch.addcmul(bx_t[t], a_t[t], mix)
            if sigma_w > 0:
                h = h + sigma_w * torch.randn_like(h)
            hs.append(h)
        H = torch.stack(hs, dim=1)                             # [B, T, D, N]
        y = torch.einsum("btdn,btn->btd", H, Cm) + self.d_skip * ub
        if sigma_v > 0:
            y = y + sigma_v * torch.randn_like(y)
        if self.control:
            e = self.w_ref * ub - y
            nrm = e.norm(dim=-1) / math.sqrt(D)                # [B, T]
            lam = torch.sigmoid(self.gain_decay_logit)
            eta = softplus(self.gain_rate_raw)
            k = self.gain_init.expand(B, D)
            ks = []
            for n_t in nrm.unbind(1):
                k = lam * k + eta * n_t[:, None]
                ks.append(k)
            y = y + torch.stack(ks, dim=1) * e
        return (y * F.silu(z)) @ self.out_proj.T

    def init_state(self):
        z = self.in_proj.new_zeros
        st = {"conv": z(self.K - 1, self.D), "ring": z(self.tau, self.D, self.N)}
        if self.control:
            st["k"] = self.gain_init.detach().clone()
        return st

    def step(self, x, st):
        D = self.D
        uz = self.in_proj @ x
        u, z = uz[:D], uz[D:]
        window = torch.cat([st["conv"], u[None]], dim=0)       # [K, D], oldest first
        c = self.conv_b + (self.conv_w * window.T).sum(-1)
        st["conv"] = window[1:]
        ub = F.silu(c)
        a, bx, Cm = self._selection(ub)
        ring = st["ring"]
        if self.delay:
            rho = self._rho()[:, None]
            mix = (1 - rho) * ring[0] + rho * ring[self.tau - 1]
        else:
            mix = ring[0]
        h = a * mix + bx
        st["ring"] = torch.cat([h[None], ring[:-1]], dim=0)
        y = h @ Cm + self.d_skip * ub
        if self.control:
            e = self.w_ref * ub - y
            k = torch.sigmoid(self.gain_decay_logit) * st["k"] + softplus(self.gain_rate_raw) * (e.norm() / math.sqrt(D))
            st["k"] = k
            y = y + k * e
        return self.out_proj @ (y * F.silu(z))


class MLP(nn.Module):
    def __init__(self, d_ff, dm):
        super().__init__()
        self.w_gate, self.w_up, self.w_down = _p(d_ff, dm), _p(d_ff, dm), _p(dm, d_ff)

    def forward(self, x):
        return (F.silu(x @ self.w_gate.T) * (x @ self.w_up.T)) @ self.w_down.T


def topk_lower_index(r, k):
    """Top-k of the last dim; among equal values the lower index wins (stable sort)."""
    vals, idx = torch.sort(r, dim=-1, descending=True, stable=True)
    return vals[..., :k], idx[..., :k]


class MoE(nn.Module):
    def __init__(self, cfg, dm):
        super().__init__()
        E, Fd = cfg["n_experts"], cfg["d_ff"]
        self.E, self.k = E, cfg["top_k"]
        self.router = _p(E, dm)
        self.w_gate, self.w_up, self.w_down = _p(E, Fd, dm), _p(E, Fd, dm), _p(E, dm, Fd)
        self.aux_loss = None

    def _expert(self, e, x):
        return (F.silu(x @ self.w_gate[e].T) * (x @ self.w_up[e].T)) @ self.w_down[e].T

    def forward(self, x):
        shp = x.shape
        xf = x.reshape(-1, shp[-1])
        r = xf @ self.router.T                                 # [M, E]
        vals, idx = topk_lower_index(r, self.k)
        w = torch.softmax(vals, dim=-1)                        # topk_softmax
        out = torch.zeros_like(xf)
        for e in range(self.E):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel():
                out.index_add_(0, rows, w[rows, slot, None] * self._expert(e, xf[rows]))
        if self.training:
            # Switch-style balance loss: fraction routed x mean router probability.
            frac = torch.zeros(self.E, dtype=xf.dtype).index_add_(0, idx.reshape(-1), torch.ones(idx.numel(), dtype=xf.dtype)) / idx.numel()
            self.aux_loss = self.E * (frac * torch.softmax(r, dim=-1).mean(0)).sum()
        return out.view(shp)

    def step(self, x):
        r = self.router @ x
        vals, idx = topk_lower_index(r, self.k)
        w = torch.softmax(vals, dim=-1)
        out = torch.zeros_like(x)
        for j in range(self.k):
            out = out + w[j] * self._expert(int(idx[j]), x)
        return out


class Layer(nn.Module):
    def __init__(self, cfg, l):
        super().__init__()
        dm = cfg["d_model"]
        self.eps = cfg["norm_eps"]
        self.mixer_norm, self.ffn_norm = _p(dm), _p(dm)
        self.is_attn = cfg["layer_types"][l] == "attention"
        if self.is_attn:
            self.attn = Attention(cfg["attention"], dm)
        else:
            self.conba = Conba(cfg["conba"], dm)
        self.is_moe = cfg["ffn_types"][l] == "moe"
        if self.is_moe:
            self.moe = MoE(cfg["moe"], dm)
        else:
            self.mlp = MLP(cfg["mlp"]["d_ff"], dm)

    def ffn(self, x):
        return self.moe(x) if self.is_moe else self.mlp(x)

    def forward(self, x, sigma_w=0.0, sigma_v=0.0):
        hN = rms_norm(x, self.mixer_norm, self.eps)
        a = x + (self.attn(hN) if self.is_attn else self.conba(hN, sigma_w, sigma_v))
        return a + self.ffn(rms_norm(a, self.ffn_norm, self.eps))

    def step(self, x, st, t):
        hN = rms_norm(x, self.mixer_norm, self.eps)
        a = x + (self.attn.step(hN, st, t) if self.is_attn else self.conba.step(hN, st))
        hF = rms_norm(a, self.ffn_norm, self.eps)
        return a + (self.moe.step(hF) if self.is_moe else self.mlp(hF))


class MixCon(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        V, dm = cfg["vocab_size"], cfg["d_model"]
        self.tok_embeddings = _p(V, dm)
        self.output_norm = _p(dm)
        self.tie = cfg["tie_embeddings"]
        if not self.tie:
            self.lm_head = _p(V, dm)
        self.layers = nn.ModuleList(Layer(cfg, l) for l in range(cfg["n_layers"]))

    def head(self):
        return self.tok_embeddings if self.tie else self.lm_head

    def hidden(self, tokens, sigma_w=0.0, sigma_v=0.0):
        x = self.tok_embeddings[tokens]
        for layer in self.layers:
            x = layer(x, sigma_w, sigma_v)
        return rms_norm(x, self.output_norm, self.cfg["norm_eps"])

    def forward(self, tokens, sigma_w=0.0, sigma_v=0.0):
        """tokens [B, T] (long) -> logits [B, T, vocab]."""
        return self.hidden(tokens, sigma_w, sigma_v) @ self.head().T

    def aux_loss(self):
        losses = [l.moe.aux_loss for l in self.layers if l.is_moe and l.moe.aux_loss is not None]
        return sum(losses) / len(losses) if losses else 0.0

    def load_arrays(self, arrays):
        """{tensor name: array} (every tensor of the config) -> parameters, in their dtype."""
        sd = self.state_dict()
        names = {n for n, _, _ in expected_tensors(self.cfg)}
        if set(sd) != names:
            raise RuntimeError(f"parameter names differ from FORMAT.md: {sorted(set(sd) ^ names)[:5]}")
        with torch.no_grad():
            for n, p in sd.items():
                p.copy_(torch.as_tensor(np.asarray(arrays[n]), dtype=p.dtype))
        return self

    def arrays(self):
        return {n: p.detach().cpu().numpy() for n, p in self.state_dict().items()}


class Session:
    """Token-by-token inference with MODEL.md's session state (no noise, ever)."""

    def __init__(self, model):
        self.model = model
        self.reset()

    def reset(self):
        self.t = 0
        self.states = [({"k": [], "v": []} if l.is_attn else l.conba.init_state())
                       for l in self.model.layers]

    @torch.no_grad()
    def feed(self, token):
        """One token id -> logits [vocab] for the next token."""
        m = self.model
        x = m.tok_embeddings[int(token)]
        for layer, st in zip(m.layers, self.states):
            x = layer.step(x, st, self.t)
        self.t += 1
        return m.head() @ rms_norm(x, m.output_norm, m.cfg["norm_eps"])


def step_logits(model, tokens):
    """Logits [len(tokens), vocab] from the step-by-step path."""
    s = Session(model)
    return torch.stack([s.feed(t) for t in tokens])
