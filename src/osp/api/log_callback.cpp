// osp::set_log_callback (include/osp/pipeline.h): the engine logs through spdlog's default logger
// (core/log.h); a library user gets the messages through a sink that calls their function.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "osp/api/error_category.h"
#include "osp/core/log.h"
#include "osp/pipeline.h"

namespace osp {
namespace {

class CallbackSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(LogCallback callback) : callback_(std::move(callback)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    callback_(std::string(level.data(), level.size()), std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogCallback callback_;
};

}  // namespace

void set_log_callback(LogCallback callback, const std::string& level) {
  api::with_category(ErrorCategory::kBadInput, [&] { log::set_level(level); });
  std::shared_ptr<spdlog::logger> logger;
  if (callback) {
    logger = std::make_shared<spdlog::logger>("osp", std::make_shared<CallbackSink>(std::move(callback)));
  } else {
    logger = std::make_shared<spdlog::logger>("osp", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_pattern("[%H:%M:%S.%e] %^%l%$ %v");
  }
  logger->set_level(spdlog::get_level());
  spdlog::set_default_logger(logger);
}

}  // namespace osp
