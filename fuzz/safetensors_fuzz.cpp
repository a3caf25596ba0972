// libFuzzer: the safetensors header parser must accept or throw osp::Error, never crash; whatever
// it accepts must survive being laid out and serialized again.
#include <cstdint>

#include "osp/core/error.h"
#include "osp/io/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace osp::io;
  try {
    const SafetensorsHeader header = parse_safetensors_header(data, size, "fuzz.safetensors");
    std::vector<TensorDecl> decls;
    for (const SafetensorsEntry& t : header.tensors) decls.push_back(t.decl);
    const std::string again = serialize_safetensors_header(layout_safetensors(decls), header.metadata);
    parse_safetensors_header(reinterpret_cast<const uint8_t*>(again.data()), again.size(), "again");
  } catch (const osp::Error&) {
  }
  return 0;
}
