// libosp_spm: the C interface of spm_bridge.h over SentencePiece's C++ API. No exception or C++
// object leaves this file.
#include "spm_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

// Declared in SentencePiece's internal common.h (exported by libsentencepiece), not in its
// public headers.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}

struct osp_spm_model {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

// SentencePiece logs through std::cerr. Under the RTLD_DEEPBIND fallback its references to
// std::cerr bind to libstdc++'s own, never-constructed instance (the executable holds the copy
// that libstdc++ initializes), so any log line would crash. Every outcome comes back as a status
// anyway: silence the logging before any call into the library.
void silence_logging() { sentencepiece::logging::SetMinLogLevel(1000); }

void set_error(char* error, size_t error_size, const std::string& message) {
  if (error == nullptr || error_size == 0) return;
  const size_t n = message.size() < error_size - 1 ? message.size() : error_size - 1;
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

}  // namespace

extern "C" {

int osp_spm_abi_version(void) { return OSP_SPM_ABI_VERSION; }

osp_spm_model* osp_spm_load(const char* path, char* error, size_t error_size) {
  silence_logging();
  try {
    auto* model = new osp_spm_model;
    const auto status = model->processor.Load(path);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      delete model;
      return nullptr;
    }
    return model;
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
    return nullptr;
  }
}

void osp_spm_free(osp_spm_model* model) { delete model; }

int32_t osp_spm_vocab_size(const osp_spm_model* model) { return model->processor.GetPieceSize(); }

int64_t osp_spm_encode(const osp_spm_model* model, const char* text, size_t length, int32_t* ids, size_t capacity,
                       char* error, size_t error_size) {
  try {
    std::vector<int> pieces;
    const auto status = model->processor.Encode(std::string(text, length), &pieces);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      return -1;
    }
    for (size_t i = 0; i < pieces.size() && i < capacity; ++i) ids[i] = pieces[i];
    return static_cast<int64_t>(pieces.size());
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
    return -1;
  }
}

int64_t osp_spm_id_to_piece(const osp_spm_model* model, int32_t id, char* piece, size_t capacity) {
  if (id < 0 || id >= model->processor.GetPieceSize()) return -1;
  const std::string& text = model->processor.IdToPiece(id);
  std::memcpy(piece, text.data(), text.size() < capacity ? text.size() : capacity);
  return static_cast<int64_t>(text.size());
}

int32_t osp_spm_piece_to_id(const osp_spm_model* model, const char* piece) {
  return model->processor.PieceToId(piece);
}

int osp_spm_train(const char* arguments, char* error, size_t error_size) {
  silence_logging();
  try {
    const auto status = sentencepiece::SentencePieceTrainer::Train(arguments);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      return -1;
    }
    return 0;
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
    return -1;
  }
}

}  // extern "C"
