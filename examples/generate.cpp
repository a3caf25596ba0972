// The C++ API in a few lines: load a model once, generate two videos from it, write them.
//   generate_cpp MODEL_DIR OUT_PREFIX
#include <cstdio>
#include <string>

#include "osp/pipeline.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR OUT_PREFIX\n", argv[0]);
    return 1;
  }
  try {
    auto pipe = osp::Pipeline::from_pretrained(argv[1]);
    osp::Callbacks callbacks;
    callbacks.on_progress = [](const osp::ProgressEvent& e) {
      std::fprintf(stderr, "%s %lld/%lld\n", e.stage.c_str(), static_cast<long long>(e.step),
                   static_cast<long long>(e.total));
    };
    const char* prompts[] = {"a red circle moving right on a black background",
                             "a blue square moving up on a white background"};
    for (int i = 0; i < 2; ++i) {
      osp::Request request;
      request.prompt = prompts[i];
      const osp::Video video = pipe->generate(request, callbacks);  // the second request loads nothing
      const std::string path = std::string(argv[2]) + std::to_string(i) + ".mp4";
      osp::write_video(video, path);
      std::printf("%s: %lld frames, sampling %.2f s\n", path.c_str(), static_cast<long long>(video.frames.size(0)),
                  video.seconds.sampling);
    }
    std::printf("models loaded: %lld\n", static_cast<long long>(pipe->component_loads()));
  } catch (const osp::Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", osp::category_name(osp::category_of(e)), e.what());
    return 1;
  }
  return 0;
}
