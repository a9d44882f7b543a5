"""The `config` object of FORMAT.md: validation (every range rule), presets of MODEL.md §6
and the tensor table the config requires.

Choices where FORMAT.md is silent (the C++ reader makes the same ones):
- a section (`attention`, `conba`, `mlp`, `moe`) is required when some layer uses it and
  is written only then; a section that is present but unused is still validated;
- integers must be JSON integers (not booleans, not 1.0); `norm_eps` > 0, `rope_theta` >= 0,
  `arch` == "mixcon", `router` == "topk_softmax", `conba.delay` >= 1;
- `conba.features` must hold exactly the three booleans: an unknown name is an error (it
  would change the math) and so is a missing one (its meaning would be a guess).
"""
import copy

from .errors import MixcError

MAX_DIM = 65536
MAX_LAYERS = 1024
MAX_VOCAB = 16_777_216
MAX_CONTEXT = 16_777_216
MAX_EXPERTS = 1024
INT64_MAX = 2**63 - 1

TOP_KEYS = {"arch", "vocab_size", "d_model", "n_layers", "norm_eps", "tie_embeddings",
            "max_context", "layer_types", "ffn_types", "attention", "conba", "mlp", "moe"}
SECTION_KEYS = {
    "attention": {"n_heads", "n_kv_heads", "head_dim", "rope_theta"},
    "conba": {"d_inner", "d_state", "d_conv", "sel_rank", "delay", "features"},
    "mlp": {"d_ff"},
    "moe": {"n_experts", "top_k", "d_ff", "router"},
}
FEATURES = ("scaling", "delay", "control")


def _fail(field, reason):
    raise MixcError("FORMAT", f"config.{field}: {reason}")


def _int(obj, key, prefix, lo=1, hi=None):
    field = prefix + key
    if key not in obj:
        _fail(field, "missing")
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(field, f"must be an integer, got {v!r}")
    if v < lo:
        _fail(field, f"{v} is out of range (must be >= {lo})")
    if hi is not None and v > hi:
        _fail(field, f"{v} is out of range (must be <= {hi})")
    return v


def _num(obj, key, prefix):
    field = prefix + key
    if key not in obj:
        _fail(field, "missing")
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(field, f"must be a number, got {v!r}")
    if v != v or v in (float("inf"), float("-inf")):
        _fail(field, f"must be finite, got {v!r}")
    return float(v)


def _check_keys(obj, allowed, prefix):
    if not isinstance(obj, dict):
        _fail(prefix.rstrip("."), "must be an object")
    for k in sorted(obj):
        if k not in allowed:
            _fail(prefix + k, "unknown key (it would change the math)")


def validate_config(cfg):
    """Checks a parsed `config` object; returns a normalized copy (a plain dict) or raises
    MixcError("FORMAT", "config.<field>: <reason>")."""
    if not isinstance(cfg, dict):
        raise MixcError("FORMAT", "config: missing or not an object")
    _check_keys(cfg, TOP_KEYS, "")
    if cfg.get("arch") != "mixcon":
        _fail("arch", f"must be \"mixcon\", got {cfg.get('arch')!r}")
    vocab = _int(cfg, "vocab_size", "", hi=MAX_VOCAB)
    d_model = _int(cfg, "d_model", "", hi=MAX_DIM)
    n_layers = _int(cfg, "n_layers", "", hi=MAX_LAYERS)
    _int(cfg, "max_context", "", hi=MAX_CONTEXT)
    eps = _num(cfg, "norm_eps", "")
    if not eps > 0:
        _fail("norm_eps", f"{eps} is out of range (must be > 0)")
    if not isinstance(cfg.get("tie_embeddings"), bool):
        _fail("tie_embeddings", "missing or not a boolean")
    for key, allowed in (("layer_types", ("attention", "conba")), ("ffn_types", ("mlp", "moe"))):
        lst = cfg.get(key)
        if not isinstance(lst, list):
            _fail(key, "missing or not a list")
        if len(lst) != n_layers:
            _fail(key, f"has {len(lst)} entries, n_layers is {n_layers}")
        for i, v in enumerate(lst):
            if v not in allowed:
                _fail(f"{key}[{i}]", f"unknown type {v!r}")
    used = {
        "attention": "attention" in cfg["layer_types"],
        "conba": "conba" in cfg["layer_types"],
        "mlp": "mlp" in cfg["ffn_types"],
        "moe": "moe" in cfg["ffn_types"],
    }
    for sec in ("attention", "conba", "mlp", "moe"):
        if sec not in cfg:
            if used[sec]:
                _fail(sec, "missing (a layer uses it)")
            continue
        obj = cfg[sec]
        p = sec + "."
        _check_keys(obj, SECTION_KEYS[sec], p)
        if sec == "attention":
            h = _int(obj, "n_heads", p, hi=MAX_DIM)
            g = _int(obj, "n_kv_heads", p, hi=MAX_DIM)
            _int(obj, "head_dim", p, hi=MAX_DIM)
            if h % g != 0:
                _fail("attention.n_heads", f"{h} is not a multiple of attention.n_kv_heads {g}")
            theta = _num(obj, "rope_theta", p)
            if theta < 0:
                _fail("attention.rope_theta", f"{theta} is out of range (must be >= 0)")
        elif sec == "conba":
            _int(obj, "d_inner", p, hi=MAX_DIM)
            _int(obj, "d_state", p, hi=MAX_DIM)
            _int(obj, "d_conv", p, hi=MAX_DIM)
            _int(obj, "sel_rank", p, hi=MAX_DIM)
            _int(obj, "delay", p, hi=MAX_DIM)
            feats = obj.get("features")
            if not isinstance(feats, dict):
                _fail("conba.features", "missing or not an object")
            for k in sorted(feats):
                if k not in FEATURES:
                    _fail(f"conba.features.{k}", "unknown feature (it would change the math)")
            for k in FEATURES:
                if not isinstance(feats.get(k), bool):
                    _fail(f"conba.features.{k}", "missing or not a boolean")
        elif sec == "mlp":
            _int(obj, "d_ff", p, hi=MAX_DIM)
        elif sec == "moe":
            e = _int(obj, "n_experts", p, hi=MAX_EXPERTS)
            _int(obj, "top_k", p, hi=e)
            _int(obj, "d_ff", p, hi=MAX_DIM)
            if obj.get("router") != "topk_softmax":
                _fail("moe.router", f"unknown router {obj.get('router')!r}")
    out = copy.deepcopy(cfg)
    out["norm_eps"] = eps
    if "attention" in out:
        out["attention"]["rope_theta"] = float(out["attention"]["rope_theta"])
    for name, shape, _ in expected_tensors(out):
        n = 1
        for s in shape:
            n *= s
            if n > INT64_MAX:
                raise MixcError("FORMAT", f"config: the size of tensor {name} {shape} overflows 64 bits")
    return out


