// Rewards of RL (rl/reward, rl/command_reward, rl/http_reward): the files a RewardVideo writes,
// the weighted sum, scorer responses, and the external scorers of scripts/ (reward_brightness.py,
// reward_server.py) answering, misbehaving and timing out — always an osp::Error, never a hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "expect_error.h"
#include "osp/core/error.h"
#include "osp/io/video_reader.h"
#include "osp/parallel/spawn.h"
#include "osp/rl/command_reward.h"
#include "osp/rl/http_reward.h"
#include "osp/rl/local_url.h"
#include "osp/rl/reward.h"
#include "osp/rl/shell_process.h"
#include "osp/rl/timed_io.h"
#include "scratch_dir.h"

namespace {

using namespace osp::rl;
using osp::test::expect_error;
using osp::test::ScratchDir;

const std::string kPython = "/usr/bin/python3";

std::string script_command(const std::string& script, const std::string& flags = "") {
  return kPython + " " + OSP_SOURCE_DIR + "/scripts/" + script + (flags.empty() ? "" : " " + flags);
}

std::string brightness_command(const std::string& flags = "") { return script_command("reward_brightness.py", flags); }

// Frames [T, H, W, 3] from −0.1 to 1.1 (some clipped at both ends), shifted by `offset`.
at::Tensor test_frames(int64_t t = 3, int64_t h = 16, int64_t w = 16, double offset = 0) {
  return at::linspace(-0.1 + offset, 1.1 + offset, t * h * w * 3, at::kFloat).view({t, h, w, 3});
}

// The uint8 rule of reward.h, written out: clip(255·x) truncated, in float32 as the frames are.
std::vector<uint8_t> expected_bytes(const at::Tensor& frames) {
  const at::Tensor flat = frames.contiguous().view(-1);
  std::vector<uint8_t> bytes;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const float scaled = 255.0f * flat.data_ptr<float>()[i];
    bytes.push_back(static_cast<uint8_t>(std::clamp(scaled, 0.0f, 255.0f)));
  }
  return bytes;
}

double expected_brightness(const at::Tensor& frames) {
  const std::vector<uint8_t> bytes = expected_bytes(frames);
  double sum = 0;
  for (uint8_t b : bytes) sum += b;
  return sum / (255.0 * static_cast<double>(bytes.size()));
}

std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ScorerOptions limits(double timeout_s, std::size_t max_response_bytes = ScorerOptions().max_response_bytes) {
  ScorerOptions options;
  options.timeout_s = timeout_s;
  options.max_response_bytes = max_response_bytes;
  return options;
}

// A term with a fixed answer, or one that throws.
class FixedTerm : public RewardTerm {
 public:
  explicit FixedTerm(double value, std::map<std::string, double> terms = {}) : value_(value), terms_(std::move(terms)) {}
  static std::unique_ptr<FixedTerm> throwing(std::string message) {
    auto term = std::make_unique<FixedTerm>(0);
    term->throws_ = std::move(message);
    return term;
  }
  std::string describe() const override { return "fixed scorer"; }
  RewardScore score(RewardVideo&) override {
    if (!throws_.empty()) throw std::runtime_error(throws_);
    return {value_, terms_};
  }

 private:
  double value_;
  std::map<std::string, double> terms_;
  std::string throws_;
};

// reward_server.py on a free port of 127.0.0.1, stopped (killed) at the end of the test.
class ScorerServer {
 public:
  explicit ScorerServer(const std::string& flags = "")
      : process_("exec " + script_command("reward_server.py", "--port 0 " + flags)) {
    TimedReader reader(process_.output(), "reward_server.py");
    const std::optional<std::string> port = reader.read_until("\n", 100, Deadline(60));
    if (!port) throw osp::Error("reward_server.py exited before printing its port");
    port_ = *port;
  }
  ~ScorerServer() { process_.stop(std::chrono::milliseconds(0)); }
  std::string url(const std::string& host = "127.0.0.1") const { return "http://" + host + ":" + port_ + "/score"; }

 private:
  ShellProcess process_;
  std::string port_;
};

