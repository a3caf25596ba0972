// Character maps of the ftfy steps that text cleaning reproduces (docs/text-encoder.md "Text cleaning"), generated
// with Python: the width map is ftfy's (NFKC of U+FF01..U+FFEF where it differs, plus U+3000 →
// space), the ligatures are ftfy's LIGATURES table (chardata.py). Sorted by code point.
#include "osp/models/t5/ftfy_tables.h"

#include <algorithm>
#include <iterator>

namespace osp::t5 {
namespace {

const CharMapping kWidthMap[] = {
  {0x3000, U"\U00000020"}, {0xff01, U"\U00000021"}, {0xff02, U"\U00000022"}, {0xff03, U"\U00000023"},
  {0xff04, U"\U00000024"}, {0xff05, U"\U00000025"}, {0xff06, U"\U00000026"}, {0xff07, U"\U00000027"},
  {0xff08, U"\U00000028"}, {0xff09, U"\U00000029"}, {0xff0a, U"\U0000002a"}, {0xff0b, U"\U0000002b"},
  {0xff0c, U"\U0000002c"}, {0xff0d, U"\U0000002d"}, {0xff0e, U"\U0000002e"}, {0xff0f, U"\U0000002f"},
  {0xff10, U"\U00000030"}, {0xff11, U"\U00000031"}, {0xff12, U"\U00000032"}, {0xff13, U"\U00000033"},
  {0xff14, U"\U00000034"}, {0xff15, U"\U00000035"}, {0xff16, U"\U00000036"}, {0xff17, U"\U00000037"},
  {0xff18, U"\U00000038"}, {0xff19, U"\U00000039"}, {0xff1a, U"\U0000003a"}, {0xff1b, U"\U0000003b"},
  {0xff1c, U"\U0000003c"}, {0xff1d, U"\U0000003d"}, {0xff1e, U"\U0000003e"}, {0xff1f, U"\U0000003f"},
  {0xff20, U"\U00000040"}, {0xff21, U"\U00000041"}, {0xff22, U"\U00000042"}, {0xff23, U"\U00000043"},
  {0xff24, U"\U00000044"}, {0xff25, U"\U00000045"}, {0xff26, U"\U00000046"}, {0xff27, U"\U00000047"},
  {0xff28, U"\U00000048"}, {0xff29, U"\U00000049"}, {0xff2a, U"\U0000004a"}, {0xff2b, U"\U0000004b"},
  {0xff2c, U"\U0000004c"}, {0xff2d, U"\U0000004d"}, {0xff2e, U"\U0000004e"}, {0xff2f, U"\U0000004f"},
  {0xff30, U"\U00000050"}, {0xff31, U"\U00000051"}, {0xff32, U"\U00000052"}, {0xff33, U"\U00000053"},
  {0xff34, U"\U00000054"}, {0xff35, U"\U00000055"}, {0xff36, U"\U00000056"}, {0xff37, U"\U00000057"},
  {0xff38, U"\U00000058"}, {0xff39, U"\U00000059"}, {0xff3a, U"\U0000005a"}, {0xff3b, U"\U0000005b"},
  {0xff3c, U"\U0000005c"}, {0xff3d, U"\U0000005d"}, {0xff3e, U"\U0000005e"}, {0xff3f, U"\U0000005f"},
  {0xff40, U"\U00000060"}, {0xff41, U"\U00000061"}, {0xff42, U"\U00000062"}, {0xff43, U"\U00000063"},
  {0xff44, U"\U00000064"}, {0xff45, U"\U00000065"}, {0xff46, U"\U00000066"}, {0xff47, U"\U00000067"},
  {0xff48, U"\U00000068"}, {0xff49, U"\U00000069"}, {0xff4a, U"\U0000006a"}, {0xff4b, U"\U0000006b"},
  {0xff4c, U"\U0000006c"}, {0xff4d, U"\U0000006d"}, {0xff4e, U"\U0000006e"}, {0xff4f, U"\U0000006f"},
  {0xff50, U"\U00000070"}, {0xff51, U"\U00000071"}, {0xff52, U"\U00000072"}, {0xff53, U"\U00000073"},
  {0xff54, U"\U00000074"}, {0xff55, U"\U00000075"}, {0xff56, U"\U00000076"}, {0xff57, U"\U00000077"},
  {0xff58, U"\U00000078"}, {0xff59, U"\U00000079"}, {0xff5a, U"\U0000007a"}, {0xff5b, U"\U0000007b"},
  {0xff5c, U"\U0000007c"}, {0xff5d, U"\U0000007d"}, {0xff5e, U"\U0000007e"}, {0xff5f, U"\U00002985"},
  {0xff60, U"\U00002986"}, {0xff61, U"\U00003002"}, {0xff62, U"\U0000300c"}, {0xff63, U"\U0000300d"},
  {0xff64, U"\U00003001"}, {0xff65, U"\U000030fb"}, {0xff66, U"\U000030f2"}, {0xff67, U"\U000030a1"},
  {0xff68, U"\U000030a3"}, {0xff69, U"\U000030a5"}, {0xff6a, U"\U000030a7"}, {0xff6b, U"\U000030a9"},
  {0xff6c, U"\U000030e3"}, {0xff6d, U"\U000030e5"}, {0xff6e, U"\U000030e7"}, {0xff6f, U"\U000030c3"},
  {0xff70, U"\U000030fc"}, {0xff71, U"\U000030a2"}, {0xff72, U"\U000030a4"}, {0xff73, U"\U000030a6"},
  {0xff74, U"\U000030a8"}, {0xff75, U"\U000030aa"}, {0xff76, U"\U000030ab"}, {0xff77, U"\U000030ad"},
  {0xff78, U"\U000030af"}, {0xff79, U"\U000030b1"}, {0xff7a, U"\U000030b3"}, {0xff7b, U"\U000030b5"},
  {0xff7c, U"\U000030b7"}, {0xff7d, U"\U000030b9"}, {0xff7e, U"\U000030bb"}, {0xff7f, U"\U000030bd"},
  {0xff80, U"\U000030bf"}, {0xff81, U"\U000030c1"}, {0xff82, U"\U000030c4"}, {0xff83, U"\U000030c6"},
  {0xff84, U"\U000030c8"}, {0xff85, U"\U000030ca"}, {0xff86, U"\U000030cb"}, {0xff87, U"\U000030cc"},
  {0xff88, U"\U000030cd"}, {0xff89, U"\U000030ce"}, {0xff8a, U"\U000030cf"}, {0xff8b, U"\U000030d2"},
  {0xff8c, U"\U000030d5"}, {0xff8d, U"\U000030d8"}, {0xff8e, U"\U000030db"}, {0xff8f, U"\U000030de"},
  {0xff90, U"\U000030df"}, {0xff91, U"\U000030e0"}, {0xff92, U"\U000030e1"}, {0xff93, U"\U000030e2"},
  {0xff94, U"\U000030e4"}, {0xff95, U"\U000030e6"}, {0xff96, U"\U000030e8"}, {0xff97, U"\U000030e9"},
  {0xff98, U"\U000030ea"}, {0xff99, U"\U000030eb"}, {0xff9a, U"\U000030ec"}, {0xff9b, U"\U000030ed"},
  {0xff9c, U"\U000030ef"}, {0xff9d, U"\U000030f3"}, {0xff9e, U"\U00003099"}, {0xff9f, U"\U0000309a"},
  {0xffa0, U"\U00001160"}, {0xffa1, U"\U00001100"}, {0xffa2, U"\U00001101"}, {0xffa3, U"\U000011aa"},
  {0xffa4, U"\U00001102"}, {0xffa5, U"\U000011ac"}, {0xffa6, U"\U000011ad"}, {0xffa7, U"\U00001103"},
  {0xffa8, U"\U00001104"}, {0xffa9, U"\U00001105"}, {0xffaa, U"\U000011b0"}, {0xffab, U"\U000011b1"},
  {0xffac, U"\U000011b2"}, {0xffad, U"\U000011b3"}, {0xffae, U"\U000011b4"}, {0xffaf, U"\U000011b5"},
  {0xffb0, U"\U0000111a"}, {0xffb1, U"\U00001106"}, {0xffb2, U"\U00001107"}, {0xffb3, U"\U00001108"},
  {0xffb4, U"\U00001121"}, {0xffb5, U"\U00001109"}, {0xffb6, U"\U0000110a"}, {0xffb7, U"\U0000110b"},
  {0xffb8, U"\U0000110c"}, {0xffb9, U"\U0000110d"}, {0xffba, U"\U0000110e"}, {0xffbb, U"\U0000110f"},
  {0xffbc, U"\U00001110"}, {0xffbd, U"\U00001111"}, {0xffbe, U"\U00001112"}, {0xffc2, U"\U00001161"},
  {0xffc3, U"\U00001162"}, {0xffc4, U"\U00001163"}, {0xffc5, U"\U00001164"}, {0xffc6, U"\U00001165"},
  {0xffc7, U"\U00001166"}, {0xffca, U"\U00001167"}, {0xffcb, U"\U00001168"}, {0xffcc, U"\U00001169"},
  {0xffcd, U"\U0000116a"}, {0xffce, U"\U0000116b"}, {0xffcf, U"\U0000116c"}, {0xffd2, U"\U0000116d"},
  {0xffd3, U"\U0000116e"}, {0xffd4, U"\U0000116f"}, {0xffd5, U"\U00001170"}, {0xffd6, U"\U00001171"},
  {0xffd7, U"\U00001172"}, {0xffda, U"\U00001173"}, {0xffdb, U"\U00001174"}, {0xffdc, U"\U00001175"},
  {0xffe0, U"\U000000a2"}, {0xffe1, U"\U000000a3"}, {0xffe2, U"\U000000ac"}, {0xffe3, U"\U00000020\U00000304"},
  {0xffe4, U"\U000000a6"}, {0xffe5, U"\U000000a5"}, {0xffe6, U"\U000020a9"}, {0xffe8, U"\U00002502"},
  {0xffe9, U"\U00002190"}, {0xffea, U"\U00002191"}, {0xffeb, U"\U00002192"}, {0xffec, U"\U00002193"},
  {0xffed, U"\U000025a0"}, {0xffee, U"\U000025cb"}
};

const CharMapping kLigatures[] = {
  {0x0132, U"\U00000049\U0000004a"}, {0x0133, U"\U00000069\U0000006a"}, {0x0149, U"\U000002bc\U0000006e"},
  {0x01c4, U"\U00000044\U0000017d"}, {0x01c5, U"\U00000044\U0000017e"}, {0x01c6, U"\U00000064\U0000017e"},
  {0x01c7, U"\U0000004c\U0000004a"}, {0x01c8, U"\U0000004c\U0000006a"}, {0x01c9, U"\U0000006c\U0000006a"},
  {0x01ca, U"\U0000004e\U0000004a"}, {0x01cb, U"\U0000004e\U0000006a"}, {0x01cc, U"\U0000006e\U0000006a"},
  {0x01f1, U"\U00000044\U0000005a"}, {0x01f2, U"\U00000044\U0000007a"}, {0x01f3, U"\U00000064\U0000007a"},
  {0xfb00, U"\U00000066\U00000066"}, {0xfb01, U"\U00000066\U00000069"}, {0xfb02, U"\U00000066\U0000006c"},
  {0xfb03, U"\U00000066\U00000066\U00000069"}, {0xfb04, U"\U00000066\U00000066\U0000006c"},
  {0xfb05, U"\U0000017f\U00000074"}, {0xfb06, U"\U00000073\U00000074"}
};

const char32_t* lookup(const CharMapping* begin, const CharMapping* end, char32_t c) {
  const auto* it = std::lower_bound(begin, end, c, [](const CharMapping& m, char32_t v) { return m.from < v; });
  return (it != end && it->from == c) ? it->to : nullptr;
}

}  // namespace

const char32_t* width_replacement(char32_t c) { return lookup(std::begin(kWidthMap), std::end(kWidthMap), c); }

const char32_t* ligature_replacement(char32_t c) { return lookup(std::begin(kLigatures), std::end(kLigatures), c); }

}  // namespace osp::t5
