"""Token selection settings (mixcon_sampler)."""

from . import native
from ._handle import NativeHandle
from .errors import MixconError, Status


class Sampler(NativeHandle):
    """How the next token is picked from the logits.

    Every argument left as None keeps the library's default. temperature=0
    is greedy (argmax); the same seed, model and inputs give the same tokens.
    """

    __slots__ = ()

    def __init__(self, temperature=None, top_k=None, top_p=None, min_p=None,
                 repetition_penalty=None, repetition_window=None, seed=None):
        def opt(name, v):
            # The native layer reads a negative value as "library default",
            # so a negative argument must be rejected here, not passed on.
            if v is None:
                return -1
            if v < 0:
                raise MixconError(Status.INVALID_ARGUMENT, f"Sampler: {name} must be >= 0, got {v}")
            return v

        ptr = native.sampler_create(
            float(opt("temperature", temperature)), int(opt("top_k", top_k)),
            float(opt("top_p", top_p)), float(opt("min_p", min_p)),
            float(opt("repetition_penalty", repetition_penalty)),
            int(opt("repetition_window", repetition_window)), int(opt("seed", seed)))
        self._own(ptr, native.sampler_free)

    @classmethod
    def greedy(cls):
        """Always the most likely token."""
        return cls(temperature=0.0)
