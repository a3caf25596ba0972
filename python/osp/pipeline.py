"""osp.Pipeline: a model loaded once through the C API, generating videos in memory."""
import ctypes
import numbers

from . import _capi
from .errors import Cancelled, bad_input, check, error_for
from .video import Video


def _text(value, name):
    """UTF-8 bytes for the C API. A str with lone surrogates is passed on as the invalid UTF-8 it
    encodes to, so that the engine (not Python) rejects it with its own message."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise bad_input(f"{name} must be a string, got {type(value).__name__}")
    return value.encode("utf-8", "surrogatepass")


def _positive(value, name):
    """An optional count or size: None keeps the model's default (−1 for the C API)."""
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise bad_input(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise bad_input(f"{name} must be at least 1, got {value}")
    return int(value)


def _non_negative(value, name):
    if value is None:
        return -1.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise bad_input(f"{name} must be a number ≥ 0, got {value!r}")
    return float(value)


class Pipeline:
    """Load with Pipeline.from_pretrained(path); every generate() reuses the loaded models."""

    def __init__(self, handle):
        self._handle = handle

    @classmethod
    def from_pretrained(cls, path, device="cpu", precision="bf16", quant="", per_stage=False, threads=0,
                        loras=(), lora_mode="merged", **components):
        """Any layout `osp generate --model` accepts: a bundle, a Wan 2.1 release folder, a diffusers
        pipeline folder; "" when the components below name every part. per_stage=True loads each
        component per request and frees it after. loras: (path, scale) pairs or paths applied to
        every request, read now; lora_mode "merged" (into the weights) or "runtime". components:
        dit, dit_config, text_encoder, text_encoder_config, tokenizer, vae, vae_config — paths that
        replace the folder's parts (docs/api.md "Component paths")."""
        unknown = sorted(set(components) - set(_capi.COMPONENTS))
        if unknown:
            raise bad_input(f"unknown argument(s) {', '.join(unknown)}; components are {', '.join(_capi.COMPONENTS)}")
        load = _Arrays(_capi.lib.osp_load_default_params())
        params = load.struct
        for name, value in components.items():
            if value is not None:
                setattr(params, name, _text(str(value), name))
        load.set_loras(loras)
        params.lora_mode = _text(lora_mode, "lora_mode")
        params.device = _text(device, "device")
        params.precision = _text(precision, "precision")
        params.quant = _text(quant, "quant")
        params.per_stage = 1 if per_stage else 0
        if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
            raise bad_input(f"threads must be an integer ≥ 0, got {threads!r}")
        params.threads = int(threads)
        handle = ctypes.c_void_p()
        check(_capi.lib.osp_pipeline_load(_text(str(path), "path"), ctypes.byref(params), ctypes.byref(handle)))
        return cls(handle.value)

    @property
    def component_loads(self):
        """Model loads since from_pretrained (3 for a resident pipeline, whatever the requests)."""
        return _capi.lib.osp_pipeline_component_loads(self._live())

    def generate(self, prompt, negative_prompt=None, width=None, height=None, frames=None, steps=None, fps=None,
                 shift=None, guidance=None, sampler=None, seed=None, loras=(), step_cache=None, progress=None,
                 cancel=None):
        """One video. Unset arguments take the model's defaults. loras: (path, scale) pairs or paths,
        for this request only. step_cache: the first-block step cache's threshold (None: off;
        docs/dit.md "Step cache"). progress(stage, step, total, elapsed) is called on the generating
        thread after each step of "text", "sampling" and "decode"; an exception it raises cancels
        the request and is re-raised here. cancel: an osp.Cancel to stop the request from another
        thread (osp.Cancelled)."""
        request = self._request(prompt, negative_prompt, width, height, frames, steps, fps, shift, guidance,
                                sampler, seed, loras, step_cache)
        raised = []
        flag = _capi.lib.osp_cancel_new()
        if not flag:
            raise error_for(4, "no memory for a cancel flag")

        def on_progress(stage, step, total, elapsed, user):
            if raised:
                return
            try:
                progress(stage.decode("utf-8"), step, total, elapsed)
            except BaseException as error:  # stop the request; re-raised below
                raised.append(error)
                _capi.lib.osp_cancel_set(flag)

        callback = _capi.PROGRESS_FN(on_progress) if progress is not None else _capi.PROGRESS_FN()
        if cancel is not None:
            cancel._attach(flag)
        video = ctypes.c_void_p()
        try:
            status = _capi.lib.osp_generate(self._live(), ctypes.byref(request.struct), callback, None, flag,
                                            ctypes.byref(video))
        finally:
            if cancel is not None:
                cancel._detach(flag)
            _capi.lib.osp_cancel_free(flag)
        if raised:
            if video.value:
                _capi.lib.osp_video_free(video.value)
            raise raised[0]
        check(status)
        return Video(video.value)

    def _request(self, prompt, negative_prompt, width, height, frames, steps, fps, shift, guidance, sampler, seed,
                 loras, step_cache):
        r = _Arrays(_capi.lib.osp_request_default_params())
        s = r.struct
        s.prompt = _text(prompt, "prompt")
        if negative_prompt is not None:
            s.negative_prompt = _text(negative_prompt, "negative_prompt")
        s.width, s.height = _positive(width, "width"), _positive(height, "height")
        s.frames, s.steps, s.fps = _positive(frames, "frames"), _positive(steps, "steps"), _positive(fps, "fps")
        s.shift, s.guidance = _non_negative(shift, "shift"), _non_negative(guidance, "guidance")
        if sampler is not None:
            s.sampler = _text(sampler, "sampler")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2 ** 64:
                raise bad_input(f"seed must be an integer in [0, 2^64), got {seed!r}")
            s.seed = int(seed)
        if step_cache is not None:
            if isinstance(step_cache, bool) or not isinstance(step_cache, numbers.Real) or not step_cache > 0:
                raise bad_input(f"step_cache must be a positive threshold, got {step_cache!r}")
            s.step_cache = float(step_cache)
        r.set_loras(loras)
        return r

    def close(self):
        """Frees the models now (also done when the object is collected)."""
        if self._handle is not None:
            _capi.lib.osp_pipeline_free(self._handle)
            self._handle = None

    def _live(self):
        if self._handle is None:
            raise bad_input("the pipeline was closed")
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass


class _Arrays:
    """A C struct (a request or load parameters) and the Python objects its pointers point into,
    kept alive together."""

    def __init__(self, struct):
        self.struct = struct
        self._keep = []

    def set_loras(self, loras):
        pairs = []
        for entry in loras:
            path, scale = (entry, 1.0) if isinstance(entry, (str, bytes)) or hasattr(entry, "__fspath__") else entry
            if isinstance(path, bytes):
                path_bytes = path
            else:
                path_bytes = _text(str(path), "lora path")
            if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
                raise bad_input(f"LoRA scale must be a number, got {scale!r}")
            pairs.append((path_bytes, float(scale)))
        if not pairs:
            return
        paths = (ctypes.c_char_p * len(pairs))(*[p for p, _ in pairs])
        scales = (ctypes.c_double * len(pairs))(*[s for _, s in pairs])
        self._keep += [paths, scales]
        self.struct.lora_paths = ctypes.cast(paths, ctypes.POINTER(ctypes.c_char_p))
        self.struct.lora_scales = ctypes.cast(scales, ctypes.POINTER(ctypes.c_double))
        self.struct.lora_count = len(pairs)
