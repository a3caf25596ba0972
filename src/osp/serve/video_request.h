#pragma once
// The body of `POST /v1/videos` (docs/serve.md "Submitting a video"): a JSON object whose fields
// are checked one by one — type, range, multiples of 16, 4k + 1 frames, prompt length — before a
// job is queued, so that a bad request is a 400 naming its field and never reaches the pipeline.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "osp/pipeline.h"

namespace osp::serve {

// A request the server refuses: `field` is the JSON field at fault ("" for the body as a whole).
class BadRequest : public std::runtime_error {
 public:
  BadRequest(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

struct VideoRequest {
  Request request;
  std::string format = "mp4";  // mp4 | webm | gif
};

// Limits that keep one request within what a server should accept.
struct RequestLimits {
  int64_t max_prompt_chars = 2000;
  int64_t max_side = 2048;   // width and height, pixels
  int64_t max_frames = 257;
  int64_t max_steps = 200;
  int64_t max_loras = 8;
  // LoRAs a request may name: files <name>.safetensors in this folder (empty: none allowed).
  std::string lora_dir;
};

// The LoRA names `lora_dir` offers (file names without .safetensors), sorted.
std::vector<std::string> available_loras(const std::string& lora_dir);

// Parses and checks `body` (the raw request body). BadRequest naming the field on anything wrong:
// not JSON, not an object, an unknown field, a wrong type, a value out of range.
VideoRequest parse_video_request(const std::string& body, const RequestLimits& limits = {});

// The request's fields as the server reports them back (status and list endpoints).
nlohmann::json request_json(const VideoRequest& request);

// Effective generation parameters as JSON (job status, job records, the model's defaults), and back
// (absent fields stay 0 / empty).
nlohmann::json parameters_json(const Parameters& parameters);
Parameters parameters_from_json(const nlohmann::json& j);

}  // namespace osp::serve
