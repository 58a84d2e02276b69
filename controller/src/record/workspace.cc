#include "record/workspace.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <unordered_map>

#include "core/lines.h"
#include "core/strings.h"
#include "git/credentials.h"
#include "git/incremental.h"
#include "git/quick_ack.h"
#include "process/runner.h"
#include "record/refs.h"

namespace sluice::record {
namespace fs = std::filesystem;

namespace {
constexpr int kPushAttempts = 6;
// Loose references that make Sync, or the end of a pass, pack the cache's
// refs (git's own gc packs them on its schedule; nothing runs git gc on the
// cache).
constexpr size_t kPackRefsAfter = 256;
// From this many, packing takes seconds and is said at info.
constexpr size_t kPackRefsSaidAfter = 10000;

// Loose reference files under `git_dir`/refs: a directory listing, no file
// opened. Lets a process that starts on a cache an earlier one left loose
// pack it too.
size_t CountLooseRefs(const std::string& git_dir) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(fs::path(git_dir) / "refs", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec)) ++n;
  }
  return n;
}
}  // namespace

Workspace::Workspace(std::string workdir, std::string url, std::string branch,
                     std::unique_ptr<git::Repository> repo, std::shared_ptr<const RecordKeys> keys)
    : workdir_(std::move(workdir)),
      url_(std::move(url)),
      branch_(std::move(branch)),
      repo_(std::move(repo)),
      keys_(std::move(keys)),
      loose_refs_(CountLooseRefs(repo_->path())) {
  std::ifstream in(UntrustedPath());
  std::vector<UntrustedEntry> known;
  for (std::string line; std::getline(in, line);) {
    if (auto e = UntrustedEntry::FromJson(line); e.ok()) known.push_back(std::move(*e));
  }
  // Loading: nothing to persist again.
  for (auto& e : known) {
    if (e.kind == "event") {
      untrusted_lines_[e.commit].insert(e.line);
    } else {
      untrusted_refs_.insert({e.ref, e.commit});
    }
    untrusted_.push_back(std::move(e));
  }
  untrusted_count_ = untrusted_.size();
  // What an earlier process journalled and may not have folded or pushed:
  // visible now, folded (without repeats) by the next RecordStore flush.
  std::ifstream journal(JournalPath(), std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(journal)), std::istreambuf_iterator<char>());
  size_t end = text.rfind('\n');
  end = end == std::string::npos ? 0 : end + 1;  // a torn last line is not an event
  journal_size_ = end;
  ForEachLine(std::string_view(text).substr(0, end), [&](std::string_view entry) {
    size_t space = entry.find(' ');
    if (space != 40) return;  // "<commit> <signed line>"
    unfolded_[std::string(entry.substr(0, 40))].emplace_back(entry.substr(41));
  });
}

Workspace::~Workspace() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

Result<std::unique_ptr<Workspace>> Workspace::Open(const std::string& workdir,
                                                   const std::string& url,
                                                   const std::string& branch,
                                                   const TrustOptions& trust) {
  // Before any connection: every fetch and push of this process then
  // acknowledges the server at once (git/quick_ack.h).
  git::UseQuickAckSockets(url);
  std::error_code ec;
  fs::create_directories(workdir, ec);
  if (ec) {
    return Status::IOError("cannot create workdir " + workdir + ": " + ec.message() +
                           " (choose another with --workdir)");
  }
  // The URL without its password is what is stored, logged and shown
  // (/readyz, status, errors); the password stays in git/credentials.
  const std::string shown_url = git::AdoptUrlCredentials(url);
  auto repo = git::Repository::OpenCache(workdir + "/cache.git", url);
  if (!repo.ok()) return repo.status();
  bool generated = false;
  auto keys = RecordKeys::Load(trust, workdir, &generated);
  if (!keys.ok()) return keys.status();
  if (generated) {
    spdlog::info(
        "generated the record signing key {}/controller-key; its public half (list it in "
        "trust.controllerKeys of every replica and reader): {}",
        workdir, (*keys)->signing_key().public_key().ToOpenSsh());
  }
  return std::unique_ptr<Workspace>(new Workspace(fs::absolute(workdir).string(), shown_url, branch,
                                                  std::move(*repo), std::move(*keys)));
}

git::Person Workspace::Identity() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return git::Person{"Sluice controller", std::string("sluice@") + host, {}};
}

Result<std::string> Workspace::Head() {
  std::lock_guard lock(mu_);
  auto head = repo_->ResolveRef("refs/remotes/origin/" + branch_);
  if (!head.ok() && head.status().IsNotFound()) {
    return Status::NotFound("branch '" + branch_ + "' does not exist in " + url_ +
                            " (choose it with --branch)");
  }
  return head;
}

namespace {
// One record ref as Workspace::mirrored_record_ counts it: its remote name
// and the 20 bytes of its value.
uint64_t RecordMember(crypto::KeyedSetDigest& digest, std::string_view name, const git_oid& id) {
  return digest.Member(name, std::string_view(reinterpret_cast<const char*>(id.id), sizeof id.id));
}
}  // namespace

