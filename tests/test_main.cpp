// GoogleTest entry point for osp_tests: fixed thread count so results do not depend on the machine.
#include <gtest/gtest.h>

#include "osp/core/log.h"
#include "osp/core/passive_openmp.h"
#include "osp/core/runtime.h"

int main(int argc, char** argv) {
  osp::detail::prefer_passive_openmp_waits(argv);
  ::testing::InitGoogleTest(&argc, argv);
  osp::log::set_level("warn");
  osp::set_threads(0);
  return RUN_ALL_TESTS();
}
