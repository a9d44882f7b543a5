"""MixCon: hybrid Conba/attention language models, from Python.

    import mixcon
    with mixcon.Model("models/mixcon-brown.mixc") as model, model.session() as s:
        s.feed(model.tokenize("The jury said", add_bos=True))
        for piece in s.generate(mixcon.Sampler(temperature=0.8, seed=1), max_tokens=40):
            print(piece, end="", flush=True)

Every failure raises MixconError (with .status and .message); handles close
with `with`, close(), or when collected.
"""

from . import native
from .errors import MixconError, Status
from .model import Model
from .sampler import Sampler
from .session import Session

native.set_error_class(MixconError)

__version__ = native.version()
abi_version = native.abi_version()


def backend_available(device: str) -> bool:
    """Whether models can be placed on `device` ("cpu", "cuda", "auto") in
    this build, on this machine."""
    from .model import _device_code

    return bool(native.backend_available(_device_code(device)))


__all__ = ["Model", "Session", "Sampler", "MixconError", "Status", "abi_version",
           "backend_available"]
