#pragma once

// Repository operations whose cost must not grow with the size of the
// record: streaming the notes one at a time, and learning which references a
// fetch moved (so that a pass where nothing moved compares nothing). Free
// functions over a Repository; same thread-safety rules as Repository.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "git/repo.h"

namespace sluice::git {

// Calls `fn(annotated commit id, note text)` for every note under
// `notes_ref`, in the order the pack files store the annotated commits
// (close to history order, not notes-tree order: see pack_order.h), reading
// one note blob at a time so memory stays flat however large the record is
// (the list of note ids, 56 bytes each, is held). `text` is valid only during the call; `fn`
// returns false to stop early. Ok without a call when the ref does not exist; an error when the
// notes tree or a note blob cannot be read.
Status ForEachNote(
    const Repository& repo, const std::string& notes_ref,
    const std::function<bool(const std::string& commit_id, std::string_view text)>& fn);

// Which advertised references (by their name on the remote) a fetch may take.
using FetchFilter = std::function<bool(std::string_view remote_name)>;

// What a remote advertised on one connection: the name and value of every
// reference, in the order the remote sent them.
struct AdvertisedRef {
  std::string name;
  git_oid id;
};
using Advertisement = std::vector<AdvertisedRef>;

// Repository::Fetch (through the remote `remote_name`), which also appends to `updated` (when not
// null) the local names of the references the fetch created or moved; a reference the fetch found
// unchanged is not listed. With `accept`, an advertised reference it refuses is never fetched,
// even by a pattern refspec: the remote is another's input (a name that is a directory of the
// local copies, "refs/sluice/deployed" beside "refs/sluice/deployed/prod/api", would stop every
// later fetch). With `heard`, the whole advertisement of the connection is kept there.
Status FetchListingUpdates(Repository& repo, const std::vector<std::string>& refspecs,
                           std::vector<std::string>* updated,
                           const std::string& remote_name = "origin",
                           const FetchFilter& accept = {}, Advertisement* heard = nullptr);

// FetchListingUpdates for a second set of refspecs, after a fetch of the same
// pass kept the remote's advertisement in `heard` (protocol v0 advertises
// every reference whatever is asked, and at 30,000 record refs one listing
// costs the server and the client ~70 ms). When no reference `heard` names
// that matches `refspecs` and passes `accept` differs from its local copy,
// it returns at once without connecting; otherwise it fetches as
// FetchListingUpdates does, on a new connection whose own advertisement
// decides (so a reference that moved after `heard` comes too). `accept` may
// be called twice for one name. `connected` (when not null) says whether it
// fetched: when false, every local copy was found equal to `heard`.
Status FetchUpdatesAfter(const Advertisement& heard, Repository& repo,
                         const std::vector<std::string>& refspecs,
                         std::vector<std::string>* updated,
                         const std::string& remote_name = "origin", const FetchFilter& accept = {},
                         bool* connected = nullptr);

// As FetchListingUpdates for refspecs that each name one destination
// reference ("+refs/heads/main:refs/remotes/origin/main"), negotiated from
// those destinations' history alone. libgit2 offers the server the history
// of every local reference as "have" lines and stops at the first batch the
// server acknowledges (smart_protocol.c: "On the first ACK we will accept that
// as enough common objects"). In the controller's cache the newest history
// is the record (notes and pass stamps, written after every deploy), so the
// branch's own old head was never offered: the server found only the notes
// in common and sent the whole branch history again with every new commit
// (96 MB per one-pin pass at 100,000 commits). Here the fetch runs in a bare
// side repository at `side_dir` (created when absent) whose only references
// are the destinations, set to their values in `repo`, and whose object
// database is `repo`'s: what arrives lands in `repo`, and the destinations
// that moved are set there and appended to `updated`. With `heard`, the
// connection's whole advertisement is kept there (see FetchUpdatesAfter).
Status FetchNegotiatingAlone(Repository& repo, const std::string& side_dir,
                             const std::vector<std::string>& refspecs,
                             std::vector<std::string>* updated,
                             const std::string& remote_name = "origin",
                             Advertisement* heard = nullptr);

}  // namespace sluice::git
