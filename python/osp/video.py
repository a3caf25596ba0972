"""A generated video: its frames (a NumPy array when NumPy is installed, else bytes), its fps, the
effective parameters and stage timings, and writing it to a file."""
import ctypes
import json

from . import _capi
from .errors import bad_input, check

try:
    import numpy
except ImportError:  # frames come back as bytes
    numpy = None


class Video:
    def __init__(self, handle):
        self._handle = handle
        lib = _capi.lib
        self.shape = (lib.osp_video_frames(handle), lib.osp_video_height(handle), lib.osp_video_width(handle), 3)
        self.fps = lib.osp_video_fps(handle)
        info = json.loads(lib.osp_video_info_json(handle).decode("utf-8"))
        self.parameters = info["parameters"]   # width, height, frames, steps, fps, shift, guidance, sampler, …
        self.seconds = info["seconds"]         # load, text, sampling, decode
        self.prompt = info["prompt"]
        self.seed = info["seed"]
        self._frames = None

    @property
    def frames(self):
        """uint8 RGB frames × height × width × 3: a NumPy array, or bytes in that order without NumPy."""
        if self._frames is None:
            count = self.shape[0] * self.shape[1] * self.shape[2] * 3
            data = ctypes.string_at(_capi.lib.osp_video_data(self._live()), count)
            self._frames = numpy.frombuffer(data, numpy.uint8).reshape(self.shape) if numpy is not None else data
        return self._frames

    def write(self, path):
        """mp4, webm, gif, a png pattern (%03d) or safetensors, by extension; written atomically."""
        check(_capi.lib.osp_video_write(self._live(), str(path).encode("utf-8")))

    def close(self):
        if self._handle is not None:
            _capi.lib.osp_video_free(self._handle)
            self._handle = None

    def _live(self):
        if self._handle is None:
            raise bad_input("the video was closed")
        return self._handle

    def __del__(self):
        self.close()

    def __repr__(self):
        return f"osp.Video(frames={self.shape[0]}, {self.shape[2]}x{self.shape[1]}, fps={self.fps:g})"