Status Workspace::FetchRecordLocked(const git::Advertisement* heard,
                                    std::vector<std::string>* moved) {
  std::lock_guard tracking(tracking_mu_);
  // Names the controller never writes are the remote's pusher's, not the
  // record's: never fetched, so they cannot collide with the local copies.
  // What the remote holds now replaces what it held: the set follows the
  // remote's refs and never grows beyond them.
  std::set<std::string> foreign;
  const std::vector<std::string> refspecs = {
      std::string("+") + kNotesRef + ":" + kRemoteNotesRef,
      std::string("+refs/sluice/*:") + kRemoteSluicePrefix + "*"};
  auto accept = [&](std::string_view name) {
    if (IsRecordRefName(name)) return true;
    if (ignored_remote_refs_.count(std::string(name)) == 0 &&
        foreign.count(std::string(name)) == 0) {
      spdlog::warn("the remote's {} is not a record reference Sluice writes: not fetched", name);
    }
    foreign.emplace(name);
    return false;
  };
  if (heard == nullptr) {
    mirrored_record_.reset();
    Status s = git::FetchListingUpdates(*repo_, refspecs, moved, "origin", accept);
    if (s.ok()) ignored_remote_refs_ = std::move(foreign);
    return s;
  }
  // With `heard` (the branch's connection already listed every ref, as
  // protocol v0 does): nothing to do when the record part of it is what
  // the copies were last found to mirror; otherwise the copies are
  // compared with it, and a second connection made only when one differs.
  const uint64_t now = RecordDigestOf(*heard);
  if (mirrored_record_ == now) return Status::Ok();  // the foreign names are unchanged too
  bool connected = false;
  Status s = git::FetchUpdatesAfter(*heard, *repo_, refspecs, moved, "origin", accept, &connected);
  if (s.ok()) ignored_remote_refs_ = std::move(foreign);
  // After a fetch the copies mirror that connection's own advertisement,
  // which may already differ from `heard`: unknown until compared again.
  mirrored_record_ = s.ok() && !connected ? std::optional<uint64_t>(now) : std::nullopt;
  return s;
}

uint64_t Workspace::RecordDigestOf(const git::Advertisement& heard) {
  uint64_t sum = 0;
  for (const auto& ref : heard) {
    std::string_view name = ref.name;
    if (name != kNotesRef && name.substr(0, strlen(kSluicePrefix)) != kSluicePrefix) continue;
    sum = crypto::KeyedSetDigest::Add(sum, RecordMember(record_digest_, name, ref.id));
  }
  return sum;
}

std::optional<std::vector<std::string>> Workspace::ReadUnpushedLocked() const {
  std::ifstream in(UnpushedPath());
  if (!in) return std::nullopt;
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(kSluicePrefix, 0) == 0 && seen.insert(line).second) names.push_back(line);
  }
  return names;
}

Status Workspace::WriteUnpushedLocked(const std::vector<std::string>& names) {
  // Written aside and renamed, so a crash leaves the old or the new list.
  const std::string tmp = UnpushedPath() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& n : names) out << n << "\n";
    if (!out.flush()) return Status::IOError("cannot write " + tmp + " (is the workdir writable?)");
  }
  std::error_code ec;
  fs::rename(tmp, UnpushedPath(), ec);
  if (ec) return Status::IOError("cannot write " + UnpushedPath() + ": " + ec.message());
  return Status::Ok();
}

Status Workspace::NoteUnpushedLocked(const std::vector<std::string>& names) {
  if (names.empty()) return Status::Ok();
  std::error_code ec;
  if (!fs::exists(UnpushedPath(), ec)) {
    return Status::Ok();  // no journal yet: the next Sync compares everything
  }
  // Appended, not rewritten: a fleet-wide pass notes thousands of names
  // before its next push (ReadUnpushedLocked drops repeats; a push rewrites
  // the list without what it pushed).
  std::string text;
  for (const auto& n : names) text.append(n).append("\n");
  std::ofstream out(UnpushedPath(), std::ios::app);
  out << text;
  if (!out.flush()) {
    return Status::IOError("cannot write " + UnpushedPath() + " (is the workdir writable?)");
  }
  return Status::Ok();
}

void Workspace::CommitEvents::Add(const Event& e, std::string_view line) {
  by_app[e.env + "/" + e.app].push_back(static_cast<uint32_t>(lines.size()));
  // Only what readers parse: the signature (checked already, or this
  // process's own) is 40 % of a line, and the head commit of a fleet-wide
  // pass holds 30,000 lines.
  if (auto split = SplitSignedLine(line)) {
    lines.push_back(std::move(split->first));
  } else {
    lines.emplace_back(line);
  }
}

namespace {
// A line CommitEventsLocked kept parsed once already; parsed again here.
void AppendParsed(std::vector<Event>& out, const std::string& line) {
  if (auto e = ParseEventLine(line); e.ok()) out.push_back(std::move(*e));
}
}  // namespace

const Workspace::CommitEvents& Workspace::CommitEventsLocked(const std::string& commit) {
  // One ref read: the cache holds while the notes are where it was built
  // (this workspace's own folds move events_tip_ along; anything else, a
  // merge of the remote's notes, starts it again).
  auto tip = repo_->ResolveRef(kNotesRef);
  std::string now = tip.ok() ? *tip : "";
  if (now != events_tip_) {
    events_.clear();
    events_tip_ = now;
  }
  auto it = events_.find(commit);
  if (it != events_.end()) return it->second;
  // Bounded: a report over a long history touches each commit once.
  constexpr size_t kMaxCommits = 4096;
  if (events_.size() >= kMaxCommits) events_.clear();
  CommitEvents& parsed = events_[commit];
  std::set<std::string> in_note;
  if (auto note = repo_->ReadNote(kNotesRef, commit); note.ok()) {
    auto bad = untrusted_lines_.find(commit);
    ForEachLine(*note, [&](std::string_view line) {
      if (line.empty()) return;
      if (bad != untrusted_lines_.end() && bad->second.count(std::string(line))) return;
      if (auto e = ParseEventLine(line); e.ok()) parsed.Add(*e, line);
      if (unfolded_.count(commit)) in_note.emplace(line);
    });
  }
  if (auto pending = unfolded_.find(commit); pending != unfolded_.end()) {
    for (const auto& line : pending->second) {
      if (in_note.count(line)) continue;  // folded before a crash, journalled still
      if (auto e = ParseEventLine(line); e.ok()) parsed.Add(*e, line);
    }
  }
  return parsed;
}

std::vector<Event> Workspace::TrustedEventsLocked(const std::string& commit) {
  const CommitEvents& all = CommitEventsLocked(commit);
  std::vector<Event> out;
  out.reserve(all.lines.size());
  for (const auto& line : all.lines) AppendParsed(out, line);
  return out;
}

