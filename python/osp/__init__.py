"""OSP-Next from Python (docs/api.md "Python"): the engine's C API through ctypes, nothing to compile.

    import osp
    pipe = osp.Pipeline.from_pretrained("models/osp-next-tiny")
    video = pipe.generate("a red circle moving right on a black background", seed=7)
    video.frames        # uint8 NumPy array [frames, height, width, 3] (bytes without NumPy)
    video.write("out.mp4")

libosp.so is found through $OSP_LIBRARY, beside an installed package, or in this source tree's
build folders (osp._capi.candidate_paths)."""
from . import _capi
from .cancel import Cancel
from .errors import Cancelled, OspError
from .log import set_log_callback
from .pipeline import Pipeline
from .video import Video

__all__ = ["Pipeline", "Video", "Cancel", "OspError", "Cancelled", "set_log_callback", "version"]


def version():
    """The engine's version, e.g. "0.1.0"."""
    return _capi.lib.osp_version().decode("ascii")
