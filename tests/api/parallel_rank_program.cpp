// One rank of the library API's parallel test (parallel_api_test.cpp): loads MODEL with the mesh
// given on the command line, generates one fixed request and writes its latents as raw float32 to
// OUT_PREFIX<RANK>.bin. Started alone (no launcher) it is the single-process reference.
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
    for (int r = 0; r < 2; ++r) {  // the second request reuses the groups and the loaded models
      const osp::Video video = pipe->generate(request);
      const at::Tensor latents = video.latents.contiguous();
      const char* rank = std::getenv("RANK");
      const std::string path = std::string(argv[2]) + (rank ? rank : "0") + (r == 0 ? "" : ".second") + ".bin";
      std::ofstream(path, std::ios::binary)
          .write(static_cast<const char*>(latents.data_ptr()), static_cast<std::streamsize>(latents.nbytes()));
    }
  } catch (const osp::Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", osp::category_name(osp::category_of(e)), e.what());
    return 1;
  }
  return 0;
}