class RlRewardVideo : public ::testing::Test {
 protected:
  ScratchDir dir_{"osp_rl_reward"};
  std::string scratch() const { return dir_ / "scratch"; }
};

TEST_F(RlRewardVideo, RawFileHoldsTheUint8FramesAndIsWrittenOnce) {
  const at::Tensor frames = test_frames(3, 16, 24);
  RewardVideo video(frames, "a red ball", 16.0, scratch(), 7);
  const std::string raw = video.raw_path();
  EXPECT_EQ(std::filesystem::path(raw).filename(), "video-7.rgb");
  const std::string bytes = file_contents(raw);
  ASSERT_EQ(bytes.size(), 3u * 16 * 24 * 3);
  const std::vector<uint8_t> expected = expected_bytes(frames);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), reinterpret_cast<const uint8_t*>(bytes.data())));
  EXPECT_EQ(expected.front(), 0);
  EXPECT_EQ(expected.back(), 255);
  EXPECT_EQ(&video.raw_path(), &video.raw_path());
  EXPECT_EQ(video.raw_path(), raw);
}

TEST_F(RlRewardVideo, Mp4ReadsBackWithTheFramesSizeAndFps) {
  const at::Tensor frames = test_frames(5, 32, 48);
  RewardVideo video(frames, "a red ball", 12.0, scratch(), 3);
  const osp::io::Video back = osp::io::read_video(video.mp4_path());
  EXPECT_EQ(std::filesystem::path(video.mp4_path()).filename(), "video-3.mp4");
  ASSERT_EQ(back.frames.sizes(), (std::vector<int64_t>{3, 5, 32, 48}));
  EXPECT_DOUBLE_EQ(back.fps, 12.0);
  const at::Tensor original = frames.clamp(0, 1).permute({3, 0, 1, 2}) * 2 - 1;
  EXPECT_LT((back.frames - original).abs().mean().item<double>(), 0.03);
}

TEST_F(RlRewardVideo, BadFramesAreErrors) {
  expect_error([&] { RewardVideo(at::zeros({3, 8, 8}), "p", 16, scratch(), 0); }, {"[T, H, W, 3]", "p"});
  expect_error([&] { RewardVideo(at::zeros({1, 8, 8, 3}, at::kDouble), "p", 16, scratch(), 0); }, {"float32"});
  expect_error([&] { RewardVideo(at::full({1, 8, 8, 3}, NAN), "p", 16, scratch(), 0); }, {"not finite"});
  expect_error([&] { RewardVideo(at::zeros({1, 8, 8, 3}), "p", 0, scratch(), 0); }, {"fps"});
}

TEST_F(RlRewardVideo, RequestNamesEveryField) {
  RewardVideo video(test_frames(2, 8, 10), "a \"quoted\" prompt", 16.0, scratch(), 42);
  const nlohmann::json request = nlohmann::json::parse(scorer_request_text(video));
  EXPECT_EQ(request["id"], 42);
  EXPECT_EQ(request["prompt"], "a \"quoted\" prompt");
  EXPECT_EQ(request["video"], video.mp4_path());
  EXPECT_EQ(request["frames_raw"], video.raw_path());
  EXPECT_EQ(request["frames"], 2);
  EXPECT_EQ(request["height"], 8);
  EXPECT_EQ(request["width"], 10);
  EXPECT_EQ(request["fps"], 16.0);
}

TEST_F(RlRewardVideo, WeightedSumReportsEveryTermAndSubScore) {
  Reward reward;
  EXPECT_TRUE(reward.empty());
  reward.add("aesthetic", 2.0, std::make_unique<FixedTerm>(0.5, std::map<std::string, double>{{"sharp", 0.9}}));
  reward.add("motion", -1.0, std::make_unique<FixedTerm>(0.25));
  EXPECT_EQ(reward.names(), (std::vector<std::string>{"aesthetic", "motion"}));
  RewardVideo video(test_frames(1, 8, 8), "p", 16, scratch(), 0);
  const RewardScore score = reward.score(video);
  EXPECT_DOUBLE_EQ(score.value, 0.75);
  EXPECT_EQ(score.terms, (std::map<std::string, double>{{"aesthetic", 0.5}, {"aesthetic.sharp", 0.9}, {"motion", 0.25}}));
  expect_error([&] { reward.add("motion", 1.0, std::make_unique<FixedTerm>(0)); }, {"motion", "twice"});
  expect_error([&] { reward.add("x", NAN, std::make_unique<FixedTerm>(0)); }, {"x", "weight"});
}

