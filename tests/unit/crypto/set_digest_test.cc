// KeyedSetDigest: the digest Workspace keeps of the remote's record refs, so
// that a pass whose advertisement sums to it reads none of the 30,000 local
// copies. Equal sets must sum equal whatever the order, a change must show,
// and the sum must follow a change member by member.
#include "crypto/set_digest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::crypto {
namespace {

uint64_t SumOf(KeyedSetDigest& d, const std::vector<std::pair<std::string, std::string>>& set) {
  uint64_t sum = 0;
  for (const auto& [name, value] : set) sum = KeyedSetDigest::Add(sum, d.Member(name, value));
  return sum;
}

TEST(KeyedSetDigestTest, EqualSetsSumEqualInAnyOrderAndAChangedValueShows) {
  KeyedSetDigest d;
  const std::vector<std::pair<std::string, std::string>> set = {
      {"refs/notes/sluice", "n1"},
      {"refs/sluice/deployed/prod/api", "c1"},
      {"refs/sluice/lkg/prod/api", "c0"}};
  const std::vector<std::pair<std::string, std::string>> reordered = {set[2], set[0], set[1]};
  EXPECT_EQ(SumOf(d, set), SumOf(d, reordered));

  auto moved = set;
  moved[1].second = "c2";
  EXPECT_NE(SumOf(d, set), SumOf(d, moved));
  // Two values swapped between names are another set.
  auto swapped = set;
  std::swap(swapped[1].second, swapped[2].second);
  EXPECT_NE(SumOf(d, set), SumOf(d, swapped));
}

TEST(KeyedSetDigestTest, TheSumFollowsAChangeMemberByMember) {
  KeyedSetDigest d;
  std::vector<std::pair<std::string, std::string>> set = {{"refs/sluice/deployed/prod/api", "c1"},
                                                          {"refs/sluice/lkg/prod/api", "c0"}};
  uint64_t sum = SumOf(d, set);
  // deployed moves c1 -> c2, and a new ref appears.
  sum = KeyedSetDigest::Remove(sum, d.Member("refs/sluice/deployed/prod/api", "c1"));
  sum = KeyedSetDigest::Add(sum, d.Member("refs/sluice/deployed/prod/api", "c2"));
  sum = KeyedSetDigest::Add(sum, d.Member("refs/sluice/candidate/prod/api", "c2"));
  set[0].second = "c2";
  set.push_back({"refs/sluice/candidate/prod/api", "c2"});
  EXPECT_EQ(sum, SumOf(d, set));
}

TEST(KeyedSetDigestTest, TheBoundaryBetweenNameAndValueCounts) {
  KeyedSetDigest d;
  EXPECT_NE(d.Member("refs/a", "bc"), d.Member("refs/ab", "c"));
  EXPECT_EQ(d.Member("refs/a", "bc"), d.Member("refs/a", "bc"));
}

TEST(KeyedSetDigestTest, EachDigestHasItsOwnKey) {
  // A pusher who knows the algorithm cannot know the key: two digests (two
  // processes) hash one member differently.
  KeyedSetDigest a;
  KeyedSetDigest b;
  EXPECT_NE(a.Member("refs/sluice/deployed/prod/api", "c1"),
            b.Member("refs/sluice/deployed/prod/api", "c1"));
}

}  // namespace
}  // namespace sluice::crypto