std::vector<Event> Workspace::TrustedEventsForLocked(const std::string& commit,
                                                     const std::string& env,
                                                     const std::string& app) {
  const CommitEvents& all = CommitEventsLocked(commit);
  auto it = all.by_app.find(env + "/" + app);
  if (it == all.by_app.end()) return {};
  std::vector<Event> out;
  out.reserve(it->second.size());
  for (uint32_t i : it->second) AppendParsed(out, all.lines[i]);
  return out;
}

Status Workspace::OpenJournal() {
  if (journal_fd_ >= 0) return Status::Ok();
  int fd = ::open(JournalPath().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("cannot open " + JournalPath() + ": " + std::strerror(errno) +
                           " (is the workdir writable?)");
  }
  // Cut a torn last line (a crash mid-write) before appending after it.
  if (::ftruncate(fd, static_cast<off_t>(journal_size_)) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError("cannot repair " + JournalPath() + ": " + std::strerror(err));
  }
  journal_fd_ = fd;
  return Status::Ok();
}

Status Workspace::JournalEventLocked(const Event& e, const std::string& line, bool sync) {
  if (e.commit.size() != 40 || line.find('\n') != std::string::npos) {
    return Status::InvalidArgument("cannot journal an event on \"" + e.commit + "\"");
  }
  SLUICE_RETURN_IF_ERROR(OpenJournal());
  std::string entry = e.commit + " " + line + "\n";
  for (size_t done = 0; done < entry.size();) {
    ssize_t n = ::write(journal_fd_, entry.data() + done, entry.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IOError("cannot write " + JournalPath() + ": " + std::strerror(errno) +
                             " (is the disk full?)");
    }
    done += static_cast<size_t>(n);
  }
  journal_size_ += entry.size();
  if (sync && ::fdatasync(journal_fd_) != 0) {
    return Status::IOError("cannot sync " + JournalPath() + ": " + std::strerror(errno));
  }
  unfolded_[e.commit].push_back(line);
  // Visible at once to readers that parsed the commit already.
  if (auto it = events_.find(e.commit); it != events_.end()) it->second.Add(e, line);
  return Status::Ok();
}

Result<uint64_t> Workspace::FoldJournalLocked() {
  if (unfolded_.empty()) return journal_base_ + journal_size_;
  size_t lines = 0;
  for (const auto& [commit, l] : unfolded_) lines += l.size();
  const bool cache_current = [&] {
    auto tip = repo_->ResolveRef(kNotesRef);
    return (tip.ok() ? *tip : "") == events_tip_;
  }();
  auto folded =
      repo_->AppendToNotes(kNotesRef, unfolded_, Identity(),
                           "Notes added by Sluice: " + std::to_string(lines) + " event(s) on " +
                               std::to_string(unfolded_.size()) + " commit(s)");
  if (!folded.ok())
    return folded.status().WithContext("record events in " + std::string(kNotesRef));
  unfolded_.clear();
  // The cache held the journalled events already: it stays right.
  if (cache_current) events_tip_ = *folded;
  return journal_base_ + journal_size_;
}

