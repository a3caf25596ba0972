// The C API (include/osp/osp.h) over the C++ one (include/osp/pipeline.h): every entry point
// catches everything, records the message for osp_last_error() and returns a status, because a C
// caller cannot catch a C++ exception.
#include "osp/osp.h"

#include <cmath>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "osp/api/error_category.h"
#include "osp/pipeline.h"

struct osp_pipeline {
  std::unique_ptr<osp::Pipeline> pipeline;
};

struct osp_video {
  osp::Video video;
  std::string info_json;  // osp_video_info_json's text
};

struct osp_cancel {
  osp::CancelToken token;
};

namespace {

thread_local std::string last_error;

osp_status status_of(osp::ErrorCategory category) {
  switch (category) {
    case osp::ErrorCategory::kBadInput: return OSP_ERR_BAD_INPUT;
    case osp::ErrorCategory::kBadFile: return OSP_ERR_BAD_FILE;
    case osp::ErrorCategory::kUnsupported: return OSP_ERR_UNSUPPORTED;
    case osp::ErrorCategory::kOutOfMemory: return OSP_ERR_OUT_OF_MEMORY;
    case osp::ErrorCategory::kCancelled: return OSP_ERR_CANCELLED;
    case osp::ErrorCategory::kInternal: return OSP_ERR_INTERNAL;
  }
  return OSP_ERR_INTERNAL;
}

osp_status fail(osp_status status, const std::string& message) {
  last_error = message;
  return status;
}

// Runs `work` and turns whatever it throws into a status and a last error (the C++ API's
// categories: api::with_category sorts anything uncategorized).
template <typename Work>
osp_status guarded(Work&& work) noexcept {
  try {
    last_error.clear();
    osp::api::with_category(osp::ErrorCategory::kBadInput, work);
    return OSP_OK;
  } catch (const osp::api::CategorizedError& e) {
    return fail(status_of(e.category()), e.what());
  } catch (...) {
    return fail(OSP_ERR_INTERNAL, "unknown error");
  }
}

void require(bool ok, const std::string& what) {
  if (!ok) throw osp::api::CategorizedError(osp::ErrorCategory::kBadInput, what);
}

std::string text_or(const char* text, const char* fallback) { return text != nullptr ? text : fallback; }

// `count` adapters from a struct's parallel arrays (scales NULL: 1 each); `owner` names the struct.
std::vector<osp::LoraRequest> loras_of(const char* const* paths, const double* scales, int count, const char* owner) {
  require(count >= 0, std::string(owner) + ".lora_count is negative");
  require(count == 0 || paths != nullptr, std::string(owner) + ".lora_paths is NULL");
  std::vector<osp::LoraRequest> loras;
  for (int i = 0; i < count; ++i) {
    require(paths[i] != nullptr, std::string("a ") + owner + ".lora_paths entry is NULL");
    loras.push_back({paths[i], scales != nullptr ? scales[i] : 1.0});
  }
  return loras;
}

// A C string field as an optional path (NULL: unset).
std::optional<std::string> optional_text(const char* text) {
  return text != nullptr ? std::optional<std::string>(text) : std::nullopt;
}

osp::Request request_of(const osp_request& r) {
  require(r.prompt != nullptr, "request.prompt is NULL");
  osp::Request request;
  request.prompt = r.prompt;
  if (r.negative_prompt != nullptr) request.negative_prompt = r.negative_prompt;
  // Negative: the model's default; anything else goes to the request's range checks.
  const auto set_if_given = [](std::optional<int64_t>& field, int64_t value) {
    if (value >= 0) field = value;
  };
  set_if_given(request.width, r.width);
  set_if_given(request.height, r.height);
  set_if_given(request.frames, r.frames);
  set_if_given(request.steps, r.steps);
  set_if_given(request.fps, r.fps);
  require(!std::isnan(r.shift) && !std::isnan(r.guidance), "request.shift or request.guidance is NaN");
  if (r.shift >= 0) request.shift = r.shift;
  if (r.guidance >= 0) request.guidance = r.guidance;
  if (r.sampler != nullptr) request.sampler = r.sampler;
  request.seed = r.seed;
  require(!std::isnan(r.step_cache) && r.step_cache >= 0, "request.step_cache must be 0 (off) or a positive threshold");
  if (r.step_cache > 0) request.step_cache = r.step_cache;
  request.loras = loras_of(r.lora_paths, r.lora_scales, r.lora_count, "request");
  return request;
}

std::string info_json_of(const osp::Video& video) {
  const osp::Parameters& p = video.parameters;
  const osp::StageSeconds& s = video.seconds;
  const nlohmann::json info = {
      {"prompt", video.prompt},
      {"seed", video.seed},
      {"parameters", {{"width", p.width}, {"height", p.height}, {"frames", p.frames}, {"steps", p.steps},
                      {"fps", p.fps}, {"shift", p.shift}, {"guidance", p.guidance}, {"sampler", p.sampler},
                      {"negative_prompt", p.negative_prompt}}},
      {"seconds", {{"load", s.load}, {"text", s.text}, {"sampling", s.sampling}, {"decode", s.decode}}}};
  // Prompts are checked UTF-8 before generation; `replace` keeps the dump from ever throwing anyway.
  return info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" {

const char* osp_version(void) { return "0.1.0"; }

const char* osp_last_error(void) { return last_error.c_str(); }

const char* osp_status_name(osp_status status) {
  if (status == OSP_OK) return "ok";
  if (status < OSP_OK || status > OSP_ERR_INTERNAL) return "unknown";
  return osp::category_name(static_cast<osp::ErrorCategory>(status - 1));
}

osp_status osp_set_log_callback(osp_log_fn fn, void* user, const char* level) {
  return guarded([&] {
    osp::LogCallback callback;
    if (fn != nullptr) {
      callback = [fn, user](const std::string& l, const std::string& message) { fn(l.c_str(), message.c_str(), user); };
    }
    osp::set_log_callback(std::move(callback), level != nullptr ? level : "info");
  });
}

osp_load_params osp_load_default_params(void) {
  osp_load_params p{};
  p.device = "cpu";
  p.precision = "bf16";
  p.quant = "";
  return p;
}

osp_status osp_pipeline_load(const char* path, const osp_load_params* params, osp_pipeline** out) {
  return guarded([&] {
    require(out != nullptr, "out is NULL");
    *out = nullptr;
    require(path != nullptr, "path is NULL");
    const osp_load_params p = params != nullptr ? *params : osp_load_default_params();
    osp::LoadOptions options;
    options.device = text_or(p.device, "cpu");
    options.precision = text_or(p.precision, "bf16");
    options.quant = text_or(p.quant, "");
    options.memory = p.per_stage != 0 ? osp::MemoryPolicy::kPerStage : osp::MemoryPolicy::kResident;
    options.threads = p.threads;
    options.components.dit = optional_text(p.dit);
    options.components.dit_config = optional_text(p.dit_config);
    options.components.text_encoder = optional_text(p.text_encoder);
    options.components.text_encoder_config = optional_text(p.text_encoder_config);
    options.components.tokenizer = optional_text(p.tokenizer);
    options.components.vae = optional_text(p.vae);
    options.components.vae_config = optional_text(p.vae_config);
    options.loras = loras_of(p.lora_paths, p.lora_scales, p.lora_count, "params");
    options.lora_mode = text_or(p.lora_mode, "merged");
    auto pipeline = std::make_unique<osp_pipeline>();
    pipeline->pipeline = osp::Pipeline::from_pretrained(path, options);
    *out = pipeline.release();
  });
}

void osp_pipeline_free(osp_pipeline* pipeline) { delete pipeline; }

int64_t osp_pipeline_component_loads(const osp_pipeline* pipeline) {
  return pipeline != nullptr ? pipeline->pipeline->component_loads() : 0;
}

osp_request osp_request_default_params(void) {
  osp_request r{};
  r.width = r.height = r.frames = r.steps = r.fps = -1;
  r.shift = -1;
  r.guidance = -1;
  r.seed = 1024;
  return r;
}

osp_cancel* osp_cancel_new(void) { return new (std::nothrow) osp_cancel(); }
void osp_cancel_set(osp_cancel* cancel) {
  if (cancel != nullptr) cancel->token.cancel();
}
void osp_cancel_free(osp_cancel* cancel) { delete cancel; }

osp_status osp_generate(osp_pipeline* pipeline, const osp_request* request, osp_progress_fn progress, void* user,
                        const osp_cancel* cancel, osp_video** out) {
  return guarded([&] {
    require(out != nullptr, "out is NULL");
    *out = nullptr;
    require(pipeline != nullptr, "pipeline is NULL");
    require(request != nullptr, "request is NULL");
    osp::Callbacks callbacks;
    if (progress != nullptr) {
      callbacks.on_progress = [progress, user](const osp::ProgressEvent& e) {
        progress(e.stage.c_str(), e.step, e.total, e.elapsed, user);
      };
    }
    auto video = std::make_unique<osp_video>();
    video->video = pipeline->pipeline->generate(request_of(*request), callbacks,
                                                cancel != nullptr ? &cancel->token : nullptr);
    video->video.frames = video->video.frames.contiguous();
    video->info_json = info_json_of(video->video);
    *out = video.release();
  });
}

const uint8_t* osp_video_data(const osp_video* video) {
  return video != nullptr ? video->video.frames.data_ptr<uint8_t>() : nullptr;
}
int64_t osp_video_frames(const osp_video* video) { return video != nullptr ? video->video.frames.size(0) : 0; }
int64_t osp_video_height(const osp_video* video) { return video != nullptr ? video->video.frames.size(1) : 0; }
int64_t osp_video_width(const osp_video* video) { return video != nullptr ? video->video.frames.size(2) : 0; }
double osp_video_fps(const osp_video* video) { return video != nullptr ? video->video.fps : 0; }

const char* osp_video_info_json(const osp_video* video) { return video != nullptr ? video->info_json.c_str() : ""; }

osp_status osp_video_write(const osp_video* video, const char* path) {
  return guarded([&] {
    require(video != nullptr, "video is NULL");
    require(path != nullptr, "path is NULL");
    osp::write_video(video->video, path);
  });
}

void osp_video_free(osp_video* video) { delete video; }

}  // extern "C"
