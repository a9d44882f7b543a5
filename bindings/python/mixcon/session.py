"""One generation stream over a model (mixcon_session): its state, the
decode loop, state bytes and fork."""

import array

from . import native
from ._handle import NativeHandle
from .errors import MixconError, Status
from .model import Model
from .sampler import Sampler


class Session(NativeHandle):
    """A session owns its state (KV cache, Conba state, logits). Use it from
    one thread at a time; cancel() may be called from any thread."""

    __slots__ = ("model", "_text_buf", "_token_buf")

    def __init__(self, model, max_context=None):
        if not isinstance(model, Model):
            raise MixconError(Status.INVALID_ARGUMENT,
                              f"Session needs a Model, got {type(model).__name__}")
        if max_context is not None and max_context < 0:
            raise MixconError(Status.INVALID_ARGUMENT, f"max_context must be >= 0, got {max_context}")
        self._init(native.session_create(model._handle(), max_context or 0), model)

    def _init(self, ptr, model):
        self._own(ptr, native.session_free)
        self.model = model
        # Reused by every next_text() call: the decode loop allocates no
        # native-side buffers per token.
        self._text_buf = bytearray(256)
        self._token_buf = array.array("i", [0])

    @property
    def position(self):
        """Tokens seen since the last reset."""
        return native.session_position(self._handle())

    def reset(self):
        native.session_reset(self._handle())

    def feed(self, tokens):
        """Appends token ids (prefill); the last one's logits become current."""
        native.session_feed(self._handle(), tokens)

    def feed_text(self, text):
        """Tokenizes `text` (str or UTF-8 bytes) and feeds it."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        native.session_feed_text(self._handle(), data)

    def logits(self):
        """A copy of the current logits, as array('f') of vocab_size floats."""
        out = array.array("f", bytes(4 * self.model.vocab_size))
        n = native.session_logits(self._handle(), out)
        if n != len(out):
            out = array.array("f", bytes(4 * n))
            native.session_logits(self._handle(), out)
        return out

    def sample(self, sampler):
        """Picks a token from the current logits without feeding it."""
        return native.session_sample(self._handle(), _sampler(sampler))

    def step(self, sampler):
        """One decode step: samples a token, feeds it, returns its id."""
        return native.session_step(self._handle(), _sampler(sampler))

    def next_text(self, sampler):
        """One decode step returning (text piece, token id). Pieces never split
        a UTF-8 character, so a piece may be empty while bytes are held back."""
        h = self._handle()
        s = _sampler(sampler)
        n = native.session_next_text(h, s, self._text_buf, self._token_buf)
        if n > len(self._text_buf):
            self._text_buf = bytearray(n)
            n = native.session_next_text(h, s, self._text_buf, self._token_buf)
        return self._text_buf[:n].decode("utf-8", errors="replace"), self._token_buf[0]

    def generate(self, sampler, max_tokens, stop_at_eos=True):
        """Yields text pieces of up to `max_tokens` decode steps; stops after
        the end-of-sequence token when stop_at_eos is set."""
        eos = self.model.eos_id if stop_at_eos else None
        for _ in range(max_tokens):
            piece, token = self.next_text(sampler)
            if piece:
                yield piece
            if token == eos:
                return

    def save_state(self):
        """The session's state as bytes (versioned, checksummed, tied to the model)."""
        h = self._handle()
        buf = bytearray(native.session_state_size(h))
        n = native.session_state_save(h, buf)
        if n > len(buf):
            buf = bytearray(n)
            n = native.session_state_save(h, buf)
        return bytes(buf[:n])

    def load_state(self, state):
        """Restores a state from save_state(); a state of another model or a
        damaged buffer raises and leaves the session unchanged."""
        native.session_state_load(self._handle(), state)

    def fork(self):
        """An independent session with the same state."""
        child = Session.__new__(Session)
        child._init(native.session_fork(self._handle()), self.model)
        return child

    def cancel(self):
        """Makes a feed or step running on another thread stop with
        MixconError(CANCELLED), leaving the session unchanged."""
        native.session_cancel(self._handle())


def _sampler(sampler):
    if not isinstance(sampler, Sampler):
        raise MixconError(Status.INVALID_ARGUMENT,
                          f"expected a Sampler, got {type(sampler).__name__}")
    return sampler._handle()
