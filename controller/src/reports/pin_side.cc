#include "reports/pin_side.h"

#include <algorithm>
#include <cctype>

#include "config/pin.h"
#include "config/repository_config.h"
#include "core/strings.h"

namespace sluice::reports {
namespace {

bool IsCommitId(const std::string& s) {
  return s.size() >= 7 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

}  // namespace

ReleaseSide ReadReleaseSide(const git::Repository& repo, const std::string& commit,
                            const std::string& env, const std::string& app) {
  ReleaseSide side;
  side.commit = commit;
  if (commit.empty()) return side;
  const std::string path = config::PinPath(env, app);
  auto text = repo.ReadFile(commit, path);
  if (!text.ok()) return side;
  config::Diagnostics diags;
  if (auto pin = config::ParsePin(*text, path, diags)) {
    side.version = pin->artifact.version;
    side.digest = pin->artifact.digest;
    side.source = pin->artifact.source;
  }
  return side;
}

std::string SourceRange(const std::string& from, const std::string& to) {
  if (from.empty() || to.empty() || from == to) return "";
  if (IsCommitId(from) && IsCommitId(to)) return ShortId(from) + ".." + ShortId(to);
  size_t fa = from.rfind('@');
  size_t ta = to.rfind('@');
  if (fa != std::string::npos && ta != std::string::npos && from.compare(0, fa, to, 0, ta) == 0) {
    std::string f = from.substr(fa + 1);
    std::string t = to.substr(ta + 1);
    if (IsCommitId(f) && IsCommitId(t))
      return from.substr(0, fa + 1) + ShortId(f) + ".." + ShortId(t);
    return from.substr(0, fa + 1) + f + ".." + t;
  }
  return from + " → " + to;
}

}  // namespace sluice::reports
