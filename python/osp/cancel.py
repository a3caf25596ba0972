"""Cancellation from any thread: a Cancel can be handed to several generate() calls; set() stops
each of them at its next step (osp.Cancelled) and leaves the pipeline usable."""
import threading

from . import _capi


class Cancel:
    def __init__(self):
        self._lock = threading.Lock()
        self._set = False
        self._handles = set()  # the C cancel flags of the requests running with this Cancel

    def set(self):
        with self._lock:
            self._set = True
            for handle in self._handles:
                _capi.lib.osp_cancel_set(handle)

    def is_set(self):
        with self._lock:
            return self._set

    # Used by Pipeline.generate: each request gets its own C flag, attached while it runs, so
    # that one request's end never frees a flag another is still reading.
    def _attach(self, handle):
        with self._lock:
            self._handles.add(handle)
            if self._set:
                _capi.lib.osp_cancel_set(handle)

    def _detach(self, handle):
        with self._lock:
            self._handles.discard(handle)
