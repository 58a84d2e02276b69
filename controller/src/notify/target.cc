#include "notify/target.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/secrets.h"

namespace sluice::notify {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  auto end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

// The whole file, or an error naming it (never its content).
Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError(path + ": cannot read it (" + std::strerror(errno) + ")");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = Trim(ss.str());
  if (text.empty()) return Status::InvalidArgument(path + ": the file is empty");
  return text;
}

bool IsHttpUrl(const std::string& s) {
  return (s.rfind("https://", 0) == 0 && s.size() > 8) ||
         (s.rfind("http://", 0) == 0 && s.size() > 7);
}

}  // namespace

std::string RedactedTargetUrl(Target::Kind kind, const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "(not a URL)";
  std::string rest = url.substr(scheme + 3);
  auto path_start = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, path_start);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  std::string base = url.substr(0, scheme + 3) + authority;
  if (kind == Target::Kind::kSlack) return base + "/…";
  std::string path = path_start == std::string::npos ? "" : rest.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  return base + path;
}

Status LoadTargets(const std::vector<config::Notification>& entries,
                   std::vector<std::shared_ptr<const Target>>& targets) {
  std::string problems;
  auto problem = [&](const config::Notification& n, const std::string& what) {
    if (!problems.empty()) problems += "\n";
    problems += n.origin.empty() ? std::string("the controller's configuration") : n.origin;
    problems += ": notify " + (n.name.empty() ? n.kind : n.name) + ": " + what;
  };
  for (const auto& n : entries) {
    auto t = std::make_shared<Target>();
    t->id = n.name;
    if (n.kind == "slack") {
      t->kind = Target::Kind::kSlack;
      auto url = ReadSecretFile(n.url_file);
      if (!url.ok()) {
        problem(n,
                "slackWebhookFile " + url.status().message() +
                    "; put the Slack incoming-webhook URL (https://hooks.slack.com/services/...) "
                    "in that file on the controller's host");
        continue;
      }
      if (!IsHttpUrl(*url) || url->find_first_of(" \t\r\n") != std::string::npos) {
        problem(n, "slackWebhookFile " + n.url_file +
                       ": does not hold a URL; it must contain only the Slack incoming-webhook "
                       "URL (https://hooks.slack.com/services/...)");
        continue;
      }
      t->url = std::move(*url);
      RegisterSecret(t->url);  // the URL's path is the credential
      t->name = "slack " + RedactedTargetUrl(t->kind, t->url);
    } else if (n.kind == "webhook") {
      t->kind = Target::Kind::kWebhook;
      t->url = n.url;
      if (!n.secret_file.empty()) {
        auto secret = ReadSecretFile(n.secret_file);
        if (!secret.ok()) {
          problem(n, "secretFile " + secret.status().message() +
                         "; put the shared signing secret in that file on the controller's host, "
                         "or remove secretFile to send unsigned payloads");
          continue;
        }
        t->secret = std::move(*secret);
        RegisterSecret(t->secret);
      }
      t->name = "webhook " + RedactedTargetUrl(t->kind, t->url);
    } else {
      problem(n, "unknown kind; use slack or webhook");
      continue;
    }
    targets.push_back(std::move(t));
  }
  if (!problems.empty()) return Status::InvalidArgument(problems);
  return Status::Ok();
}

}  // namespace sluice::notify
