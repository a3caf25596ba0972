#pragma once
// UTF-8 ⇄ code points for text cleaning. Malformed input bytes decode to U+FFFD (as Python's
// errors="replace"), so cleaning never fails on odd prompt files.
#include <string>
#include <string_view>

namespace osp::t5 {

std::u32string decode_utf8(std::string_view bytes);
std::string encode_utf8(std::u32string_view text);

}  // namespace osp::t5