Status Workspace::TrimJournalLocked(uint64_t covered_end) {
  // Offsets count every byte ever journalled by this process, so a trim
  // that comes after another (the flusher's after a Sync's) drops nothing
  // written since.
  if (covered_end <= journal_base_) return Status::Ok();
  const uint64_t covered = covered_end - journal_base_;
  if (covered >= journal_size_) {
    SLUICE_RETURN_IF_ERROR(OpenJournal());
    if (::ftruncate(journal_fd_, 0) != 0) {
      return Status::IOError("cannot trim " + JournalPath() + ": " + std::strerror(errno));
    }
    journal_base_ += journal_size_;
    journal_size_ = 0;
    return Status::Ok();
  }
  // Keep the tail written since: aside, then renamed over (a crash leaves
  // the old journal or the new one, and folding repeats nothing).
  std::ifstream in(JournalPath(), std::ios::binary);
  in.seekg(static_cast<std::streamoff>(covered));
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  tail.resize(std::min<uint64_t>(tail.size(), journal_size_ - covered));
  const std::string tmp = JournalPath() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << tail;
    if (!out.flush()) return Status::IOError("cannot write " + tmp + " (is the disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, JournalPath(), ec);
  if (ec) return Status::IOError("cannot replace " + JournalPath() + ": " + ec.message());
  ::close(journal_fd_);
  journal_fd_ = -1;
  journal_base_ += covered;
  journal_size_ = tail.size();
  return OpenJournal();
}

std::vector<UntrustedEntry> Workspace::UntrustedEntries() {
  std::lock_guard lock(mu_);
  return untrusted_;
}

void Workspace::AddUntrustedLocked(std::vector<UntrustedEntry> entries) {
  if (entries.empty()) return;
  std::ofstream out(UntrustedPath(), std::ios::app);
  for (auto& e : entries) {
    spdlog::warn("untrusted record entry ignored: {} {} on {}: {}", e.kind,
                 e.kind == "ref" ? e.ref : e.env + "/" + e.app, ShortId(e.commit), e.reason);
    out << e.ToJson() << "\n";
    untrusted_.push_back(std::move(e));
  }
  untrusted_count_ = untrusted_.size();
  if (!out.flush()) {
    spdlog::warn("cannot write {} (the untrusted entries stay ignored in this process)",
                 UntrustedPath());
  }
}

Status Workspace::VerifyRemoteNotesLocked() {
  auto remote = repo_->ResolveRef(kRemoteNotesRef);
  if (!remote.ok()) return Status::Ok();
  auto local = repo_->ResolveRef(kNotesRef);
  if (local.ok() && *local == *remote) return Status::Ok();
  // Only the notes that differ: a pass with no new remote lines costs one
  // tree comparison.
  auto changed = repo_->DiffTrees(local.ok() ? *local : "", *remote, "");
  if (!changed.ok()) return changed.status().WithContext("verify the fetched record");
  std::vector<UntrustedEntry> found;
  for (const auto& c : *changed) {
    if (c.new_blob.empty()) continue;
    std::string commit;
    for (char ch : c.path) {
      if (ch != '/') commit += ch;
    }
    if (commit.size() != 40) continue;  // not a note (git notes only name commits)
    auto theirs = repo_->ReadNote(kRemoteNotesRef, commit);
    if (!theirs.ok()) continue;
    std::set<std::string> ours;
    if (auto mine = repo_->ReadNote(kNotesRef, commit); mine.ok()) {
      std::string_view t = *mine;
      for (size_t pos = 0; pos < t.size();) {
        size_t nl = t.find('\n', pos);
        if (nl == std::string_view::npos) nl = t.size();
        ours.emplace(t.substr(pos, nl - pos));
        pos = nl + 1;
      }
    }
    std::string_view t = *theirs;
    for (size_t pos = 0; pos < t.size();) {
      size_t nl = t.find('\n', pos);
      if (nl == std::string_view::npos) nl = t.size();
      std::string line(t.substr(pos, nl - pos));
      pos = nl + 1;
      if (line.empty() || ours.count(line)) continue;
      if (untrusted_lines_[commit].count(line)) continue;  // known already
      LineVerdict v = VerifyEventLine(line, commit, keys_->trusted());
      if (v.trusted) continue;
      UntrustedEntry e;
      e.kind = "event";
      e.commit = commit;
      e.line = line;
      e.reason = v.reason;
      if (auto ev = ParseEventLine(line); ev.ok()) {
        e.env = ev->env;
        e.app = ev->app;
      }
      untrusted_lines_[commit].insert(line);
      found.push_back(std::move(e));
    }
  }
  for (auto it = untrusted_lines_.begin(); it != untrusted_lines_.end();) {
    it = it->second.empty() ? untrusted_lines_.erase(it) : std::next(it);
  }
  AddUntrustedLocked(std::move(found));
  return Status::Ok();
}

std::optional<TimePoint> Workspace::ConfirmedAtLocked(const std::string& lname,
                                                      const std::string& commit,
                                                      bool* confirmable) {
  ConfirmsRef(lname, Event{}, confirmable);
  if (!*confirmable) return std::nullopt;
  std::optional<TimePoint> newest;
  // Many refs name one commit (a release that touched many apps): its note
  // is parsed once per merge.
  auto cached = confirm_cache_.find(commit);
  if (cached == confirm_cache_.end()) {
    cached = confirm_cache_.emplace(commit, TrustedEventsLocked(commit)).first;
  }
  for (const Event& e : cached->second) {
    bool unused = true;
    if (ConfirmsRef(lname, e, &unused) && (!newest || e.time > *newest)) newest = e.time;
  }
  return newest;
}

bool Workspace::TakeRemoteLocked(const std::string& lname, const std::string& rid,
                                 const std::string& lid) {
  bool confirmable = true;
  std::optional<TimePoint> remote_at = ConfirmedAtLocked(lname, rid, &confirmable);
  if (!confirmable) {
    // Not a release ref (the pass stamp): newer along history wins, as
    // before; nothing decides on it.
    if (lid.empty()) return true;
    auto local_older = repo_->IsAncestor(lid, rid);
    return local_older.ok() && *local_older;
  }
  if (!remote_at) {
    if (untrusted_refs_.insert({lname, rid}).second) {
      untrusted_ref_seen_[{lname, rid}] = std::chrono::system_clock::now();
      UntrustedEntry e;
      e.kind = "ref";
      e.ref = lname;
      e.commit = rid;
      std::tie(e.env, e.app) = RefEnvApp(lname);
      e.reason = "no trusted event on " + ShortId(rid) + " confirms it";
      AddUntrustedLocked({std::move(e)});
    }
    return false;
  }
  if (lid.empty()) return true;
  bool unused = true;
  std::optional<TimePoint> local_at = ConfirmedAtLocked(lname, lid, &unused);
  // The newer confirmation wins: a replayed older commit never rewinds a ref.
  if (!local_at || *remote_at > *local_at) return true;
  if (*remote_at < *local_at) return false;
  // Confirmed in the same millisecond: the descendant wins, as before signing.
  auto local_older = repo_->IsAncestor(lid, rid);
  return local_older.ok() && *local_older;
}

void Workspace::KeepLocalLocked(const std::string& lname) {
  // The remote holds another (forged, rewound or stale) value: journal the
  // local one so the next pushing Sync puts it back, even when this Sync
  // is a read-only one whose fetch consumed the move.
  if (Status s = NoteUnpushedLocked({lname}); !s.ok()) spdlog::warn("{}", s.ToString());
}

Status Workspace::MergeOneRecordRefLocked(const std::string& rname,
                                          std::vector<std::string>* local_ahead) {
  const size_t strip = std::string_view(kRemoteSluicePrefix).size();
  if (rname.compare(0, strip, kRemoteSluicePrefix) != 0) return Status::Ok();
  std::string lname = std::string(kSluicePrefix) + rname.substr(strip);
  auto rid = repo_->ResolveRef(rname);
  auto lid = repo_->ResolveRef(lname);
  if (!rid.ok()) {
    if (!rid.status().IsNotFound()) return rid.status();
    if (lid.ok() && local_ahead) local_ahead->push_back(lname);  // the remote lacks it
    return Status::Ok();
  }
  if (!lid.ok()) {
    if (!lid.status().IsNotFound()) return lid.status();
    if (!TakeRemoteLocked(lname, *rid, "")) return Status::Ok();
    return repo_->SetRefs({{lname, *rid}}, "sluice: take remote record");
  }
  if (*lid == *rid) return Status::Ok();
  if (TakeRemoteLocked(lname, *rid, *lid)) {
    return repo_->SetRefs({{lname, *rid}}, "sluice: take newer remote record");
  }
  if (local_ahead) {
    local_ahead->push_back(lname);
  } else {
    KeepLocalLocked(lname);
  }
  return Status::Ok();
}

Status Workspace::RetryUntrustedRefsLocked(const std::set<std::string>& done,
                                           const std::set<std::string>& journalled,
                                           std::vector<std::string>* local_ahead) {
  // A record ref can reach this workdir before the note that confirms it:
  // the remote updates refs one by one, and a replica killed before its
  // flush pushes its journal's notes later. Such a ref was reported
  // untrusted; while the remote still holds it, it is looked at again on
  // every merge and taken once a trusted event confirms it (otherwise this
  // replica would act on an older deployed commit and apply again).
  std::vector<std::pair<std::string, std::string>> resolved;
  const std::vector<std::pair<std::string, std::string>> pending(untrusted_refs_.begin(),
                                                                 untrusted_refs_.end());
  for (const auto& [lname, rid] : pending) {
    if (lname.compare(0, strlen(kSluicePrefix), kSluicePrefix) != 0) continue;
    const std::string rname =
        std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix));
    if (done.count(rname) || journalled.count(rname)) continue;
    auto current = repo_->ResolveRef(rname);
    if (!current.ok() || *current != rid) continue;  // the remote moved on: judged when it moved
    bool confirmable = true;
    std::optional<TimePoint> confirmed = ConfirmedAtLocked(lname, rid, &confirmable);
    if (!confirmed || !confirmable) continue;
    // Taken: confirmed now. Cleared from the untrusted list only when the
    // confirming event was written before this process saw the ref (its
    // note came late); a ref confirmed by a later event (a forged push that
    // a real apply then caught up with) stays listed, the evidence of it.
    untrusted_refs_.erase({lname, rid});
    auto seen = untrusted_ref_seen_.find({lname, rid});
    if (seen != untrusted_ref_seen_.end()) {
      if (*confirmed <= seen->second) {
        resolved.emplace_back(lname, rid);
        spdlog::info("record ref {} at {}: the note confirming it arrived; no longer untrusted",
                     lname, ShortId(rid));
      }
      untrusted_ref_seen_.erase(seen);
    }
    SLUICE_RETURN_IF_ERROR(MergeOneRecordRefLocked(rname, local_ahead));
  }
  if (resolved.empty()) return Status::Ok();
  std::erase_if(untrusted_, [&](const UntrustedEntry& e) {
    return e.kind == "ref" && std::find(resolved.begin(), resolved.end(),
                                        std::make_pair(e.ref, e.commit)) != resolved.end();
  });
  untrusted_count_ = untrusted_.size();
  // The file lists what is still untrusted (status, audit and the metric
  // read it).
  const std::string tmp = UntrustedPath() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& e : untrusted_) out << e.ToJson() << "\n";
    if (!out.flush()) return Status::Ok();  // the old file still lists more: harmless
  }
  std::error_code ec;
  std::filesystem::rename(tmp, UntrustedPath(), ec);
  return Status::Ok();
}

