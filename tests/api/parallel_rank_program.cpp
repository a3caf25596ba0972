// One rank of the library API's parallel test (parallel_api_test.cpp): loads MODEL with the mesh
// given on the command line, generates one fixed request twice and writes its latents as raw
// float32 to OUT_PREFIX<RANK>.bin and OUT_PREFIX<RANK>.second.bin. Started alone (no launcher) it
// is the single-process reference. It also writes what Pipeline::broadcast gave it to
// OUT_PREFIX<RANK>.message. With OSP_TEST_CANCEL_RANK=R, rank R cancels the first request after
// its first sampling step, and every rank writes the last sampling step it saw before its
// Cancelled error to OUT_PREFIX<RANK>.cancelled.
// Usage: parallel_rank_program MODEL OUT_PREFIX SP SSP CFG_PARALLEL(0|1) SHARD_WEIGHTS(0|1) [SIZE]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "osp/pipeline.h"

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: %s MODEL OUT_PREFIX SP SSP CFG_PARALLEL SHARD_WEIGHTS [SIZE]\n", argv[0]);
    return 2;
  }
  try {
    osp::LoadOptions options;
    options.precision = "fp32";
    options.parallel.sp = std::atoi(argv[3]);
    options.parallel.ssp = std::atoi(argv[4]);
    options.parallel.cfg_parallel = std::atoi(argv[5]) != 0;
    options.parallel.shard_weights = std::atoi(argv[6]) != 0;
    auto pipe = osp::Pipeline::from_pretrained(argv[1], options);
    osp::Request request;
    request.prompt = "a blue square moving up on a white background";
    request.steps = 3;
    request.guidance = 4.0;
    request.seed = 11;
    if (argc == 8) request.width = request.height = std::atoi(argv[7]);
    const std::string prefix = std::string(argv[2]) + std::to_string(pipe->rank());
    std::ofstream(prefix + ".message") << pipe->broadcast("from rank " + std::to_string(pipe->rank()));
    const char* cancel_rank = std::getenv("OSP_TEST_CANCEL_RANK");
    if (cancel_rank != nullptr) {
      osp::CancelToken token;
      int64_t last_step = 0;
      osp::Callbacks callbacks;
      callbacks.on_progress = [&](const osp::ProgressEvent& e) {
        if (e.stage != "sampling") return;
        last_step = e.step;
        if (pipe->rank() == std::atoi(cancel_rank)) token.cancel();
      };
      try {
        pipe->generate(request, callbacks, &token);
        std::fprintf(stderr, "the cancelled request finished\n");
        return 1;
      } catch (const osp::Error& e) {
        if (osp::category_of(e) != osp::ErrorCategory::kCancelled) throw;
        std::ofstream(prefix + ".cancelled") << last_step;
      }
    }
    for (int r = 0; r < 2; ++r) {  // the second request reuses the groups and the loaded models
      const osp::Video video = pipe->generate(request);
      const at::Tensor latents = video.latents.contiguous();
      const std::string path = prefix + (r == 0 ? "" : ".second") + ".bin";
      std::ofstream(path, std::ios::binary)
          .write(static_cast<const char*>(latents.data_ptr()), static_cast<std::streamsize>(latents.nbytes()));
    }
  } catch (const osp::Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", osp::category_name(osp::category_of(e)), e.what());
    return 1;
  }
  return 0;
}
