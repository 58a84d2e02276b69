#include "approval/signature.h"

#include <fcntl.h>
#include <git2.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "git/handles.h"

namespace sluice::approval {
namespace {

namespace fs = std::filesystem;

SignatureType Classify(std::string_view sig) {
  auto starts = [&](std::string_view prefix) {
    // The armor may follow leading whitespace.
    size_t i = 0;
    while (i < sig.size() && std::isspace(static_cast<unsigned char>(sig[i]))) ++i;
    return sig.substr(i).rfind(prefix, 0) == 0;
  };
  if (starts("-----BEGIN SSH SIGNATURE-----")) return SignatureType::kSsh;
  if (starts("-----BEGIN PGP SIGNATURE-----")) return SignatureType::kOpenPgp;
  if (starts("-----BEGIN SIGNED MESSAGE-----")) return SignatureType::kX509;
  return SignatureType::kUnknown;
}

// A private scratch directory, removed with its content on destruction.
class PrivateDir {
 public:
  PrivateDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sluice-sig-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;  // mkdtemp makes it 0700
  }
  ~PrivateDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // Writes `content` to a new file `name` readable by the owner only.
  Status Write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError("cannot create " + file);
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n <= 0) {
        ::close(fd);
        return Status::IOError("cannot write " + file);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) return Status::IOError("cannot write " + file);
    return Status::Ok();
  }

 private:
  std::string path_;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

std::string_view SignatureTypeName(SignatureType type) {
  switch (type) {
    case SignatureType::kNone:
      return "none";
    case SignatureType::kSsh:
      return "ssh";
    case SignatureType::kOpenPgp:
      return "openpgp";
    case SignatureType::kX509:
      return "x509";
    case SignatureType::kUnknown:
      break;
  }
  return "unknown";
}

Result<CommitSignature> ExtractCommitSignature(const git::Repository& repo,
                                               const std::string& commit_id) {
  git_oid oid;
  if (commit_id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, commit_id.c_str()) != 0) {
    return Status::InvalidArgument("not a commit id: \"" + commit_id + "\"");
  }
  git::Buf sig;
  git::Buf data;
  int rc = git_commit_extract_signature(sig.get(), data.get(), repo.raw(), &oid, nullptr);
  CommitSignature out;
  if (rc == GIT_ENOTFOUND) {
    // Either the commit has no gpgsig header or the commit does not exist:
    // only the first is "unsigned".
    git_commit* raw = nullptr;
    if (git_commit_lookup(&raw, repo.raw(), &oid) != 0) {
      return Status::NotFound("commit " + commit_id + " not found");
    }
    git::CommitPtr commit(raw);
    return out;
  }
  if (rc != 0) return git::GitError(rc, "extract the signature of commit " + commit_id);
  out.signature.assign(sig.data(), sig.size());
  out.payload.assign(data.data(), data.size());
  out.type = Classify(out.signature);
  return out;
}

SshSignatureVerifier::SshSignatureVerifier(process::CommandRunner& runner, std::string ssh_keygen)
    : runner_(runner), ssh_keygen_(std::move(ssh_keygen)) {}

