#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(ValidUtf8Test, AcceptsUtf8AndRejectsWhatIsNot) {
  EXPECT_TRUE(ValidUtf8(""));
  EXPECT_TRUE(ValidUtf8("plain ascii"));
  EXPECT_TRUE(ValidUtf8("Zoë — 日本 🚀"));
  EXPECT_FALSE(ValidUtf8("\xFF\xFE"));
  EXPECT_FALSE(ValidUtf8("caf\xC3"));           // cut mid-character
  EXPECT_FALSE(ValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(ValidUtf8("\x80"));              // a lone continuation byte
}

TEST(ToValidUtf8Test, ReplacesEachIllFormedSubpartWithOneReplacementCharacter) {
  EXPECT_EQ(ToValidUtf8("ok"), "ok");
  EXPECT_EQ(ToValidUtf8("a\xFF\xFE"
                        "b"),
            "a\uFFFD\uFFFD"
            "b");
  EXPECT_EQ(ToValidUtf8("caf\xC3"), "caf\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xE2\x82"
                        "x"),
            "\uFFFDx");  // a truncated 3-byte sequence is one
  EXPECT_EQ(ToValidUtf8("Zoë"), "Zoë");
  EXPECT_TRUE(ValidUtf8(ToValidUtf8("\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80")));
}

TEST(TruncateUtf8Test, NeverSplitsACharacter) {
  const std::string s = "ab€d";  // € is 3 bytes: a b E2 82 AC d
  EXPECT_EQ(TruncateUtf8(s, 100), s);
  EXPECT_EQ(TruncateUtf8(s, 2), "ab");
  EXPECT_EQ(TruncateUtf8(s, 3), "ab");
  EXPECT_EQ(TruncateUtf8(s, 4), "ab");
  EXPECT_EQ(TruncateUtf8(s, 5), "ab€");
  EXPECT_EQ(TruncateUtf8("🚀🚀", 7), "🚀");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
  // Every cut of a long mixed text stays valid.
  std::string mixed;
  for (int i = 0; i < 40; ++i) mixed += "é日🚀x";
  for (size_t n = 0; n <= mixed.size(); ++n) {
    EXPECT_TRUE(ValidUtf8(TruncateUtf8(mixed, n))) << n;
    EXPECT_GE(TruncateUtf8(mixed, n).size() + 3, std::min(n, mixed.size())) << n;
  }
}

TEST(TruncateUtf8Test, CutsBytesThatAreNotUtf8LikeBytes) {
  EXPECT_EQ(TruncateUtf8("\x80\x80\x80\x80\x80\x80", 5).size(), 5u);
  EXPECT_EQ(TruncateUtf8("\xFF\xFE\xFD", 2), "\xFF\xFE");
}

TEST(TailUtf8Test, NeverStartsInsideACharacter) {
  EXPECT_EQ(TailUtf8("ab€d", 100), "ab€d");
  EXPECT_EQ(TailUtf8("ab€d", 4), "€d");
  EXPECT_EQ(TailUtf8("ab€d", 3), "d");
  std::string mixed;
  for (int i = 0; i < 40; ++i) mixed += "é日🚀x";
  for (size_t n = 0; n <= mixed.size(); ++n) EXPECT_TRUE(ValidUtf8(TailUtf8(mixed, n))) << n;
}

TEST(StripControlTest, DropsEscapeSequencesAndControlsButKeepsLines) {
  EXPECT_EQ(StripControl("\x1b[31mred\x1b[0m text"), "red text");
  EXPECT_EQ(StripControl("\x1b]0;pwned title\x07ok"), "ok");
  EXPECT_EQ(StripControl("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"), "link");
  EXPECT_EQ(StripControl("a\x1b"
                         "cb"),
            "ab");  // ESC c resets a terminal
  EXPECT_EQ(StripControl("bell\x07 back\x08space\r\n"), "bell backspace\n");
  EXPECT_EQ(StripControl("line 1\n\tline 2"), "line 1\n\tline 2");
  EXPECT_EQ(StripControl("line 1\n\tline 2", /*keep_newlines=*/false), "line 1  line 2");
  EXPECT_EQ(StripControl("c1 \xC2\x9B"
                         "31m csi"),
            "c1 31m csi");  // 8-bit CSI
  EXPECT_EQ(StripControl("del\x7F"), "del");
  EXPECT_EQ(StripControl("Zoë 日本"), "Zoë 日本");
  EXPECT_EQ(StripControl("\xFF\xFE"), "\uFFFD\uFFFD");
  EXPECT_EQ(StripControl("cut \x1b["), "cut ");
}

}  // namespace
}  // namespace sluice
