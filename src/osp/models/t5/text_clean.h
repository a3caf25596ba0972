#pragma once
// Prompt cleaning of the reference tokenizer, clean='whitespace' (docs/text-encoder.md "Text cleaning"):
//   1. ftfy.fix_text — reproduced in part (fix_text_subset below);
//   2. html.unescape twice; 3–4. strip, every run of Unicode whitespace → one space, strip.
// The cleaned text is what the tokenizer encodes and what the embedding cache is keyed by.
#include <string>
#include <string_view>

namespace osp::t5 {

// Python's html.unescape: named references of the HTML5 table (the legacy ones also without ';',
// longest prefix first), decimal and hex numeric references with HTML's remapping (&#128; → €,
// surrogates and > U+10FFFF → U+FFFD, non-characters and C0/C1 controls dropped).
std::string html_unescape(std::string_view text);

// The deterministic steps of ftfy.fix_text with its default configuration, in ftfy's order:
//   - HTML unescape of ';'-terminated references, skipped when the text contains '<' ("auto");
//   - terminal escapes (ESC [ digits/; letter) removed;
//   - C1 controls U+0080..U+009F read as Windows-1252 (fix_c1_controls);
//   - Latin ligatures (ﬁ → fi, Ĳ → IJ, …);
//   - full-width / half-width forms → NFKC (U+FF0C → ',', U+3000 → ' ');
//   - curly quotes → straight (U+02BC, U+2018..U+201B → '; U+201C..U+201F → ");
//   - line breaks (\r\n, \r, U+2028, U+2029, U+0085) → \n;
//   - control characters removed (U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F,
//     U+FEFF, U+FFF9..U+FFFC).
// Not reproduced: ftfy's heuristic mojibake repair (fix_encoding: identity here) and the final
// NFC normalization. The umT5 SentencePiece model normalizes with NFKC itself, and NFKC(NFC(x)) =
// NFKC(x), so skipping NFC does not change token ids; mojibake repair would.
std::string fix_text_subset(std::string_view text);

// strip → \s+ → ' ' → strip, with Python's Unicode whitespace set (str.isspace).
std::string clean_whitespace(std::string_view text);

// The full cleaning: clean_whitespace(html_unescape(html_unescape(fix_text_subset(text)))).
std::string clean_prompt(std::string_view text);

}  // namespace osp::t5
