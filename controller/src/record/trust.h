#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/ssh_key.h"
#include "record/event.h"

namespace sluice::record {

// The SSH signature namespace of record entries:
// `ssh-keygen -Y verify -n sluice-record` checks them too.
inline constexpr char kRecordSignatureNamespace[] = "sluice-record";

// Where the controller's keys come from (SPEC section 1.3, rule 4): its own
// configuration (`trust.signingKey`, `trust.controllerKeys`) or flags.
struct TrustOptions {
  // An OpenSSH ed25519 private key file (unencrypted). Empty: the workdir's
  // own key (<workdir>/controller-key), generated on first use.
  std::string signing_key_file;
  // A file of `ssh-ed25519 AAAA... comment` lines: every replica's public
  // key. The own key's public half is always trusted as well.
  std::string controller_keys_file;
};

// The keys the record is signed and checked with. Immutable once built, so
// one instance is shared by every thread.
class RecordKeys {
 public:
  RecordKeys(crypto::PrivateKey signing, std::vector<crypto::PublicKey> others);

  // Loads the keys `opts` names. Without a signing key file, reads
  // <workdir>/controller-key, or generates it (mode 0600, with
  // controller-key.pub beside it) and sets *generated. IOError or
  // InvalidArgument naming the file when one cannot be read or parsed.
  static Result<std::shared_ptr<const RecordKeys>> Load(const TrustOptions& opts,
                                                        const std::string& workdir,
                                                        bool* generated);

  // `unsigned_line` (an EventToJsonLine object) with its SSH signature
  // appended as the last key, "sig". Never fails for a line that ends in '}';
  // any other text is returned unchanged.
  std::string SignLine(std::string_view unsigned_line) const;

  const crypto::PrivateKey& signing_key() const { return signing_; }
  // Every key whose signature is trusted (own key first).
  const std::vector<crypto::PublicKey>& trusted() const { return trusted_; }

 private:
  crypto::PrivateKey signing_;
  std::vector<crypto::PublicKey> trusted_;
};

// The verdict on one line of a record note.
struct LineVerdict {
  bool trusted = false;
  std::string reason;  // why not ("unsigned", "bad signature", ...); empty when trusted
  std::string signer;  // the trusted key's comment or fingerprint, when trusted
};

// Checks one note line found on commit `commit`: it must be an event line
// whose "sig" is an SSH signature (namespace sluice-record) by one of `keys`
// over the line without that key, and whose own "commit" names `commit` (a
// signed line copied onto another commit does not count). Pure; never
// throws, whatever the line holds.
LineVerdict VerifyEventLine(std::string_view line, std::string_view commit,
                            const std::vector<crypto::PublicKey>& keys);

// The signed part of a line (the object without "sig") and the base64
// signature, or nullopt when the line carries no well-formed "sig" key last.
std::optional<std::pair<std::string, std::string_view>> SplitSignedLine(std::string_view line);

// Whether event `e` confirms record ref `ref` (a full refs/sluice/... name)
// pointing at the commit `e` is on: deployed/<env>/<app> by an applied,
// rolled-back or verified event of (env, app); lkg/<env>/<app> by a
// verified one; applied/<env> by an applied, rolled-back or verified event
// of env; candidate/<env>/<app> by any event of (env, app). `*confirmable`
// is set false for refs no event confirms (refs/sluice/pass). Pure.
bool ConfirmsRef(std::string_view ref, const Event& e, bool* confirmable);

// The env and app a record ref names ("" when it names none).
std::pair<std::string, std::string> RefEnvApp(std::string_view ref);

// True for the names the controller writes in the record: refs/notes/sluice,
// refs/sluice/pass, refs/sluice/{deployed,lkg,candidate}/<env>/<app> and
// refs/sluice/applied/<env> (each part non-empty, without '/'). The record's
// fetch takes no other name from the remote: one level more or one less
// ("refs/sluice/deployed" once refs/sluice/deployed/prod/api was fetched)
// would make every later fetch fail on the local copies.
bool IsRecordRefName(std::string_view name);

// One record entry that is not trusted: an event line or a record ref.
struct UntrustedEntry {
  std::string kind;    // "event" | "ref"
  std::string commit;  // the annotated commit (event) or the ref's target (ref)
  std::string ref;     // the record ref (kind "ref")
  std::string line;    // the note line (kind "event")
  std::string env;     // from the line or the ref name, when known
  std::string app;
  std::string reason;

  // One JSON object (a line of <workdir>/record-untrusted).
  std::string ToJson() const;
  static Result<UntrustedEntry> FromJson(std::string_view line);
};

}  // namespace sluice::record
