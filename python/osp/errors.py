"""The engine's errors in Python: one exception type carrying the C API's category."""
from . import _capi


class OspError(Exception):
    """A failed call. `category` is "bad_input", "bad_file", "unsupported", "out_of_memory",
    "cancelled" or "internal" (docs/api.md "Errors")."""

    def __init__(self, category, message):
        super().__init__(f"{message} [{category}]")
        self.category = category
        self.message = message


class Cancelled(OspError):
    """The request was cancelled (Cancel.set() or an exception in a callback)."""


def error_for(status, message=None):
    category = _capi.STATUS_NAMES.get(status, "internal")
    text = message if message is not None else _capi.last_error()
    return (Cancelled if category == "cancelled" else OspError)(category, text)


def check(status):
    """Raises the error of a C API status other than OSP_OK, with the engine's message."""
    if status != _capi.OK:
        raise error_for(status)


def bad_input(message):
    return OspError("bad_input", message)
