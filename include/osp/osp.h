#ifndef OSP_OSP_H
#define OSP_OSP_H
/* The C API of the OSP-Next engine (docs/api.md "C API"): opaque handles, default parameter
 * structs, status codes with a readable last error, callbacks with a user pointer. No C++
 * exception crosses this boundary; every function that can fail returns an osp_status.
 *
 *   osp_pipeline* pipe = NULL;
 *   osp_load_params load = osp_load_default_params();
 *   if (osp_pipeline_load("models/osp-next-tiny", &load, &pipe) != OSP_OK) puts(osp_last_error());
 *   osp_request request = osp_request_default_params();
 *   request.prompt = "a red circle moving right on a black background";
 *   osp_video* video = NULL;
 *   if (osp_generate(pipe, &request, NULL, NULL, NULL, &video) == OSP_OK) osp_video_write(video, "out.mp4");
 *   osp_video_free(video);
 *   osp_pipeline_free(pipe);
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  OSP_OK = 0,
  OSP_ERR_BAD_INPUT = 1,     /* a parameter is out of range, malformed or NULL */
  OSP_ERR_BAD_FILE = 2,      /* a model or LoRA file is missing, unreadable or of an unknown layout */
  OSP_ERR_UNSUPPORTED = 3,   /* a valid request this build cannot serve */
  OSP_ERR_OUT_OF_MEMORY = 4,
  OSP_ERR_CANCELLED = 5,     /* the request's cancel flag was set */
  OSP_ERR_INTERNAL = 6
} osp_status;

/* "0.1.0". */
const char* osp_version(void);
/* The message of the last failure on this thread ("" when none); valid until the next call. */
const char* osp_last_error(void);
/* "ok", "bad_input", "bad_file", "unsupported", "out_of_memory", "cancelled", "internal". */
const char* osp_status_name(osp_status status);

/* The engine's log messages at `level` ("trace" … "error", "off"; NULL: "info") and above go to
 * fn(level, message, user) instead of stderr; fn NULL restores stderr. Process-wide. */
typedef void (*osp_log_fn)(const char* level, const char* message, void* user);
osp_status osp_set_log_callback(osp_log_fn fn, void* user, const char* level);

typedef struct osp_pipeline osp_pipeline;
typedef struct osp_video osp_video;
typedef struct osp_cancel osp_cancel;

typedef struct {
  const char* device;     /* "cpu" (default), "cuda", "cuda:N", "auto" */
  const char* precision;  /* "bf16" (default) or "fp32" */
  const char* quant;      /* "" (as the model says), "hif8" or "none" */
  int per_stage;          /* 0: every model stays loaded (default); 1: each request loads and frees them */
  int threads;            /* intra-op CPU threads; 0: the library's default */
  /* The model's parts one by one, each replacing the folder's (docs/api.md "Component paths");
   * NULL: the folder's. With dit, text_encoder, tokenizer and vae all given, path may be "". */
  const char* dit;
  const char* dit_config;
  const char* text_encoder;
  const char* text_encoder_config;
  const char* tokenizer;
  const char* vae;
  const char* vae_config;
  /* Adapters for every request, read at load (docs/api.md "Adapters at load"). */
  const char* const* lora_paths; /* lora_count LoRA files */
  const double* lora_scales;     /* lora_count scales; NULL: 1 each */
  int lora_count;
  const char* lora_mode;         /* NULL or "merged": added into the weights; "runtime": beside them */
} osp_load_params;

osp_load_params osp_load_default_params(void);
osp_status osp_pipeline_load(const char* path, const osp_load_params* params, osp_pipeline** out);
void osp_pipeline_free(osp_pipeline* pipeline); /* NULL is ignored */
/* Model loads since osp_pipeline_load (3 for a resident pipeline, whatever the requests). */
int64_t osp_pipeline_component_loads(const osp_pipeline* pipeline);

/* A negative number or NULL means "the model's default" (osp_request_default_params sets them). */
typedef struct {
  const char* prompt;           /* required, UTF-8 */
  const char* negative_prompt;  /* NULL: the model's default */
  int64_t width, height, frames, steps, fps;
  double shift, guidance;
  const char* sampler;          /* NULL, "unipc", "euler" or "dpm++" */
  uint64_t seed;
  const char* const* lora_paths; /* lora_count LoRA files applied for this request only */
  const double* lora_scales;     /* lora_count scales; NULL: 1 each */
  int lora_count;
  double step_cache;             /* > 0: the first-block step cache's threshold (docs/dit.md); 0: off */
} osp_request;

osp_request osp_request_default_params(void);

/* Called on the generating thread after each step of a stage ("text", "sampling", "decode"). */
typedef void (*osp_progress_fn)(const char* stage, int64_t step, int64_t total, double elapsed, void* user);

osp_cancel* osp_cancel_new(void);
void osp_cancel_set(osp_cancel* cancel); /* from any thread */
void osp_cancel_free(osp_cancel* cancel);

/* progress, user and cancel may be NULL. On OSP_OK *out holds a new video (osp_video_free). */
osp_status osp_generate(osp_pipeline* pipeline, const osp_request* request, osp_progress_fn progress, void* user,
                        const osp_cancel* cancel, osp_video** out);

/* The frames: uint8 RGB, frames × height × width × 3, row-major. */
const uint8_t* osp_video_data(const osp_video* video);
int64_t osp_video_frames(const osp_video* video);
int64_t osp_video_height(const osp_video* video);
int64_t osp_video_width(const osp_video* video);
double osp_video_fps(const osp_video* video);
/* The request's effective parameters and stage timings as a JSON object:
 * {"prompt", "seed", "parameters": {"width", "height", "frames", "steps", "fps", "shift", "guidance",
 * "sampler", "negative_prompt"}, "seconds": {"load", "text", "sampling", "decode"}}; "" for NULL. Valid
 * until osp_video_free. */
const char* osp_video_info_json(const osp_video* video);
/* mp4, webm, gif, a png pattern or safetensors by extension, written atomically. */
osp_status osp_video_write(const osp_video* video, const char* path);
void osp_video_free(osp_video* video);

#ifdef __cplusplus
}
#endif
#endif /* OSP_OSP_H */
