"""`python3 -m mixcon_tools <subcommand>`: random, convert, inspect, golden, damaged, train,
export, eval, sample. Errors print one line naming the status and exit with 1."""
import argparse
import json
import os
import sys

from .errors import MixcError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(REPO, "models", "mixcon-brown.mixc")


def _features(args):
    return {"scaling": not args.no_scaling, "delay": not args.no_delay, "control": not args.no_control}


def cmd_random(args):
    from . import mixc_format
    from .config import preset
    from .weights_init import init_arrays
    cfg = preset(args.preset, vocab_size=args.vocab, features=_features(args), rope_theta=args.rope_theta,
                 tie=args.tie, n_layers=args.layers)
    tensors = mixc_format.encode_arrays(cfg, init_arrays(cfg, args.seed), big=args.dtype, small=args.small_dtype)
    meta = {"name": f"random {args.preset}", "generator": f"mixcon_tools random --preset {args.preset} --seed {args.seed}",
            "license": "CC0-1.0"}
    data = mixc_format.write_model(cfg, tensors, metadata=meta, codec=args.codec, zstd_level=args.zstd_level)
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"{args.out}: {len(data)} bytes")


def cmd_convert(args):
    from . import dtypes, mixc_format
    from .config import expected_tensors
    mf = mixc_format.read_file(args.input)
    tensors = {}
    for name, shape, q8 in expected_tensors(mf.config):
        t = mf.tensors[name]
        big = name in ("tok_embeddings", "lm_head") or q8 or name.rsplit(".", 1)[-1] in ("wq", "wk", "wv", "wo", "in_proj", "out_proj", "w_gate", "w_up", "w_down")
        want = (args.dtype if big else args.small_dtype) or t.dtype
        if want == "q8_0" and not q8:
            want = t.dtype if t.dtype != "q8_0" else "f32"
        if want == t.dtype:
            tensors[name] = (t.dtype, list(t.shape), t.data)
        else:
            # decoding is exact into float32 (every stored dtype is a subset of it)
            tensors[name] = (want, list(t.shape), dtypes.encode(t.array(), want))
    data = mixc_format.write_model(mf.config, tensors, blobs=mf.blobs, tokenizer=mf.tokenizer,
                                   metadata=mf.metadata, codec=args.codec or mf.entries[sorted(mf.entries)[0]]["codec"],
                                   zstd_level=args.zstd_level)
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"{args.out}: {len(data)} bytes")


def cmd_inspect(args):
    from . import mixc_format
    import struct
    mf = mixc_format.read_file(args.input, verify_checksums=not args.no_checksums)
    with open(args.input, "rb") as f:
        pre = f.read(32)
    major, minor, hsize, _ = struct.unpack_from("<IIQQ", pre, 8)
    print(f"file      {args.input} ({mf.file_size} bytes), format {major}.{minor}, header {hsize} bytes, fingerprint {mf.fingerprint():016x}")
    print("config    " + json.dumps(mf.config, sort_keys=True))
    print("tokenizer " + json.dumps(mf.tokenizer, sort_keys=True))
    if args.metadata:
        print("metadata  " + json.dumps(mf.metadata, sort_keys=True, indent=1))
    total = 0
    rows = []
    for name in sorted(mf.entries):
        e = mf.entries[name]
        n = 1
        for s in e["shape"]:
            n *= s
        total += n
        rows.append(f"  {name:40s} {e['dtype']:5s} {str(e['shape']):18s} {len(mf.tensors[name].data):>10d} {e['stored_size']:>10d} {e['codec']}")
    print(f"tensors   {len(rows)}, {total} parameters")
    print(f"  {'name':40s} {'dtype':5s} {'shape':18s} {'bytes':>10s} {'stored':>10s} codec")
    print("\n".join(rows))
    for name, e in sorted(mf.blob_entries.items()):
        print(f"blob      {name}: {e['size']} bytes, stored {e['stored_size']} ({e['codec']})")


def cmd_golden(args):
    from .golden import write_golden
    write_golden(args.out)


def cmd_damaged(args):
    from .damaged import make_damaged
    make_damaged(args.out)


def _train_args(args):
    from . import train
    a = dict(train.DEFAULTS)
    for k in a:
        v = getattr(args, k, None)
        if v is not None:
            a[k] = v
    a["cache"] = args.cache
    a["fresh"] = getattr(args, "fresh", False)
    return a


