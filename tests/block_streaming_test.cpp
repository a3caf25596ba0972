// Block streaming (models/dit/block_streamer.h): a DiT whose blocks are read from the mapped
// checkpoint just before they run, with or without the prefetch thread, computes bit for bit what
// the resident model computes (float32 and bf16, Skiparse schedule, dense and 8-bit checkpoints),
// holds no block storage between calls, counts what it reads, and refuses a checkpoint that
// changed on disk.
#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "expect_error.h"
#include "reference_dit.h"
#include "scratch_dir.h"
#include "test_util.h"
#include "osp/core/device_upload.h"
#include "osp/io/atomic_file.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/dit/block_streamer.h"
#include "osp/models/dit/loader.h"
#include "osp/models/dit/text_context.h"
#include "osp/quant/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using osp::dit::DiTConfig;
using osp::dit::WanDiT;

// Eight blocks: 2 full, token, group, token, group, 2 full (dual_end, P = 2): every layout change runs.
DiTConfig streamed_config() {
  DiTConfig c = osp::test::tiny_config(32, 2);
  c.num_layers = 8;
  c.skiparse_model_type = "dual_end";
  c.sparse_ratio = 2;
  c.num_full_blocks = 4;
  c.validate();
  return c;
}

// A random float32 checkpoint with its config.json in `dir`; returns the weights file.
std::string write_checkpoint(const fs::path& dir, const DiTConfig& config) {
  WanDiT model(config, osp::test::kFp32);
  osp::test::randomize(model, 91);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : model.named_parameters()) tensors.emplace_back(item.key(), item.value());
  const std::string weights = (dir / "model.safetensors").string();
  osp::io::write_safetensors(weights, tensors);
  osp::io::write_file_atomically((dir / "config.json").string(), config.to_json().dump(2));
  return weights;
}

// Two sampling steps (the second reuses the cached text keys/values).
std::vector<at::Tensor> two_steps(const WanDiT& model, const osp::test::Inputs& in) {
  c10::InferenceMode inference;
  osp::dit::TextContext text(in.context);
  return {model.forward(in.x, in.t, text), model.forward(in.x * 0.5, in.t * 0.5, text)};
}

int64_t block_elements(const WanDiT& model) {
  int64_t n = 0;
  for (const auto& block : model.blocks) {
    for (const auto& p : block->parameters()) n += p.numel();
  }
  return n;
}

void expect_streaming_equals_resident(const std::string& weights, const DiTConfig& config) {
  const osp::test::Inputs in = osp::test::random_inputs(config, 1, 2, 6, 10, 5, 92);
  for (const osp::Precision precision : {osp::test::kFp32, osp::test::kBf16}) {
    const auto resident = osp::dit::load_dit(weights, std::nullopt, precision, c10::kCPU);
    const std::vector<at::Tensor> expected = two_steps(*resident, in);
    for (const bool prefetch : {false, true}) {
      WanDiT model(config, precision);
      osp::dit::BlockStreamer streamer(model, osp::io::open_tensor_source(weights), prefetch);
      EXPECT_EQ(block_elements(model), 0) << "blocks hold storage before the first call";
      const std::vector<at::Tensor> got = two_steps(model, in);
      const std::string what = precision.name() + (prefetch ? " with prefetch" : " inline");
      for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(at::equal(got[i], expected[i])) << what << ", step " << i;
      EXPECT_EQ(block_elements(model), 0) << what << ": blocks hold storage between calls";
      EXPECT_EQ(streamer.stats().groups_read, 2 * config.num_layers) << what;
      int64_t all = 0;
      for (int64_t n = 0; n < config.num_layers; ++n) all += streamer.block_bytes(n);
      EXPECT_EQ(streamer.stats().bytes_read, 2 * all) << what;
      EXPECT_GT(streamer.largest_block_bytes(), 0);
    }
  }
}

TEST(BlockStreaming, DenseCheckpointGivesTheResidentOutputsBitForBit) {
  const osp::test::ScratchDir dir;
  const DiTConfig config = streamed_config();
  expect_streaming_equals_resident(write_checkpoint(dir.path(), config), config);
}

TEST(BlockStreaming, EightBitCheckpointGivesTheResidentOutputsBitForBit) {
  const osp::test::ScratchDir dir;
  const DiTConfig config = streamed_config();
  const std::string dense = write_checkpoint(dir.path(), config);
  fs::create_directories(dir.path() / "hif8");
  const std::string codes = (dir.path() / "hif8" / "model.safetensors").string();
  osp::quant::quantize_checkpoint(dense, codes, {});
  fs::copy_file(dir.path() / "config.json", dir.path() / "hif8" / "config.json");
  expect_streaming_equals_resident(codes, config);
}

