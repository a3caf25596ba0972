#pragma once
// Character maps for the ftfy sub-steps of text cleaning (text_clean.h).

namespace osp::t5 {

struct CharMapping {
  char32_t from;
  const char32_t* to;  // replacement, NUL-terminated
};

// ftfy fix_character_width: full-width / half-width forms → their NFKC equivalents (U+FF0C → ',',
// U+3000 → ' '); nullptr when `c` is not such a form.
const char32_t* width_replacement(char32_t c);

// ftfy fix_latin_ligatures: ﬁ → fi, Ĳ → IJ, …; nullptr when `c` is not one.
const char32_t* ligature_replacement(char32_t c);

}  // namespace osp::t5
