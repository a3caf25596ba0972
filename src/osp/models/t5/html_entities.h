#pragma once
// Tables behind html_unescape (text_clean.h): Python's html.entities.html5 and
// html._invalid_charrefs, so that unescaping matches Python's html.unescape.
#include <cstdint>
#include <optional>
#include <string_view>

namespace osp::t5 {

struct HtmlEntity {
  const char* name;  // "amp;", "amp", "NotEqualTilde;", …
  const char* text;  // its replacement, UTF-8 (some are two code points)
};

// The entity named exactly `name` (with or without its ';' as listed), or nullptr.
const HtmlEntity* find_html_entity(std::string_view name);

// The code point a numeric reference to `code_point` stands for when HTML remaps it (&#128; → €).
std::optional<uint32_t> replaced_charref(uint32_t code_point);

}  // namespace osp::t5
