#include "osp/train/train_checkpoint.h"

#include <ATen/core/grad_mode.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>

#include "osp/core/error.h"
#include "osp/core/shape.h"
#include "osp/io/atomic_file.h"
#include "osp/io/safetensors_writer.h"
#include "osp/io/tensor_source.h"

namespace osp::train {
namespace {

namespace fs = std::filesystem;

std::string step_folder_name(int64_t step) { return fmt::format("step-{:08d}", step); }

NamedTensors contiguous_cpu(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().to(at::kCPU).contiguous());
  return out;
}

NamedTensors read_all(const std::string& file) {
  const auto source = io::open_tensor_source(file);
  NamedTensors out;
  for (const auto& name : source->names()) out.emplace_back(name, source->load(name));
  return out;
}

bool is_checkpoint(const fs::path& dir) { return fs::exists(dir / "state.json"); }

// The checkpoint folder `path` names: itself, or the newest step-* inside it or its checkpoints/.
fs::path find_checkpoint(const std::string& path) {
  const fs::path p(path);
  if (!fs::is_directory(p)) fail_about(path, "no such checkpoint folder");
  if (is_checkpoint(p)) return p;
  for (const fs::path& dir : {p / "checkpoints", p}) {
    if (!fs::is_directory(dir)) continue;
    std::optional<fs::path> latest;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos &&
          is_checkpoint(entry.path()) && (!latest || name > latest->filename().string())) {
        latest = entry.path();
      }
    }
    if (latest) return *latest;
  }
  fail_about(path, "holds no checkpoint (no state.json, no checkpoints/step-* folder)");
}

}  // namespace

void copy_by_name(const NamedTensors& from, const std::string& name, const at::Tensor& into, const std::string& what) {
  for (const auto& [key, value] : from) {
    if (key != name) continue;
    if (!value.sizes().equals(into.sizes())) {
      fail_about(name, "{} has shape {}, expected {}", what, shape_string(value.sizes()), shape_string(into.sizes()));
    }
    at::NoGradGuard no_grad;
    into.detach().copy_(value);
    return;
  }
  fail_about(name, "{} is missing from the checkpoint", what);
}

std::string save_checkpoint(const std::string& output_dir, const TrainCheckpoint& c) {
  const fs::path root = fs::path(output_dir) / "checkpoints";
  const fs::path final_dir = root / step_folder_name(c.step);
  const fs::path tmp_dir = root / (step_folder_name(c.step) + ".tmp." + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  fs::create_directories(tmp_dir, ec);
  if (ec) fail_about(tmp_dir.string(), "cannot create the checkpoint folder: {}", ec.message());

  io::write_safetensors((tmp_dir / "model.safetensors").string(), contiguous_cpu(c.model));
  io::write_safetensors((tmp_dir / "ema.safetensors").string(), contiguous_cpu(c.ema));
  io::write_safetensors((tmp_dir / "optimizer.safetensors").string(), contiguous_cpu(c.optimizer));
  io::write_file_atomically((tmp_dir / "config.json").string(), c.model_config.dump(2) + "\n");
  const nlohmann::json state = {{"step", c.step},
                                {"data", {{"epoch", c.data_epoch}, {"cursor", c.data_cursor}}},
                                {"rng", {{"seed", c.seed}, {"samples_drawn", c.samples_drawn}}}};
  io::write_file_atomically((tmp_dir / "state.json").string(), state.dump(2) + "\n");
  for (const auto& [name, contents] : c.extra_files) io::write_file_atomically((tmp_dir / name).string(), contents);

  // Replace an older copy of the same step (a rerun), then rename the finished folder into place.
  fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) fail_about(final_dir.string(), "cannot move the checkpoint into place: {}", ec.message());
  io::sync_parent_directory(final_dir.string());
  return final_dir.string();
}

TrainCheckpoint load_checkpoint(const std::string& path) {
  const fs::path dir = find_checkpoint(path);
  TrainCheckpoint c;
  try {
    std::ifstream in(dir / "state.json");
    const nlohmann::json state = nlohmann::json::parse(in);
    c.step = state.at("step").get<int64_t>();
    c.data_epoch = state.at("data").at("epoch").get<int64_t>();
    c.data_cursor = state.at("data").at("cursor").get<int64_t>();
    c.seed = state.at("rng").at("seed").get<uint64_t>();
    c.samples_drawn = state.at("rng").at("samples_drawn").get<int64_t>();
    std::ifstream config(dir / "config.json");
    c.model_config = nlohmann::json::parse(config);
  } catch (const nlohmann::json::exception& e) {
    fail_about(dir.string(), "broken checkpoint state (state.json / config.json): {}", e.what());
  }
  c.model = read_all((dir / "model.safetensors").string());
  c.ema = read_all((dir / "ema.safetensors").string());
  c.optimizer = read_all((dir / "optimizer.safetensors").string());
  // Files an objective added (small JSON files beside the standard ones).
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() != ".json" || name == "config.json" || name == "state.json") {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    c.extra_files[name] = text.str();
  }
  return c;
}

}  // namespace osp::train