def cmd_train(args):
    from . import export, train
    a = _train_args(args)
    ckpt = train.train(a, log=lambda m: print(m, flush=True))
    export.export(ckpt, args.out, a, log=lambda m: print(m, flush=True))


def cmd_export(args):
    from . import export
    a = _train_args(args)
    export.export(os.path.join(args.cache, "train", "last.pt"), args.out, a, log=lambda m: print(m, flush=True))


def cmd_eval(args):
    from . import evaluate
    r = evaluate.evaluate_file(args.model, args.cache, max_windows=args.windows)
    print(json.dumps(r, indent=1))


def cmd_sample(args):
    from . import sampling
    for i in range(args.n):
        print(sampling.sample_file(args.model, args.prompt, args.tokens, args.temp, args.top_p, args.seed + i))
        if args.n > 1:
            print("---")


def build_parser():
    from .train import DEFAULTS
    p = argparse.ArgumentParser(prog="python3 -m mixcon_tools", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("random", help="write a random model of a MODEL.md preset")
    r.add_argument("--preset", default="tiny-random", choices=["paper", "bench-small", "tiny-random"])
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16", "q8_0"], help="large matrices")
    r.add_argument("--small-dtype", default="f32", choices=["f32", "f16", "bf16"], help="every other tensor")
    r.add_argument("--codec", default="raw", choices=["raw", "zstd"])
    r.add_argument("--zstd-level", type=int, default=3)
    r.add_argument("--vocab", type=int, default=None)
    r.add_argument("--layers", type=int, default=None, help="keep only the first N layers")
    r.add_argument("--rope-theta", type=float, default=0.0)
    r.add_argument("--tie", action="store_true")
    for f in ("scaling", "delay", "control"):
        r.add_argument(f"--no-{f}", action="store_true", help=f"conba feature {f} off")
    r.set_defaults(fn=cmd_random)

    c = sub.add_parser("convert", help="change dtype and/or codec")
    c.add_argument("input")
    c.add_argument("--out", required=True)
    c.add_argument("--dtype", choices=["f32", "f16", "bf16", "q8_0"], help="large matrices (default: keep)")
    c.add_argument("--small-dtype", choices=["f32", "f16", "bf16"], help="every other tensor (default: keep)")
    c.add_argument("--codec", choices=["raw", "zstd"], help="default: keep")
    c.add_argument("--zstd-level", type=int, default=3)
    c.set_defaults(fn=cmd_convert)

    i = sub.add_parser("inspect", help="header, config and a tensor table")
    i.add_argument("input")
    i.add_argument("--metadata", action="store_true")
    i.add_argument("--no-checksums", action="store_true")
    i.set_defaults(fn=cmd_inspect)

    g = sub.add_parser("golden", help="write the golden vectors")
    g.add_argument("--out", default=os.path.join(REPO, "tests", "data", "golden"))
    g.set_defaults(fn=cmd_golden)
    d = sub.add_parser("damaged", help="write the damaged-file set")
    d.add_argument("--out", default=os.path.join(REPO, "tests", "data", "damaged"))
    d.set_defaults(fn=cmd_damaged)

    cache = os.path.join(REPO, "tools", ".cache")
    for name, fn, hlp in (("train", cmd_train, "train the default model and write it"),
                          ("export", cmd_export, "write the default model from the last checkpoint")):
        t = sub.add_parser(name, help=hlp)
        t.add_argument("--out", default=DEFAULT_MODEL)
        t.add_argument("--cache", default=cache)
        for k, v in DEFAULTS.items():
            t.add_argument("--" + k.replace("_", "-"), dest=k, type=type(v), default=None, help=f"default {v}")
        t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
        t.set_defaults(fn=fn)

    e = sub.add_parser("eval", help="held-out perplexity of a model trained by `train`")
    e.add_argument("--model", default=DEFAULT_MODEL)
    e.add_argument("--cache", default=cache)
    e.add_argument("--windows", type=int, default=None, help="only the first N windows")
    e.set_defaults(fn=cmd_eval)

    s = sub.add_parser("sample", help="generate text with the reference")
    s.add_argument("--model", default=DEFAULT_MODEL)
    s.add_argument("--prompt", default="The jury said that the city")
    s.add_argument("--tokens", type=int, default=60)
    s.add_argument("--temp", type=float, default=0.8)
    s.add_argument("--top-p", type=float, default=0.95)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("-n", type=int, default=1)
    s.set_defaults(fn=cmd_sample)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except MixcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