Status Workspace::MergeRemoteRecordLocked(const std::vector<std::string>* moved,
                                          std::vector<std::string>* local_ahead) {
  confirm_cache_.clear();
  struct ClearAfter {
    std::unordered_map<std::string, std::vector<Event>>& cache;
    ~ClearAfter() { cache.clear(); }
  } clear_after{confirm_cache_};
  if (repo_->ResolveRef(kRemoteNotesRef).ok()) {
    SLUICE_RETURN_IF_ERROR(VerifyRemoteNotesLocked());
    SLUICE_RETURN_IF_ERROR(repo_->MergeNotes(kNotesRef, kRemoteNotesRef, Identity()));
  }
  std::optional<std::vector<std::string>> journal;
  if (moved) journal = ReadUnpushedLocked();
  if (journal) {
    // Incremental: a record ref can differ from its remote copy only if the
    // fetch moved the remote copy, or this workdir wrote the local one and
    // has not pushed it yet (journalled by NoteUnpushedLocked).
    std::set<std::string> journalled;
    for (const auto& lname : *journal) {
      journalled.insert(std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix)));
    }
    std::set<std::string> done;
    for (const auto& rname : *moved) {
      if (journalled.count(rname) || !done.insert(rname).second) continue;
      SLUICE_RETURN_IF_ERROR(MergeOneRecordRefLocked(rname, local_ahead));
    }
    // Only new notes can confirm a ref reported untrusted before, or notes
    // an earlier process fetched (its untrusted refs are loaded from
    // record-untrusted): the first merge of a process looks at them all.
    if (!untrusted_refs_.empty() &&
        (!untrusted_retried_ ||
         std::find(moved->begin(), moved->end(), kRemoteNotesRef) != moved->end())) {
      SLUICE_RETURN_IF_ERROR(RetryUntrustedRefsLocked(done, journalled, local_ahead));
    }
    untrusted_retried_ = true;
    std::vector<std::string> still;
    for (const auto& lname : *journal) {
      std::vector<std::string> ahead;
      SLUICE_RETURN_IF_ERROR(MergeOneRecordRefLocked(
          std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix)), &ahead));
      if (ahead.empty()) continue;  // the remote has it (or a newer one)
      still.push_back(lname);
      if (local_ahead) local_ahead->push_back(lname);
    }
    // Only a pushing Sync (the controller, which holds the workdir lock)
    // rewrites the journal; a read-only one (`sluice status`) leaves it.
    if (local_ahead && still.size() != journal->size()) {
      SLUICE_RETURN_IF_ERROR(WriteUnpushedLocked(still));
    }
    return Status::Ok();
  }

  // Full comparison: the first Sync of a workdir (or of one written by an
  // older Sluice), which then starts the journal.
  auto remote = repo_->ListRefs(kRemoteSluicePrefix);
  if (!remote.ok()) return remote.status();
  auto local = repo_->ListRefs(kSluicePrefix);
  if (!local.ok()) return local.status();
  const size_t strip = std::string_view(kRemoteSluicePrefix).size();
  std::vector<std::string> ahead;
  for (const auto& [rname, rid] : *remote) {
    std::string lname = std::string(kSluicePrefix) + rname.substr(strip);
    auto it = local->find(lname);
    if (it == local->end()) {
      if (TakeRemoteLocked(lname, rid, "")) {
        SLUICE_RETURN_IF_ERROR(repo_->SetRefs({{lname, rid}}, "sluice: take remote record"));
      }
      continue;
    }
    if (it->second == rid) continue;
    if (TakeRemoteLocked(lname, rid, it->second)) {
      SLUICE_RETURN_IF_ERROR(repo_->SetRefs({{lname, rid}}, "sluice: take newer remote record"));
    } else {
      ahead.push_back(lname);
    }
  }
  for (const auto& [lname, lid] : *local) {
    std::string rname = std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix));
    if (!remote->count(rname)) ahead.push_back(lname);
  }
  if (local_ahead) {
    for (const auto& n : ahead) local_ahead->push_back(n);
    // Every difference is now known: start the journal with what is ahead.
    SLUICE_RETURN_IF_ERROR(WriteUnpushedLocked(ahead));
  }
  return Status::Ok();
}

