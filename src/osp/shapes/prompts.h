#pragma once
// Prompt files of the Shapes evaluator: one caption of the Shapes grammar per line, blank lines and
// lines starting with '#' ignored. The quality gate's file (configs/eval/shapes-heldout.txt) is
// written by `osp eval prompts --split heldout`: every held-out (colour, background, motion) triple
// with every shape.
#include <cstdint>
#include <string>
#include <vector>

#include "osp/shapes/grammar.h"

namespace osp::shapes {

struct ShapesPrompt {
  int64_t line = 0;  // 1-based line in the file
  std::string caption;
  ShapeAttributes attributes;
};

// Reads a prompt file. Throws osp::Error "FILE:LINE: not a Shapes caption: '…'" for a line that
// parse_caption() refuses, and names the file when it cannot be read or holds no caption.
std::vector<ShapesPrompt> read_shapes_prompts(const std::string& path);

// The captions of a split, every shape each: held-out in heldout_combinations() order (the 4
// shapes of a triple together), train and all in enum order (colour, background, motion, shape).
std::vector<ShapeAttributes> split_prompt_attributes(Split split);

// The text of a prompt file for a split: a '#' header saying how it was made, one caption a line.
std::string shapes_prompt_text(Split split);

// Writes shapes_prompt_text(split) to `path` atomically.
void write_shapes_prompts(const std::string& path, Split split);

}  // namespace osp::shapes
