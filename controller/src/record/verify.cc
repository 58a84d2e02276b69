#include "record/verify.h"

#include <map>

#include "core/lines.h"
#include "core/strings.h"
#include "git/incremental.h"
#include "record/refs.h"

namespace sluice::record {

Result<RecordVerification> VerifyRecord(Workspace& ws, const std::vector<crypto::PublicKey>& keys) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  RecordVerification out;
  // The verified events by commit, for the refs below.
  std::map<std::string, std::vector<Event>> trusted;
  Status listed = git::ForEachNote(repo, kRemoteNotesRef,
                                   [&](const std::string& commit, std::string_view text) {
                                     ForEachLine(text, [&](std::string_view line) {
                                       if (line.empty()) return;
                                       ++out.lines;
                                       LineVerdict v = VerifyEventLine(line, commit, keys);
                                       auto event = ParseEventLine(line);
                                       if (v.trusted) {
                                         if (event.ok())
                                           trusted[commit].push_back(std::move(*event));
                                         return;
                                       }
                                       UntrustedEntry e;
                                       e.kind = "event";
                                       e.commit = commit;
                                       e.line = std::string(line);
                                       e.reason = v.reason;
                                       if (event.ok()) {
                                         e.env = event->env;
                                         e.app = event->app;
                                       }
                                       out.problems.push_back(std::move(e));
                                     });
                                     return true;
                                   });
  if (!listed.ok()) return listed.WithContext("list the fetched record notes");

  auto refs = repo.ListRefs(kRemoteSluicePrefix);
  if (!refs.ok()) return refs.status();
  const size_t strip = std::string_view(kRemoteSluicePrefix).size();
  for (const auto& [rname, commit] : *refs) {
    std::string name = std::string(kSluicePrefix) + rname.substr(strip);
    bool confirmable = true;
    ConfirmsRef(name, Event{}, &confirmable);
    if (!confirmable) continue;
    ++out.refs;
    bool confirmed = false;
    if (auto it = trusted.find(commit); it != trusted.end()) {
      for (const Event& e : it->second) {
        bool unused = true;
        if (ConfirmsRef(name, e, &unused)) {
          confirmed = true;
          break;
        }
      }
    }
    if (confirmed) continue;
    UntrustedEntry e;
    e.kind = "ref";
    e.ref = name;
    e.commit = commit;
    std::tie(e.env, e.app) = RefEnvApp(name);
    e.reason = "no event signed by a listed key on " + ShortId(commit) + " confirms it";
    out.problems.push_back(std::move(e));
  }
  return out;
}

}  // namespace sluice::record
