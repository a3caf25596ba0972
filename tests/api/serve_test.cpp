// `osp serve`'s HTTP API (src/osp/serve, docs/serve.md) on the shipped tiny model, in process on
// a free port of 127.0.0.1, driven by an HTTP client: a job runs from 202 to done and its video
// downloads whole and by byte range; every malformed request gets a 4xx naming its field while the
// server keeps serving; a full queue answers 429 with Retry-After; queued and running jobs cancel;
// an API key is required when set.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "../integration/lora_fixture.h"
#include "../scratch_dir.h"
#include "osp/serve/http_server.h"
#include "osp/serve/job_queue.h"
#include "osp/serve/job_record.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using osp::serve::HttpServer;
using osp::serve::JobQueue;

// A small, quick video of the tiny model.
const char* const kSmallJob = R"({"prompt": "a red circle moving left on a black background", "width": 32,
                                  "height": 32, "frames": 5, "steps": 3, "seed": 7})";

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pipeline_ = osp::Pipeline::from_pretrained(std::string(OSP_SOURCE_DIR) + "/models/osp-next-tiny").release();
  }
  static void TearDownTestSuite() {
    delete pipeline_;
    pipeline_ = nullptr;
  }

  void start(int64_t queue = 8, const std::string& key = "", const std::string& lora_dir = "",
             osp::serve::Retention retention = {}, const std::string& cors = "") {
    osp::serve::ServerOptions options;
    options.cors_origin = cors;
    options.limits.lora_dir = lora_dir;
    jobs_ = std::make_unique<JobQueue>(*pipeline_, (out_.path() / "videos").string(), queue, options.limits,
                                       retention);
    options.port = 0;
    options.api_key = key;
    options.model = "osp-next-tiny";
    server_ = std::make_unique<HttpServer>(options, *jobs_, pipeline_->defaults());
    thread_ = std::thread([this] { server_->listen(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->bound_port());
    for (int i = 0; i < 100 && !client_->Get("/health"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    if (jobs_) jobs_->shut_down(false);
  }

  json post(const std::string& body, int expected_status) {
    const auto res = client_->Post("/v1/videos", body, "application/json");
    EXPECT_TRUE(res) << "no answer to " << body;
    if (!res) return {};
    EXPECT_EQ(res->status, expected_status) << body << " → " << res->body;
    return json::parse(res->body, nullptr, false);
  }
  json status(const std::string& id) {
    const auto res = client_->Get("/v1/videos/" + id);
    EXPECT_TRUE(res && res->status == 200);
    return res ? json::parse(res->body, nullptr, false) : json();
  }
  json wait_until_finished(const std::string& id) {
    for (int i = 0; i < 1200; ++i) {
      const json s = status(id);
      const std::string state = s.value("status", "");
      if (state != "queued" && state != "running") return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  static inline osp::Pipeline* pipeline_ = nullptr;
  osp::test::ScratchDir out_{"osp_serve"};
  std::unique_ptr<JobQueue> jobs_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServeTest, AJobRunsToDoneAndItsVideoDownloadsWholeAndByRange) {
  start();
  const json accepted = post(kSmallJob, 202);
  const std::string id = accepted.value("id", "");
  ASSERT_EQ(id.size(), 16u) << accepted.dump();
  const json done = wait_until_finished(id);
  ASSERT_EQ(done.value("status", ""), "done") << done.dump();
  EXPECT_EQ(done["parameters"]["frames"], 5);
  EXPECT_EQ(done["parameters"]["steps"], 3);
  EXPECT_EQ(done["step"], done["total"]);
  const auto whole = client_->Get("/v1/videos/" + id + "/content");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->get_header_value("Content-Type"), "video/mp4");
  EXPECT_EQ(static_cast<int64_t>(whole->body.size()), done.value("bytes", int64_t{-1}));
  EXPECT_GT(whole->body.size(), 100u);
  const auto part = client_->Get("/v1/videos/" + id + "/content", {{"Range", "bytes=10-49"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, whole->body.substr(10, 40));
  // The last preview (the shipped model has a preview map), the events of a finished job (its
  // final status, then the stream ends) and the metrics.
  const auto preview = client_->Get("/v1/videos/" + id + "/preview");
  ASSERT_TRUE(preview);
  EXPECT_EQ(preview->status, 200);
  EXPECT_EQ(preview->body.substr(1, 3), "PNG");
  const auto events = client_->Get("/v1/videos/" + id + "/events");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->get_header_value("Content-Type"), "text/event-stream");
  ASSERT_EQ(events->body.rfind("data: ", 0), 0u) << events->body;
  EXPECT_EQ(json::parse(events->body.substr(6)).value("status", ""), "done");
  const auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("osp_jobs{state=\"done\"} 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("osp_generation_seconds_count 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("osp_bytes_written_total " + std::to_string(whole->body.size())), std::string::npos);
  // The list and the model; then deleting removes the file.
  const auto list = client_->Get("/v1/videos");
  ASSERT_TRUE(list);
  EXPECT_EQ(json::parse(list->body)["data"].size(), 1u);
  const auto models = client_->Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["defaults"]["width"], pipeline_->defaults().width);
  const auto deleted = client_->Delete("/v1/videos/" + id);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200);
  EXPECT_FALSE(fs::exists(out_.path() / "videos" / (id + ".mp4")));
  EXPECT_EQ(client_->Get("/v1/videos/" + id)->status, 404);
}

// "step_cache" reaches the job (its record shows it) and the job completes.
TEST_F(ServeTest, AStepCacheJobRunsAndKeepsItsThreshold) {
  start();
  const json accepted = post(R"({"prompt": "a red circle", "width": 32, "height": 32, "frames": 5, "steps": 3,
                                 "step_cache": 0.2})",
                             202);
  const json done = wait_until_finished(accepted.value("id", ""));
  ASSERT_EQ(done.value("status", ""), "done") << done.dump();
  EXPECT_DOUBLE_EQ(done["request"].value("step_cache", 0.0), 0.2);
}

TEST_F(ServeTest, MalformedRequestsGetA4xxNamingTheFieldAndTheServerKeepsServing) {
  start();
  const std::vector<std::pair<std::string, std::string>> bad{
      {"{", ""},
      {"[1, 2]", ""},
      {R"({"width": 64})", "prompt"},
      {R"({"prompt": ""})", "prompt"},
      {R"({"prompt": 42})", "prompt"},
      {R"({"prompt": "x", "width": 50})", "width"},
      {R"({"prompt": "x", "height": 1e300})", "height"},
      {R"({"prompt": "x", "width": 99999999999999999999})", "width"},
      {R"({"prompt": "x", "frames": 6})", "frames"},
      {R"({"prompt": "x", "frames": -3})", "frames"},
      {R"({"prompt": "x", "steps": 0})", "steps"},
      {R"({"prompt": "x", "guidance": "high"})", "guidance"},
      {R"({"prompt": "x", "shift": -1})", "shift"},
      {R"({"prompt": "x", "sampler": "ddim"})", "sampler"},
      {R"({"prompt": "x", "seed": -1})", "seed"},
      {R"({"prompt": "x", "format": "../../etc/passwd"})", "format"},
      {R"({"prompt": "x", "loras": [{"name": "a"}]})", "loras"},
      {R"({"prompt": "x", "colour": "red"})", "colour"},
      {R"({"prompt": "x", "step_cache": -0.1})", "step_cache"},
      {R"({"prompt": "x", "step_cache": "on"})", "step_cache"},
      {"{\"prompt\": \"\xff\xfe\"}", ""},
      {R"({"prompt": ")" + std::string(5000, 'a') + R"("})", "prompt"},
  };
  for (const auto& [body, field] : bad) {
    const json error = post(body, 400);
    EXPECT_EQ(error["error"].value("field", ""), field) << body;
    EXPECT_FALSE(error["error"].value("message", "").empty()) << body;
  }
  // Bodies over the limit, unknown ids, path traversal and unknown routes.
  EXPECT_EQ(client_->Post("/v1/videos", std::string(100 * 1024, ' '), "application/json")->status, 413);
  EXPECT_EQ(client_->Get("/v1/videos/0123456789abcdef")->status, 404);
  EXPECT_EQ(client_->Get("/v1/videos/..%2F..%2Fetc%2Fpasswd/content")->status, 404);
  EXPECT_EQ(client_->Get("/v1/videos/../../etc/passwd")->status, 404);
  EXPECT_EQ(client_->Get("/nothing")->status, 404);
  // Nothing was queued, no file appeared, and the server still answers.
  EXPECT_EQ(jobs_->list().size(), 0u);
  EXPECT_FALSE(fs::exists(out_.path() / "videos") && !fs::is_empty(out_.path() / "videos"));
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

TEST_F(ServeTest, AFullQueueAnswers429AndJobsCancelQueuedOrRunning) {
  start(/*queue=*/1);
  // A long job runs, a second waits (the queue's one place), a third is refused.
  const json running = post(R"({"prompt": "a blue square moving up on a white background", "steps": 200})", 202);
  const std::string a = running.value("id", "");
  for (int i = 0; i < 200 && status(a).value("status", "") != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const json queued = post(kSmallJob, 202);
  EXPECT_EQ(queued.value("queue_position", 0), 1);
  const auto full = client_->Post("/v1/videos", kSmallJob, "application/json");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 429);
  EXPECT_GE(std::stoi(full->get_header_value("Retry-After")), 1);
  // Cancelling the queued job drops it; cancelling the running one stops it at its next step.
  const auto dropped = client_->Delete("/v1/videos/" + queued.value("id", ""));
  ASSERT_TRUE(dropped);
  EXPECT_EQ(json::parse(dropped->body).value("status", ""), "cancelled");
  ASSERT_TRUE(client_->Delete("/v1/videos/" + a));
  const json ended = wait_until_finished(a);
  EXPECT_EQ(ended.value("status", ""), "cancelled") << ended.dump();
  EXPECT_LT(ended.value("step", 0), 200) << "the running job stopped before its last step";
  // The queue is free again.
  post(kSmallJob, 202);
}

TEST_F(ServeTest, ARestartKeepsFinishedJobsAndReportsInterruptedOnesFailed) {
  start();
  const std::string id = post(kSmallJob, 202).value("id", "");
  ASSERT_EQ(wait_until_finished(id).value("status", ""), "done");
  TearDown();
  // What a server killed mid-run leaves: a running job's record; and a file that is no record.
  const std::string dir = (out_.path() / "videos").string();
  osp::serve::JobRecord interrupted;
  interrupted.job.id = "00000000000000aa";
  interrupted.job.status = osp::serve::JobStatus::kRunning;
  interrupted.job.request = osp::serve::parse_video_request(kSmallJob);
  interrupted.created_unix_s = 1e10;
  osp::serve::write_record(dir, interrupted);
  std::ofstream(fs::path(dir) / "garbage.json") << "{\"id\": \"../../x\", \"status\": \"done\"}";
  server_.reset();
  jobs_.reset();
  start();
  const auto list = json::parse(client_->Get("/v1/videos")->body)["data"];
  ASSERT_EQ(list.size(), 2u) << list.dump();
  EXPECT_EQ(list[0].value("id", ""), "00000000000000aa");  // newest first
  EXPECT_EQ(list[0].value("status", ""), "failed");
  EXPECT_EQ(list[0].value("error", ""), "server restarted");
  EXPECT_EQ(list[1].value("id", ""), id);
  EXPECT_EQ(list[1].value("status", ""), "done");
  EXPECT_EQ(client_->Get("/v1/videos/" + id + "/content")->status, 200);
}

TEST_F(ServeTest, LorasAreNamedFromTheAllowListedFolderOnly) {
  const fs::path loras = out_.path() / "loras";
  fs::create_directories(loras);
  const std::string dit = std::string(OSP_SOURCE_DIR) + "/models/osp-next-tiny/dit/diffusion_pytorch_model.safetensors";
  osp::io::write_lora_file((loras / "style.safetensors").string(), osp::test::random_bundle_lora(dit, 4, 3));
  std::ofstream(out_.path() / "outside.safetensors") << "not a lora";
  start(8, "", loras.string());
  const auto models = json::parse(client_->Get("/v1/models")->body);
  EXPECT_EQ(models["data"][0]["loras"], json::array({"style"}));
  const std::string plain = post(kSmallJob, 202).value("id", "");
  json with_lora = json::parse(kSmallJob);
  with_lora["loras"] = {{{"name", "style"}, {"scale", 1.5}}};
  const std::string styled = post(with_lora.dump(), 202).value("id", "");
  ASSERT_EQ(wait_until_finished(plain).value("status", ""), "done");
  const json done = wait_until_finished(styled);
  ASSERT_EQ(done.value("status", ""), "done") << done.dump();
  EXPECT_EQ(done["request"]["loras"][0]["name"], "style");
  EXPECT_NE(client_->Get("/v1/videos/" + plain + "/content")->body, client_->Get("/v1/videos/" + styled + "/content")->body);
  for (const std::string name : {"../outside", "nope", "a/b", "..", "style.safetensors", ""}) {
    json bad = json::parse(kSmallJob);
    bad["loras"] = {{{"name", name}}};
    EXPECT_EQ(post(bad.dump(), 400)["error"].value("field", ""), "loras") << name;
  }
  json bad_scale = json::parse(kSmallJob);
  bad_scale["loras"] = {{{"name", "style"}, {"scale", "strong"}}};
  EXPECT_EQ(post(bad_scale.dump(), 400)["error"].value("field", ""), "loras");
}

TEST_F(ServeTest, RetentionKeepsTheNewestFinishedJobs) {
  osp::serve::Retention keep_one;
  keep_one.keep = 1;
  start(8, "", "", keep_one);
  const std::string first = post(kSmallJob, 202).value("id", "");
  ASSERT_EQ(wait_until_finished(first).value("status", ""), "done");
  EXPECT_TRUE(fs::exists(out_.path() / "videos" / (first + ".mp4")));
  const std::string second = post(kSmallJob, 202).value("id", "");
  ASSERT_EQ(wait_until_finished(second).value("status", ""), "done");
  EXPECT_EQ(client_->Get("/v1/videos/" + first)->status, 404);
  EXPECT_FALSE(fs::exists(out_.path() / "videos" / (first + ".mp4")));
  EXPECT_FALSE(fs::exists(out_.path() / "videos" / (first + ".json")));
  EXPECT_EQ(client_->Get("/v1/videos/" + second + "/content")->status, 200);
}

TEST_F(ServeTest, CorsIsOffUnlessAnOriginIsConfigured) {
  start();
  EXPECT_FALSE(client_->Get("/health")->has_header("Access-Control-Allow-Origin"));
  TearDown();
  server_.reset();
  jobs_.reset();
  start(8, "", "", {}, "https://example.org");
  EXPECT_EQ(client_->Get("/health")->get_header_value("Access-Control-Allow-Origin"), "https://example.org");
  const auto preflight = client_->Options("/v1/videos");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
}

TEST_F(ServeTest, AnApiKeyIsRequiredWhenSet) {
  start(8, "s3cret");
  EXPECT_EQ(client_->Get("/v1/videos")->status, 401);
  EXPECT_EQ(client_->Get("/v1/videos", {{"Authorization", "Bearer wrong!"}})->status, 401);
  EXPECT_EQ(client_->Get("/v1/videos", {{"Authorization", "Bearer s3cret"}})->status, 200);
  EXPECT_EQ(client_->Get("/health")->status, 200);  // health needs no key
}

}  // namespace
