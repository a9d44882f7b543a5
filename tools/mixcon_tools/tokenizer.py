"""The default model's SentencePiece BPE tokenizer, trained in-process on the training
documents (never on held-out ones): 8000 pieces, digits split into single-digit tokens,
byte fallback, unk 0, bos 1, eos 2, no pad."""
import io

import sentencepiece as spm

SPEC = {"kind": "sentencepiece", "blob": "tokenizer.model", "bos_id": 1, "eos_id": 2,
        "unk_id": 0, "pad_id": -1, "add_bos": True}


def train_tokenizer(texts, vocab_size=8000):
    """Serialized ModelProto bytes. texts: iterable of documents (split into lines here)."""
    lines = [ln for t in texts for ln in t.split("\n") if ln.strip()]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
        model_type="bpe", split_digits=True, byte_fallback=True, character_coverage=0.9999,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, max_sentence_length=16384,
        minloglevel=2)
    return buf.getvalue()


def load(proto):
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto)
    return sp


def encode_document(sp, text):
    """[bos] + ids + [eos]: one document as the model sees it."""
    return [SPEC["bos_id"]] + sp.EncodeAsIds(text) + [SPEC["eos_id"]]
