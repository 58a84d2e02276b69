#include "git/credentials.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "core/secrets.h"

namespace sluice::git {
namespace {

struct Store {
  std::mutex mu;
  std::optional<Credentials> set;
  std::map<std::string, UrlParts> from_urls;  // by the URL without password
};

Store& TheStore() {
  static Store* store = new Store();  // never destroyed: used until exit
  return *store;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

Credentials FromEnvironment() {
  Credentials c;
  c.username = Env("SLUICE_GIT_USERNAME");
  c.password = Env("SLUICE_GIT_PASSWORD");
  c.password_source = "SLUICE_GIT_PASSWORD";
  if (c.password.empty()) {
    std::string file = Env("SLUICE_GIT_PASSWORD_FILE");
    if (!file.empty()) {
      std::ifstream in(file, std::ios::binary);
      std::stringstream ss;
      if (in) ss << in.rdbuf();
      c.password = ss.str();
      while (!c.password.empty() && (c.password.back() == '\n' || c.password.back() == '\r')) {
        c.password.pop_back();
      }
      c.password_source = "SLUICE_GIT_PASSWORD_FILE " + file;
    }
  }
  c.ssh_key = Env("SLUICE_GIT_SSH_KEY");
  c.ssh_passphrase = Env("SLUICE_GIT_SSH_PASSPHRASE");
  return c;
}

}  // namespace

void SetProcessCredentials(Credentials credentials) {
  RegisterSecret(credentials.password);
  RegisterSecret(credentials.ssh_passphrase);
  Store& s = TheStore();
  std::lock_guard lock(s.mu);
  s.set = std::move(credentials);
}

Credentials ProcessCredentials() {
  {
    Store& s = TheStore();
    std::lock_guard lock(s.mu);
    if (s.set) return *s.set;
  }
  return FromEnvironment();
}

UrlParts SplitUrlCredentials(const std::string& url) {
  UrlParts parts{url, "", ""};
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return parts;
  size_t start = scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  // The last '@' of the authority ends the user info ('@' in a password
  // must be escaped, but be lenient).
  size_t at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return parts;
  std::string userinfo = url.substr(start, at - start);
  size_t colon = userinfo.find(':');
  std::string user = colon == std::string::npos ? userinfo : userinfo.substr(0, colon);
  parts.username = PercentDecode(user);
  if (colon != std::string::npos) parts.password = PercentDecode(userinfo.substr(colon + 1));
  parts.url = url.substr(0, start) + (user.empty() ? "" : user + "@") + url.substr(at + 1);
  return parts;
}

std::string AdoptUrlCredentials(const std::string& url) {
  UrlParts parts = SplitUrlCredentials(url);
  if (parts.password.empty()) return parts.url;
  RegisterSecret(parts.password);
  Store& s = TheStore();
  std::lock_guard lock(s.mu);
  s.from_urls[parts.url] = parts;
  return parts.url;
}

Credentials CredentialsForUrl(const std::string& url) {
  Credentials c = ProcessCredentials();
  if (!c.password.empty()) return c;
  std::string key = SplitUrlCredentials(url).url;
  Store& s = TheStore();
  std::lock_guard lock(s.mu);
  auto it = s.from_urls.find(key);
  if (it == s.from_urls.end()) return c;
  c.password = it->second.password;
  c.password_source = "the password of the repository URL";
  if (c.username.empty()) c.username = it->second.username;
  return c;
}

}  // namespace sluice::git
