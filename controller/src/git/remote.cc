// Repository: Fetch and Push against a named remote ("origin" by default),
// with credentials from git/credentials.h (the controller's configuration,
// never the repository's config).

#include <git2/sys/repository.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "core/lines.h"
#include "git/credentials.h"
#include "git/incremental.h"
#include "git/internal.h"
#include "git/repo.h"

namespace sluice::git {

namespace fs = std::filesystem;

namespace {

// How many times libgit2 may ask for credentials in one operation before we
// give up: a rejected password would otherwise be offered forever.
constexpr int kMaxCredentialAttempts = 3;

// State shared with the libgit2 callbacks of one remote operation.
struct CallbackState {
  int credential_attempts = 0;
  bool userpass_tried = false;
  bool ssh_key_tried = false;
  std::vector<std::pair<std::string, std::string>> rejected;  // ref, reason
  std::vector<std::string>* updated = nullptr;                // fetch: refs it moved
};

int FailAuth(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, internal::Redact(message).c_str());
  return GIT_EAUTH;
}

int AcquireCredential(git_credential** out, const char* url, const char* username_from_url,
                      unsigned int allowed_types, void* payload) {
  auto* state = static_cast<CallbackState*>(payload);
  std::string where = internal::Redact(url != nullptr ? url : "the remote");
  if (++state->credential_attempts > kMaxCredentialAttempts) {
    return FailAuth("authentication to " + where + " failed after " +
                    std::to_string(kMaxCredentialAttempts) + " attempts");
  }
  // From the controller's configuration, its environment at start, or the
  // --repo URL: never from cache.git/config (SPEC 1.3 rule 5).
  Credentials creds = CredentialsForUrl(url != nullptr ? url : "");
  std::string user = creds.username;
  if (user.empty() && username_from_url != nullptr) user = username_from_url;

  if ((allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0) {
    if (state->userpass_tried) {
      return FailAuth(
          "authentication to " + where + " failed: the remote rejected user " + user +
          " and the password from " +
          (creds.password_source.empty() ? "the configuration" : creds.password_source));
    }
    const std::string& password = creds.password;
    if (user.empty() || password.empty()) {
      return FailAuth(where +
                      " requires authentication: set gitUsername and gitPasswordFile in the "
                      "controller's --config (or SLUICE_GIT_USERNAME and SLUICE_GIT_PASSWORD, or "
                      "SLUICE_GIT_PASSWORD_FILE)");
    }
    state->userpass_tried = true;
    return git_credential_userpass_plaintext_new(out, user.c_str(), password.c_str());
  }

  if (user.empty()) user = "git";
  if ((allowed_types & GIT_CREDENTIAL_USERNAME) != 0) {
    return git_credential_username_new(out, user.c_str());
  }
  if ((allowed_types & GIT_CREDENTIAL_SSH_KEY) != 0) {
    if (state->ssh_key_tried) {
      return FailAuth("ssh authentication to " + where + " as " + user + " failed");
    }
    state->ssh_key_tried = true;
    const std::string& key = creds.ssh_key;
    if (key.empty()) return git_credential_ssh_key_from_agent(out, user.c_str());
    std::string pub = key + ".pub";
    std::ifstream probe(pub);
    const std::string& passphrase = creds.ssh_passphrase;
    return git_credential_ssh_key_new(out, user.c_str(), probe ? pub.c_str() : nullptr, key.c_str(),
                                      passphrase.empty() ? nullptr : passphrase.c_str());
  }
  return FailAuth(where + " asks for a kind of authentication Sluice does not support");
}

int PushUpdateReference(const char* refname, const char* status, void* payload) {
  if (status != nullptr) {
    auto* state = static_cast<CallbackState*>(payload);
    state->rejected.emplace_back(refname != nullptr ? refname : "?", status);
  }
  return 0;
}

int UpdateTips(const char* refname, const git_oid* /*old*/, const git_oid* /*now*/, void* payload) {
  auto* state = static_cast<CallbackState*>(payload);
  if (state->updated != nullptr && refname != nullptr) state->updated->emplace_back(refname);
  return 0;
}

git_remote_callbacks MakeCallbacks(CallbackState* state) {
  git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
  cb.credentials = &AcquireCredential;
  cb.push_update_reference = &PushUpdateReference;
  cb.update_tips = &UpdateTips;
  cb.payload = state;
  return cb;
}

// Borrowed C strings for a git_strarray; `strings` must outlive the array.
struct StrArray {
  explicit StrArray(const std::vector<std::string>& strings) {
    for (const auto& s : strings) ptrs.push_back(const_cast<char*>(s.c_str()));
    array.strings = ptrs.data();
    array.count = ptrs.size();
  }
  std::vector<char*> ptrs;
  git_strarray array{};
};

Status CheckRefspecs(const std::vector<std::string>& refspecs, bool fetch) {
  for (const auto& spec : refspecs) {
    git_refspec* parsed = nullptr;
    int rc = git_refspec_parse(&parsed, spec.c_str(), fetch ? 1 : 0);
    if (rc != 0) {
      Status s = GitError(rc, std::string(fetch ? "fetch" : "push") + " refspec \"" + spec + "\"");
      return Status::InvalidArgument(s.message());
    }
    git_refspec_free(parsed);
  }
  return Status::Ok();
}

// An in-memory remote for the URL of remote `name`. Not git_remote_lookup(): in
// libgit2 1.5.1 it leaks pcre2 match data (~20 KB) on every call, through
// the url.*.insteadOf regex lookup, which a long-running controller cannot
// afford. So url.<base>.insteadOf rewriting does not apply.
Result<RemotePtr> Origin(git_repository* repo, const std::string& name, std::string* url) {
  git_config* raw_config = nullptr;
  int rc = git_repository_config_snapshot(&raw_config, repo);
  if (rc != 0) return GitError(rc, "read the repository configuration");
  std::unique_ptr<git_config, GitFree<&git_config_free>> config(raw_config);
  const char* configured = nullptr;
  const std::string key = "remote." + name + ".url";
  rc = git_config_get_string(&configured, config.get(), key.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::FailedPrecondition(std::string("the repository at ") +
                                      git_repository_path(repo) + " has no remote \"" + name +
                                      "\" (see `git remote -v`)");
  }
  if (rc != 0) return GitError(rc, "read " + key);
  std::string raw_url = configured;
  *url = internal::Redact(raw_url);

  git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
  opts.repository = repo;
  opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* raw = nullptr;
  rc = git_remote_create_with_opts(&raw, raw_url.c_str(), &opts);
  if (rc != 0) return GitError(rc, "use remote " + name + " " + *url);
  return RemotePtr(raw);
}

// A remote operation failed: transport and authentication problems are
// IOError, whatever class libgit2 gave them.
Status RemoteError(int rc, const std::string& what) {
  Status s = GitError(rc, what);
  if (s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInternal ||
      s.code() == Status::Code::kFailedPrecondition) {
    return Status::IOError(s.message());
  }
  return s;
}

// After a push the client refused as non-fast-forward, names the refs that
// caused it: the remote's advertised tip is not an ancestor of ours (or not
// even present here).
std::vector<std::string> NonFastForwardRefs(git_repository* repo, git_remote* remote,
                                            const std::vector<std::string>& refspecs) {
  std::vector<std::string> refs;
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (git_remote_ls(&heads, &count, remote) != 0) {
    git_error_clear();
    count = 0;
  }
  for (const auto& spec : refspecs) {
    git_refspec* parsed = nullptr;
    if (git_refspec_parse(&parsed, spec.c_str(), 0) != 0) {
      git_error_clear();
      continue;
    }
    std::string src = git_refspec_src(parsed), dst = git_refspec_dst(parsed);
    bool force = git_refspec_force(parsed) != 0;
    git_refspec_free(parsed);
    if (force) continue;
    const git_remote_head* theirs = nullptr;
    for (size_t i = 0; i < count; ++i) {
      if (dst == heads[i]->name) theirs = heads[i];
    }
    if (theirs == nullptr) continue;
    git_oid ours;
    if (git_reference_name_to_id(&ours, repo, src.c_str()) != 0) {
      git_error_clear();
      continue;
    }
    if (git_oid_equal(&ours, &theirs->oid)) continue;
    int rc = git_graph_descendant_of(repo, &ours, &theirs->oid);
    if (rc != 1) {
      git_error_clear();
      refs.push_back(dst);
    }
  }
  if (refs.empty()) {
    // Could not tell which: name every destination.
    for (const auto& spec : refspecs) {
      size_t colon = spec.find(':');
      refs.push_back(colon == std::string::npos ? spec : spec.substr(colon + 1));
    }
  }
  return refs;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

Status Repository::Fetch(const std::vector<std::string>& refspecs, const std::string& remote_name) {
  return FetchListingUpdates(*this, refspecs, nullptr, remote_name);
}

namespace {

// Above this many moved references the fetch asks with the caller's own
// (pattern) refspecs again: libgit2 matches every advertised reference
// against every refspec, so thousands of one-reference refspecs would cost
// more than the pattern (the first fetch of a long record moves them all).
constexpr size_t kMaxNamedRefspecs = 256;

// One advertised reference, seen through a live connection's list or a
// kept Advertisement.
struct HeadView {
  const char* name;
  const git_oid* id;
};

// The connected remote's advertisement; with `heard`, also kept there.
Status ListHeads(git_remote* remote, std::vector<HeadView>* out, Advertisement* heard) {
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  int rc = git_remote_ls(&heads, &count, remote);
  if (rc != 0) return RemoteError(rc, "list the remote's references");
  out->reserve(count);
  for (size_t i = 0; i < count; ++i) out->push_back({heads[i]->name, &heads[i]->oid});
  if (heard != nullptr) {
    heard->clear();
    heard->reserve(count);
    for (size_t i = 0; i < count; ++i) heard->push_back({heads[i]->name, heads[i]->oid});
  }
  return Status::Ok();
}

// "prefix/" for a pattern "prefix/*" whose only '*' ends it; nullopt for
// any other shape.
std::optional<std::string> PatternPrefix(const std::string& pattern) {
  if (pattern.size() < 2 || pattern.compare(pattern.size() - 2, 2, "/*") != 0 ||
      pattern.find('*') != pattern.size() - 1) {
    return std::nullopt;
  }
  return pattern.substr(0, pattern.size() - 1);
}

// The local values a fetch compares the advertisement with: its refspecs'
// destinations. A pattern destination "<prefix>*" is read as git stores it
// (the packed-refs file, sorted, then the loose files under <prefix>, which
// win), without libgit2's iterator: that copies every packed reference into
// each new iterator, and with the hashing of 30,000 names it made the
// comparison of the record refs 35 ms of every pass; here it is a scan of
// one file. Anything else (a pattern with the '*' inside, a file not as git
// writes it) goes through libgit2.
class LocalValues {
 public:
  explicit LocalValues(git_repository* repo) : repo_(repo) {}

  void Add(const std::string& dst) {
    if (dst.find('*') == std::string::npos) {
      git_oid id;
      if (git_reference_name_to_id(&id, repo_, dst.c_str()) == 0) exact_.emplace(dst, id);
      git_error_clear();
      return;
    }
    if (auto prefix = PatternPrefix(dst); prefix && ReadPrefix(*prefix)) return;
    git_reference_iterator* raw_it = nullptr;
    if (git_reference_iterator_glob_new(&raw_it, repo_, dst.c_str()) != 0) {
      git_error_clear();
      return;  // compared as absent: asked for, which is only slower
    }
    git_reference* ref = nullptr;
    while (git_reference_next(&ref, raw_it) == 0) {
      if (const git_oid* id = git_reference_target(ref); id != nullptr) {
        exact_.emplace(git_reference_name(ref), *id);
      }
      git_reference_free(ref);
    }
    git_error_clear();
    git_reference_iterator_free(raw_it);
  }

  // The local value of `name`; null when there is none.
  const git_oid* Find(const std::string& name) {
    if (auto it = exact_.find(name); it != exact_.end()) {
      return it->second ? &*it->second : nullptr;
    }
    // Advertisements come in name order, so a cursor usually walks forward.
    auto less = [](const Packed& a, std::string_view b) { return a.name < b; };
    if (cursor_ >= packed_.size() || (cursor_ > 0 && packed_[cursor_ - 1].name >= name)) {
      cursor_ = static_cast<size_t>(
          std::lower_bound(packed_.begin(), packed_.end(), std::string_view(name), less) -
          packed_.begin());
    } else {
      while (cursor_ < packed_.size() && packed_[cursor_].name < name) ++cursor_;
    }
    if (cursor_ < packed_.size() && packed_[cursor_].name == name) return &packed_[cursor_++].id;
    return nullptr;
  }

 private:
  struct Packed {
    std::string_view name;  // in text_
    git_oid id;
  };

  static bool ParseOid(std::string_view hex, git_oid* id) {
    return hex.size() == GIT_OID_HEXSZ && git_oid_fromstrn(id, hex.data(), GIT_OID_HEXSZ) == 0;
  }

  // False (nothing kept) when a file is not as git writes it.
  bool ReadPrefix(const std::string& prefix) {
    if (text_) return false;  // one pattern read this way per fetch
    const std::string git_dir = git_repository_commondir(repo_);
    std::vector<Packed> packed;
    auto text = std::make_unique<std::string>();
    {
      std::ifstream in(fs::path(git_dir) / "packed-refs", std::ios::binary | std::ios::ate);
      if (in) {
        const std::streamoff size = in.tellg();
        if (size < 0) return false;
        text->resize(static_cast<size_t>(size));
        in.seekg(0);
        if (!in.read(text->data(), size)) return false;
      }
    }
    bool sorted = false, well_formed = true;
    ForEachLine(*text, [&](std::string_view line) {
      if (!well_formed || line.empty() || line[0] == '^') return;  // '^': a peeled value
      if (line[0] == '#') {
        if (line.find(" sorted") != std::string_view::npos) sorted = true;
        return;
      }
      std::string_view name = line.size() > GIT_OID_HEXSZ + 1 && line[GIT_OID_HEXSZ] == ' '
                                  ? line.substr(GIT_OID_HEXSZ + 1)
                                  : std::string_view();
      Packed p{name, {}};
      if (name.empty() || !ParseOid(line.substr(0, GIT_OID_HEXSZ), &p.id)) {
        well_formed = false;
      } else if (name.compare(0, prefix.size(), prefix) == 0) {
        packed.push_back(p);
      }
    });
    if (!well_formed) return false;
    if (!sorted) {
      std::sort(packed.begin(), packed.end(),
                [](const Packed& a, const Packed& b) { return a.name < b.name; });
    }
    std::map<std::string, std::optional<git_oid>> loose;
    std::error_code ec;
    const fs::path root = fs::path(git_dir) / prefix;
    if (fs::exists(root, ec)) {
      for (fs::recursive_directory_iterator it(root, ec), end; it != end; it.increment(ec)) {
        if (ec) return false;
        if (!it->is_regular_file(ec)) continue;
        std::string rel = it->path().lexically_relative(root).generic_string();
        if (rel.size() >= 5 && rel.compare(rel.size() - 5, 5, ".lock") == 0) continue;
        std::ifstream file(it->path(), std::ios::binary);
        std::string value((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        if (value.rfind("ref: ", 0) == 0) {  // symbolic: no value to compare with
          loose[prefix + rel] = std::nullopt;
          continue;
        }
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
        git_oid id;
        if (!ParseOid(value, &id)) return false;
        loose[prefix + rel] = id;
      }
      if (ec) return false;
    }
    text_ = std::move(text);
    packed_ = std::move(packed);
    for (auto& [name, id] : loose) exact_.insert_or_assign(name, id);
    return true;
  }

  git_repository* repo_;
  std::unordered_map<std::string, std::optional<git_oid>> exact_;  // wins over packed_
  std::unique_ptr<std::string> text_;  // packed-refs, which packed_ points into
  std::vector<Packed> packed_;
  size_t cursor_ = 0;
};

// One reference a fetch asks for: its refspec, and where its advertised value goes.
struct MovedRef {
  std::string spec;  // "[+]src:dst"
  std::string dst;
  std::string id;  // the advertised value
  bool force;
};

// The refspecs of a fetch that take only what moved: one "src:dst" (with
// the caller's "+" where it had one) per advertised reference that matches
// one of `refspecs`, that `accept` takes (when given), and whose value
// differs from the local destination's. `*rejected` counts the advertised
// references `accept` refused.
Status MovedRefspecs(git_repository* repo, const std::vector<HeadView>& heads,
                     const std::vector<std::string>& refspecs, const FetchFilter& accept,
                     std::vector<MovedRef>* moved, size_t* rejected) {
  std::vector<git_refspec*> parsed;
  auto free_parsed = [&] {
    for (auto* p : parsed) git_refspec_free(p);
  };
  for (const auto& spec : refspecs) {
    git_refspec* p = nullptr;
    if (git_refspec_parse(&p, spec.c_str(), 1) != 0) {
      free_parsed();
      return GitError(-1, "fetch refspec \"" + spec + "\"");
    }
    parsed.push_back(p);
  }
  // The local destinations' values, read once: a pattern's by one pass over
  // its references (a lookup per advertised name would stat a loose file and
  // the packed-refs file for each of thousands).
  LocalValues local(repo);
  for (auto* p : parsed) local.Add(git_refspec_dst(p));
  // Refspecs of the two plain shapes, "src:dst" and "prefix/*:prefix/*", are
  // matched and mapped here; only others go through libgit2's wildmatch and
  // transform (which allocate per name: 8 ms for 30,000 record refs).
  struct Shape {
    bool plain = false;
    bool pattern = false;
    std::string src, dst;  // without the '*' for a pattern
  };
  std::vector<Shape> shapes;
  for (auto* p : parsed) {
    Shape shape;
    std::string src = git_refspec_src(p), dst = git_refspec_dst(p);
    if (src.find('*') == std::string::npos && dst.find('*') == std::string::npos) {
      shape = {true, false, src, dst};
    } else if (auto from = PatternPrefix(src), to = PatternPrefix(dst); from && to) {
      shape = {true, true, *from, *to};
    }
    shapes.push_back(std::move(shape));
  }
  *rejected = 0;
  std::string dst;
  for (const auto& head : heads) {
    const char* name = head.name;
    const std::string_view view(name);
    for (size_t i = 0; i < parsed.size(); ++i) {
      const Shape& shape = shapes[i];
      if (shape.plain) {
        if (shape.pattern ? view.size() <= shape.src.size() ||
                                view.compare(0, shape.src.size(), shape.src) != 0
                          : view != shape.src) {
          continue;
        }
      } else if (git_refspec_src_matches(parsed[i], name) == 0) {
        continue;
      }
      // A peeled tag ("^{}") or a name git would refuse is never fetched.
      int valid = 0;
      if (git_reference_name_is_valid(&valid, name) != 0 || valid == 0) {
        git_error_clear();
        break;
      }
      if (accept && !accept(name)) {
        ++*rejected;
        break;
      }
      if (shape.plain) {
        dst.assign(shape.dst);
        if (shape.pattern) dst.append(view.substr(shape.src.size()));
      } else {
        Buf mapped;
        if (git_refspec_transform(mapped.get(), parsed[i], name) != 0) {
          git_error_clear();
          break;
        }
        dst.assign(mapped.get()->ptr, mapped.get()->size);
      }
      if (const git_oid* ours = local.Find(dst); ours != nullptr && git_oid_equal(ours, head.id)) {
        break;  // the local copy has it: nothing to ask for
      }
      const bool force = git_refspec_force(parsed[i]) != 0;
      moved->push_back({std::string(force ? "+" : "") + name + ":" + dst, dst,
                        internal::OidToString(*head.id), force});
      break;  // the first matching refspec wins, as in libgit2's own fetch
    }
  }
  free_parsed();
  return Status::Ok();
}

// Whether every target's object is in the repository's object database.
bool AllPresent(git_repository* repo,
                const std::vector<std::pair<std::string, std::string>>& targets) {
  git_odb* raw = nullptr;
  if (git_repository_odb(&raw, repo) != 0) {
    git_error_clear();
    return false;
  }
  std::unique_ptr<git_odb, GitFree<&git_odb_free>> odb(raw);
  for (const auto& [dst, id] : targets) {
    git_oid oid;
    if (git_oid_fromstrn(&oid, id.data(), id.size()) != 0 || !git_odb_exists(odb.get(), &oid)) {
      git_error_clear();
      return false;
    }
  }
  return true;
}

}  // namespace

Status FetchListingUpdates(Repository& repository, const std::vector<std::string>& refspecs,
                           std::vector<std::string>* updated, const std::string& remote_name,
                           const FetchFilter& accept, Advertisement* heard) {
  git_repository* repo = repository.raw();
  SLUICE_RETURN_IF_ERROR(CheckRefspecs(refspecs, /*fetch=*/true));
  std::string url;
  Result<RemotePtr> remote = Origin(repo, remote_name, &url);
  if (!remote.ok()) return remote.status();

  CallbackState state;
  state.updated = updated;
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.callbacks = MakeCallbacks(&state);
  // Exactly the refs asked for: no tags following along, no FETCH_HEAD.
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  opts.update_fetchhead = 0;

  // One connection: its advertisement says which references moved, and
  // only those are asked for. A fetch of refs/sluice/* with nothing new
  // otherwise costs libgit2 a comparison and a ref lookup per advertised
  // reference in its update of the tips (30,000 record refs: ~0.14 s of a
  // ~0.21 s fetch, docs/performance.md), and a pass where nothing moved
  // asks for nothing.
  int rc = git_remote_connect(remote->get(), GIT_DIRECTION_FETCH, &opts.callbacks, &opts.proxy_opts,
                              &opts.custom_headers);
  if (rc != 0) return RemoteError(rc, "fetch from " + url);
  std::vector<MovedRef> moved;
  size_t rejected = 0;
  std::vector<HeadView> heads;
  Status listed = ListHeads(remote->get(), &heads, heard);
  if (listed.ok()) listed = MovedRefspecs(repo, heads, refspecs, accept, &moved, &rejected);
  if (!listed.ok()) {
    git_remote_disconnect(remote->get());
    return listed.WithContext("fetch from " + url);
  }
  if (moved.empty()) {
    git_remote_disconnect(remote->get());
    return Status::Ok();
  }
  // Many moved (the first fetch of a long record): the caller's patterns,
  // unless the remote also holds references `accept` refused, which a
  // pattern would take too. Then the named refspecs go in batches, one
  // connection each.
  // A batch of named refspecs, every one forced, is set here from the
  // advertisement once its objects are in: libgit2's update of the tips
  // matches each of them against every advertised reference (30,000 record
  // refs: 8 ms for the branch alone, and far more for a batch of hundreds).
  struct Batch {
    std::vector<std::string> specs;
    std::vector<std::pair<std::string, std::string>> targets;  // dst -> id; empty: update_tips
  };
  auto named = [](std::vector<MovedRef>::const_iterator from,
                  std::vector<MovedRef>::const_iterator to) {
    Batch batch;
    bool forced = true;
    for (auto it = from; it != to; ++it) {
      batch.specs.push_back(it->spec);
      batch.targets.emplace_back(it->dst, it->id);
      forced = forced && it->force;
    }
    if (!forced) batch.targets.clear();
    return batch;
  };
  std::vector<Batch> batches;
  if (moved.size() <= kMaxNamedRefspecs) {
    batches.push_back(named(moved.begin(), moved.end()));
  } else if (rejected == 0) {
    batches.push_back({refspecs, {}});
  } else {
    for (size_t at = 0; at < moved.size(); at += kMaxNamedRefspecs) {
      const size_t end = std::min(moved.size(), at + kMaxNamedRefspecs);
      batches.push_back(named(moved.begin() + static_cast<std::ptrdiff_t>(at),
                              moved.begin() + static_cast<std::ptrdiff_t>(end)));
    }
  }
  for (size_t b = 0; b < batches.size(); ++b) {
    if (b > 0) {
      rc = git_remote_connect(remote->get(), GIT_DIRECTION_FETCH, &opts.callbacks, &opts.proxy_opts,
                              &opts.custom_headers);
      if (rc != 0) return RemoteError(rc, "fetch from " + url);
    }
    StrArray specs(batches[b].specs);
    rc = git_remote_download(remote->get(), &specs.array, &opts);
    git_remote_disconnect(remote->get());
    if (rc != 0) return RemoteError(rc, "fetch from " + url);
    // The first batch's download ran on the connection whose advertisement
    // gave the values; a later batch's connection may have seen newer ones.
    if (b == 0 && !batches[b].targets.empty() && AllPresent(repo, batches[b].targets)) {
      SLUICE_RETURN_IF_ERROR(
          repository.SetRefs(batches[b].targets, "sluice: fetch").WithContext("fetch from " + url));
      if (updated != nullptr) {
        for (const auto& [dst, id] : batches[b].targets) updated->push_back(dst);
      }
      continue;
    }
    repository.RefsMoved();
    rc = git_remote_update_tips(remote->get(), &opts.callbacks, /*update_fetchhead=*/0,
                                GIT_REMOTE_DOWNLOAD_TAGS_NONE, "sluice: fetch");
    if (rc != 0) return RemoteError(rc, "fetch from " + url);
  }
  return Status::Ok();
}

Status FetchUpdatesAfter(const Advertisement& heard, Repository& repository,
                         const std::vector<std::string>& refspecs,
                         std::vector<std::string>* updated, const std::string& remote_name,
                         const FetchFilter& accept, bool* connected) {
  if (connected != nullptr) *connected = false;
  SLUICE_RETURN_IF_ERROR(CheckRefspecs(refspecs, /*fetch=*/true));
  std::vector<HeadView> heads;
  heads.reserve(heard.size());
  for (const auto& ref : heard) heads.push_back({ref.name.c_str(), &ref.id});
  std::vector<MovedRef> moved;
  size_t rejected = 0;
  SLUICE_RETURN_IF_ERROR(
      MovedRefspecs(repository.raw(), heads, refspecs, accept, &moved, &rejected));
  if (moved.empty()) return Status::Ok();  // no connection: nothing to ask for
  if (connected != nullptr) *connected = true;
  return FetchListingUpdates(repository, refspecs, updated, remote_name, accept);
}

Status FetchNegotiatingAlone(Repository& repository, const std::string& side_dir,
                             const std::vector<std::string>& refspecs,
                             std::vector<std::string>* updated, const std::string& remote_name,
                             Advertisement* heard) {
  SLUICE_RETURN_IF_ERROR(CheckRefspecs(refspecs, /*fetch=*/true));
  git_repository* repo = repository.raw();
  std::vector<std::string> destinations;
  for (const auto& spec : refspecs) {
    git_refspec* parsed = nullptr;
    if (git_refspec_parse(&parsed, spec.c_str(), 1) != 0) {
      return GitError(-1, "fetch refspec \"" + spec + "\"");
    }
    std::string dst = git_refspec_dst(parsed);
    git_refspec_free(parsed);
    if (dst.empty() || dst.find('*') != std::string::npos) {
      return Status::InvalidArgument("fetch refspec \"" + spec +
                                     "\" must name one destination reference (no pattern)");
    }
    destinations.push_back(dst);
  }

  // The remote's URL, as configured (credentials and all: it goes to the
  // side repository's config, which is as private as the cache's).
  std::string url;
  {
    git_config* raw_config = nullptr;
    int rc = git_repository_config_snapshot(&raw_config, repo);
    if (rc != 0) return GitError(rc, "read the repository configuration");
    std::unique_ptr<git_config, GitFree<&git_config_free>> config(raw_config);
    Buf value;
    rc = git_config_get_string_buf(value.get(), config.get(),
                                   ("remote." + remote_name + ".url").c_str());
    if (rc != 0) {
      return Status::FailedPrecondition(std::string("the repository at ") +
                                        git_repository_path(repo) + " has no remote \"" +
                                        remote_name + "\"");
    }
    url.assign(value.data(), value.size());
  }

  std::unique_ptr<Repository> side;
  std::error_code ec;
  if (fs::exists(fs::path(side_dir) / "HEAD", ec)) {
    auto opened = Repository::Open(side_dir);
    if (!opened.ok()) {
      return opened.status().WithContext("open " + side_dir + " (remove it; it is rebuilt)");
    }
    side = std::move(*opened);
  } else {
    auto created = Repository::Init(side_dir, /*bare=*/true);
    if (!created.ok()) return created.status();
    side = std::move(*created);
  }
  {
    git_config* raw_config = nullptr;
    int rc = git_repository_config(&raw_config, side->raw());
    if (rc != 0) return GitError(rc, "open the configuration of " + side_dir);
    std::unique_ptr<git_config, GitFree<&git_config_free>> config(raw_config);
    Buf have;
    rc = git_config_get_string_buf(have.get(), config.get(),
                                   ("remote." + remote_name + ".url").c_str());
    if (rc != 0) git_error_clear();
    if (rc != 0 || std::string(have.data(), have.size()) != url) {
      rc = git_config_set_string(config.get(), ("remote." + remote_name + ".url").c_str(),
                                 url.c_str());
      if (rc != 0) return GitError(rc, "set the remote of " + side_dir);
    }
  }
  // Objects go to, and come from, this repository's object database.
  git_odb* raw_odb = nullptr;
  int rc = git_repository_odb(&raw_odb, repo);
  if (rc != 0) return GitError(rc, "open the object database");
  std::unique_ptr<git_odb, GitFree<&git_odb_free>> odb(raw_odb);
  rc = git_repository_set_odb(side->raw(), odb.get());
  if (rc != 0) return GitError(rc, "share the object database with " + side_dir);

  // The side repository's references are exactly the destinations, as they
  // are here: its "have" lines are their history and nothing else.
  auto side_refs = side->ListRefs("refs/");
  if (side_refs.ok()) {
    for (const auto& [name, id] : *side_refs) {
      if (std::find(destinations.begin(), destinations.end(), name) == destinations.end()) {
        SLUICE_RETURN_IF_ERROR(side->DeleteRef(name));
      }
    }
  }
  std::vector<std::optional<std::string>> before;
  for (const auto& dst : destinations) {
    auto id = repository.ResolveRef(dst);
    before.push_back(id.ok() ? std::optional<std::string>(*id) : std::nullopt);
    auto side_id = side->ResolveRef(dst);
    if (!id.ok()) {
      SLUICE_RETURN_IF_ERROR(side->DeleteRef(dst));
    } else if (!side_id.ok() || *side_id != *id) {  // usually equal: the last fetch set both
      SLUICE_RETURN_IF_ERROR(side->SetRef(dst, *id, "sluice: negotiate from here"));
    }
  }
  SLUICE_RETURN_IF_ERROR(FetchListingUpdates(*side, refspecs, nullptr, remote_name, {}, heard));
  for (size_t i = 0; i < destinations.size(); ++i) {
    auto id = side->ResolveRef(destinations[i]);
    if (!id.ok()) continue;  // the remote does not have it: not an error, as for Fetch
    if (before[i] && *before[i] == *id) continue;
    SLUICE_RETURN_IF_ERROR(repository.SetRef(destinations[i], *id, "sluice: fetch"));
    if (updated != nullptr) updated->push_back(destinations[i]);
  }
  return Status::Ok();
}

Status Repository::Push(const std::vector<std::string>& refspecs, const std::string& remote_name) {
  SLUICE_RETURN_IF_ERROR(CheckRefspecs(refspecs, /*fetch=*/false));
  std::string url;
  Result<RemotePtr> remote = Origin(repo_.get(), remote_name, &url);
  if (!remote.ok()) return remote.status();

  CallbackState state;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  opts.callbacks = MakeCallbacks(&state);
  StrArray specs(refspecs);
  int rc = git_remote_push(remote->get(), &specs.array, &opts);
  if (rc == GIT_ENONFASTFORWARD) {
    // libgit2 refuses before sending anything when the remote's tip is not
    // an ancestor of ours (or is unknown here).
    const git_error* e = git_error_last();
    std::string detail = e != nullptr && e->message != nullptr ? e->message : "non-fast-forward";
    std::vector<std::string> refs = NonFastForwardRefs(repo_.get(), remote->get(), refspecs);
    return Status::Conflict(internal::Redact("push to " + url + " rejected " + JoinList(refs) +
                                             " (non-fast-forward: " + detail +
                                             "); fetch, merge and push again"));
  }
  if (rc != 0) return RemoteError(rc, "push to " + url);
  if (!state.rejected.empty()) {
    std::vector<std::string> items;
    for (const auto& [ref, reason] : state.rejected) items.push_back(ref + " (" + reason + ")");
    return Status::Conflict(internal::Redact("push to " + url + " rejected " + JoinList(items) +
                                             "; fetch, merge and push again"));
  }
  return Status::Ok();
}

}  // namespace sluice::git
