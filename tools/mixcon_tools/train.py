"""Training of the bundled default model on the Brown corpus (CPU, seeded).

One command reproduces models/mixcon-brown.mixc (see tools/README.md):
    python3 -m mixcon_tools train
It fetches the corpus, trains the tokenizer on the training documents, trains the
network for a fixed number of steps from a fixed seed, checkpoints every --ckpt-every
steps into tools/.cache/train/ (a later run with the same arguments resumes), and
writes the .mixc (q8_0 weights, zstd) with its evaluation in `metadata`.
Bit-identical reruns need the same torch build and thread count (1 by default).
"""
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import brown, tokenizer
from .config import make_config, paper_pattern
from .model import MixCon
from .weights_init import init_arrays

DEFAULTS = dict(seed=1234, split_seed=1234, steps=600, batch=8, seq=128, lr=2e-3,
                min_lr_frac=0.1, warmup=50, weight_decay=0.1, sigma_w=0.0, sigma_v=0.01,
                aux_coef=0.01, ckpt_every=100, threads=1)


def default_config(vocab_size=8000):
    lt, ft = paper_pattern(8)
    # Sized for what 1 CPU thread trains in about an hour: the 8000x128 tied embedding
    # is a third of the parameters and most of the per-token cost.
    return make_config(vocab_size, 128, lt, ft, tie_embeddings=True, max_context=4096,
                       attention={"n_heads": 4, "n_kv_heads": 2, "head_dim": 32, "rope_theta": 0.0},
                       conba={"d_inner": 256, "d_state": 8, "d_conv": 4, "sel_rank": 16, "delay": 2,
                              "features": {"scaling": True, "delay": True, "control": True}},
                       mlp={"d_ff": 256}, moe={"n_experts": 4, "top_k": 2, "d_ff": 128})


def prepare_data(cache, split_seed):
    """(tokenizer proto, train docs [token arrays], held-out docs, held-out names); cached."""
    path = os.path.join(cache, f"brown-data-{split_seed}.npz")
    if not os.path.exists(path):
        docs = brown.documents(brown.fetch())
        tr, he = brown.split(docs, split_seed)
        proto = tokenizer.train_tokenizer([docs[n] for n in tr])
        sp = tokenizer.load(proto)
        enc = lambda names: [np.asarray(tokenizer.encode_document(sp, docs[n]), dtype=np.int32) for n in names]
        tr_ids, he_ids = enc(tr), enc(he)
        np.savez(path + ".tmp.npz", proto=np.frombuffer(proto, dtype=np.uint8),
                 train_lens=[len(a) for a in tr_ids], train=np.concatenate(tr_ids),
                 held_lens=[len(a) for a in he_ids], held=np.concatenate(he_ids),
                 held_names=np.array(he), train_names=np.array(tr))
        os.replace(path + ".tmp.npz", path)
    z = np.load(path)
    split = lambda arr, lens: np.split(arr, np.cumsum(lens)[:-1])
    return (z["proto"].tobytes(), split(z["train"], z["train_lens"]), split(z["held"], z["held_lens"]),
            [str(x) for x in z["held_names"]], [str(x) for x in z["train_names"]])


def unigram_ppl(train_docs, held_docs, vocab):
    """Perplexity of an add-one unigram model on the held-out targets (every token after
    a document's bos)."""
    counts = np.bincount(np.concatenate([d[1:] for d in train_docs]), minlength=vocab).astype(np.float64) + 1
    logp = np.log(counts / counts.sum())
    tgt = np.concatenate([d[1:] for d in held_docs])
    return float(np.exp(-logp[tgt].mean())), int(tgt.size)


@torch.no_grad()
def heldout_ppl(model, docs, ctx, max_windows=None):
    """Perplexity over held-out documents: each document ([bos] ids [eos]) is cut into
    consecutive windows of ctx+1 tokens overlapping by one, each run from a fresh state
    (as in training); every token after the bos is predicted exactly once.
    Returns (ppl, n_predicted)."""
    model.eval()
    nll, n, windows = 0.0, 0, 0
    for d in docs:
        for s in range(0, len(d) - 1, ctx):
            w = torch.as_tensor(d[s:s + ctx + 1], dtype=torch.long)
            logits = model(w[None, :-1])[0]
            nll += F.cross_entropy(logits.float(), w[1:], reduction="sum").item()
            n += len(w) - 1
            windows += 1
            if max_windows and windows >= max_windows:
                return math.exp(nll / n), n
    return math.exp(nll / n), n


def lr_at(step, a):
    if step < a["warmup"]:
        return a["lr"] * (step + 1) / a["warmup"]
    p = (step - a["warmup"]) / max(1, a["steps"] - a["warmup"])
    return a["lr"] * (a["min_lr_frac"] + (1 - a["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def train(a, log=print):
    torch.set_num_threads(a["threads"])
    cache = a["cache"]
    os.makedirs(os.path.join(cache, "train"), exist_ok=True)
    proto, tr_docs, he_docs, he_names, tr_names = prepare_data(cache, a["split_seed"])
    cfg = default_config(tokenizer.load(proto).GetPieceSize())
    torch.manual_seed(a["seed"])
    model = MixCon(cfg).load_arrays(init_arrays(cfg, a["seed"], style="train"))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a["lr"], betas=(0.9, 0.95))
    stream = np.concatenate(tr_docs)
    rng = np.random.default_rng(a["seed"])
    ckpt = os.path.join(cache, "train", "last.pt")
    step, elapsed, seen, history = 0, 0.0, 0, []
    if os.path.exists(ckpt) and not a.get("fresh"):
        st = torch.load(ckpt)
        if st["args"]["seed"] == a["seed"] and st["args"]["steps"] == a["steps"]:
            model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
            rng.bit_generator.state = st["rng"]; torch.set_rng_state(st["torch_rng"])
            step, elapsed, seen, history = st["step"], st["elapsed"], st["seen"], st["history"]
            log(f"resumed at step {step}")
    nparams = sum(p.numel() for p in model.parameters())
    log(f"params {nparams}, train tokens {stream.size}, held-out docs {len(he_docs)}")
    B, T = a["batch"], a["seq"]
    t_last = time.time()
    while step < a["steps"]:
        model.train()
        starts = rng.integers(0, stream.size - T - 1, B)
        batch = torch.as_tensor(np.stack([stream[s:s + T + 1] for s in starts]), dtype=torch.long)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        logits = model(batch[:, :-1], a["sigma_w"], a["sigma_v"])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        total = loss + a["aux_coef"] * model.aux_loss()
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += B * T
        now = time.time()
        elapsed += now - t_last
        t_last = now
        if step % 10 == 0:
            log(f"step {step} loss {loss.item():.4f} lr {lr_at(step - 1, a):.2e} tokens {seen} elapsed {elapsed:.0f}s")
        if step % a["ckpt_every"] == 0 or step == a["steps"]:
            ppl, _ = heldout_ppl(model, he_docs, T, max_windows=40)
            history.append({"step": step, "train_loss": round(loss.item(), 4), "heldout_ppl_40w": round(ppl, 3)})
            log(f"step {step} held-out ppl (first 40 windows) {ppl:.2f}")
            st = {"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                  "torch_rng": torch.get_rng_state(), "step": step, "elapsed": elapsed, "seen": seen,
                  "history": history, "args": {k: v for k, v in a.items() if k != "log"}}
            torch.save(st, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
            t_last = time.time()  # evaluation time is not training time
    return ckpt
