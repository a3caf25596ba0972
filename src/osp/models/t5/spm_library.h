#pragma once
// The SentencePiece bridge libosp_spm (src/spm_bridge/spm_bridge.h), opened at run time.
// SentencePiece must never be linked into a LibTorch process directly (docs/design.md "Platform
// pitfalls": two protobufs crash at start-up); it is opened in a link namespace of its own
// (dlmopen), so its protobuf and libstdc++ never meet LibTorch's.
#include <string>
#include <vector>

#include "spm_bridge/spm_bridge.h"

namespace osp::t5 {

// The bridge's entry points. Opened once per process and never closed (the handle is shared by
// every Tokenizer; unloading code that may still run destructors gains nothing).
struct SpmLibrary {
  std::string path;  // the file that was opened
  decltype(&osp_spm_load) load = nullptr;
  decltype(&osp_spm_free) free = nullptr;
  decltype(&osp_spm_vocab_size) vocab_size = nullptr;
  decltype(&osp_spm_encode) encode = nullptr;
  decltype(&osp_spm_id_to_piece) id_to_piece = nullptr;
  decltype(&osp_spm_piece_to_id) piece_to_id = nullptr;
  decltype(&osp_spm_train) train = nullptr;
};

// Where the bridge is looked for, in order: $OSP_SPM_BRIDGE (when set, only there), libosp_spm.so
// next to the running executable, ../lib/osp-next/ from it (an installed bin/osp), osp-next/ beside
// the shared library holding the engine (an installed libosp.so loaded by another program), the
// configured install path, and the build output path compiled in by cmake/tokenizer.cmake.
std::vector<std::string> spm_bridge_candidates();

// Opens the bridge on first use (thread-safe) and returns its entry points. Throws osp::Error
// listing the places searched when it is missing, or naming the file when it cannot be loaded or
// has another ABI version.
const SpmLibrary& spm_library();

// Trains a SentencePiece model with the library's trainer (spm_train arguments, e.g.
// "--input=c.txt --model_prefix=m --vocab_size=100"); osp::Error with the trainer's message.
void train_sentencepiece(const std::string& arguments);

}  // namespace osp::t5
