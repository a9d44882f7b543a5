"""Text generation with the step-by-step reference (temperature + nucleus sampling)."""
import numpy as np
import torch

from .evaluate import load_model
from .model import Session


def sample_tokens(model, prompt_ids, n, temp, top_p, seed, eos_id=None):
    rng = np.random.default_rng(seed)
    s = Session(model)
    logits = None
    for t in prompt_ids:
        logits = s.feed(t)
    out = []
    for _ in range(n):
        lg = logits.double().numpy()
        if temp <= 0:
            nxt = int(np.argmax(lg))
        else:
            p = np.exp((lg - lg.max()) / temp)
            p /= p.sum()
            order = np.argsort(-p, kind="stable")
            keep = order[: int(np.searchsorted(np.cumsum(p[order]), top_p)) + 1]
            q = p[keep] / p[keep].sum()
            nxt = int(keep[rng.choice(len(keep), p=q)])
        if eos_id is not None and nxt == eos_id:
            break
        out.append(nxt)
        logits = s.feed(nxt)
    return out


def sample_file(path, prompt, n, temp, top_p, seed):
    mf, model, sp = load_model(path)
    tok = mf.tokenizer
    ids = ([tok["bos_id"]] if tok.get("add_bos") else []) + sp.EncodeAsIds(prompt)
    out = sample_tokens(model, ids, n, temp, top_p, seed, eos_id=tok.get("eos_id"))
    # decode prompt and continuation together: SentencePiece drops a leading space
    return sp.DecodeIds([i for i in ids if i != tok.get("bos_id")] + out)
