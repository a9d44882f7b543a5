"""One generation stream over a model (mixcon_session): its state, the
decode loop, state bytes and fork."""

from __future__ import annotations

import array
from collections.abc import Iterable, Iterator

from . import native
from ._handle import NativeHandle
from .errors import MixconError, Status
from .model import Model
from .sampler import Sampler


# mixcon_dtype numbers of the KV cache types a session can have.
_KV_DTYPES = {"f32": 0, "f16": 1, "bf16": 2, "q8_0": 3}
# mixcon_dtype numbers of the activation types products with q8_0 weights can take.
_ACTIVATIONS = {"f32": 0, "bf16": 2, "q8_0": 3}


class Session(NativeHandle):
    """A session owns its state (KV cache, Conba state, logits). Use it from
    one thread at a time; cancel() may be called from any thread."""

    __slots__ = ("model", "_n_vocab", "_eos", "_text_buf", "_token_buf")

    def __init__(self, model: Model, max_context: int = 0, threads: int = 0,
                 kv_dtype: str = "f32", prefill_chunk: int = 0, activations: str = "f32"):
        """max_context 0 = the model's; threads 0 = the model's thread count;
        kv_dtype "f32" (exact), "f16" or "bf16" (half the KV cache memory and
        the bytes a long-context step reads; keys and values rounded once),
        "q8_0" (about a quarter; needs heads of a multiple of 32, CPU only);
        prefill_chunk: tokens per prefill pass, 0 = 512 (more is faster and
        needs more memory); activations: what products round their input
        to, "f32" (nothing: exact), "q8_0" (products with q8_0 weights round
        it to int8 per 32-value block and multiply in integers: ~2x faster
        prefill with VNNI, ~1.2x with AVX2 alone, logits move by ~5e-3 of
        the largest) or "bf16" (products with bf16 weights round it to
        bf16: faster prefill with AVX512_BF16, logits move by ~2e-3);
        products with other weights stay exact; "q8_0" is CPU only, "bf16"
        also runs on CUDA (tensor cores).
        All memory the session needs is planned here."""
        if not isinstance(model, Model):
            raise MixconError(Status.INVALID_ARGUMENT,
                              f"Session needs a Model, got {type(model).__name__}")
        try:
            kv = _KV_DTYPES[kv_dtype]
        except (KeyError, TypeError):
            raise MixconError(Status.INVALID_ARGUMENT,
                              f"kv_dtype must be one of {sorted(_KV_DTYPES)}, got {kv_dtype!r}") from None
        try:
            act = _ACTIVATIONS[activations]
        except (KeyError, TypeError):
            raise MixconError(Status.INVALID_ARGUMENT,
                              f"activations must be one of {sorted(_ACTIVATIONS)}, got {activations!r}") from None
        self._init(native.session_create(model._handle(), threads, max_context, kv, prefill_chunk, act),
                   model, model.n_vocab, model.eos_id)

    def _init(self, ptr, model, n_vocab, eos):
        self._own(ptr, native.session_free)
        self.model = model
        # Copied, not asked of `model` later: the session outlives a closed model.
        self._n_vocab = n_vocab
        self._eos = eos
        # Reused by every next_text() call: the decode loop allocates no
        # native-side buffers per token.
        self._text_buf = bytearray(256)
        self._token_buf = array.array("i", [0])

    @property
    def position(self) -> int:
        """Tokens seen since the last reset."""
        return native.session_position(self._handle())

    @property
    def max_context(self) -> int:
        """The most tokens this session can hold."""
        return native.session_max_context(self._handle())

    @property
    def memory_bytes(self) -> int:
        """Bytes of state and workspace planned at creation (weights not counted)."""
        return native.session_memory_bytes(self._handle())

    def tokens(self) -> list[int]:
        """The token history since the last reset, as a list of ints."""
        out = array.array("i", bytes(4 * self.position))
        n = native.session_tokens(self._handle(), out)
        if n > len(out):
            out = array.array("i", bytes(4 * n))
            n = native.session_tokens(self._handle(), out)
        return out[:n].tolist()

    def reset(self) -> None:
        native.session_reset(self._handle())

    def feed(self, tokens: Iterable[int]) -> None:
        """Appends token ids (prefill); the last one's logits become current."""
        native.session_feed(self._handle(), tokens)

    def feed_text(self, text: str | bytes) -> None:
        """Tokenizes `text` (str or UTF-8 bytes) and feeds it."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        native.session_feed_text(self._handle(), data)

    def logits(self) -> array.array:
        """A copy of the current logits, as array('f') of vocab_size floats."""
        out = array.array("f", bytes(4 * self._n_vocab))
        n = native.session_logits(self._handle(), out)
        if n != len(out):
            out = array.array("f", bytes(4 * n))
            native.session_logits(self._handle(), out)
        return out

    def sample(self, sampler: Sampler) -> int:
        """Picks a token from the current logits without feeding it."""
        return native.session_sample(self._handle(), _sampler(sampler))

    def step(self, sampler: Sampler) -> int:
        """One decode step: samples a token, feeds it, returns its id."""
        return native.session_step(self._handle(), _sampler(sampler))

    def next_text(self, sampler: Sampler) -> tuple[str, int]:
        """One decode step returning (text piece, token id). Pieces never split
        a UTF-8 character, so a piece may be empty while bytes are held back."""
        h = self._handle()
        s = _sampler(sampler)
        n = native.session_next_text(h, s, self._text_buf, self._token_buf)
        if n > len(self._text_buf):
            self._text_buf = bytearray(n)
            n = native.session_next_text(h, s, self._text_buf, self._token_buf)
        # The library completes every character (or substitutes U+FFFD) first.
        return self._text_buf[:n].decode("utf-8"), self._token_buf[0]

    def flush_text(self) -> str:
        """Ends the text stream: the bytes still held back (an incomplete
        character at the end, as U+FFFD), usually ""."""
        n = native.session_flush_text(self._handle(), self._text_buf)
        if n > len(self._text_buf):
            self._text_buf = bytearray(n)
            n = native.session_flush_text(self._handle(), self._text_buf)
        return self._text_buf[:n].decode("utf-8")

    def generate(self, sampler: Sampler, max_tokens: int, stop_at_eos: bool = True) -> Iterator[str]:
        """Yields text pieces of up to `max_tokens` decode steps, lazily;
        stops after the end-of-sequence token when stop_at_eos is set. The
        session keeps its state, so generation can continue afterwards."""
        eos = self._eos if stop_at_eos else None
        for _ in range(max_tokens):
            piece, token = self.next_text(sampler)
            if piece:
                yield piece
            if token == eos:
                return

    def save_state(self) -> bytes:
        """The session's state as bytes (versioned, checksummed, tied to the model)."""
        h = self._handle()
        buf = bytearray(native.session_state_size(h))
        n = native.session_state_save(h, buf)
        if n > len(buf):
            buf = bytearray(n)
            n = native.session_state_save(h, buf)
        return bytes(buf[:n])

    def load_state(self, state: bytes) -> None:
        """Restores a state from save_state(); a state of another model or a
        damaged buffer raises and leaves the session unchanged."""
        native.session_state_load(self._handle(), state)

    def fork(self) -> Session:
        """An independent session with the same state."""
        child = Session.__new__(Session)
        child._init(native.session_fork(self._handle()), self.model, self._n_vocab, self._eos)
        return child

    def cancel(self) -> None:
        """Makes a feed or step running on another thread stop with
        MixconError(CANCELLED), leaving the session unchanged."""
        native.session_cancel(self._handle())


def _sampler(sampler):
    if not isinstance(sampler, Sampler):
        raise MixconError(Status.INVALID_ARGUMENT,
                          f"expected a Sampler, got {type(sampler).__name__}")
    return sampler._handle()
