#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "git/repo.h"
#include "process/runner.h"

namespace sluice::approval {

enum class SignatureType { kNone, kSsh, kOpenPgp, kX509, kUnknown };

// "none" | "ssh" | "openpgp" | "x509" | "unknown"
std::string_view SignatureTypeName(SignatureType type);

// The signature of a commit and the bytes it signs (the commit object
// without its gpgsig header), as libgit2 extracts them.
struct CommitSignature {
  SignatureType type = SignatureType::kNone;  // kNone: the commit is unsigned
  std::string signature;                      // armored, as stored in the commit
  std::string payload;
};

// Extracts the signature of `commit_id` (git_commit_extract_signature with
// the default "gpgsig" field). An unsigned commit is a success with type
// kNone. Errors: NotFound for an unknown commit, Internal for other libgit2
// failures. Not thread-safe (uses `repo`).
Result<CommitSignature> ExtractCommitSignature(const git::Repository& repo,
                                               const std::string& commit_id);

// The outcome of checking one commit signature.
struct SignatureCheck {
  SignatureType type = SignatureType::kNone;
  bool verified = false;
  std::string principal;  // the verified signer: an email from allowed_signers, lower-cased
  std::string key;        // "ED25519 key SHA256:..." as ssh-keygen reports it
  std::string problem;    // why it is not verified (empty when verified)
};

// Verifies SSH commit signatures with `ssh-keygen -Y find-principals` and
// `ssh-keygen -Y verify -n git`, run through `runner` (argv only). The
// allowed_signers lines are written to a file in a fresh private temporary
// directory (0700, file 0600), removed before returning.
//
// A principal that is a pattern (contains '*' or '?') names no one person
// and is never reported as a signer. OpenPGP and X.509 signatures are
// reported as unsupported (not verified): Sluice keeps no GnuPG keyring,
// and a signature it cannot check must not count.
//
// Thread-safe if `runner` is.
class SshSignatureVerifier {
 public:
  explicit SshSignatureVerifier(process::CommandRunner& runner,
                                std::string ssh_keygen = "ssh-keygen");

  // Checks `sig` against `allowed_signers` (allowed_signers(5) lines:
  // "alice@example.com ssh-ed25519 AAAA..."). A missing, unknown or bad
  // signature is a successful Result with verified == false and a problem.
  // Errors: InvalidArgument for an allowed_signers entry holding a line break,
  // IOError when the temporary files cannot be written or ssh-keygen cannot
  // be run (not found, timed out).
  Result<SignatureCheck> Verify(const CommitSignature& sig,
                                const std::vector<std::string>& allowed_signers) const;

 private:
  process::CommandRunner& runner_;
  std::string ssh_keygen_;
};

// How a person signs commits with SSH, as git does with gpg.format=ssh
// (`git commit -S`): the key, and the program that signs.
struct SshSigningSetup {
  // A key file (a private key, or a public key whose private half the
  // ssh-agent holds), or with `literal` the public key itself
  // ("ssh-ed25519 AAAA...", git's `key::` form: the agent signs).
  std::string key;
  bool literal = false;
  std::string program = "ssh-keygen";  // gpg.ssh.program
  std::string origin;                  // where `key` came from, for messages
};

// The SSH signing setup of git's configuration as `repo` sees it (its own,
// global and system levels): gpg.format must be "ssh", user.signingkey set
// (a leading "~/" is expanded with $HOME; "key::" and "ssh-" values are
// literal keys), gpg.ssh.program optional. FailedPrecondition saying which
// `git config` to run when gpg.format is not ssh or user.signingkey is
// unset. Not thread-safe (uses `repo`).
Result<SshSigningSetup> SshSigningSetupFromGitConfig(const git::Repository& repo);

// Signs commits as `git commit -S` does with gpg.format=ssh: the payload is
// written to a file in a fresh private temporary directory and signed with
// `<program> -Y sign -n git -f <key> [-U] <file>` through `runner` (argv
// only; the child sees BaseEnvironment() plus SSH_AUTH_SOCK, so the agent
// can sign); the armored signature is read back from <file>.sig. The
// directory is removed before returning. A passphrase-protected key must be
// in the ssh-agent (no terminal is offered to ssh-keygen).
// Thread-safe if `runner` is.
class SshCommitSigner {
 public:
  SshCommitSigner(process::CommandRunner& runner, SshSigningSetup setup);

  // The armored SSH signature of `payload`. IOError naming the key and
  // ssh-keygen's message when it cannot sign (no such key, key not in the
  // agent, passphrase needed, timed out).
  Result<std::string> Sign(const std::string& payload) const;

  // The public key of the setup ("ssh-ed25519 AAAA..."): the literal key, the
  // key file when it is a public key, or the .pub file beside a private key
  // file; "" when it cannot be told.
  std::string PublicKey() const;

  const SshSigningSetup& setup() const { return setup_; }

 private:
  process::CommandRunner& runner_;
  SshSigningSetup setup_;
};

}  // namespace sluice::approval
