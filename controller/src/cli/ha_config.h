#pragma once

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "ha/etcd_client.h"

namespace sluice::cli {

// High availability (SPEC section 8): the controller's etcd settings, kept
// apart from the rest of controller_config like the trust part.
struct HaSettings {
  // --etcd / etcd: the cluster's client URLs. Empty: no HA, one controller
  // per workdir (flock).
  std::vector<std::string> etcd;
  std::chrono::seconds lease_ttl{15};  // --lease-ttl / leaseTtl
  // --instance-id / instanceId: names this replica in etcd and in the
  // record (controller.id). Empty: "<hostname>-<pid>".
  std::string instance_id;
  std::string etcd_cacert;         // --etcd-cacert / etcdCacert
  std::string etcd_cert;           // --etcd-cert / etcdCert
  std::string etcd_key;            // --etcd-key / etcdKey
  std::string etcd_user;           // --etcd-user / etcdUser
  std::string etcd_password_file;  // --etcd-password-file / etcdPasswordFile
};

// Adds --etcd, --lease-ttl, --instance-id, --etcd-cacert, --etcd-cert,
// --etcd-key, --etcd-user and --etcd-password-file into `ha`, which must
// outlive the parse.
void AddHaOptions(CLI::App& cmd, HaSettings& ha);

// Only the flags that say how to reach etcd: --etcd, --etcd-cacert,
// --etcd-cert, --etcd-key, --etcd-user and --etcd-password-file (for a
// command that reads etcd without holding a lease, `sluice status`).
void AddEtcdClientOptions(CLI::App& cmd, HaSettings& ha);

// The flags AddHaOptions added that were given on the command line, for
// LoadControllerConfig's `explicit_flags`.
std::vector<std::string> GivenHaFlags(const CLI::App& cmd);

// "a, b,,c" -> {"a", "b", "c"}: the --etcd list. Pure.
std::vector<std::string> SplitEndpoints(const std::string& text);

// A --lease-ttl value: a duration in whole seconds from 2s (etcd's smallest
// lease) to 5m. InvalidArgument with the fix.
Result<std::chrono::seconds> ParseLeaseTtl(const std::string& text);

// Whether `key` of a --config file is one of the HA keys (etcd, leaseTtl,
// instanceId, etcdCacert, etcdCert, etcdKey, etcdUser, etcdPasswordFile).
bool IsHaConfigKey(const std::string& key);

// Reads HA key `key` (IsHaConfigKey) into `ha`, unless its flag is in
// `explicit_flags`. `etcd` is a string ("URL,URL") or a list of URLs.
// InvalidArgument "path:line: message".
Status LoadHaConfigKey(const std::string& path, const std::string& key, const YAML::Node& key_node,
                       const YAML::Node& value, HaSettings& ha,
                       const std::vector<std::string>& explicit_flags);

// The etcd client options of `ha`, or nullopt without --etcd: checks that
// no etcd flag comes without --etcd, reads the password file (its content
// without trailing whitespace, registered as a secret), checks the TLS
// files can be read and validates the whole (ha::ValidateEtcdOptions).
// InvalidArgument naming the flag, or FailedPrecondition naming a file that
// cannot be read.
Result<std::optional<ha::EtcdOptions>> MakeEtcdOptions(const HaSettings& ha);

}  // namespace sluice::cli
