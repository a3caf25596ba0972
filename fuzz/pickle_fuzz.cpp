// libFuzzer: the restricted unpickler must accept or throw osp::Error, never crash or run code.
#include <cstdint>

#include "osp/core/error.h"
#include "osp/io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    osp::io::unpickle(data, size, "fuzz.pkl");
  } catch (const osp::Error&) {
  }
  return 0;
}
