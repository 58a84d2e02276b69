#include "record/trust.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_dump.h"
#include "core/strings.h"
#include "crypto/sshsig.h"
#include "record/refs.h"

namespace sluice::record {
namespace {

constexpr std::string_view kSigKey = ",\"sig\":\"";

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + what + " " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to a new file `path` with mode 0600; fails if it exists.
Status WritePrivateFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Status::IOError("cannot write " + path);
  return Status::Ok();
}

bool IsBase64(std::string_view s) {
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
      return false;
    }
  }
  return !s.empty();
}

}  // namespace

RecordKeys::RecordKeys(crypto::PrivateKey signing, std::vector<crypto::PublicKey> others)
    : signing_(std::move(signing)) {
  trusted_.push_back(signing_.public_key());
  for (auto& k : others) {
    if (!(k == signing_.public_key())) trusted_.push_back(std::move(k));
  }
}

Result<std::shared_ptr<const RecordKeys>> RecordKeys::Load(const TrustOptions& opts,
                                                           const std::string& workdir,
                                                           bool* generated) {
  if (generated) *generated = false;
  std::optional<crypto::PrivateKey> signing;
  std::string key_path = opts.signing_key_file;
  if (key_path.empty()) {
    key_path = workdir + "/controller-key";
    if (::access(key_path.c_str(), F_OK) != 0) {
      char host[256] = "localhost";
      gethostname(host, sizeof host - 1);
      auto made = crypto::PrivateKey::Generate(std::string("sluice-controller@") + host);
      if (!made.ok()) return made.status();
      SLUICE_RETURN_IF_ERROR(WritePrivateFile(key_path, crypto::FormatOpenSshPrivateKey(*made)));
      std::ofstream(key_path + ".pub") << made->public_key().ToOpenSsh() << "\n";
      if (generated) *generated = true;
      signing = std::move(*made);
    }
  }
  if (!signing) {
    auto text = ReadWholeFile(key_path, "signing key");
    if (!text.ok()) return text.status().WithContext("trust.signingKey");
    auto key = crypto::ParseOpenSshPrivateKey(*text);
    if (!key.ok()) return key.status().WithContext("signing key " + key_path);
    signing = std::move(*key);
  }
  std::vector<crypto::PublicKey> others;
  if (!opts.controller_keys_file.empty()) {
    auto text = ReadWholeFile(opts.controller_keys_file, "controller keys");
    if (!text.ok()) return text.status().WithContext("trust.controllerKeys");
    auto keys = crypto::ParsePublicKeys(*text, opts.controller_keys_file);
    if (!keys.ok()) return keys.status();
    others = std::move(*keys);
  }
  return std::shared_ptr<const RecordKeys>(
      std::make_shared<RecordKeys>(std::move(*signing), std::move(others)));
}

std::string RecordKeys::SignLine(std::string_view unsigned_line) const {
  if (unsigned_line.empty() || unsigned_line.back() != '}') return std::string(unsigned_line);
  auto sig = crypto::SshSigSign(signing_, kRecordSignatureNamespace, unsigned_line);
  if (!sig.ok()) return std::string(unsigned_line);  // stays unsigned: reported as untrusted
  std::string out(unsigned_line.substr(0, unsigned_line.size() - 1));
  out += kSigKey;
  out += crypto::Base64Encode(*sig);
  out += "\"}";
  return out;
}

