#include "reports/release_notes.h"

#include "core/strings.h"
#include "reports/markdown_template.h"

namespace sluice::reports {
namespace {

namespace mst = kainjow::mustache;

std::string Or(const std::string& s, const std::string& fallback) {
  return s.empty() ? fallback : s;
}

constexpr auto SetIf = SetIfNotEmpty;
constexpr auto SetTime = SetTimeIfAny;

}  // namespace

Result<std::string> RenderReleaseNotes(const std::string& tmpl, const ReleaseNotesData& r) {
  mst::data d;
  d.set("env", r.env);
  d.set("app", r.app);
  d.set("pending", r.pending ? mst::data(true) : mst::data(false));
  d.set("from_version", Or(r.from.version, "-"));
  d.set("to_version", Or(r.to.version, "-"));
  d.set("from_digest", Or(r.from.digest, "-"));
  d.set("to_digest", Or(r.to.digest, "-"));
  d.set("from_source", Or(r.from.source, "-"));
  d.set("to_source", Or(r.to.source, "-"));
  d.set("from_commit", Or(ShortId(r.from.commit), "-"));
  d.set("to_commit", Or(ShortId(r.to.commit), "-"));
  SetIf(d, "source_range",
        !r.from.source.empty() && !r.to.source.empty() ? r.from.source + ".." + r.to.source : "");
  mst::data approvers = mst::data::type::list;
  mst::data gates = mst::data::type::list;
  if (r.change) {
    const Change& c = *r.change;
    SetIf(d, "proposer", c.source.author);
    SetIf(d, "subject", Or(c.source.subject, "(no subject)"));
    SetIf(d, "landing", ShortId(c.source.landing_commit));
    SetIf(d, "body", c.source.body);
    for (const auto& a : c.approvers) approvers.push_back(mst::object{{"name", a}});
    SetIf(d, "approval_method", Or(c.approval_method, "unknown"));
    SetIf(d, "approval_reason", c.approval_reason);
    for (const auto& g : c.gates) {
      gates.push_back(mst::object{{"name", g.name}, {"result", g.result}, {"reason", g.reason}});
    }
    SetIf(d, "outcome", c.outcome);
    SetTime(d, "applying", c.applying);
    SetTime(d, "applied", c.applied);
    SetTime(d, "verified", c.verified);
    SetTime(d, "failed", c.failed);
    SetIf(d, "failure", c.failure);
    SetIf(d, "rolled_back_by", ShortId(c.rolled_back_by));
    SetIf(d, "reason", c.reason);
  } else {
    for (const char* key :
         {"proposer", "subject", "landing", "body", "approval_method", "approval_reason", "outcome",
          "applying", "applied", "verified", "failed", "failure", "rolled_back_by", "reason"}) {
      d.set(key, mst::data(false));
    }
  }
  d.set("approvers", approvers);
  d.set("gates", gates);
  return RenderMarkdownTemplate("release-notes", tmpl, d);
}

}  // namespace sluice::reports
