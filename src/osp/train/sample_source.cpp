#include "osp/train/sample_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <filesystem>

#include "osp/core/error.h"
#include "osp/train/cached_samples.h"
#include "osp/train/manifest.h"

namespace osp::train {
namespace {

class SyntheticSamples : public SampleSource {
 public:
  explicit SyntheticSamples(const SyntheticData& d) : data_(d) {
    c10::InferenceMode guard(false);
    at::Generator g = at::detail::createCPUGenerator(d.seed);
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    latents_ = at::normal(0.0, 1.0, {d.samples, d.channels, 1, 1, 1}, g, f32) +
               at::normal(0.0, 0.5, {d.samples, d.channels, d.frames, d.height, d.width}, g, f32);
    contexts_ = at::normal(0.0, 1.0, {d.samples, d.text_tokens, d.text_dim}, g, f32);
  }
  int64_t size() const override { return data_.samples; }
  TrainSample get(int64_t index) override { return {latents_[index], contexts_[index]}; }
  at::Tensor null_context() const override { return at::zeros({0, data_.text_dim}, at::kFloat); }
  std::string describe() const override {
    return fmt::format("{} synthetic samples [{}, {}, {}, {}]", data_.samples, data_.channels, data_.frames,
                       data_.height, data_.width);
  }

 private:
  SyntheticData data_;
  at::Tensor latents_, contexts_;
};

// The cached manifest of `osp data cache`: latents and contexts read from its shards on demand,
// the null context from null_context.safetensors beside the manifest (zeros when absent).
class CachedManifestSamples : public SampleSource {
 public:
  explicit CachedManifestSamples(const std::string& path) : manifest_(read_manifest(path)) {
    if (!manifest_.all_cached()) {
      fail_about(path, "is not a cached manifest (video lines): run `osp data cache` and train on its manifest");
    }
    const std::string dir = std::filesystem::path(path).parent_path().string();
    const bool has_null = std::filesystem::exists(std::filesystem::path(dir) / "null_context.safetensors");
    null_context_ = has_null ? load_null_context(dir) : at::Tensor();
  }
  int64_t size() const override { return static_cast<int64_t>(manifest_.entries.size()); }
  TrainSample get(int64_t index) override {
    const CachedSample s = reader_.load(manifest_.entries.at(static_cast<size_t>(index)));
    return {s.latents, s.context};
  }
  at::Tensor null_context() const override {
    return null_context_.defined() ? null_context_ : at::zeros({0, 0}, at::kFloat);
  }
  std::string describe() const override { return fmt::format("{} cached samples of {}", size(), manifest_.path); }

 private:
  Manifest manifest_;
  CachedSampleReader reader_;
  at::Tensor null_context_;
};

}  // namespace

std::unique_ptr<SampleSource> synthetic_samples(const SyntheticData& data) {
  return std::make_unique<SyntheticSamples>(data);
}

std::unique_ptr<SampleSource> open_samples(const TrainConfig& config) {
  if (config.synthetic) return synthetic_samples(*config.synthetic);
  return std::make_unique<CachedManifestSamples>(config.manifest);
}

DataOrder::DataOrder(int64_t size, uint64_t seed) : size_(size), seed_(seed) {
  require(size >= 1, "data order: no samples");
  shuffle();
}

void DataOrder::shuffle() {
  c10::InferenceMode guard(false);
  at::Generator g = at::detail::createCPUGenerator(seed_ * 1000003u + static_cast<uint64_t>(epoch_));
  order_ = at::randperm(size_, g, at::kLong);
}

int64_t DataOrder::next() {
  if (cursor_ == size_) seek(epoch_ + 1, 0);
  return order_[cursor_++].item<int64_t>();
}

void DataOrder::seek(int64_t epoch, int64_t cursor) {
  require(epoch >= 0 && cursor >= 0 && cursor <= size_, "data position (epoch {}, sample {}) is outside the {} samples",
          epoch, cursor, size_);
  if (epoch != epoch_ || !order_.defined()) {
    epoch_ = epoch;
    shuffle();
  }
  cursor_ = cursor;
}

}  // namespace osp::train
