"""Routing the engine's log messages to a Python function."""
import atexit

from . import _capi
from .errors import check

_current = None  # the ctypes callback in use: it must outlive every call the engine makes to it


def set_log_callback(function, level="info"):
    """function(level, message) receives the engine's messages at `level` ("trace" … "error",
    "off") and above, from any thread; None restores stderr. Process-wide."""
    global _current
    if function is None:
        callback = _capi.LOG_FN()
    else:
        def forward(level_bytes, message, user):
            function(level_bytes.decode("utf-8", "replace"), message.decode("utf-8", "replace"))
        callback = _capi.LOG_FN(forward)
    check(_capi.lib.osp_set_log_callback(callback, None, level.encode("utf-8")))
    _current = callback if function is not None else None


@atexit.register
def _restore_stderr():
    # The engine may log while the process exits, after Python has torn the callback down.
    if _current is not None:
        _capi.lib.osp_set_log_callback(_capi.LOG_FN(), None, b"info")
