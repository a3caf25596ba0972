// The shipped default model models/osp-next-tiny (its card: models/osp-next-tiny/README.md): complete, small, bf16, an OSP-Next
// model, and what `osp generate` runs without --model — drawing what the README's prompt asks for.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_osp.h"
#include "../scratch_dir.h"
#include "osp/io/tensor_source.h"
#include "osp/models/dit/config.h"
#include "osp/models/t5/config.h"
#include "osp/models/vae/config.h"
#include "osp/models/vae/latent_preview.h"
#include "osp/pipeline/bundle.h"
#include "osp/pipeline/text_to_video.h"
#include "osp/shapes/measure.h"

namespace {

namespace fs = std::filesystem;
using osp::test::run_osp;

const fs::path kModel = fs::path(OSP_SOURCE_DIR) / "models" / "osp-next-tiny";

// The model is committed (the README's first commands run it): a checkout without it is broken, not "not yet shipped".
#define REQUIRE_SHIPPED() ASSERT_TRUE(fs::is_directory(kModel)) << kModel << " is missing from the checkout"

TEST(ShippedModel, IsACompleteSmallBf16OspNextBundle) {
  REQUIRE_SHIPPED();
  ASSERT_TRUE(fs::is_regular_file(kModel / "config.json")) << kModel;
  const osp::pipeline::ModelBundle bundle = osp::pipeline::resolve_bundle(kModel.string());
  EXPECT_EQ(bundle.layout, "osp bundle");
  const auto dit = osp::dit::DiTConfig::from_file((kModel / "dit" / "config.json").string());
  const auto t5 = osp::t5::T5Config::from_file((kModel / "text_encoder" / "config.json").string());
  const auto vae = osp::vae::VaeConfig::from_file((kModel / "vae" / "config.json").string());
  osp::pipeline::check_components_fit(dit, t5, vae);
  EXPECT_EQ(dit.skiparse_model_type, "dual_end");
  EXPECT_EQ(dit.sparse_ratio, 2);
  EXPECT_TRUE(fs::is_regular_file(kModel / "README.md"));  // the model card
  // The library's preview callback needs the VAE's fitted latent → RGB map.
  EXPECT_NO_THROW(osp::vae::read_latent_preview((kModel / "vae" / "latent_preview.json").string(), vae.z_dim));

  int64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kModel)) {
    if (entry.is_regular_file()) bytes += static_cast<int64_t>(entry.file_size());
  }
  EXPECT_LE(bytes, 40'000'000);
  for (const char* weights : {"dit/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                              "vae/diffusion_pytorch_model.safetensors"}) {
    const auto source = osp::io::open_tensor_source((kModel / weights).string());
    for (const std::string& name : source->names()) {
      EXPECT_EQ(source->meta(name).dtype, osp::io::DType::kBF16) << weights << ": " << name;
    }
  }
}

// The README's main command, with no --model: the default model is found next to the binary's
// checkout, and the video shows the prompt's colours and motion.
TEST(ShippedModel, GeneratesTheReadmePromptWithoutAModelFlag) {
  REQUIRE_SHIPPED();
  const osp::test::ScratchDir dir;
  const fs::path out = dir / "out.safetensors";
  const auto r = run_osp("generate -p \"a red circle moving right on a black background\" -o " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const at::Tensor frames = osp::io::open_tensor_source(out.string())->load("frames");
  const osp::shapes::ClipMeasurement m = osp::shapes::measure_clip(frames);
  EXPECT_EQ(m.background, osp::shapes::Color::kBlack);
  ASSERT_TRUE(m.object.has_value());
  EXPECT_EQ(*m.object, osp::shapes::Color::kRed);
  ASSERT_TRUE(m.shape.has_value());
  EXPECT_EQ(*m.shape, osp::shapes::Shape::kCircle);
  ASSERT_TRUE(m.motion.has_value());
  EXPECT_EQ(*m.motion, osp::shapes::Motion::kRight);
}

// One row of the card's check table: what the evaluator measured for one held-out prompt.
struct CardRow {
  int line = 0;
  std::string prompt, color, shape, background, motion;
};

std::string trimmed(const std::string& text) {
  const size_t begin = text.find_first_not_of(' ');
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(' ') - begin + 1);
}

std::vector<std::string> table_cells(const std::string& row) {
  std::vector<std::string> cells;
  std::stringstream in(row.substr(1));  // after the leading '|'
  std::string cell;
  while (std::getline(in, cell, '|')) cells.push_back(trimmed(cell));
  return cells;
}

// The rows of the card's table headed `| line | prompt | colour | shape | background | motion |`.
std::vector<CardRow> card_check_rows() {
  std::ifstream card(kModel / "README.md");
  const std::string header = "| line | prompt | colour | shape | background | motion |";
  std::string text;
  while (std::getline(card, text) && text != header) {
  }
  std::vector<CardRow> rows;
  std::getline(card, text);  // |---|...
  while (std::getline(card, text) && text.rfind('|', 0) == 0) {
    const std::vector<std::string> cells = table_cells(text);
    if (cells.size() < 6) break;
    rows.push_back({std::stoi(cells[0]), cells[1], cells[2], cells[3], cells[4], cells[5]});
  }
  return rows;
}

// The card's figures come from the evaluator: for its fixed subset (the first held-out prompts,
// with the seeds of the full held-out run), `osp eval shapes` measures today exactly what the card
// records, attribute by attribute — so the card cannot drift from the shipped weights.
TEST(ShippedModel, CardCheckTableIsWhatTheEvaluatorMeasures) {
  REQUIRE_SHIPPED();
  const std::vector<CardRow> rows = card_check_rows();
  ASSERT_GE(rows.size(), 4u) << "the card has no check table";
  const osp::test::ScratchDir dir;
  const fs::path prompts = fs::path(OSP_SOURCE_DIR) / "configs" / "eval" / "shapes-heldout.txt";
  const auto r = run_osp("eval shapes --model " + kModel.string() + " --prompts " + prompts.string() + " --limit " +
                         std::to_string(rows.size()) + " --out " + dir / "eval");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream results(dir.path() / "eval" / "results.jsonl");
  std::string text;
  for (const CardRow& row : rows) {
    ASSERT_TRUE(std::getline(results, text)) << "the evaluator wrote fewer results than the card's " << rows.size();
    const auto result = nlohmann::json::parse(text);
    const auto& measured = result.at("measured");
    EXPECT_EQ(result.at("line").get<int>(), row.line);
    EXPECT_EQ(result.at("caption").get<std::string>(), row.prompt);
    EXPECT_EQ(measured.at("color").get<std::string>(), row.color) << row.prompt;
    EXPECT_EQ(measured.at("shape").get<std::string>(), row.shape) << row.prompt;
    EXPECT_EQ(measured.at("background").get<std::string>(), row.background) << row.prompt;
    EXPECT_EQ(measured.at("motion").get<std::string>(), row.motion) << row.prompt;
  }
}

}  // namespace
