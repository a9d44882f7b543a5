"""Token selection settings (mixcon_sampler)."""

from __future__ import annotations

from . import native
from ._handle import NativeHandle

# Bits of the `set` mask of native.sampler_create (pinned in mixcon_binding.h).
_FIELDS = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty",
           "repetition_window", "seed")


class Sampler(NativeHandle):
    """How the next token is picked from the logits.

    Every argument left as None keeps the library's default (temperature 0.8,
    top_k 40, top_p 0.95, min_p 0.05, no repetition penalty, window 64,
    seed 0); the library rejects out-of-range values with MixconError.
    temperature=0 is greedy. The same seed, model and inputs give the same
    tokens. repetition_window=-1 looks back over the whole history.
    """

    __slots__ = ()

    def __init__(self, temperature: float | None = None, top_k: int | None = None,
                 top_p: float | None = None, min_p: float | None = None,
                 repetition_penalty: float | None = None, repetition_window: int | None = None,
                 seed: int | None = None):
        given = (temperature, top_k, top_p, min_p, repetition_penalty, repetition_window, seed)
        mask = sum(1 << i for i, v in enumerate(given) if v is not None)
        ptr = native.sampler_create(
            mask, float(temperature or 0), int(top_k or 0), float(top_p or 0), float(min_p or 0),
            float(repetition_penalty or 0), int(repetition_window or 0), int(seed or 0))
        self._own(ptr, native.sampler_free)

    @classmethod
    def greedy(cls) -> Sampler:
        """Always the most likely token."""
        return cls(temperature=0.0)