TEST_F(RlRewardVideo, FailingOrNonFiniteTermNamesTermAndPrompt) {
  RewardVideo video(test_frames(1, 8, 8), "a cat on a skateboard", 16, scratch(), 0);
  Reward throwing;
  throwing.add("judge", 1.0, FixedTerm::throwing("the judge fell over"));
  expect_error([&] { throwing.score(video); }, {"judge", "fixed scorer", "a cat on a skateboard", "fell over"});
  Reward infinite;
  infinite.add("judge", 1.0, std::make_unique<FixedTerm>(INFINITY));
  expect_error([&] { infinite.score(video); }, {"judge", "fixed scorer", "a cat on a skateboard", "non-finite"});
  Reward bad_sub;
  bad_sub.add("judge", 1.0, std::make_unique<FixedTerm>(1, std::map<std::string, double>{{"s", NAN}}));
  expect_error([&] { bad_sub.score(video); }, {"judge", "a cat on a skateboard", "s"});
}

TEST(RlRewardResponse, ReadsRewardAndOptionalTerms) {
  const RewardScore with = parse_scorer_response(R"({"reward": 0.5, "terms": {"a": 1, "b": -2.5}, "x": "y"})", "s");
  EXPECT_EQ(with.value, 0.5);
  EXPECT_EQ(with.terms, (std::map<std::string, double>{{"a", 1}, {"b", -2.5}}));
  EXPECT_TRUE(parse_scorer_response(R"({"reward": -3})", "s").terms.empty());
  EXPECT_EQ(parse_scorer_response(R"({"id": 9, "reward": 1})", "s", 9).value, 1);
  EXPECT_EQ(parse_scorer_response(R"({"reward": 1})", "s", 9).value, 1);
}

TEST(RlRewardResponse, BadResponsesNameTheScorer) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "malformed JSON"},
      {"", "malformed JSON"},
      {R"({"reward": NaN})", "malformed JSON"},
      {"[1, 2]", "not an object"},
      {"0.5", "not an object"},
      {"{}", "no \"reward\""},
      {R"({"reward": "0.5"})", "not a number"},
      {R"({"reward": null})", "not a number"},
      {R"({"reward": true})", "not a number"},
      {R"({"reward": 1e999})", "malformed JSON (number overflow"},
      {R"({"reward": 1, "terms": [1]})", "\"terms\" is not an object"},
      {R"({"reward": 1, "terms": {"a": "high"}})", "terms.a"},
      {R"({"reward": 1, "terms": {"a": -1e999}})", "overflow"},
  };
  for (const auto& [text, why] : cases) {
    expect_error([&] { parse_scorer_response(text, "scorer-x"); }, {"scorer-x", why});
  }
  expect_error([&] { parse_scorer_response(R"({"id": 8, "reward": 1})", "scorer-x", 9); }, {"scorer-x", "id", "9"});
  expect_error([&] { parse_scorer_response(R"({"id": "9", "reward": 1})", "scorer-x", 9); }, {"scorer-x", "id"});
}

class RlRewardCommand : public RlRewardVideo {
 protected:
  RewardVideo video(int64_t serial, double offset = 0) {
    return RewardVideo(test_frames(2, 16, 16, offset), "a red ball", 16, scratch(), serial);
  }
};

TEST_F(RlRewardCommand, BrightnessScorerAnswersTheMeanOfTheUint8Frames) {
  CommandReward scorer(brightness_command());
  EXPECT_EQ(scorer.describe(), "command: " + brightness_command());
  RewardVideo v = video(0);
  const RewardScore score = scorer.score(v);
  EXPECT_NEAR(score.value, expected_brightness(v.frames()), 1e-12);
  ASSERT_EQ(score.terms.count("brightness"), 1u);
  EXPECT_NEAR(score.terms.at("brightness"), score.value, 1e-12);
}

