#include "osp/models/t5/tokenizer_training.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>

#include "osp/core/error.h"
#include "osp/models/t5/spm_library.h"

namespace osp::t5 {
namespace {

namespace fs = std::filesystem;

// Field numbers of sentencepiece_model.proto.
constexpr uint64_t kModelTrainerSpec = 2;
constexpr uint64_t kTrainerInput = 1;
constexpr uint64_t kTrainerModelPrefix = 2;

// A cursor over protobuf wire-format bytes.
class WireReader {
 public:
  explicit WireReader(const std::string& bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }
  size_t pos() const { return pos_; }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) fail("SentencePiece model: truncated varint");
      const auto byte = static_cast<uint8_t>(bytes_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    fail("SentencePiece model: varint longer than 10 bytes");
  }
  // Skips the payload of a field of `wire_type` (the tag already read); returns its bytes.
  std::string payload(uint64_t wire_type) {
    const size_t start = pos_;
    switch (wire_type) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: advance(varint()); break;
      case 5: advance(4); break;
      default: fail("SentencePiece model: unsupported wire type {}", wire_type);
    }
    return bytes_.substr(start, pos_ - start);
  }

 private:
  void advance(uint64_t n) {
    if (n > bytes_.size() - pos_) fail("SentencePiece model: field runs past the end");
    pos_ += n;
  }
  const std::string& bytes_;
  size_t pos_ = 0;
};

void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// The message `bytes` with every field whose number is in `drop` removed; `edit` (optional)
// rewrites the payload of length-delimited field `edit_field`.
template <typename Edit>
std::string rewrite_fields(const std::string& bytes, std::initializer_list<uint64_t> drop, uint64_t edit_field,
                           const Edit& edit) {
  WireReader in(bytes);
  std::string out;
  while (!in.done()) {
    const uint64_t tag = in.varint();
    const uint64_t field = tag >> 3, wire_type = tag & 7;
    std::string payload = in.payload(wire_type);
    if (std::find(drop.begin(), drop.end(), field) != drop.end()) continue;
    append_varint(out, tag);
    if (field == edit_field && wire_type == 2) {
      WireReader length(payload);
      const uint64_t n = length.varint();
      const std::string edited = edit(payload.substr(length.pos(), n));
      append_varint(out, edited.size());
      out += edited;
    } else {
      out += payload;
    }
  }
  return out;
}

// A fresh directory for the trainer's files.
fs::path make_work_directory() {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::temp_directory_path() / fmt::format("osp-spm-{}-{}", ::getpid(), counter++);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_about(path.string(), "cannot read the trained SentencePiece model");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::string strip_training_paths(const std::string& model) {
  const auto no_edit = [](const std::string& payload) { return payload; };
  return rewrite_fields(model, {}, kModelTrainerSpec, [&](const std::string& trainer_spec) {
    return rewrite_fields(trainer_spec, {kTrainerInput, kTrainerModelPrefix}, 0, no_edit);
  });
}

std::string train_t5_sentencepiece(const std::vector<std::string>& lines, int64_t vocab_size) {
  require(!lines.empty(), "SentencePiece training needs at least one sentence");
  const fs::path dir = make_work_directory();
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};
  {
    std::ofstream corpus(dir / "corpus.txt", std::ios::binary);
    for (const std::string& line : lines) corpus << line << '\n';
    if (!corpus) fail_about((dir / "corpus.txt").string(), "cannot write the training corpus");
  }
  // umT5 special ids (docs/text-encoder.md "Tokenizer"); one thread and no sampling so that runs agree bit for bit;
  // hard_vocab_limit=false lets a small corpus end below vocab_size instead of failing.
  train_sentencepiece(fmt::format(
      "--input={} --model_prefix={} --vocab_size={} --model_type=bpe --character_coverage=1.0"
      " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --num_threads=1 --input_sentence_size=0"
      " --shuffle_input_sentence=false --hard_vocab_limit=false --minloglevel=2",
      (dir / "corpus.txt").string(), (dir / "spiece").string(), vocab_size));
  return strip_training_paths(read_bytes(dir / "spiece.model"));
}

}  // namespace osp::t5
