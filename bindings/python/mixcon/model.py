"""A loaded model (mixcon_model): immutable weights, the tokenizer, metadata."""

import array
import json
import os

from . import native
from ._handle import NativeHandle
from .errors import MixconError, Status

_DEVICES = {"auto": native.DEVICE_AUTO, "cpu": native.DEVICE_CPU, "cuda": native.DEVICE_CUDA}


def _device_code(device):
    if device is None:
        return -1
    try:
        return _DEVICES[device]
    except KeyError:
        raise MixconError(Status.INVALID_ARGUMENT,
                          f"device must be one of {sorted(_DEVICES)}, got {device!r}") from None


def _flag(value):
    return -1 if value is None else int(bool(value))


def _count(name, value):
    if value is None:
        return -1
    if value < 0:
        raise MixconError(Status.INVALID_ARGUMENT, f"{name} must be >= 0, got {value}")
    return int(value)


class Model(NativeHandle):
    """A .mixc model. Thread-safe and shared by any number of sessions; the
    weights stay alive until the model and all its sessions are closed.

    Arguments left as None keep the library's defaults."""

    __slots__ = ()

    def __init__(self, path, *, device=None, device_index=None, threads=None,
                 verify_checksums=None, use_mmap=None):
        ptr = native.model_load(os.fsencode(path), _device_code(device),
                                _count("device_index", device_index), _count("threads", threads),
                                _flag(verify_checksums), _flag(use_mmap))
        self._own(ptr, native.model_free)

    @classmethod
    def from_bytes(cls, data, *, device=None, device_index=None, threads=None,
                   verify_checksums=None):
        """Loads a model from the bytes of a .mixc file (copied during the call)."""
        self = cls.__new__(cls)
        ptr = native.model_load_memory(data, _device_code(device),
                                       _count("device_index", device_index),
                                       _count("threads", threads), _flag(verify_checksums))
        self._own(ptr, native.model_free)
        return self

    @property
    def vocab_size(self):
        return native.model_vocab_size(self._handle())

    @property
    def max_context(self):
        return native.model_max_context(self._handle())

    @property
    def bos_id(self):
        return native.model_bos_id(self._handle())

    @property
    def eos_id(self):
        return native.model_eos_id(self._handle())

    @property
    def metadata(self):
        """The file's metadata object, as a dict."""
        buf = bytearray(4096)
        n = native.model_metadata_json(self._handle(), buf)
        if n > len(buf):
            buf = bytearray(n)
            n = native.model_metadata_json(self._handle(), buf)
        return json.loads(buf[:n].decode("utf-8"))

    def tokenize(self, text, add_bos=False):
        """The token ids of `text` (str, or UTF-8 bytes) as a list of ints."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        # SentencePiece gives at most one token per byte plus the dummy
        # prefix; the size query covers any tokenizer that does not.
        out = array.array("i", bytes(4 * (len(data) + 2)))
        n = native.tokenize(self._handle(), data, int(add_bos), out)
        if n > len(out):
            out = array.array("i", bytes(4 * n))
            n = native.tokenize(self._handle(), data, int(add_bos), out)
        return out[:n].tolist()

    def detokenize(self, tokens):
        """The text of a token sequence (special tokens contribute nothing)."""
        tokens = list(tokens)
        buf = bytearray(8 * len(tokens) + 16)
        n = native.detokenize(self._handle(), tokens, buf)
        if n > len(buf):
            buf = bytearray(n)
            n = native.detokenize(self._handle(), tokens, buf)
        return buf[:n].decode("utf-8", errors="replace")

    def session(self, max_context=None):
        """A new Session over this model."""
        from .session import Session

        return Session(self, max_context=max_context)
