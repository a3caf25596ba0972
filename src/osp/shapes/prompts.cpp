#include "osp/shapes/prompts.h"

#include <fstream>

#include "osp/core/error.h"
#include "osp/io/atomic_file.h"

namespace osp::shapes {
namespace {

std::string trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

std::vector<ShapesPrompt> read_shapes_prompts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_about(path, "cannot open the prompts file");
  std::vector<ShapesPrompt> prompts;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    const std::string caption = trimmed(text);
    if (caption.empty() || caption[0] == '#') continue;
    const auto attributes = parse_caption(caption);
    if (!attributes) {
      fail_about(fmt::format("{}:{}", path, line),
                 "not a Shapes caption: '{}' (expected e.g. 'a red circle moving left on a black background', "
                 "docs/training-data.md)", caption);
    }
    prompts.push_back({line, caption, *attributes});
  }
  if (in.bad()) fail_about(path, "read error");
  if (prompts.empty()) fail_about(path, "the prompts file holds no caption (one per line; '#' starts a comment)");
  return prompts;
}

std::vector<ShapeAttributes> split_prompt_attributes(Split split) {
  std::vector<ShapeAttributes> triples;
  if (split == Split::kHeldout) {
    triples = heldout_combinations();
  } else {
    for (int c = 0; c < kColorCount; ++c) {
      for (int b = 0; b < kColorCount; ++b) {
        for (int m = 0; m < kMotionCount; ++m) {
          const ShapeAttributes a{Shape::kCircle, static_cast<Color>(c), static_cast<Color>(b), static_cast<Motion>(m)};
          if (c == b || (split == Split::kTrain && is_heldout(a))) continue;
          triples.push_back(a);
        }
      }
    }
  }
  std::vector<ShapeAttributes> out;
  for (ShapeAttributes a : triples) {
    for (int s = 0; s < kShapeCount; ++s) {
      a.shape = static_cast<Shape>(s);
      out.push_back(a);
    }
  }
  return out;
}

std::string shapes_prompt_text(Split split) {
  const std::vector<ShapeAttributes> attributes = split_prompt_attributes(split);
  std::string text = fmt::format(
      "# Shapes evaluation prompts, split '{}': {} captions (every shape of each (colour, background, motion)).\n"
      "# Written by `osp eval prompts --split {} --out FILE`; read by `osp eval shapes --prompts FILE`.\n",
      split_name(split), attributes.size(), split_name(split));
  for (const ShapeAttributes& a : attributes) text += caption_for(a) + "\n";
  return text;
}

void write_shapes_prompts(const std::string& path, Split split) { io::write_file_atomically(path, shapes_prompt_text(split)); }

}  // namespace osp::shapes
