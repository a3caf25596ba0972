#pragma once
// The built-in English caption corpus of the tiny bundle's tokenizer (`osp init-bundle`): the
// words of the shapes domain (colours, shapes, motions, backgrounds) in captions such as
// "a red circle moving left on a black background", plus general scene words.
#include <string>
#include <vector>

namespace osp::pipeline {

// A fixed list of captions, the same on every call and machine.
const std::vector<std::string>& tiny_caption_corpus();

}  // namespace osp::pipeline
