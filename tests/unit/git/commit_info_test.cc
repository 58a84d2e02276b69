#include <gtest/gtest.h>

#include "git/repo.h"

namespace sluice::git {
namespace {

CommitInfo WithMessage(const std::string& message) {
  CommitInfo info;
  info.message = message;
  return info;
}

TEST(CommitInfoTest, SubjectIsFirstLine) {
  EXPECT_EQ(WithMessage("Pin api to sha256:abc\n\nBody text\n").Subject(), "Pin api to sha256:abc");
  EXPECT_EQ(WithMessage("One line only").Subject(), "One line only");
  EXPECT_EQ(WithMessage("Windows line\r\nmore").Subject(), "Windows line");
  EXPECT_EQ(WithMessage("").Subject(), "");
}

TEST(CommitInfoTest, TrailerFromLastParagraphCaseInsensitive) {
  CommitInfo info = WithMessage(
      "Roll back api in prod\n\nThe new build broke checkout.\n\n"
      "Sluice-Rollback: 0123456789abcdef0123456789abcdef01234567\n"
      "sluice-incident: INC-42\n"
      "Sluice-Incident : INC-43\n");
  EXPECT_EQ(info.Trailer("Sluice-Rollback"),
            std::vector<std::string>{"0123456789abcdef0123456789abcdef01234567"});
  EXPECT_EQ(info.Trailer("SLUICE-INCIDENT"), (std::vector<std::string>{"INC-42", "INC-43"}));
  EXPECT_TRUE(info.Trailer("Reviewed-by").empty());
}

TEST(CommitInfoTest, TrailerIgnoresBodyParagraphsAndSubject) {
  // "Note: ..." in the body is not in the last paragraph; the subject is
  // never a trailer block.
  CommitInfo info = WithMessage("Sluice-Incident: INC-1\n\nNote: not a trailer\n\nJust text.\n");
  EXPECT_TRUE(info.Trailer("Note").empty());
  EXPECT_TRUE(info.Trailer("Sluice-Incident").empty());
  EXPECT_TRUE(WithMessage("Sluice-Incident: INC-1\n").Trailer("Sluice-Incident").empty());
}

TEST(CommitInfoTest, ParagraphWithProseIsNotATrailerBlock) {
  CommitInfo info = WithMessage("Subject\n\nSome prose here\nSluice-Incident: INC-9\n");
  EXPECT_TRUE(info.Trailer("Sluice-Incident").empty());
}

TEST(CommitInfoTest, SignedOffByMakesMixedBlockCount) {
  CommitInfo info = WithMessage(
      "Subject\n\nfree text line\nSluice-Incident: INC-7\nSigned-off-by: A <a@example.com>\n");
  EXPECT_EQ(info.Trailer("Sluice-Incident"), std::vector<std::string>{"INC-7"});
}

TEST(CommitInfoTest, ContinuationLinesFoldIntoValue) {
  CommitInfo info = WithMessage(
      "Subject\n\nSluice-Reason: the first part\n  and the rest\n"
      "Other: x\n\n\n");
  EXPECT_EQ(info.Trailer("Sluice-Reason"), std::vector<std::string>{"the first part and the rest"});
  EXPECT_EQ(info.Trailer("Other"), std::vector<std::string>{"x"});
}

TEST(CommitInfoTest, KeyMustMatchWholeToken) {
  CommitInfo info = WithMessage("Subject\n\nSluice-Incident-Id: 5\nhttp://example.com: x\n");
  EXPECT_TRUE(info.Trailer("Sluice-Incident").empty());
}

}  // namespace
}  // namespace sluice::git
