#include "reports/audit_reader.h"

#include <map>
#include <set>

#include "approval/landing.h"
#include "config/repository_config.h"
#include "git/incremental.h"
#include "record/refs.h"

namespace sluice::reports {
namespace {

// How far back the reader looks for the commit that brought a pin; the
// candidate is usually that commit itself, so this rarely walks at all.
constexpr int kLandingDepth = 100;

// The landing commit the controller recorded with the change's events; ""
// for records written before events carried it.
std::string RecordedLanding(const Change& c) {
  for (const record::Event& e : c.events) {
    if (!e.landing.empty()) return e.landing;
  }
  return "";
}

ChangeSource SourceOf(const git::Repository& repo, const Change& c) {
  ChangeSource s;
  // The record names it (one commit read), else walk first parents: that
  // reads the pin's directory tree at two commits per step, which is what an
  // audit over a long history spends its time on.
  std::string landing = RecordedLanding(c);
  if (landing.empty()) {
    landing = c.commit;
    if (auto l = approval::FindLandingCommit(repo, c.commit, config::PinPath(c.env, c.app), "",
                                             kLandingDepth);
        l.ok()) {
      landing = *l;
    }
  }
  auto info = repo.GetCommit(landing);
  if (!info.ok()) return s;
  s.known = true;
  s.landing_commit = info->id;
  s.author = info->author.name + " <" + info->author.email + ">";
  // A merge's author is whoever merged (usually the approver); the change
  // was proposed by the author of the branch it merged (its head: the
  // promotion commit). A squash keeps the proposer as its author.
  if (info->parents.size() >= 2) {
    if (auto head = repo.GetCommit(info->parents[1]); head.ok()) {
      s.author = head->author.name + " <" + head->author.email + ">";
    }
  }
  s.committed = info->committer.when;
  s.subject = info->Subject();
  size_t nl = info->message.find('\n');
  if (nl != std::string::npos) {
    size_t b = info->message.find_first_not_of('\n', nl);
    if (b != std::string::npos) s.body = info->message.substr(b);
  }
  ReadRollbackReferences(info->message, &s);
  return s;
}

}  // namespace

std::string_view TrustedNoteText(record::Workspace& ws, const std::string& commit,
                                 std::string_view text, std::string& storage) {
  const std::set<std::string>* bad = ws.UntrustedLinesLocked(commit);
  if (bad == nullptr) return text;
  storage.clear();
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (!bad->count(line)) storage += line + "\n";
  }
  return storage;
}

Result<AuditReport> ReadAudit(record::Workspace& ws, const AuditOptions& options) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  // One streamed pass over the notes: only the events that pass the
  // env/app filter are parsed and kept, so `--env prod` over a long history
  // costs a substring search per line elsewhere, and memory follows the
  // selection, not the record.
  std::vector<AnnotatedCommit> annotated;
  Status listed = git::ForEachNote(repo, record::kNotesRef,
                                   [&](const std::string& commit, std::string_view text) {
                                     // Untrusted lines (rare) are cut out first: the history holds
                                     // only what the controllers signed.
                                     std::string kept;
                                     text = TrustedNoteText(ws, commit, text, kept);
                                     std::vector<record::Event> events =
                                         ParseNoteFor(text, options.filter.env, options.filter.app);
                                     if (!events.empty())
                                       annotated.push_back({commit, std::move(events)});
                                     return true;
                                   });
  if (!listed.ok()) return listed.WithContext("list " + std::string(record::kNotesRef));
  CollectResult collected = CollectChanges(annotated, options.filter);
  // One read per distinct (env, app, commit) that passed the filters.
  for (Change& c : collected.changes) c.source = SourceOf(repo, c);
  AuditReport report =
      BuildAudit(std::move(collected.changes), options, collected.envs_with_approval_gate);
  for (const record::UntrustedEntry& u : ws.UntrustedEntriesLocked()) {
    if (!options.filter.env.empty() && u.env != options.filter.env) continue;
    if (!options.filter.app.empty() && !u.app.empty() && u.app != options.filter.app) continue;
    report.untrusted.push_back(u);
  }
  return report;
}

}  // namespace sluice::reports
