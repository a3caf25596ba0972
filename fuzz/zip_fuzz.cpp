// libFuzzer: zip reading and torch state-dict extraction (zip + pickle + storage checks) must
// accept or throw osp::Error, never crash.
#include <cstdint>

#include "osp/core/error.h"
#include "osp/io/torch_pickle.h"
#include "osp/io/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace osp::io;
  try {
    const ZipReader zip(data, size, "fuzz.pth");
    for (const ZipEntry& entry : zip.entries()) {
      if (entry.size <= (1u << 20)) zip.read(entry);
    }
    read_torch_state_dict(zip);
  } catch (const osp::Error&) {
  }
  return 0;
}
