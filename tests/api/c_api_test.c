/* The C API compiled as C: bad input through every entry point returns a status and a message
 * (never a crash), then a real generation with the model given on the command line.
 *   osp_c_api_test MODEL_DIR OUT_DIR
 */
#include <stdio.h>
#include <string.h>

#include "osp/osp.h"

static int failures = 0;

static void expect_status(osp_status got, osp_status want, const char* needle, const char* what) {
  const char* message = osp_last_error();
  if (got != want || (needle != NULL && strstr(message, needle) == NULL)) {
    fprintf(stderr, "FAIL %s: status %s (want %s), message '%s' (want '%s')\n", what, osp_status_name(got),
            osp_status_name(want), message, needle != NULL ? needle : "");
    ++failures;
  }
}

static int log_lines = 0;
static void count_logs(const char* level, const char* message, void* user) {
  (void)level, (void)message;
  ++*(int*)user;
}

static int steps_seen = 0;
static void count_steps(const char* stage, int64_t step, int64_t total, double elapsed, void* user) {
  (void)step, (void)total, (void)elapsed;
  if (strcmp(stage, "sampling") == 0) ++*(int*)user;
}

static void cancel_at_first_step(const char* stage, int64_t step, int64_t total, double elapsed, void* user) {
  (void)step, (void)total, (void)elapsed;
  if (strcmp(stage, "sampling") == 0) osp_cancel_set((osp_cancel*)user);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  char path[4096];
  osp_pipeline* pipe = NULL;
  osp_video* video = NULL;
  osp_request request = osp_request_default_params();
  request.prompt = "a red circle moving right on a black background";
  if (strcmp(osp_version(), "0.1.0") != 0) ++failures;

  /* NULL handles and paths. */
  expect_status(osp_pipeline_load(NULL, NULL, &pipe), OSP_ERR_BAD_INPUT, "NULL", "load NULL path");
  expect_status(osp_pipeline_load(argv[1], NULL, NULL), OSP_ERR_BAD_INPUT, "NULL", "load NULL out");
  expect_status(osp_generate(NULL, &request, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "NULL", "generate NULL");
  expect_status(osp_video_write(NULL, "x.mp4"), OSP_ERR_BAD_INPUT, "NULL", "write NULL video");
  osp_pipeline_free(NULL);
  osp_video_free(NULL);
  snprintf(path, sizeof path, "%s/no-such-model", argv[2]);
  expect_status(osp_pipeline_load(path, NULL, &pipe), OSP_ERR_BAD_FILE, "no-such-model", "load missing model");
  osp_load_params load = osp_load_default_params();
  load.precision = "fp13";
  expect_status(osp_pipeline_load(argv[1], &load, &pipe), OSP_ERR_BAD_INPUT, "fp13", "load bad precision");

  load = osp_load_default_params();
  load.lora_count = 1;
  expect_status(osp_pipeline_load(argv[1], &load, &pipe), OSP_ERR_BAD_INPUT, "lora", "load NULL lora paths");
  const char* const missing_lora[] = {"no-such-lora.safetensors"};
  load.lora_paths = missing_lora;
  expect_status(osp_pipeline_load(argv[1], &load, &pipe), OSP_ERR_BAD_FILE, "no-such-lora", "load missing lora");
  load = osp_load_default_params();
  snprintf(path, sizeof path, "%s/dit", argv[1]);
  load.dit = path;
  expect_status(osp_pipeline_load("", &load, &pipe), OSP_ERR_BAD_FILE, "text", "load a DiT alone");
  if (pipe != NULL) ++failures;

  expect_status(osp_set_log_callback(count_logs, &log_lines, "loud"), OSP_ERR_BAD_INPUT, "loud", "bad log level");
  expect_status(osp_set_log_callback(count_logs, &log_lines, "info"), OSP_OK, NULL, "log callback");
  load = osp_load_default_params();
  expect_status(osp_pipeline_load(argv[1], &load, &pipe), OSP_OK, NULL, "load");
  osp_set_log_callback(NULL, NULL, "warn");
  if (log_lines == 0) {
    fprintf(stderr, "FAIL log callback: no messages while loading\n");
    ++failures;
  }
  if (pipe == NULL) return 1;

  /* Bad requests: each an error, the pipeline usable after. */
  osp_request bad = request;
  bad.prompt = NULL;
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "prompt", "NULL prompt");
  bad = request;
  bad.width = 0;
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "0", "zero width");
  bad = request;
  bad.frames = 0;
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "frames", "zero frames");
  bad = request;
  bad.sampler = "heun";
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "heun", "unknown sampler");
  bad = request;
  bad.prompt = "a red \xff\xfe circle";
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "UTF-8", "invalid UTF-8");
  bad = request;
  bad.step_cache = -1;
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "step_cache", "negative step cache");
  bad = request;
  bad.lora_count = 1;
  expect_status(osp_generate(pipe, &bad, NULL, NULL, NULL, &video), OSP_ERR_BAD_INPUT, "lora", "NULL lora paths");
  if (video != NULL) ++failures;

  /* Cancelled from the progress callback: a cancelled status, then a normal request. */
  osp_cancel* cancel = osp_cancel_new();
  request.steps = 4;
  expect_status(osp_generate(pipe, &request, cancel_at_first_step, cancel, cancel, &video), OSP_ERR_CANCELLED,
                "cancelled", "cancel");
  osp_cancel_free(cancel);

  expect_status(osp_generate(pipe, &request, count_steps, &steps_seen, NULL, &video), OSP_OK, NULL, "generate");
  if (video == NULL) return 1;
  if (steps_seen != 4 || osp_video_frames(video) < 1 || osp_video_width(video) < 16 || osp_video_data(video) == NULL) {
    fprintf(stderr, "FAIL video: steps %d, frames %lld\n", steps_seen, (long long)osp_video_frames(video));
    ++failures;
  }
  if (strstr(osp_video_info_json(video), "\"steps\":4") == NULL || strcmp(osp_video_info_json(NULL), "") != 0) {
    fprintf(stderr, "FAIL info: '%s'\n", osp_video_info_json(video));
    ++failures;
  }
  snprintf(path, sizeof path, "%s/c_api.mp4", argv[2]);
  expect_status(osp_video_write(video, path), OSP_OK, NULL, "write mp4");
  snprintf(path, sizeof path, "%s/c_api.bmp", argv[2]);
  expect_status(osp_video_write(video, path), OSP_ERR_BAD_INPUT, "bmp", "write bmp");
  if (osp_pipeline_component_loads(pipe) != 3) ++failures;
  osp_video_free(video);
  osp_pipeline_free(pipe);
  if (failures == 0) printf("C API: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
