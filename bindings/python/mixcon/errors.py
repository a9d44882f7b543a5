"""Status codes and the exception every failing call raises."""

import enum

from . import native


class Status(enum.IntEnum):
    """The C API's mixcon_status codes (pinned numbers, capi/mixcon.h)."""

    OK = native.STATUS_OK
    INVALID_ARGUMENT = native.STATUS_INVALID_ARGUMENT
    BUFFER_TOO_SMALL = native.STATUS_BUFFER_TOO_SMALL
    IO = native.STATUS_IO
    FORMAT = native.STATUS_FORMAT
    CHECKSUM = native.STATUS_CHECKSUM
    UNSUPPORTED = native.STATUS_UNSUPPORTED
    OUT_OF_MEMORY = native.STATUS_OUT_OF_MEMORY
    CONTEXT_FULL = native.STATUS_CONTEXT_FULL
    CANCELLED = native.STATUS_CANCELLED
    BACKEND = native.STATUS_BACKEND
    INTERNAL = native.STATUS_INTERNAL


class MixconError(RuntimeError):
    """A failed mixcon call: `status` is a Status (or the raw int for a code
    this version does not know), `message` the library's detailed text."""

    def __init__(self, status, message):
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(status)
        super().__init__(f"{name}: {message}")


def closed_error(what):
    """The error for a call on a handle that was already closed."""
    return MixconError(Status.INVALID_ARGUMENT, f"{what} is closed")