def make_config(vocab_size, d_model, layer_types, ffn_types, *, norm_eps=1e-6,
                tie_embeddings=False, max_context=4096, attention=None, conba=None,
                mlp=None, moe=None):
    """A config dict holding only the sections some layer uses."""
    cfg = {"arch": "mixcon", "vocab_size": vocab_size, "d_model": d_model,
           "n_layers": len(layer_types), "norm_eps": float(norm_eps),
           "tie_embeddings": bool(tie_embeddings), "max_context": max_context,
           "layer_types": list(layer_types), "ffn_types": list(ffn_types)}
    if "attention" in layer_types:
        cfg["attention"] = dict(attention, rope_theta=float(attention.get("rope_theta", 0.0)))
    if "conba" in layer_types:
        cfg["conba"] = copy.deepcopy(conba)
    if "mlp" in ffn_types:
        cfg["mlp"] = dict(mlp)
    if "moe" in ffn_types:
        cfg["moe"] = dict(moe, router="topk_softmax")
    return validate_config(cfg)


def paper_pattern(n_layers, attention_at=(2, 6)):
    """MODEL.md §6: in every 8 layers attention at `attention_at`; MoE at odd positions."""
    lt = ["attention" if l % 8 in attention_at else "conba" for l in range(n_layers)]
    ft = ["moe" if l % 2 == 1 else "mlp" for l in range(n_layers)]
    return lt, ft


def preset(name, *, vocab_size=None, features=None, rope_theta=0.0, tie=False, n_layers=None):
    """The presets of MODEL.md §6 (vocab: paper 256000, bench-small 32000, tiny-random 512).
    n_layers keeps only the first n layers of the preset's pattern (smaller test models)."""
    cfg = _preset(name, vocab_size, features, rope_theta, tie)
    if n_layers is not None and n_layers != cfg["n_layers"]:
        if not 1 <= n_layers <= cfg["n_layers"]:
            raise MixcError("INVALID_ARGUMENT", f"n_layers {n_layers} is not in 1..{cfg['n_layers']}")
        lt, ft = cfg["layer_types"][:n_layers], cfg["ffn_types"][:n_layers]
        cfg = make_config(cfg["vocab_size"], cfg["d_model"], lt, ft, norm_eps=cfg["norm_eps"],
                          tie_embeddings=cfg["tie_embeddings"], max_context=cfg["max_context"],
                          attention=cfg.get("attention"), conba=cfg.get("conba"),
                          mlp=cfg.get("mlp"), moe=cfg.get("moe"))
    return cfg


