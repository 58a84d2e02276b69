// Fuzzes server::EvaluateHook on verified deliveries: the body is signed (or
// carries the token) so that the payload parsing behind the verification is
// reached, for GitHub and GitLab push events and a generic call.
// Contract: never throws or crashes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/webhooks.h"

namespace {

constexpr char kSecret[] = "s3cret";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sluice::server::HookSource;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string signature = "sha256=" + sluice::server::HmacSha256Hex(kSecret, body);
  auto headers = [&signature](const std::string& name) -> std::string {
    if (name == "X-Hub-Signature-256" || name == "X-Sluice-Signature-256") return signature;
    if (name == "X-GitHub-Event") return "push";
    if (name == "X-Gitlab-Token") return kSecret;
    if (name == "X-Gitlab-Event") return "Push Hook";
    return "";
  };
  for (HookSource source : {HookSource::kGitHub, HookSource::kGitLab, HookSource::kGeneric}) {
    (void)sluice::server::EvaluateHook(source, kSecret, "main", headers, body);
  }
  return 0;
}
