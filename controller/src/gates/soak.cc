#include "gates/soak.h"

#include "gates/time_zone.h"

namespace sluice::gates {
namespace {

using std::chrono::seconds;

std::string UpstreamName(const UpstreamEvidence& u) {
  return u.env.empty() ? "the upstream environment" : u.env;
}

GateResult Missing(const char* name, const char* what) {
  return GateResult{name,
                    Verdict::kBlock,
                    std::string("no evidence about the upstream environment was gathered, so ") +
                        what + " cannot be checked; refusing to deploy (fail closed)",
                    {}};
}

}  // namespace

GateResult EvaluateUpstreamVerified(const std::optional<UpstreamEvidence>& upstream,
                                    const std::string& digest) {
  if (!upstream) return Missing("upstreamVerified", "upstream verification");
  const UpstreamEvidence& u = *upstream;
  GateResult r{"upstreamVerified", Verdict::kBlock, "", {}};
  r.evidence["upstream"] = u.env;
  r.evidence["digest"] = digest;
  if (u.verified_at) r.evidence["verifiedAt"] = FormatUtcIso(*u.verified_at);
  if (u.digest_verified) {
    r.verdict = Verdict::kPass;
    r.reason = ShortDigest(digest) + " is the last known good of " + UpstreamName(u);
    if (u.verified_at) r.reason += " (verified " + FormatUtcIso(*u.verified_at) + ")";
    return r;
  }
  r.reason = ShortDigest(digest) + " was never verified in " + UpstreamName(u) + "; promote what " +
             UpstreamName(u) + " verified";
  return r;
}

GateResult EvaluateSoak(const std::optional<UpstreamEvidence>& upstream,
                        std::chrono::milliseconds soak, TimePoint now) {
  if (!upstream) return Missing("soak", "the soak time");
  const UpstreamEvidence& u = *upstream;
  const std::string need = FormatDuration(date::ceil<seconds>(soak));
  GateResult r{"soak", Verdict::kBlock, "", {}};
  r.evidence["upstream"] = u.env;
  r.evidence["soak"] = need;
  if (!u.digest_verified || !u.verified_at) {
    r.reason = "the digest was never verified in " + UpstreamName(u) + ", so its " + need +
               " soak there has not started; promote what " + UpstreamName(u) + " verified";
    return r;
  }
  r.evidence["verifiedAt"] = FormatUtcIso(*u.verified_at);
  if (!u.digest_deployed) {
    r.reason = "the digest is no longer deployed in " + UpstreamName(u) +
               " (replaced or rolled back), so it can never complete its " + need + " soak there";
    return r;
  }
  const TimePoint done = *u.verified_at + soak;
  const seconds soaked = date::floor<seconds>(now - *u.verified_at);
  r.evidence["soakedFor"] = FormatDuration(soaked);
  if (done <= now) {
    r.verdict = Verdict::kPass;
    r.reason =
        "soaked " + FormatDuration(soaked) + " in " + UpstreamName(u) + " (needs " + need + ")";
    return r;
  }
  r.verdict = Verdict::kWait;
  r.evidence["soakedAt"] = FormatUtcIso(done);
  r.until = done;
  r.reason = "soaking in " + UpstreamName(u) + ": " + FormatDuration(soaked) + " of " + need +
             ", " + FormatDuration(date::ceil<seconds>(done - now)) + " to go";
  return r;
}

}  // namespace sluice::gates