TEST(BlockStreaming, CheckpointChangedOnDiskIsAnError) {
  const osp::test::ScratchDir dir;
  const DiTConfig config = streamed_config();
  const std::string weights = write_checkpoint(dir.path(), config);
  const osp::test::Inputs in = osp::test::random_inputs(config, 1, 2, 6, 10, 5, 93);
  WanDiT model(config, osp::test::kFp32);
  osp::dit::BlockStreamer streamer(model, osp::io::open_tensor_source(weights), /*prefetch=*/false);
  two_steps(model, in);
  std::ofstream(weights, std::ios::app) << "appended";  // the size changes under the map
  osp::test::expect_error([&] { two_steps(model, in); }, {weights, "changed on disk"});
}

TEST(BlockStreaming, WrongCheckpointFailsBeforeAnyBlockIsEmptied) {
  const osp::test::ScratchDir dir;
  const DiTConfig config = streamed_config();
  const std::string weights = write_checkpoint(dir.path(), config);
  DiTConfig wider = config;
  wider.ffn_dim = 64;
  WanDiT model(wider, osp::test::kFp32);
  osp::test::expect_error([&] { osp::dit::BlockStreamer(model, osp::io::open_tensor_source(weights)); },
                          {weights, "wrong shape", "blocks.0.ffn.0.weight"});
  EXPECT_GT(block_elements(model), 0);
}

// Records the calls a streamer makes to its device upload. Its "device" copy is a clone, so the
// block computes with the tensors the upload returned, as it would with CUDA copies.
class RecordingUpload : public osp::DeviceUpload {
 public:
  struct Call {
    bool start = false;  // start() or the Ready it returned
    int64_t id = 0;      // which start
    std::thread::id thread;
  };
  Ready start(const std::vector<at::Tensor*>& tensors) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t id = started_++;
    calls_.push_back({true, id, std::this_thread::get_id()});
    for (at::Tensor* t : tensors) {
      if (t->defined()) *t = t->clone();
    }
    return [this, id] {
      std::lock_guard<std::mutex> lock(mutex_);
      calls_.push_back({false, id, std::this_thread::get_id()});
    };
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  int64_t started_ = 0;
  std::vector<Call> calls_;
};

// The upload's contract, on the CPU with a recording upload (the CUDA one queues its copies on a
// side stream behind the same calls): every block read goes through start() on the thread that
// read it — with prefetch, the background thread, ahead of the computation — and its Ready runs on
// the computing thread before the block is used; the outputs stay the resident model's.
TEST(BlockStreaming, EveryBlockPassesTheDeviceUploadBeforeItRuns) {
  const osp::test::ScratchDir dir;
  const DiTConfig config = streamed_config();
  const std::string weights = write_checkpoint(dir.path(), config);
  const osp::test::Inputs in = osp::test::random_inputs(config, 1, 2, 6, 10, 5, 94);
  const auto resident = osp::dit::load_dit(weights, std::nullopt, osp::test::kFp32, c10::kCPU);
  const std::vector<at::Tensor> expected = two_steps(*resident, in);
  for (const bool prefetch : {false, true}) {
    WanDiT model(config, osp::test::kFp32);
    auto upload = std::make_unique<RecordingUpload>();
    const RecordingUpload& recorded = *upload;
    osp::dit::BlockStreamer streamer(model, osp::io::open_tensor_source(weights), prefetch, std::move(upload));
    const std::vector<at::Tensor> got = two_steps(model, in);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(at::equal(got[i], expected[i])) << "step " << i;
    const std::vector<RecordingUpload::Call> calls = recorded.calls();
    const auto computing = std::this_thread::get_id();
    std::vector<bool> started;
    int64_t readies = 0, started_elsewhere = 0;
    for (const RecordingUpload::Call& call : calls) {
      if (call.start) {
        started.push_back(true);
        started_elsewhere += call.thread != computing ? 1 : 0;
        continue;
      }
      ASSERT_LT(call.id, static_cast<int64_t>(started.size())) << "a Ready ran before its start";
      EXPECT_EQ(call.thread, computing) << "Ready " << call.id << " ran off the computing thread";
      ++readies;
    }
    EXPECT_EQ(readies, 2 * config.num_layers);
    if (prefetch) {
      // Block 0 of the first call is read inline; every later read ran on the prefetch thread.
      EXPECT_EQ(started_elsewhere, static_cast<int64_t>(started.size()) - 1);
    } else {
      EXPECT_EQ(started_elsewhere, 0);
      EXPECT_EQ(static_cast<int64_t>(started.size()), 2 * config.num_layers);
    }
  }
}

}  // namespace
