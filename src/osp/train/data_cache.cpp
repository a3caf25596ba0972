#include "osp/train/data_cache.h"

#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include "osp/core/error.h"
#include "osp/core/log.h"
#include "osp/core/precision.h"
#include "osp/core/progress.h"
#include "osp/core/runtime.h"
#include "osp/core/shape.h"
#include "osp/io/safetensors_writer.h"
#include "osp/models/t5/loader.h"
#include "osp/models/t5/text_encoding.h"
#include "osp/models/t5/tokenizer.h"
#include "osp/models/vae/codec.h"
#include "osp/models/vae/loader.h"
#include "osp/io/atomic_file.h"
#include "osp/train/manifest.h"

namespace osp::train {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::optional<std::string> optional_path(const std::string& path) {
  return path.empty() ? std::nullopt : std::optional<std::string>(path);
}

// The models a cache run needs, loaded once.
struct Encoders {
  std::unique_ptr<vae::WanVAE> vae;
  std::unique_ptr<t5::T5Encoder> text;
  std::unique_ptr<t5::Tokenizer> tokenizer;
};

Encoders load_encoders(const DataCacheOptions& o) {
  const c10::Device device = parse_device(o.device);
  Encoders e;
  const auto t5_config = t5::resolve_t5_paths(o.text_encoder, optional_path(o.text_config)).config;
  const int64_t text_len = t5_config ? t5::T5Config::from_file(*t5_config).text_len : t5::T5Config().text_len;
  e.tokenizer = std::make_unique<t5::Tokenizer>(o.tokenizer, text_len);
  e.text = t5::load_t5_encoder(o.text_encoder, optional_path(o.text_config), Precision::parse(o.text_precision), device);
  e.vae = vae::load_vae(o.vae, optional_path(o.vae_config), device);
  return e;
}

// Real context rows [n, d_model] per caption, encoded `batch` captions at a time.
std::vector<at::Tensor> encode_captions(const Encoders& e, const std::vector<std::string>& captions, int64_t batch) {
  std::vector<at::Tensor> rows;
  for (size_t start = 0; start < captions.size(); start += static_cast<size_t>(batch)) {
    const size_t end = std::min(captions.size(), start + static_cast<size_t>(batch));
    const t5::TokenBatch tokens = e.tokenizer->encode({captions.begin() + start, captions.begin() + end});
    const at::Tensor context =
        t5::encode_tokens([&]() -> const t5::T5Encoder& { return *e.text; }, tokens, nullptr).cpu();
    for (size_t i = 0; i < end - start; ++i) {
      rows.push_back(context[static_cast<int64_t>(i)].narrow(0, 0, tokens.lengths[i]).contiguous());
    }
  }
  return rows;
}

// One good sample on its way into a shard.
struct PendingSample {
  const ManifestEntry* entry;
  at::Tensor latents;  // [z, T', h, w]
  Resolution bucket;
};

// Collects samples and writes them as shards; returns the cached manifest lines.
class ShardWriter {
 public:
  ShardWriter(const DataCacheOptions& o, const Encoders& e) : o_(o), e_(e) {}

  void add(PendingSample sample) {
    bytes_ += sample.latents.numel() * 4;
    pending_.push_back(std::move(sample));
    if (static_cast<int64_t>(pending_.size()) >= o_.shard_samples || bytes_ >= o_.shard_bytes) flush();
  }

  void flush() {
    if (pending_.empty()) return;
    std::vector<std::string> captions;
    for (const auto& s : pending_) captions.push_back(s.entry->caption);
    const std::vector<at::Tensor> contexts = encode_captions(e_, captions, o_.text_batch);
    const std::string shard = fmt::format("shards/{:05d}.safetensors", shards_++);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (size_t i = 0; i < pending_.size(); ++i) {
      const PendingSample& s = pending_[i];
      const std::string key = fmt::format("{:06d}", next_index_++);
      tensors.emplace_back(key + "/latents", s.latents);
      tensors.emplace_back(key + "/context", contexts[i]);
      lines_.push_back(cached_line(s, shard, key));
    }
    io::write_safetensors((fs::path(o_.out) / shard).string(), tensors);
    pending_.clear();
    bytes_ = 0;
  }

  int64_t shards() const { return shards_; }
  const std::vector<json>& lines() const { return lines_; }

 private:
  json cached_line(const PendingSample& s, const std::string& shard, const std::string& key) const {
    json line = {{"latents", shard}, {"latents_tensor", key + "/latents"}, {"context", shard},
                 {"context_tensor", key + "/context"}, {"caption", s.entry->caption},
                 {"width", s.bucket.width}, {"height", s.bucket.height}, {"frames", o_.clip.frames},
                 {"source", s.entry->fields.at("video")}};
    // The source line's other fields (the Shapes attributes, …) travel along.
    for (const auto& [k, v] : s.entry->fields.items()) {
      if (!line.contains(k) && k != "video") line[k] = v;
    }
    return line;
  }