TEST_F(RlRewardCommand, SurvivesManyRequests) {
  Reward reward;
  reward.add("bright", 1.0, std::make_unique<CommandReward>(brightness_command()));
  for (int64_t i = 0; i < 40; ++i) {
    RewardVideo v = video(i, 0.01 * static_cast<double>(i % 7));
    const RewardScore score = reward.score(v);
    EXPECT_NEAR(score.value, expected_brightness(v.frames()), 1e-12) << i;
    EXPECT_NEAR(score.terms.at("bright.brightness"), score.value, 1e-12) << i;
  }
}

TEST_F(RlRewardCommand, CrashIsAnErrorWithItsExitStatusAndStaysOne) {
  const std::string command = brightness_command("--crash-after 2");
  CommandReward scorer(command);
  RewardVideo first = video(0), second = video(1), third = video(2);
  scorer.score(first);
  scorer.score(second);
  expect_error([&] { scorer.score(third); }, {command, "exited with status 3"});
  expect_error([&] { scorer.score(third); }, {command, "earlier failure"});
}

TEST_F(RlRewardCommand, MalformedAnswersAreErrorsNamingTheCommand) {
  for (const std::string flags : {"--garbage", "--nan", "--huge", "--wrong-id"}) {
    const std::string command = brightness_command(flags);
    CommandReward scorer(command);
    RewardVideo v = video(5);
    expect_error([&] { scorer.score(v); }, {command});
  }
}

TEST_F(RlRewardCommand, ErrorThroughRewardNamesTermCommandAndPrompt) {
  Reward reward;
  reward.add("bright", 1.0, std::make_unique<CommandReward>(brightness_command("--garbage")));
  RewardVideo v = video(0);
  expect_error([&] { reward.score(v); }, {"bright", "reward_brightness.py --garbage", "a red ball", "malformed"});
}