Result<SignatureCheck> SshSignatureVerifier::Verify(
    const CommitSignature& sig, const std::vector<std::string>& allowed_signers) const {
  SignatureCheck check;
  check.type = sig.type;
  switch (sig.type) {
    case SignatureType::kNone:
      check.problem = "not signed";
      return check;
    case SignatureType::kSsh:
      break;
    default:
      check.problem = "unsupported signature type " + std::string(SignatureTypeName(sig.type)) +
                      " (only SSH signatures are verified)";
      return check;
  }

  std::string allowed;
  for (size_t i = 0; i < allowed_signers.size(); ++i) {
    const std::string& line = allowed_signers[i];
    if (line.find_first_of("\r\n") != std::string::npos || line.find('\0') != std::string::npos) {
      return Status::InvalidArgument("signers entry " + std::to_string(i + 1) +
                                     " holds a line break; write one allowed_signers line per "
                                     "entry");
    }
    allowed += line + "\n";
  }
  if (Trim(allowed).empty()) {
    check.problem = "no signer keys are configured (sluice.yaml signers or the controller's own)";
    return check;
  }

  PrivateDir dir;
  if (!dir.ok()) return Status::IOError("cannot create a private temporary directory");
  SLUICE_RETURN_IF_ERROR(dir.Write("allowed_signers", allowed));
  SLUICE_RETURN_IF_ERROR(dir.Write("commit.sig", sig.signature));
  const std::string allowed_file = dir.path() + "/allowed_signers";
  const std::string sig_file = dir.path() + "/commit.sig";

  auto run = [&](std::vector<std::string> argv,
                 const std::string& input) -> Result<process::ProcessResult> {
    process::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.env = process::BaseEnvironment();
    spec.cwd = dir.path();
    spec.stdin_data = input;
    spec.timeout = std::chrono::seconds(30);
    spec.kill_grace = std::chrono::seconds(1);
    Result<process::ProcessResult> r = runner_.Run(spec, nullptr);
    if (!r.ok()) return Status(r.status()).WithContext("run ssh-keygen");
    if (r->timed_out) return Status::IOError("ssh-keygen timed out");
    return r;
  };

  // Which principals hold the signing key? (No cryptographic check yet.)
  Result<process::ProcessResult> found =
      run({ssh_keygen_, "-Y", "find-principals", "-f", allowed_file, "-s", sig_file}, "");
  if (!found.ok()) return found.status();
  if (found->exit_code != 0) {
    check.problem = "signed by a key that is not in allowed signers";
    return check;
  }
  std::vector<std::string> principals;
  std::istringstream lines(found->stdout_tail);
  for (std::string p; std::getline(lines, p);) {
    p = Trim(p);
    if (!p.empty()) principals.push_back(p);
  }
  bool only_patterns = !principals.empty();
  for (const std::string& principal : principals) {
    if (principal.find_first_of("*?!,") != std::string::npos) continue;  // a pattern, not a person
    only_patterns = false;
    Result<process::ProcessResult> verified = run({ssh_keygen_, "-Y", "verify", "-f", allowed_file,
                                                   "-I", principal, "-n", "git", "-s", sig_file},
                                                  sig.payload);
    if (!verified.ok()) return verified.status();
    if (verified->exit_code == 0) {
      check.verified = true;
      check.principal = Lower(principal);
      // "Good "git" signature for alice@example.com with ED25519 key SHA256:..."
      const std::string& out = verified->stdout_tail + verified->stderr_tail;
      auto with = out.find(" with ");
      if (with != std::string::npos) {
        check.key = Trim(out.substr(with + 6, out.find('\n', with) - with - 6));
      }
      return check;
    }
  }
  check.problem = only_patterns ? "signed by a key allowed only for a principal pattern, not a "
                                  "person"
                                : "signature does not verify (the commit was altered after "
                                  "signing, or the key is not allowed for namespace git)";
  return check;
}

namespace {

// The first line of a small text file, trimmed; "" when it cannot be read.
std::string FirstLineOf(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return Trim(line);
}

// "ssh-ed25519 AAAA... comment" -> "ssh-ed25519 AAAA...".
std::string KeyWithoutComment(const std::string& line) {
  size_t first = line.find(' ');
  if (first == std::string::npos) return line;
  size_t second = line.find(' ', first + 1);
  return second == std::string::npos ? line : line.substr(0, second);
}

}  // namespace