Status Workspace::PackRefsLocked() {
  // `git pack-refs` when git is installed: libgit2 1.5's git_refdb_compress
  // takes 13 s to pack the 60,000 loose refs a first pass over 10,000 pins
  // leaves (its sorted cache of packed refs is sorted again for each new
  // name), git 3 s, nearly all of it the file system's (a lock file per
  // ref). The same lock files guard both, so either is safe beside the
  // other.
  static const std::optional<std::string> git = [] {
    auto found = process::FindOnPath("git", process::BaseEnvironment()["PATH"]);
    if (!found.ok()) {
      spdlog::info("git is not on PATH: the cache's refs are packed by libgit2 (slower)");
      return std::optional<std::string>();
    }
    return std::optional<std::string>(*found);
  }();
  if (!git) return repo_->PackRefs();
  process::ProcessSpec spec;
  spec.argv = {*git, "--git-dir=" + repo_->path(), "pack-refs", "--all", "--prune"};
  spec.env = process::BaseEnvironment();
  // The cache's own configuration only: no user or system config (nor
  // their includes) takes part.
  spec.env["GIT_CONFIG_NOSYSTEM"] = "1";
  spec.env["GIT_CONFIG_GLOBAL"] = "/dev/null";
  spec.timeout = std::chrono::minutes(5);
  process::BoostCommandRunner runner;
  auto ran = runner.Run(spec, nullptr);
  repo_->RefsMoved();
  if (!ran.ok()) return ran.status().WithContext("pack the cache's references");
  if (ran->exit_code != 0) {
    std::string why = ran->stderr_tail;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    return Status::IOError("git pack-refs in " + repo_->path() + " exited " +
                           std::to_string(ran->exit_code) + ": " + why);
  }
  return Status::Ok();
}

void Workspace::PackRefsIfDue() {
  if (loose_refs_ < kPackRefsAfter) return;  // most passes: no lock taken
  std::lock_guard lock(mu_);
  PackRefsIfDueLocked();
}

void Workspace::PackRefsIfDueLocked() {
  const size_t loose = loose_refs_;
  if (loose < kPackRefsAfter) return;
  // Mostly the file system's time (a lock file per ref): said at info when
  // it runs to seconds, so that a long pause has a name.
  const bool many = loose >= kPackRefsSaidAfter;
  if (many) spdlog::info("packing about {} loose references of the cache", loose);
  const auto start = std::chrono::steady_clock::now();
  std::lock_guard tracking(tracking_mu_);
  if (Status packed = PackRefsLocked(); !packed.ok()) {
    spdlog::warn("{} (the cache still works, only slower)", packed.ToString());
  } else {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (many) {
      spdlog::info("packed the cache's references in {} ms", ms);
    } else {
      spdlog::debug("packed about {} loose references of the cache in {} ms", loose, ms);
    }
  }
  loose_refs_ = 0;
}

Status Workspace::DropForeignNamesLocked() {
  std::lock_guard tracking(tracking_mu_);
  mirrored_record_.reset();
  for (const char* prefix : {kSluicePrefix, kRemoteSluicePrefix}) {
    auto refs = repo_->ListRefs(prefix);
    if (!refs.ok()) return refs.status();
    for (const auto& [name, id] : *refs) {
      const std::string as_record = std::string(kSluicePrefix) + name.substr(strlen(prefix));
      if (IsRecordRefName(as_record)) continue;
      spdlog::warn("deleting {} from the cache: it is no record reference Sluice writes", name);
      SLUICE_RETURN_IF_ERROR(repo_->DeleteRef(name));
    }
  }
  foreign_names_dropped_ = true;
  return Status::Ok();
}

