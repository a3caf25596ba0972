/* The C API in a few lines: load the default model once, generate a video with progress, write it.
 *   generate_c MODEL_DIR OUT.mp4 ["PROMPT"]
 */
#include <stdio.h>

#include "osp/osp.h"

static void on_progress(const char* stage, int64_t step, int64_t total, double elapsed, void* user) {
  (void)user;
  fprintf(stderr, "%s %lld/%lld (%.1f s)\n", stage, (long long)step, (long long)total, elapsed);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR OUT.mp4 [PROMPT]\n", argv[0]);
    return 1;
  }
  osp_pipeline* pipe = NULL;
  osp_load_params load = osp_load_default_params();
  if (osp_pipeline_load(argv[1], &load, &pipe) != OSP_OK) {
    fprintf(stderr, "error: %s\n", osp_last_error());
    return 1;
  }
  osp_request request = osp_request_default_params();
  request.prompt = argc > 3 ? argv[3] : "a red circle moving right on a black background";
  request.seed = 7;
  osp_video* video = NULL;
  osp_status status = osp_generate(pipe, &request, on_progress, NULL, NULL, &video);
  if (status == OSP_OK) status = osp_video_write(video, argv[2]);
  if (status != OSP_OK) fprintf(stderr, "error (%s): %s\n", osp_status_name(status), osp_last_error());
  else printf("%lld frames of %lldx%lld at %.0f fps in %s\n", (long long)osp_video_frames(video),
              (long long)osp_video_width(video), (long long)osp_video_height(video), osp_video_fps(video), argv[2]);
  osp_video_free(video);
  osp_pipeline_free(pipe);
  return status == OSP_OK ? 0 : 1;
}
