"""The C API of libosp.so (include/osp/osp.h) declared for ctypes: the library is found, loaded
once, and every function gets its argument and result types, so that ctypes converts and checks
them instead of guessing."""
import ctypes
import os
import pathlib

OK = 0
STATUS_NAMES = {0: "ok", 1: "bad_input", 2: "bad_file", 3: "unsupported", 4: "out_of_memory",
                5: "cancelled", 6: "internal"}


COMPONENTS = ("dit", "dit_config", "text_encoder", "text_encoder_config", "tokenizer", "vae", "vae_config")


class LoadParams(ctypes.Structure):
    _fields_ = [("device", ctypes.c_char_p), ("precision", ctypes.c_char_p), ("quant", ctypes.c_char_p),
                ("per_stage", ctypes.c_int), ("threads", ctypes.c_int)] + \
               [(name, ctypes.c_char_p) for name in COMPONENTS] + \
               [("lora_paths", ctypes.POINTER(ctypes.c_char_p)), ("lora_scales", ctypes.POINTER(ctypes.c_double)),
                ("lora_count", ctypes.c_int), ("lora_mode", ctypes.c_char_p)]


class Request(ctypes.Structure):
    _fields_ = [("prompt", ctypes.c_char_p), ("negative_prompt", ctypes.c_char_p),
                ("width", ctypes.c_int64), ("height", ctypes.c_int64), ("frames", ctypes.c_int64),
                ("steps", ctypes.c_int64), ("fps", ctypes.c_int64),
                ("shift", ctypes.c_double), ("guidance", ctypes.c_double),
                ("sampler", ctypes.c_char_p), ("seed", ctypes.c_uint64),
                ("lora_paths", ctypes.POINTER(ctypes.c_char_p)), ("lora_scales", ctypes.POINTER(ctypes.c_double)),
                ("lora_count", ctypes.c_int), ("step_cache", ctypes.c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_double, ctypes.c_void_p)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)

_PROTOTYPES = {
    "osp_version": (ctypes.c_char_p, []),
    "osp_last_error": (ctypes.c_char_p, []),
    "osp_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "osp_set_log_callback": (ctypes.c_int, [LOG_FN, ctypes.c_void_p, ctypes.c_char_p]),
    "osp_load_default_params": (LoadParams, []),
    "osp_pipeline_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(LoadParams), ctypes.POINTER(ctypes.c_void_p)]),
    "osp_pipeline_free": (None, [ctypes.c_void_p]),
    "osp_pipeline_component_loads": (ctypes.c_int64, [ctypes.c_void_p]),
    "osp_request_default_params": (Request, []),
    "osp_cancel_new": (ctypes.c_void_p, []),
    "osp_cancel_set": (None, [ctypes.c_void_p]),
    "osp_cancel_free": (None, [ctypes.c_void_p]),
    "osp_generate": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(Request), PROGRESS_FN, ctypes.c_void_p,
                                    ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]),
    "osp_video_data": (ctypes.POINTER(ctypes.c_uint8), [ctypes.c_void_p]),
    "osp_video_frames": (ctypes.c_int64, [ctypes.c_void_p]),
    "osp_video_height": (ctypes.c_int64, [ctypes.c_void_p]),
    "osp_video_width": (ctypes.c_int64, [ctypes.c_void_p]),
    "osp_video_fps": (ctypes.c_double, [ctypes.c_void_p]),
    "osp_video_info_json": (ctypes.c_char_p, [ctypes.c_void_p]),
    "osp_video_write": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "osp_video_free": (None, [ctypes.c_void_p]),
}


def candidate_paths():
    """Where libosp.so is looked for, in order: $OSP_LIBRARY (when set, only there); beside an
    installed package (lib/osp-next/python/osp → lib/); a build folder of this source tree
    (build/, then build-*/)."""
    explicit = os.environ.get("OSP_LIBRARY")
    if explicit:
        return [pathlib.Path(explicit)]
    here = pathlib.Path(__file__).resolve().parent
    paths = [here.parents[2] / "libosp.so"]
    source = here.parents[1]
    paths.append(source / "build" / "libosp.so")
    paths.extend(sorted(source.glob("build-*/libosp.so")))
    return paths


def _load():
    tried = candidate_paths()
    for path in tried:
        if path.is_file():
            library = ctypes.CDLL(str(path))  # CDLL releases the GIL during every call
            for name, (result, arguments) in _PROTOTYPES.items():
                function = getattr(library, name)
                function.restype = result
                function.argtypes = arguments
            return library
    raise OSError("libosp.so not found (looked at " + ", ".join(str(p) for p in tried) +
                  "); build it with `cmake --build build --target osp_shared` or set OSP_LIBRARY")


lib = _load()


def last_error():
    return lib.osp_last_error().decode("utf-8", "replace")
