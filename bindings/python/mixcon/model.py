"""A loaded model (mixcon_model): immutable weights, the tokenizer, metadata."""

from __future__ import annotations

import array
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import native
from ._handle import NativeHandle
from .errors import MixconError, Status

if TYPE_CHECKING:
    from .session import Session

_DEVICES = {"auto": native.DEVICE_AUTO, "cpu": native.DEVICE_CPU, "cuda": native.DEVICE_CUDA}


def _device_code(device):
    try:
        return _DEVICES[device]
    except KeyError:
        raise MixconError(Status.INVALID_ARGUMENT,
                          f"device must be one of {sorted(_DEVICES)}, got {device!r}") from None


def _load_options(device, device_index, threads, verify_checksums, use_mmap):
    """(mask, values) for native.model_load*: the mask bit of each argument
    given (pinned in mixcon_binding.h); the rest keep the library default."""
    given = (device, device_index, threads, verify_checksums, use_mmap)
    mask = sum(1 << i for i, v in enumerate(given) if v is not None)
    return (mask, _device_code(device) if device is not None else 0, int(device_index or 0),
            int(threads or 0), int(bool(verify_checksums)), int(bool(use_mmap)))


class Model(NativeHandle):
    """A .mixc model. Thread-safe and shared by any number of sessions; the
    weights stay alive until the model and all its sessions are closed.

    device is "cpu", "cuda" or "auto"; threads 0 means all cores. Arguments
    left as None keep the library's defaults (cpu, all cores, checksums
    verified, mmap)."""

    __slots__ = ()

    def __init__(self, path: str | os.PathLike, *, device: str | None = None,
                 device_index: int | None = None, threads: int | None = None,
                 verify_checksums: bool | None = None, use_mmap: bool | None = None):
        ptr = native.model_load(os.fsencode(path), *_load_options(
            device, device_index, threads, verify_checksums, use_mmap))
        self._own(ptr, native.model_free)

    @classmethod
    def from_bytes(cls, data: bytes, *, device: str | None = None, device_index: int | None = None,
                   threads: int | None = None, verify_checksums: bool | None = None) -> Model:
        """Loads a model from the bytes of a .mixc file (copied during the call)."""
        self = cls.__new__(cls)
        ptr = native.model_load_memory(data, *_load_options(
            device, device_index, threads, verify_checksums, None)[:5])
        self._own(ptr, native.model_free)
        return self

    def _info(name):
        getter = getattr(native, "model_" + name)
        return property(lambda self: getter(self._handle()), doc=f"mixcon_model_info_t.{name}")

    n_vocab = _info("n_vocab")
    d_model = _info("d_model")
    n_layers = _info("n_layers")
    n_attention_layers = _info("n_attention_layers")
    n_conba_layers = _info("n_conba_layers")
    n_moe_layers = _info("n_moe_layers")
    max_context = _info("max_context")
    n_params = _info("n_params")
    weight_bytes = _info("weight_bytes")
    max_piece_bytes = _info("max_piece_bytes")
    n_threads = _info("n_threads")
    bos_id = _info("bos_id")
    eos_id = _info("eos_id")
    unk_id = _info("unk_id")
    pad_id = _info("pad_id")
    del _info

    @property
    def has_tokenizer(self) -> bool:
        return bool(native.model_has_tokenizer(self._handle()))

    @property
    def device(self) -> str:
        code = native.model_device(self._handle())
        return next((k for k, v in _DEVICES.items() if v == code), code)

    @property
    def metadata(self) -> dict:
        """The file's metadata object, as a dict."""
        return json.loads(_sized_bytes(native.model_metadata_json, self._handle(), 4096))

    @property
    def config(self) -> dict:
        """The file's config object (architecture and sizes), as a dict."""
        return json.loads(_sized_bytes(native.model_config_json, self._handle(), 4096))

    def tokenize(self, text: str | bytes, add_bos: bool | None = None) -> list[int]:
        """The token ids of `text` (str, or UTF-8 bytes) as a list of ints.
        add_bos None follows the tokenizer's default."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        add_bos = -1 if add_bos is None else int(bool(add_bos))
        # SentencePiece gives at most one token per byte plus the dummy
        # prefix; the size query covers any tokenizer that does not.
        out = array.array("i", bytes(4 * (len(data) + 2)))
        n = native.tokenize(self._handle(), data, add_bos, out)
        if n > len(out):
            out = array.array("i", bytes(4 * n))
            n = native.tokenize(self._handle(), data, add_bos, out)
        return out[:n].tolist()

    def detokenize(self, tokens: Iterable[int]) -> str:
        """The text of a token sequence (special tokens contribute nothing)."""
        tokens = list(tokens)
        return _sized_bytes(lambda h, buf: native.detokenize(h, tokens, buf), self._handle(),
                            8 * len(tokens) + 16).decode("utf-8")

    def token_to_piece(self, token: int) -> bytes:
        """The bytes one token adds in the middle of a text (may be an
        incomplete UTF-8 sequence for a byte-fallback token)."""
        return _sized_bytes(lambda h, buf: native.token_to_piece(h, token, buf),
                            self._handle(), 64)

    def session(self, max_context: int = 0, threads: int = 0, kv_dtype: str = "f32",
                prefill_chunk: int = 0, activations: str = "f32") -> Session:
        """A new Session over this model (0 = the model's context / threads;
        kv_dtype "f32", "f16" or "bf16"; prefill_chunk 0 = 512; activations
        "f32" (exact), "q8_0" or "bf16" (rounded activations for products
        with weights of that dtype: faster prefill): see Session)."""
        from .session import Session

        return Session(self, max_context=max_context, threads=threads, kv_dtype=kv_dtype,
                       prefill_chunk=prefill_chunk, activations=activations)


def _sized_bytes(fill, handle, guess):
    """Calls a size-query native function (returns the size it needs, writes
    only when that fits) and returns the bytes."""
    buf = bytearray(guess)
    n = fill(handle, buf)
    if n > len(buf):
        buf = bytearray(n)
        n = fill(handle, buf)
    return bytes(buf[:n])
