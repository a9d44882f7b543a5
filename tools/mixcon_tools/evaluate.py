"""Held-out perplexity of a .mixc model trained by `train` (same split, same protocol)."""
import numpy as np
import torch

from . import brown, mixc_format, tokenizer
from .model import MixCon
from .train import heldout_ppl


def load_model(path, dtype=torch.float32):
    mf = mixc_format.read_file(path)
    model = MixCon(mf.config).to(dtype).load_arrays(mf.arrays(np.float64)).eval()
    sp = tokenizer.load(mf.blobs[mf.tokenizer["blob"]]) if mf.tokenizer.get("kind") == "sentencepiece" else None
    return mf, model, sp


def evaluate_file(path, cache, max_windows=None):
    mf, model, sp = load_model(path)
    tr = mf.metadata["training"]
    names = tr["split"]["heldout_names"]
    docs = brown.documents(brown.fetch(cache))
    held = [np.asarray(tokenizer.encode_document(sp, docs[n]), dtype=np.int64) for n in names]
    ppl, n = heldout_ppl(model, held, tr["seq_len"], max_windows=max_windows)
    return {"heldout_ppl": ppl, "predicted_tokens": n, "recorded": mf.metadata.get("evaluation", {}).get("heldout_ppl")}