TEST_F(RlRewardCommand, HangIsATimeoutNotAHang) {
  const std::string command = brightness_command("--hang");
  const auto start = std::chrono::steady_clock::now();
  {
    CommandReward scorer(command, limits(0.5));
    RewardVideo v = video(0);
    expect_error([&] { scorer.score(v); }, {command, "0.5 s"});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(RlRewardCommand, MissingCommandAndEarlyExitAreErrors) {
  const std::string missing = "/nonexistent/osp-scorer --flag";
  CommandReward scorer(missing);
  RewardVideo v = video(0);
  expect_error([&] { scorer.score(v); }, {missing, "127"});
  CommandReward silent("exit 0");
  expect_error([&] { silent.score(v); }, {"exit 0", "status 0"});
}

TEST_F(RlRewardCommand, OverlongAnswerIsAnError) {
  // It reads the request first: a scorer that exits unread may break the pipe before it answers.
  const std::string command = kPython + " -c \"import sys; sys.stdin.readline(); print('x' * 5000)\"";
  CommandReward scorer(command, limits(30, 1000));
  RewardVideo v = video(0);
  expect_error([&] { scorer.score(v); }, {command, "more than 1000 bytes"});
}

TEST_F(RlRewardCommand, BadOptionsAreErrors) {
  expect_error([] { CommandReward("", {}); }, {"needs a command"});
  expect_error([] { CommandReward("cat", limits(0)); }, {"cat", "timeout"});
}

// Whether `pid` runs (a zombie does not: it waits only to be reaped by whoever adopted it).
bool running(const std::string& pid) {
  const std::string stat = file_contents("/proc/" + pid + "/stat");
  const auto close = stat.rfind(") ");
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

TEST(RlRewardShellProcess, StopKillsWhatTheShellStarted) {
  ShellProcess process("sleep 100 & echo $!; wait");  // a child of the shell, not the shell itself
  TimedReader reader(process.output(), "shell");
  const std::optional<std::string> sleep_pid = reader.read_until("\n", 100, Deadline(30));
  ASSERT_TRUE(sleep_pid);
  EXPECT_TRUE(running(*sleep_pid));
  const auto start = std::chrono::steady_clock::now();
  process.stop(std::chrono::milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  for (int i = 0; i < 500 && running(*sleep_pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(running(*sleep_pid));
}

class RlRewardHttp : public RlRewardCommand {};

TEST_F(RlRewardHttp, ServerScorerAnswersTheSameBrightness) {
  ScorerServer server;
  HttpReward scorer(server.url());
  EXPECT_EQ(scorer.describe(), "http: " + server.url());
  for (int64_t i = 0; i < 5; ++i) {
    RewardVideo v = video(i, 0.02 * static_cast<double>(i));
    const RewardScore score = scorer.score(v);
    EXPECT_NEAR(score.value, expected_brightness(v.frames()), 1e-12) << i;
    EXPECT_NEAR(score.terms.at("brightness"), score.value, 1e-12) << i;
  }
  HttpReward by_name(server.url("localhost"));
  RewardVideo v = video(9);
  EXPECT_NEAR(by_name.score(v).value, expected_brightness(v.frames()), 1e-12);
}

TEST_F(RlRewardHttp, FailuresAreErrorsNamingTheUrl) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--status 500", "500"}, {"--garbage", "malformed JSON"}, {"--nan", "malformed JSON"},
      {"--wrong-id", "id"},    {"--hang", "0.5 s"},
  };
  for (const auto& [flags, why] : cases) {
    ScorerServer server(flags);
    HttpReward scorer(server.url(), limits(0.5));
    RewardVideo v = video(1);
    expect_error([&] { scorer.score(v); }, {server.url(), why});
  }
  ScorerServer server;
  HttpReward tiny_limit(server.url(), limits(30, 10));
  RewardVideo v = video(1);
  expect_error([&] { tiny_limit.score(v); }, {server.url(), "more than the 10 allowed"});
}

TEST_F(RlRewardHttp, NoServerIsAConnectionError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(osp::parallel::free_local_port()) + "/";
  HttpReward scorer(url, limits(5));
  RewardVideo v = video(0);
  expect_error([&] { scorer.score(v); }, {url, "cannot connect"});
}

TEST(RlRewardUrl, LocalUrlsParse) {
  const LocalUrl plain = parse_local_url("http://127.0.0.1");
  EXPECT_EQ(plain.host, "127.0.0.1");
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(plain.path, "/");
  const LocalUrl full = parse_local_url("HTTP://LocalHost:8000/score/v1?model=b");
  EXPECT_EQ(full.host, "localhost");
  EXPECT_EQ(full.port, 8000);
  EXPECT_EQ(full.path, "/score/v1?model=b");
  const LocalUrl v6 = parse_local_url("http://[::1]:65535");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 65535);
  EXPECT_EQ(parse_local_url("http://localhost?q=1").path, "/?q=1");
}

TEST(RlRewardUrl, OtherSchemesHostsAndPortsAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://127.0.0.1/score", "http://"},
      {"ftp://127.0.0.1/", "http://"},
      {"127.0.0.1:8000", "http://"},
      {"http://example.com/score", "this machine"},
      {"http://10.0.0.1:8000/", "this machine"},
      {"http://127.0.0.2/", "this machine"},
      {"http://[::2]:80/", "this machine"},
      {"http://[::1/", "']'"},
      {"http://user@127.0.0.1/", "user info"},
      {"http://127.0.0.1:0/", "1–65535"},
      {"http://127.0.0.1:65536/", "1–65535"},
      {"http://127.0.0.1:/", "1–65535"},
      {"http://127.0.0.1:80a/", "1–65535"},
      {"http://127.0.0.1:-1/", "1–65535"},
      {"http://127.0.0.1/a b", "spaces"},
      {"http://127.0.0.1/#x", "fragment"},
  };
  for (const auto& [url, why] : cases) {
    expect_error([&] { parse_local_url(url); }, {url, why});
    expect_error([&] { HttpReward(url, {}); }, {url});
  }
}

}  // namespace