Result<SshSigningSetup> SshSigningSetupFromGitConfig(const git::Repository& repo) {
  SshSigningSetup setup;
  Result<std::string> format = repo.ConfigString("gpg.format");
  if (!format.ok() || Lower(Trim(*format)) != "ssh") {
    return Status::FailedPrecondition(
        "--sign signs with SSH as git does, but git config gpg.format is " +
        (format.ok() ? "\"" + *format + "\"" : std::string("not set")) +
        ": run `git config --global gpg.format ssh` and `git config --global user.signingkey "
        "~/.ssh/id_ed25519.pub`, or pass --signing-key FILE");
  }
  Result<std::string> key = repo.ConfigString("user.signingkey");
  if (!key.ok() || Trim(*key).empty()) {
    return Status::FailedPrecondition(
        "--sign needs git config user.signingkey (your SSH key: git config --global "
        "user.signingkey ~/.ssh/id_ed25519.pub), or pass --signing-key FILE");
  }
  std::string value = Trim(*key);
  setup.origin = "git config user.signingkey";
  if (value.rfind("key::", 0) == 0) {
    setup.key = Trim(value.substr(5));
    setup.literal = true;
  } else if (value.rfind("ssh-", 0) == 0) {
    setup.key = value;
    setup.literal = true;
  } else if (value.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    setup.key = std::string(home ? home : "") + value.substr(1);
  } else {
    setup.key = value;
  }
  if (Result<std::string> program = repo.ConfigString("gpg.ssh.program");
      program.ok() && !Trim(*program).empty()) {
    setup.program = Trim(*program);
  }
  return setup;
}

SshCommitSigner::SshCommitSigner(process::CommandRunner& runner, SshSigningSetup setup)
    : runner_(runner), setup_(std::move(setup)) {}

std::string SshCommitSigner::PublicKey() const {
  if (setup_.literal) return KeyWithoutComment(setup_.key);
  std::string line = FirstLineOf(setup_.key);
  if (line.rfind("ssh-", 0) == 0 || line.rfind("ecdsa-", 0) == 0 || line.rfind("sk-", 0) == 0) {
    return KeyWithoutComment(line);
  }
  line = FirstLineOf(setup_.key + ".pub");
  return line.empty() ? "" : KeyWithoutComment(line);
}

Result<std::string> SshCommitSigner::Sign(const std::string& payload) const {
  PrivateDir dir;
  if (!dir.ok()) return Status::IOError("cannot create a private temporary directory");
  SLUICE_RETURN_IF_ERROR(dir.Write("commit", payload));
  std::string key_file = setup_.key;
  if (setup_.literal) {
    SLUICE_RETURN_IF_ERROR(dir.Write("key.pub", setup_.key + "\n"));
    key_file = dir.path() + "/key.pub";
  } else if (!fs::exists(key_file)) {
    return Status::IOError("cannot sign: the key " + key_file + " (" + setup_.origin +
                           ") does not exist");
  }
  process::ProcessSpec spec;
  spec.argv = {setup_.program, "-Y", "sign", "-n", "git", "-f", key_file};
  if (setup_.literal) spec.argv.push_back("-U");
  spec.argv.push_back(dir.path() + "/commit");
  spec.env = process::BaseEnvironment();
  // The agent holds keys with a passphrase (and the key of a literal setup).
  if (const char* agent = std::getenv("SSH_AUTH_SOCK")) spec.env["SSH_AUTH_SOCK"] = agent;
  spec.cwd = dir.path();
  spec.timeout = std::chrono::seconds(60);
  spec.kill_grace = std::chrono::seconds(1);
  Result<process::ProcessResult> r = runner_.Run(spec, nullptr);
  if (!r.ok()) return Status(r.status()).WithContext("run " + setup_.program);
  if (r->timed_out) {
    return Status::IOError(setup_.program +
                           " timed out signing (a key with a passphrase must be in the "
                           "ssh-agent: ssh-add " +
                           key_file + ")");
  }
  if (r->exit_code != 0) {
    return Status::IOError("cannot sign with " + key_file + " (" + setup_.origin +
                           "): " + setup_.program + " exited " + std::to_string(r->exit_code) +
                           ": " + Trim(r->stderr_tail) +
                           " (a key with a passphrase must be in the ssh-agent)");
  }
  std::ifstream in(dir.path() + "/commit.sig");
  std::stringstream sig;
  sig << in.rdbuf();
  if (!in || sig.str().find("-----BEGIN SSH SIGNATURE-----") == std::string::npos) {
    return Status::IOError(setup_.program + " wrote no signature for " + key_file);
  }
  return sig.str();
}

}  // namespace sluice::approval
