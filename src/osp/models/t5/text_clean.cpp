#include "osp/models/t5/text_clean.h"

#include <cstdint>

#include "osp/models/t5/ftfy_tables.h"
#include "osp/models/t5/html_entities.h"
#include "osp/models/t5/utf8.h"

namespace osp::t5 {
namespace {

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Python's str.isspace / re's \s for str patterns.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// html._invalid_codepoints: dropped when referenced numerically.
bool is_invalid_codepoint(uint64_t c) {
  return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) ||
         (c >= 0xFDD0 && c <= 0xFDEF) || (c <= 0x10FFFF && (c & 0xFFFE) == 0xFFFE);
}

// The text of a numeric reference to `value` (html._replace_charref).
std::u32string numeric_reference(uint64_t value) {
  if (value <= 0xFF) {
    if (auto replaced = replaced_charref(static_cast<uint32_t>(value))) return std::u32string(1, *replaced);
  }
  if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) return U"\uFFFD";
  if (is_invalid_codepoint(value)) return U"";
  return std::u32string(1, static_cast<char32_t>(value));
}

// Tries a reference at text[at] == '&'; on a match appends its replacement and returns the
// length consumed, else returns 0. `require_semicolon`: only ';'-terminated references (ftfy).
size_t unescape_reference(const std::u32string& text, size_t at, bool require_semicolon, std::u32string& out) {
  size_t i = at + 1;
  const size_t n = text.size();
  if (i < n && text[i] == '#') {
    ++i;
    const bool hex = i < n && (text[i] == 'x' || text[i] == 'X');
    if (hex) ++i;
    const size_t digits_begin = i;
    uint64_t value = 0;
    for (; i < n && (hex ? is_hex_digit(text[i]) : is_digit(text[i])); ++i) {
      const uint64_t digit = is_digit(text[i]) ? text[i] - '0' : (text[i] | 0x20) - 'a' + 10;
      value = value > 0x10FFFF ? value : value * (hex ? 16 : 10) + digit;  // saturates above U+10FFFF
    }
    if (i == digits_begin) return 0;
    const bool semicolon = i < n && text[i] == ';';
    if (require_semicolon && !semicolon) return 0;
    out += numeric_reference(value);
    return i + (semicolon ? 1 : 0) - at;
  }
  // Named: [^\t\n\f <&#;]{1,32};? then the longest known prefix.
  const size_t name_begin = i;
  while (i < n && i - name_begin < 32 && text[i] != '\t' && text[i] != '\n' && text[i] != '\f' && text[i] != ' ' &&
         text[i] != '<' && text[i] != '&' && text[i] != '#' && text[i] != ';') {
    ++i;
  }
  if (i == name_begin) return 0;
  if (i < n && text[i] == ';') ++i;
  const std::string name = encode_utf8(std::u32string_view(text).substr(name_begin, i - name_begin));
  if (require_semicolon && name.back() != ';') return 0;
  if (const HtmlEntity* entity = find_html_entity(name)) {
    out += decode_utf8(entity->text);
    return i - at;
  }
  if (require_semicolon) return 0;
  for (size_t length = name.size() - 1; length >= 2; --length) {
    if (const HtmlEntity* entity = find_html_entity(std::string_view(name).substr(0, length))) {
      out += decode_utf8(entity->text);
      out += decode_utf8(std::string_view(name).substr(length));
      return i - at;
    }
  }
  return 0;
}

std::u32string unescape(const std::u32string& text, bool require_semicolon) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      if (const size_t used = unescape_reference(text, i, require_semicolon, out)) {
        i += used;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

// ESC '[' [0-9;]* [A-Za-z] at text[at]; returns its length or 0.
size_t terminal_escape_length(const std::u32string& text, size_t at) {
  if (text[at] != 0x1B || at + 1 >= text.size() || text[at + 1] != '[') return 0;
  size_t i = at + 2;
  while (i < text.size() && (is_digit(text[i]) || text[i] == ';')) ++i;
  return (i < text.size() && is_ascii_letter(text[i])) ? i + 1 - at : 0;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// ftfy's per-character steps after unescaping, in its order (fix_c1_controls, ligatures, width,
// quotes); line breaks and control characters follow.
void append_fixed_character(char32_t c, std::u32string& out) {
  if (c >= 0x80 && c <= 0x9F) c = *replaced_charref(c);  // Windows-1252 reading
  if (const char32_t* lig = ligature_replacement(c)) {
    out += lig;
    return;
  }
  if (const char32_t* wide = width_replacement(c)) {
    out += wide;
    return;
  }
  if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
  if (c >= 0x201C && c <= 0x201F) c = '"';
  out.push_back(c);
}

}  // namespace

std::string html_unescape(std::string_view text) {
  if (text.find('&') == std::string_view::npos) return std::string(text);
  return encode_utf8(unescape(decode_utf8(text), /*require_semicolon=*/false));
}

std::string fix_text_subset(std::string_view bytes) {
  std::u32string text = decode_utf8(bytes);
  if (text.find(U'<') == std::u32string::npos) text = unescape(text, /*require_semicolon=*/true);
  std::u32string fixed;
  fixed.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (const size_t skip = terminal_escape_length(text, i)) {
      i += skip;
      continue;
    }
    append_fixed_character(text[i++], fixed);
  }
  std::u32string out;
  out.reserve(fixed.size());
  for (size_t i = 0; i < fixed.size(); ++i) {
    char32_t c = fixed[i];
    if (c == '\r' && i + 1 < fixed.size() && fixed[i + 1] == '\n') continue;  // \r\n → \n
    if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
    if (is_removed_control(c)) continue;
    out.push_back(c);
  }
  return encode_utf8(out);
}

std::string clean_whitespace(std::string_view bytes) {
  const std::u32string text = decode_utf8(bytes);
  std::u32string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t c : text) {
    if (is_python_space(c)) {
      pending_space = !out.empty();  // leading whitespace is dropped
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return encode_utf8(out);  // trailing whitespace never emitted
}

std::string clean_prompt(std::string_view text) {
  return clean_whitespace(html_unescape(html_unescape(fix_text_subset(text))));
}

}  // namespace osp::t5