  const DataCacheOptions& o_;
  const Encoders& e_;
  std::vector<PendingSample> pending_;
  int64_t bytes_ = 0;
  int64_t shards_ = 0;
  int64_t next_index_ = 0;
  std::vector<json> lines_;
};

json report_json(const DataCacheOptions& o, const DataCacheReport& r) {
  json buckets = json::object(), bad = json::array();
  for (const auto& [res, n] : r.buckets) buckets[resolution_name(res)] = n;
  for (const auto& b : r.bad) bad.push_back({{"line", b.line}, {"video", b.video}, {"reason", b.reason}});
  return {{"manifest", fs::absolute(o.manifest).lexically_normal().string()},
          {"vae", o.vae},
          {"text_encoder", t5::encoder_file_identity(o.text_encoder)},
          {"text_precision", o.text_precision},
          {"tokenizer", o.tokenizer},
          {"frames", o.clip.frames},
          {"fps", o.clip.fps},
          {"size", o.clip.size},
          {"aspect_ratios", o.clip.aspect_ratios},
          {"samples", r.total},
          {"cached", r.cached},
          {"shards", r.shards},
          {"buckets", buckets},
          {"bad", bad}};
}

[[noreturn]] void fail_too_many_bad(const DataCacheOptions& o, const DataCacheReport& r) {
  const BadSample& first = r.bad.front();
  fail_about(o.manifest,
             "{} of {} samples are bad, more than --max-bad-fraction {} allows ({}); first: line {} ({}): {}",
             r.bad.size(), r.total, o.max_bad_fraction, max_bad_samples(o.max_bad_fraction, r.total), first.line,
             first.video, first.reason);
}

}  // namespace

int64_t max_bad_samples(double fraction, int64_t total) {
  // The epsilon absorbs binary rounding of e.g. 0.29 · 100 = 28.999…
  return static_cast<int64_t>(std::floor(fraction * static_cast<double>(total) + 1e-9));
}

void check_data_cache_options(const DataCacheOptions& o) {
  if (!(o.max_bad_fraction >= 0 && o.max_bad_fraction <= 1)) {
    fail_about("--max-bad-fraction", "must be in [0, 1], got {}", o.max_bad_fraction);
  }
  if (o.out.empty()) fail_about("--out", "give the output folder");
  if (o.shard_samples < 1) fail_about("--shard-samples", "must be at least 1, got {}", o.shard_samples);
  if (o.text_batch < 1) fail_about("--text-batch", "must be at least 1, got {}", o.text_batch);
  check_clip_config(o.clip);
  Precision::parse(o.text_precision, "--text-precision");
}

DataCacheReport cache_dataset(const DataCacheOptions& o) {
  check_data_cache_options(o);
  const Manifest manifest = read_manifest(o.manifest);
  for (const ManifestEntry& e : manifest.entries) {
    if (e.cached()) fail_about(fmt::format("{}:{}", o.manifest, e.line), "already a cached sample (\"latents\")");
  }
  const std::vector<Resolution> buckets = resolution_buckets(o.clip.size, o.clip.aspect_ratios);
  const Encoders encoders = load_encoders(o);
  std::error_code ec;
  fs::create_directories(fs::path(o.out) / "shards", ec);
  if (ec) fail_about(o.out, "cannot create the cache folder: {}", ec.message());

  c10::InferenceMode inference;
  DataCacheReport report;
  report.total = static_cast<int64_t>(manifest.entries.size());
  const int64_t tolerated = max_bad_samples(o.max_bad_fraction, report.total);
  ShardWriter shards(o, encoders);
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>("cache", report.total);
  for (const ManifestEntry& entry : manifest.entries) {
    PendingSample sample{&entry, {}, {}};
    try {
      const Resolution source = probe_video_size(entry.video);
      sample.bucket = bucket_for(source.width, source.height, buckets);
      const at::Tensor clip = load_clip(entry.video, o.clip, sample.bucket);
      const at::Tensor video = clip.unsqueeze(0).to(encoders.vae->device());
      sample.latents = vae::encode(*encoders.vae, video).squeeze(0).cpu().contiguous();
    } catch (const osp::Error& e) {
      report.bad.push_back({entry.line, entry.video, e.what()});
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      report.bad.push_back({entry.line, entry.video, what.substr(0, what.find('\n'))});
    }
    if (!sample.latents.defined()) {
      log::warn("skipping {}:{} ({}): {}", o.manifest, entry.line, entry.video, report.bad.back().reason);
      if (static_cast<int64_t>(report.bad.size()) > tolerated) fail_too_many_bad(o, report);
    } else {
      ++report.buckets[sample.bucket];
      ++report.cached;
      shards.add(std::move(sample));
    }
    if (progress) progress->step();
  }
  shards.flush();
  if (progress) progress->finish();
  if (report.cached == 0) {
    fail_about(o.manifest, "no sample could be cached; first: line {} ({}): {}", report.bad[0].line,
               report.bad[0].video, report.bad[0].reason);
  }
  report.shards = shards.shards();

  const std::vector<at::Tensor> null_context = encode_captions(encoders, {""}, 1);
  io::write_safetensors((fs::path(o.out) / "null_context.safetensors").string(), {{"context", null_context[0]}});
  io::write_file_atomically((fs::path(o.out) / "cache.json").string(), report_json(o, report).dump(2) + "\n");
  write_manifest((fs::path(o.out) / "manifest.jsonl").string(), shards.lines());
  return report;
}

}  // namespace osp::train
