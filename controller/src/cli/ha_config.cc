#include "cli/ha_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/duration.h"
#include "core/secrets.h"

namespace sluice::cli {
namespace {

// Each HA key of the config file and its flag.
const std::vector<std::pair<std::string, std::string>>& KeysAndFlags() {
  static const std::vector<std::pair<std::string, std::string>> kAll = {
      {"etcd", "--etcd"},
      {"leaseTtl", "--lease-ttl"},
      {"instanceId", "--instance-id"},
      {"etcdCacert", "--etcd-cacert"},
      {"etcdCert", "--etcd-cert"},
      {"etcdKey", "--etcd-key"},
      {"etcdUser", "--etcd-user"},
      {"etcdPasswordFile", "--etcd-password-file"}};
  return kAll;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

std::vector<std::string> SplitEndpoints(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    part = Trim(part);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

Result<std::chrono::seconds> ParseLeaseTtl(const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status();
  if (d->count() % 1000 != 0) {
    return Status::InvalidArgument("'" + text +
                                   "' is not a whole number of seconds (etcd leases "
                                   "count in seconds), e.g. 15s");
  }
  auto s = std::chrono::duration_cast<std::chrono::seconds>(*d);
  if (s < std::chrono::seconds(2) || s > std::chrono::minutes(5)) {
    return Status::InvalidArgument(
        "'" + text +
        "' is out of range: from 2s (etcd's smallest lease) to 5m (a dead replica's environments "
        "wait that long for a new owner); 15s is a good start");
  }
  return s;
}

namespace {

void AddEtcdTlsAndAuthOptions(CLI::App& cmd, HaSettings& ha) {
  cmd.add_option("--etcd-cacert", ha.etcd_cacert, "CA bundle (PEM) that signs the etcd servers");
  cmd.add_option("--etcd-cert", ha.etcd_cert, "Client certificate (PEM) for etcd");
  cmd.add_option("--etcd-key", ha.etcd_key, "Key (PEM) of --etcd-cert");
  cmd.add_option("--etcd-user", ha.etcd_user, "etcd user (etcd's own authentication)");
  cmd.add_option("--etcd-password-file", ha.etcd_password_file,
                 "File holding the password of --etcd-user");
}

}  // namespace

void AddEtcdClientOptions(CLI::App& cmd, HaSettings& ha) {
  cmd.add_option_function<std::string>(
         "--etcd", [&ha](const std::string& v) { ha.etcd = SplitEndpoints(v); },
         "High availability: the etcd cluster the controller's replicas use "
         "(URL[,URL...]); each row then names the replica that owns its environment")
      ->type_name("URL[,URL...]");
  AddEtcdTlsAndAuthOptions(cmd, ha);
}

void AddHaOptions(CLI::App& cmd, HaSettings& ha) {
  cmd.add_option_function<std::string>(
         "--etcd", [&ha](const std::string& v) { ha.etcd = SplitEndpoints(v); },
         "High availability: the etcd cluster's client URLs, comma-separated "
         "(http://10.0.0.1:2379,...). Replicas with the same --repo share the environments, one "
         "owner each; without it, one controller per workdir")
      ->type_name("URL[,URL...]");
  cmd.add_option_function<std::string>(
         "--lease-ttl",
         [&ha](const std::string& v) {
           auto ttl = ParseLeaseTtl(v);
           if (!ttl.ok()) throw CLI::ValidationError("--lease-ttl", ttl.status().message());
           ha.lease_ttl = *ttl;
         },
         "With --etcd: the lease of this replica (2s to 5m, default 15s); a dead replica's "
         "environments move to the others within it")
      ->type_name("DURATION");
  cmd.add_option("--instance-id", ha.instance_id,
                 "This replica's name in etcd and in the record (controller.id); default "
                 "<hostname>-<pid>");
  AddEtcdTlsAndAuthOptions(cmd, ha);
}

std::vector<std::string> GivenHaFlags(const CLI::App& cmd) {
  std::vector<std::string> out;
  for (const auto& [key, flag] : KeysAndFlags()) {
    try {
      if (cmd.count(flag) > 0) out.push_back(flag);
    } catch (const CLI::Error&) {
      // Not an option of this command.
    }
  }
  return out;
}

bool IsHaConfigKey(const std::string& key) {
  const auto& all = KeysAndFlags();
  return std::any_of(all.begin(), all.end(), [&](const auto& kf) { return kf.first == key; });
}

Status LoadHaConfigKey(const std::string& path, const std::string& key, const YAML::Node& key_node,
                       const YAML::Node& value, HaSettings& ha,
                       const std::vector<std::string>& explicit_flags) {
  const std::string where = path + ":" + std::to_string(key_node.Mark().line + 1) + ": ";
  std::string flag;
  for (const auto& [k, f] : KeysAndFlags()) {
    if (k == key) flag = f;
  }
  const bool given =
      std::find(explicit_flags.begin(), explicit_flags.end(), flag) != explicit_flags.end();
  if (key == "etcd") {
    std::vector<std::string> endpoints;
    if (value.IsScalar()) {
      endpoints = SplitEndpoints(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& item : value) {
        if (!item.IsScalar()) {
          return Status::InvalidArgument(where + "etcd must list URLs (strings)");
        }
        for (auto& e : SplitEndpoints(item.Scalar())) endpoints.push_back(std::move(e));
      }
    } else {
      return Status::InvalidArgument(where + "etcd must be a URL, \"URL,URL\" or a list of URLs");
    }
    if (!given) ha.etcd = std::move(endpoints);
    return Status::Ok();
  }
  if (!value.IsScalar()) return Status::InvalidArgument(where + key + " must be a single value");
  const std::string text = value.Scalar();
  if (key == "leaseTtl") {
    auto ttl = ParseLeaseTtl(text);
    if (!ttl.ok()) return Status::InvalidArgument(where + "leaseTtl: " + ttl.status().message());
    if (!given) ha.lease_ttl = *ttl;
    return Status::Ok();
  }
  if (given) return Status::Ok();
  if (key == "instanceId") ha.instance_id = text;
  if (key == "etcdCacert") ha.etcd_cacert = text;
  if (key == "etcdCert") ha.etcd_cert = text;
  if (key == "etcdKey") ha.etcd_key = text;
  if (key == "etcdUser") ha.etcd_user = text;
  if (key == "etcdPasswordFile") ha.etcd_password_file = text;
  return Status::Ok();
}

Result<std::optional<ha::EtcdOptions>> MakeEtcdOptions(const HaSettings& settings) {
  if (settings.etcd.empty()) {
    for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
             {"--etcd-cacert", settings.etcd_cacert},
             {"--etcd-cert", settings.etcd_cert},
             {"--etcd-key", settings.etcd_key},
             {"--etcd-user", settings.etcd_user},
             {"--etcd-password-file", settings.etcd_password_file}}) {
      if (!value.empty()) {
        return Status::InvalidArgument(flag +
                                       " given without --etcd: name the etcd cluster "
                                       "(--etcd URL[,URL...]) or drop it");
      }
    }
    return std::optional<ha::EtcdOptions>();
  }
  ha::EtcdOptions o;
  o.endpoints = settings.etcd;
  o.ca_file = settings.etcd_cacert;
  o.cert_file = settings.etcd_cert;
  o.key_file = settings.etcd_key;
  o.user = settings.etcd_user;
  if (!settings.etcd_password_file.empty()) {
    std::ifstream f(settings.etcd_password_file, std::ios::binary);
    if (!f) {
      return Status::FailedPrecondition("cannot read --etcd-password-file " +
                                        settings.etcd_password_file + ": " + std::strerror(errno));
    }
    std::stringstream ss;
    ss << f.rdbuf();
    std::string password = ss.str();
    while (!password.empty() && std::isspace(static_cast<unsigned char>(password.back()))) {
      password.pop_back();
    }
    if (password.empty()) {
      return Status::FailedPrecondition("--etcd-password-file " + settings.etcd_password_file +
                                        " is empty: put the etcd user's password in it");
    }
    RegisterSecret(password);
    o.password = std::move(password);
  }
  for (const auto& [flag, file] :
       std::vector<std::pair<std::string, std::string>>{{"--etcd-cacert", o.ca_file},
                                                        {"--etcd-cert", o.cert_file},
                                                        {"--etcd-key", o.key_file}}) {
    if (!file.empty() && !std::ifstream(file)) {
      return Status::FailedPrecondition("cannot read " + flag + " " + file + ": " +
                                        std::strerror(errno));
    }
  }
  SLUICE_RETURN_IF_ERROR(ha::ValidateEtcdOptions(o));
  return std::optional<ha::EtcdOptions>(std::move(o));
}

}  // namespace sluice::cli