Status Workspace::Sync(bool push) {
  std::lock_guard lock(mu_);
  if (!foreign_names_dropped_) SLUICE_RETURN_IF_ERROR(DropForeignNamesLocked());
  std::vector<std::string> moved;
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
  };
  const auto t0 = Clock::now();
  // The branch first, negotiated from its own history (see
  // FetchNegotiatingAlone: offered together with the record, its old head
  // was never offered and every new commit brought the whole history). The
  // record refs that point at branch commits then find them here already.
  git::Advertisement heard;
  SLUICE_RETURN_IF_ERROR(git::FetchNegotiatingAlone(
      *repo_, NegotiationDir(), {"+refs/heads/" + branch_ + ":refs/remotes/origin/" + branch_},
      &moved, "origin", &heard));
  const auto t1 = Clock::now();
  SLUICE_RETURN_IF_ERROR(FetchRecordLocked(&heard, &moved));
  heard = {};
  const auto t2 = Clock::now();
  std::vector<std::string> local_ahead;
  SLUICE_RETURN_IF_ERROR(MergeRemoteRecordLocked(&moved, push ? &local_ahead : nullptr));
  spdlog::debug("sync: branch fetched in {} ms, record in {} ms, merged in {} ms ({} moved)",
                ms(t0, t1), ms(t1, t2), ms(t2, Clock::now()), moved.size());
  // Each moved record ref is now two loose files (the remote-tracking copy
  // and the merged local one). Pack them once enough have gathered: the
  // first sync of a long record writes tens of thousands, and every later
  // listing would open each one (60,000 loose refs: 270,000 stat calls and
  // 1 s of a 3 s audit at the full benchmark size). A failure only costs
  // speed, so it is not the pass's error.
  loose_refs_ += 2 * moved.size();
  PackRefsIfDueLocked();
  if (!push) return Status::Ok();
  // Events a process journalled and did not fold (it died first) go with
  // this push; the journal forgets them once they are on the remote.
  uint64_t covered = 0;
  if (!unfolded_.empty()) {
    auto folded = FoldJournalLocked();
    if (!folded.ok()) return folded.status();
    covered = *folded;
  }
  auto local_notes = repo_->ResolveRef(kNotesRef);
  auto remote_notes = repo_->ResolveRef(kRemoteNotesRef);
  bool notes_ahead = local_notes.ok() && (!remote_notes.ok() || *local_notes != *remote_notes);
  if (notes_ahead || !local_ahead.empty()) {
    SLUICE_RETURN_IF_ERROR(PushRecordLocked(local_ahead));
  }
  return TrimJournalLocked(covered);
}

std::string Workspace::RecordPushError() {
  std::lock_guard lock(mu_);
  return record_push_error_;
}

namespace {
// "refs/a" and "refs/a/b" (either way round): Git cannot hold both.
bool OneContainsTheOther(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return b.size() > a.size() && b.substr(0, a.size()) == a && b[a.size()] == '/';
}
}  // namespace

std::vector<std::string> Workspace::ForeignBlockersLocked(const std::vector<std::string>& ours) {
  // A name on the remote that is no record reference (never fetched:
  // FetchRecordLocked) where one of ours goes, as its directory or inside
  // it, would refuse the push for good: the push deletes it, first.
  std::vector<std::string> blockers;
  for (const auto& theirs : ignored_remote_refs_) {
    for (const auto& r : ours) {
      if (!OneContainsTheOther(theirs, r)) continue;
      spdlog::warn("deleting the remote's {}: it is no record reference and blocks {}", theirs, r);
      blockers.push_back(theirs);
      break;
    }
  }
  return blockers;
}

Status Workspace::PushRecordLocked(const std::vector<std::string>& sluice_refs) {
  Status s = PushRecordOnceLocked(sluice_refs);
  record_push_error_ = s.ok() ? "" : s.ToString();
  return s;
}

Status Workspace::PushRecordOnceLocked(const std::vector<std::string>& sluice_refs) {
  std::vector<std::string> specs;
  if (repo_->ResolveRef(kNotesRef).ok()) {
    specs.push_back(std::string(kNotesRef) + ":" + kNotesRef);
  }
  for (const auto& r : sluice_refs) specs.push_back("+" + r + ":" + r);
  if (specs.empty()) return Status::Ok();
  const std::vector<std::string> deleted = ForeignBlockersLocked(sluice_refs);
  for (const auto& d : deleted) specs.insert(specs.begin(), ":" + d);
  Status last;
  for (int attempt = 0; attempt < kPushAttempts; ++attempt) {
    std::string notes_tip;
    if (auto tip = repo_->ResolveRef(kNotesRef); tip.ok()) notes_tip = *tip;
    std::map<std::string, std::string> pushed;
    for (const auto& r : sluice_refs) {
      if (auto id = repo_->ResolveRef(r); id.ok()) pushed[r] = *id;
    }
    last = repo_->Push(specs);
    if (last.ok()) {
      for (const auto& d : deleted) ignored_remote_refs_.erase(d);
      RememberPushedLocked(notes_tip, pushed, !deleted.empty());
      return Status::Ok();
    }
    if (!last.IsConflict()) return last.WithContext("push the record to " + url_);
    // Another writer pushed notes first: take theirs, merge ours in, retry.
    std::vector<std::string> moved;
    SLUICE_RETURN_IF_ERROR(FetchRecordLocked(nullptr, &moved));
    SLUICE_RETURN_IF_ERROR(MergeRemoteRecordLocked(&moved, nullptr));
  }
  return last.WithContext("push the record to " + url_ + " after " + std::to_string(kPushAttempts) +
                          " attempts");
}

