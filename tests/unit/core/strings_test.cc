#include "core/strings.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(StringsTest, ShortIdIsTheFirstTwelveHexDigits) {
  EXPECT_EQ(ShortId("c0ffee1234567890abcdef"), "c0ffee123456");
  EXPECT_EQ(ShortId("abc"), "abc");
  EXPECT_EQ(ShortId(""), "");
}

TEST(StringsTest, JoinPutsTheSeparatorBetweenItems) {
  EXPECT_EQ(Join({"alice", "bob", "carol"}, ", "), "alice, bob, carol");
  EXPECT_EQ(Join({"one"}, ", "), "one");
  EXPECT_EQ(Join({}, ", "), "");
  // Leading empty items add nothing (callers join optional parts).
  EXPECT_EQ(Join({"", "a", "b"}, "; "), "a; b");
}

TEST(StringsTest, SplitLinesFollowsForEachLine) {
  EXPECT_EQ(SplitLines("a\nb\n"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(SplitLines("a\n\nb"), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(SplitLines("a\r\n"), (std::vector<std::string_view>{"a\r"}));
  EXPECT_TRUE(SplitLines("").empty());
}

}  // namespace
}  // namespace sluice
