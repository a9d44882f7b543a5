"""Ownership of one native handle: freed by close(), by `with`, or when the
Python object is collected, whichever comes first, and exactly once."""

import weakref

from .errors import closed_error


class NativeHandle:
    __slots__ = ("__weakref__", "_ptr", "_finalizer")

    def _own(self, ptr, free):
        self._ptr = ptr
        # weakref.finalize (not __del__) runs at most once, also at interpreter
        # exit, and holds no reference to self, so cycles still get collected.
        self._finalizer = weakref.finalize(self, free, ptr)

    def _handle(self):
        ptr = getattr(self, "_ptr", None)
        if ptr is None:
            raise closed_error(type(self).__name__)
        return ptr

    @property
    def closed(self) -> bool:
        return getattr(self, "_ptr", None) is None

    def close(self) -> None:
        """Frees the native object now; later calls raise MixconError. Idempotent."""
        if getattr(self, "_ptr", None) is not None:
            self._ptr = None
            self._finalizer()

    def __enter__(self):
        self._handle()
        return self

    def __exit__(self, *exc):
        self.close()
        return False
