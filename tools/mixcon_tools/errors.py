"""The one error type of the tools; `status` uses the C engine's status names."""


class MixcError(Exception):
    """A rejected file or bad argument. status: "FORMAT", "CHECKSUM", "UNSUPPORTED", "IO"
    or "INVALID_ARGUMENT" (the names of core/common/status.h)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self):
        return f"{self.status}: {self.message}"