namespace {
// Remembers what the remote now has (the remote-tracking copies), so Sync
// knows nothing is pending. A copy that cannot be moved (another handle
// holds it locked) costs a later comparison, not the push.
// Moves `mirrored` (Workspace::mirrored_record_) as the push moved the
// remote: each pushed name from the value its copy held, which the digest
// counted, to the pushed one. When another writer had moved one first (a
// forced record ref), the sum then differs from the remote's and the next
// fetch compares the copies, as it would have.
// Returns how many copies it wrote (loose refs, for the next pack).
size_t RememberTrackingCopies(git::Repository& repo, const std::string& notes_tip,
                              const std::map<std::string, std::string>& pushed,
                              crypto::KeyedSetDigest& digest, std::optional<uint64_t>* mirrored) {
  std::vector<std::pair<std::string, std::string>> copies;
  std::vector<std::string_view> names;  // as the remote calls them
  if (!notes_tip.empty()) {
    copies.emplace_back(kRemoteNotesRef, notes_tip);
    names.push_back(kNotesRef);
  }
  for (const auto& [r, id] : pushed) {
    copies.emplace_back(std::string(kRemoteSluicePrefix) + r.substr(strlen(kSluicePrefix)), id);
    names.push_back(r);
  }
  auto member = [&](std::string_view name, const std::string& hex) -> std::optional<uint64_t> {
    git_oid oid;
    if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, hex.data(), hex.size()) != 0) {
      return std::nullopt;
    }
    return RecordMember(digest, name, oid);
  };
  for (size_t i = 0; i < copies.size() && mirrored->has_value(); ++i) {
    uint64_t sum = **mirrored;
    auto was = repo.ResolveRef(copies[i].first);
    if (was.ok()) {
      auto old_member = member(names[i], *was);
      if (!old_member) {
        mirrored->reset();
        break;
      }
      sum = crypto::KeyedSetDigest::Remove(sum, *old_member);
    } else if (!was.status().IsNotFound()) {
      mirrored->reset();
      break;
    }
    auto new_member = member(names[i], copies[i].second);
    if (!new_member) {
      mirrored->reset();
      break;
    }
    *mirrored = crypto::KeyedSetDigest::Add(sum, *new_member);
  }
  // Record names only: one transaction (Repository::SetRefs); if one of
  // them is locked, the others one by one.
  if (repo.SetRefs(copies, "sluice: pushed").ok()) return copies.size();
  for (const auto& copy : copies) {
    if (Status s = repo.SetRefs({copy}, "sluice: pushed"); !s.ok()) {
      spdlog::warn("pushed the record, but could not update {} in the cache: {}", copy.first,
                   s.ToString());
      mirrored->reset();  // that copy no longer mirrors the remote
    }
  }
  return copies.size();
}
}  // namespace

void Workspace::RememberPushedLocked(const std::string& notes_tip,
                                     const std::map<std::string, std::string>& pushed,
                                     bool deleted_foreign) {
  {
    std::lock_guard tracking(tracking_mu_);
    if (deleted_foreign) mirrored_record_.reset();
    loose_refs_ +=
        RememberTrackingCopies(*repo_, notes_tip, pushed, record_digest_, &mirrored_record_);
  }
  ForgetUnpushedLocked(pushed);
}

void Workspace::ForgetUnpushedLocked(const std::map<std::string, std::string>& pushed) {
  if (auto journal = ReadUnpushedLocked(); journal && !journal->empty()) {
    std::vector<std::string> still;
    for (const auto& n : *journal) {
      if (!pushed.count(n)) still.push_back(n);
    }
    if (still.size() != journal->size()) {
      if (Status s = WriteUnpushedLocked(still); !s.ok()) {
        // The journal then lists refs already pushed: the next Sync
        // compares them again, nothing is lost.
        spdlog::warn("could not update the unpushed-refs journal: {}", s.ToString());
      }
    }
  }
}

Status Workspace::PushRecordThrough(git::Repository& handle,
                                    const std::vector<std::string>& sluice_refs) {
  Status last;
  for (int attempt = 0; attempt < kPushAttempts; ++attempt) {
    std::vector<std::string> specs;
    std::string notes_tip;
    std::map<std::string, std::string> pushed;
    std::vector<std::string> deleted;
    {
      std::lock_guard lock(mu_);
      if (auto tip = repo_->ResolveRef(kNotesRef); tip.ok()) {
        notes_tip = *tip;
        auto remote = repo_->ResolveRef(kRemoteNotesRef);
        if (!remote.ok() || *remote != notes_tip) {
          specs.push_back(std::string(kNotesRef) + ":" + kNotesRef);
        }
      }
      for (const auto& r : sluice_refs) {
        if (auto id = repo_->ResolveRef(r); id.ok()) {
          pushed[r] = *id;
          specs.push_back("+" + r + ":" + r);
        }
      }
      std::vector<std::string> ours;
      for (const auto& [r, id] : pushed) ours.push_back(r);
      deleted = ForeignBlockersLocked(ours);
      // Deletions first: git receive-pack applies the commands in order.
      for (const auto& d : deleted) specs.insert(specs.begin(), ":" + d);
    }
    if (specs.empty()) return Status::Ok();  // the remote has it all
    last = handle.Push(specs);
    if (last.ok()) {
      if (!deleted.empty()) {
        std::lock_guard lock(mu_);
        for (const auto& d : deleted) ignored_remote_refs_.erase(d);
      }
      // Through the flusher's own handle, outside the mutex: thousands of
      // ref files after a fleet-wide batch must not hold up the applies.
      {
        std::lock_guard tracking(tracking_mu_);
        if (!deleted.empty()) mirrored_record_.reset();
        loose_refs_ +=
            RememberTrackingCopies(handle, notes_tip, pushed, record_digest_, &mirrored_record_);
      }
      std::lock_guard lock(mu_);
      record_push_error_.clear();
      ForgetUnpushedLocked(pushed);
      return Status::Ok();
    }
    std::lock_guard lock(mu_);
    if (!last.IsConflict()) {
      last = last.WithContext("push the record to " + url_);
      record_push_error_ = last.ToString();
      return last;
    }
    // Another writer pushed notes first: take theirs, merge ours in, retry.
    std::vector<std::string> moved;
    Status merged = FetchRecordLocked(nullptr, &moved);
    if (merged.ok()) merged = MergeRemoteRecordLocked(&moved, nullptr);
    if (!merged.ok()) {
      record_push_error_ = merged.ToString();
      return merged;
    }
  }
  last = last.WithContext("push the record to " + url_ + " after " + std::to_string(kPushAttempts) +
                          " attempts");
  std::lock_guard lock(mu_);
  record_push_error_ = last.ToString();
  return last;
}

std::string DefaultWorkdir(const std::string& url) {
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    base = std::string(h) + "/.cache";
  } else {
    base = "/tmp";
  }
  std::string slug;
  for (char c : url) {
    slug += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  }
  if (slug.size() > 60) slug = slug.substr(slug.size() - 60);
  char hash[17];
  snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(url));
  return base + "/sluice/" + slug + "-" + std::string(hash, 8);
}

}  // namespace sluice::record