def _preset(name, vocab_size, features, rope_theta, tie):
    feats = {"scaling": True, "delay": True, "control": True}
    feats.update(features or {})
    if name == "paper":
        lt, ft = paper_pattern(32)
        return make_config(vocab_size or 256000, 4096, lt, ft, tie_embeddings=tie,
                           attention={"n_heads": 32, "n_kv_heads": 8, "head_dim": 128, "rope_theta": rope_theta},
                           conba={"d_inner": 8192, "d_state": 16, "d_conv": 4, "sel_rank": 256, "delay": 2, "features": feats},
                           mlp={"d_ff": 14336}, moe={"n_experts": 16, "top_k": 2, "d_ff": 14336})
    if name == "bench-small":
        lt, ft = paper_pattern(16, attention_at=())
        lt[4] = lt[12] = "attention"
        return make_config(vocab_size or 32000, 1024, lt, ft, tie_embeddings=tie,
                           attention={"n_heads": 16, "n_kv_heads": 8, "head_dim": 64, "rope_theta": rope_theta},
                           conba={"d_inner": 2048, "d_state": 16, "d_conv": 4, "sel_rank": 64, "delay": 2, "features": feats},
                           mlp={"d_ff": 2048}, moe={"n_experts": 8, "top_k": 2, "d_ff": 2048})
    if name == "tiny-random":
        lt, ft = paper_pattern(8)
        return make_config(vocab_size or 512, 64, lt, ft, tie_embeddings=tie,
                           attention={"n_heads": 4, "n_kv_heads": 2, "head_dim": 16, "rope_theta": rope_theta},
                           conba={"d_inner": 128, "d_state": 8, "d_conv": 4, "sel_rank": 8, "delay": 2, "features": feats},
                           mlp={"d_ff": 128}, moe={"n_experts": 4, "top_k": 2, "d_ff": 96})
    raise MixcError("INVALID_ARGUMENT", f"unknown preset {name!r} (paper, bench-small, tiny-random)")


# Tensors FORMAT.md allows as q8_0 (by the last component of the name).
_Q8_SUFFIXES = ("attn.wq", "attn.wk", "attn.wv", "attn.wo", "conba.in_proj", "conba.out_proj",
                "mlp.w_gate", "mlp.w_up", "mlp.w_down", "moe.w_gate", "moe.w_up", "moe.w_down")


def q8_allowed(name, shape):
    big = name in ("tok_embeddings", "lm_head") or any(name.endswith("." + s) for s in _Q8_SUFFIXES)
    return big and len(shape) > 0 and shape[-1] % 32 == 0


def expected_tensors(cfg):
    """[(name, shape, q8_allowed)] for every tensor the config requires, sorted by name."""
    V, dm = cfg["vocab_size"], cfg["d_model"]
    out = [("tok_embeddings", [V, dm]), ("output_norm", [dm])]
    if not cfg["tie_embeddings"]:
        out.append(("lm_head", [V, dm]))
    for l in range(cfg["n_layers"]):
        p = f"layers.{l}."
        out += [(p + "mixer_norm", [dm]), (p + "ffn_norm", [dm])]
        if cfg["layer_types"][l] == "attention":
            a = cfg["attention"]
            H, G, h = a["n_heads"], a["n_kv_heads"], a["head_dim"]
            out += [(p + "attn.wq", [H * h, dm]), (p + "attn.wk", [G * h, dm]),
                    (p + "attn.wv", [G * h, dm]), (p + "attn.wo", [dm, H * h])]
        else:
            c = cfg["conba"]
            D, N, K, r = c["d_inner"], c["d_state"], c["d_conv"], c["sel_rank"]
            f = c["features"]
            q = p + "conba."
            out += [(q + "in_proj", [2 * D, dm]), (q + "conv_w", [D, K]), (q + "conv_b", [D]),
                    (q + "sel_gate", [r, D]), (q + "sel_up", [r, D]),
                    (q + "dt_proj", [D, r]), (q + "dt_bias", [D]),
                    (q + "b_proj", [N, r]), (q + "c_proj", [N, r]),
                    (q + "a_log", [D, N]), (q + "d_skip", [D]), (q + "out_proj", [dm, D])]
            if f["scaling"]:
                out += [(q + "scale_proj", [D, r]), (q + "scale_bias", [D])]
            if f["delay"]:
                out += [(q + "delay_logit", [D])]
            if f["control"]:
                out += [(q + "w_ref", [D]), (q + "gain_init", [D]),
                        (q + "gain_decay_logit", [D]), (q + "gain_rate_raw", [D])]
        if cfg["ffn_types"][l] == "mlp":
            F = cfg["mlp"]["d_ff"]
            out += [(p + "mlp.w_gate", [F, dm]), (p + "mlp.w_up", [F, dm]), (p + "mlp.w_down", [dm, F])]
        else:
            m = cfg["moe"]
            E, F = m["n_experts"], m["d_ff"]
            out += [(p + "moe.router", [E, dm]), (p + "moe.w_gate", [E, F, dm]),
                    (p + "moe.w_up", [E, F, dm]), (p + "moe.w_down", [E, dm, F])]
    out.sort(key=lambda t: t[0])
    return [(n, s, q8_allowed(n, s)) for n, s in out]