std::optional<std::pair<std::string, std::string_view>> SplitSignedLine(std::string_view line) {
  if (line.size() < 2 || line.substr(line.size() - 2) != "\"}") return std::nullopt;
  size_t at = line.rfind(kSigKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view b64 = line.substr(at + kSigKey.size(), line.size() - 2 - (at + kSigKey.size()));
  if (!IsBase64(b64)) return std::nullopt;
  // Sized once: a string grown past its length by `+= '}'` doubles its
  // capacity, and the events cache keeps these (30,000 after a first full
  // pass of 10,000 pins: 12 MB of the pass's peak was that slack).
  std::string message;
  message.reserve(at + 1);
  message.append(line.substr(0, at)).push_back('}');
  return std::make_pair(std::move(message), b64);
}

LineVerdict VerifyEventLine(std::string_view line, std::string_view commit,
                            const std::vector<crypto::PublicKey>& keys) {
  LineVerdict v;
  auto split = SplitSignedLine(line);
  if (!split) {
    v.reason = ParseEventLine(line).ok() ? "unsigned event" : "not a signed sluice event line";
    return v;
  }
  auto blob = crypto::Base64Decode(split->second);
  if (!blob.ok()) {
    v.reason = "malformed signature";
    return v;
  }
  auto signer = crypto::SshSigVerify(*blob, kRecordSignatureNamespace, split->first, keys);
  if (!signer.ok()) {
    if (signer.status().IsNotFound()) {
      v.reason = "signed by a key not in trust.controllerKeys";
    } else if (signer.status().code() == Status::Code::kFailedPrecondition) {
      v.reason = "bad signature (the line was changed after signing)";
    } else {
      v.reason = "malformed signature: " + signer.status().message();
    }
    return v;
  }
  auto event = ParseEventLine(split->first);
  if (!event.ok()) {
    v.reason = "signed, but not a sluice event";
    return v;
  }
  if (event->commit != commit) {
    v.reason = "signed for commit " + ShortId(event->commit) + ", found on " + ShortId(commit);
    return v;
  }
  const crypto::PublicKey& key = keys[*signer];
  v.trusted = true;
  v.signer = key.comment().empty() ? key.Fingerprint() : key.comment();
  return v;
}

namespace {
enum class RefKind { kNone, kDeployed, kLkg, kApplied, kCandidate };

// The kind of `ref` and the rest of its name after the kind.
RefKind KindOf(std::string_view ref, std::string_view* rest) {
  constexpr std::string_view kPrefix = "refs/sluice/";
  if (ref.substr(0, kPrefix.size()) != kPrefix) return RefKind::kNone;
  ref.remove_prefix(kPrefix.size());
  for (auto [name, kind] : {std::pair{std::string_view("deployed/"), RefKind::kDeployed},
                            std::pair{std::string_view("lkg/"), RefKind::kLkg},
                            std::pair{std::string_view("applied/"), RefKind::kApplied},
                            std::pair{std::string_view("candidate/"), RefKind::kCandidate}}) {
    if (ref.substr(0, name.size()) == name) {
      *rest = ref.substr(name.size());
      return kind;
    }
  }
  return RefKind::kNone;
}
}  // namespace

bool IsRecordRefName(std::string_view name) {
  if (name == kNotesRef || name == "refs/sluice/pass") return true;
  std::string_view rest;
  const RefKind kind = KindOf(name, &rest);
  if (kind == RefKind::kNone) return false;
  // <env> for applied, <env>/<app> for the others: each part non-empty.
  const size_t slash = rest.find('/');
  if (kind == RefKind::kApplied) return !rest.empty() && slash == std::string_view::npos;
  return slash != std::string_view::npos && slash > 0 && slash + 1 < rest.size() &&
         rest.find('/', slash + 1) == std::string_view::npos;
}

std::pair<std::string, std::string> RefEnvApp(std::string_view ref) {
  std::string_view rest;
  RefKind kind = KindOf(ref, &rest);
  if (kind == RefKind::kNone) return {"", ""};
  if (kind == RefKind::kApplied) return {std::string(rest), ""};
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {std::string(rest), ""};
  return {std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

bool ConfirmsRef(std::string_view ref, const Event& e, bool* confirmable) {
  std::string_view rest;
  RefKind kind = KindOf(ref, &rest);
  *confirmable = kind != RefKind::kNone;
  if (kind == RefKind::kNone) return false;
  auto [env, app] = RefEnvApp(ref);
  if (e.env != env || (kind != RefKind::kApplied && e.app != app)) return false;
  const bool lands = e.kind == EventKind::kApplied || e.kind == EventKind::kRolledBack ||
                     e.kind == EventKind::kVerified;
  switch (kind) {
    case RefKind::kLkg:
      return e.kind == EventKind::kVerified;
    case RefKind::kCandidate:
      return true;
    default:
      return lands;
  }
}

std::string UntrustedEntry::ToJson() const {
  nlohmann::ordered_json j;
  j["kind"] = kind;
  j["commit"] = commit;
  if (!ref.empty()) j["ref"] = ref;
  if (!line.empty()) j["line"] = line;
  if (!env.empty()) j["env"] = env;
  if (!app.empty()) j["app"] = app;
  j["reason"] = reason;
  return DumpJson(j);
}

Result<UntrustedEntry> UntrustedEntry::FromJson(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("not an untrusted-entry line");
  UntrustedEntry e;
  auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  e.kind = str("kind");
  e.commit = str("commit");
  e.ref = str("ref");
  e.line = str("line");
  e.env = str("env");
  e.app = str("app");
  e.reason = str("reason");
  return e;
}

}  // namespace sluice::record
