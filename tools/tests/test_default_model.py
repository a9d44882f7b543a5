import os

import numpy as np
import pytest
import torch

from conftest import MODELS
from mixcon_tools import mixc_format as mf
from mixcon_tools.evaluate import load_model
from mixcon_tools.export import slice_ppl

PATH = os.path.join(MODELS, "mixcon-brown.mixc")


@pytest.fixture(scope="module")
def loaded():
    torch.set_num_threads(1)
    return load_model(PATH)


def test_file_shape_and_metadata(loaded):
    f, _, sp = loaded
    assert os.path.getsize(PATH) <= 16 * 1024 * 1024
    c = f.config
    assert c["conba"]["features"] == {"scaling": True, "delay": True, "control": True}
    assert c["layer_types"] == ["conba", "conba", "attention", "conba", "conba", "conba", "attention", "conba"]
    assert c["ffn_types"] == ["mlp", "moe"] * 4
    assert f.tensors["tok_embeddings"].dtype == "q8_0" and f.entries["tok_embeddings"]["codec"] == "zstd"
    assert sp.GetPieceSize() == c["vocab_size"] == 8000
    assert sp.EncodeAsPieces("1961") == ["▁", "1", "9", "6", "1"]          # digits split
    ev, tr = f.metadata["evaluation"], f.metadata["training"]
    assert ev["heldout_ppl"] < 0.5 * ev["unigram_ppl"]
    for key in ("corpus", "split", "steps", "tokens_seen", "seed", "command"):
        assert key in tr


def test_slice_perplexity_matches_metadata(loaded):
    f, model, sp = loaded
    s = f.metadata["evaluation"]["slice"]
    ppl, n = slice_ppl(model, sp, s["text"], s["window"])
    assert n == s["predicted_tokens"]
    assert abs(ppl - s["ppl"]) / s["ppl"] < 1e-3
