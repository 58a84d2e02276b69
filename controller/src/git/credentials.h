#pragma once

#include <string>

namespace sluice::git {

// What the controller authenticates to the environments repository with.
// Held in the controller's memory only: never in cache.git/config, never in
// the environment of a child (SPEC 1.3 rule 5).
struct Credentials {
  std::string username;        // HTTP(S) user, or the SSH user (default "git")
  std::string password;        // HTTP(S) password or token
  std::string ssh_key;         // private key path (public key beside it as .pub)
  std::string ssh_passphrase;  // of ssh_key
  // Where `password` came from, for the error a rejected login gives
  // ("gitPasswordFile /etc/sluice/git-password"); never the value.
  std::string password_source;
};

// Sets the credentials every Fetch/Push of this process uses (the libgit2
// credential callback reads them). The password and passphrase are also
// registered as secrets (core/secrets.h). Thread-safe; call it at start,
// before remote operations run.
void SetProcessCredentials(Credentials credentials);

// The credentials set by SetProcessCredentials; when it was never called
// (library use, unit tests), the SLUICE_GIT_USERNAME, SLUICE_GIT_PASSWORD
// (or SLUICE_GIT_PASSWORD_FILE), SLUICE_GIT_SSH_KEY and
// SLUICE_GIT_SSH_PASSPHRASE environment variables. Thread-safe.
Credentials ProcessCredentials();

// A repository URL split into what may be shown and stored, and the
// credentials it carried.
struct UrlParts {
  std::string url;       // without the password: "http://user@host/x.git" (user kept)
  std::string username;  // "" when the URL names none
  std::string password;  // "" when the URL carries none
};

// Splits "scheme://user:password@host/path" (percent-escapes in user and
// password decoded). Anything else (no scheme, no user info, scp-like
// "git@host:path", local paths) comes back unchanged with empty credentials.
// Pure.
UrlParts SplitUrlCredentials(const std::string& url);

// SplitUrlCredentials, and when the URL carried a password: registers it as
// a secret and remembers it (with the URL's user) for CredentialsForUrl.
// Returns the URL without the password, which is what may be stored and
// shown; idempotent. Thread-safe.
std::string AdoptUrlCredentials(const std::string& url);

// What to authenticate to `url` with: ProcessCredentials(), or when they
// hold no password, the one AdoptUrlCredentials took from that URL (a
// configured gitPasswordFile wins over a password in --repo). Thread-safe.
Credentials CredentialsForUrl(const std::string& url);

}  // namespace sluice::git
