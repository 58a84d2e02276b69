#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/http_client.h"

namespace sluice::ha {

// How to reach an etcd cluster (SPEC section 8: --etcd, --etcd-cacert,
// --etcd-cert, --etcd-key, --etcd-user, --etcd-password-file).
struct EtcdOptions {
  // Client URLs ("http://10.0.0.1:2379", "https://etcd-0:2379"), tried in
  // order; a transport error moves on to the next.
  std::vector<std::string> endpoints;
  // TLS (PEM files), all optional: the CA that signs the servers'
  // certificates, and a client certificate with its key for clusters that
  // run with --client-cert-auth.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Authentication (etcd's own users): empty user = none. The password is a
  // secret: never logged, never in an error message.
  std::string user;
  std::string password;
  // The bound of one request to one endpoint.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(2)};
};

// Checks `options` without I/O: at least one endpoint, every endpoint an
// http:// or https:// URL with a host and no path/userinfo, a password only
// with a user, TLS files only with https endpoints, cert and key together.
// InvalidArgument naming the flag and the fix.
Status ValidateEtcdOptions(const EtcdOptions& options);

// One key as etcd holds it. Revisions are etcd's (cluster-wide, 64-bit).
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;  // 0 = no lease
};

struct Lease {
  int64_t id = 0;
  int64_t ttl_seconds = 0;  // as granted (etcd may round a small TTL up)
};

// One comparison of a transaction (etcd's Compare).
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kCreateRevision;
  Op op = Op::kEqual;
  int64_t number = 0;  // for the revision and version targets
  std::string value;   // for kValue
};

// One operation of a transaction branch.
struct TxnOp {
  enum class Kind { kPut, kRange, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string value;  // kPut
  int64_t lease = 0;  // kPut; 0 = none
  // kRange/kDelete: "" = just `key`; otherwise the end of [key, range_end).
  std::string range_end;

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0);
  static TxnOp Get(std::string key);
  static TxnOp Delete(std::string key);
};

struct Txn {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the transaction
  // One entry per operation of the branch that ran, in order: the keys a
  // kRange found (empty for kPut and kDelete).
  std::vector<std::vector<KeyValue>> ranges;
};

// The end of the range of every key that starts with `prefix` (etcd's
// "prefix + 1" rule); "\0" (all keys) for an empty prefix. Pure.
std::string PrefixRangeEnd(const std::string& prefix);

// EtcdClient speaks etcd's v3 API through its JSON gateway (POST /v3/...,
// etcd 3.4), over the project's HttpClient: no gRPC. It deals with the
// gateway's encoding (keys and values in base64, 64-bit numbers as strings,
// false and zero fields omitted) so callers see plain values.
//
// Errors:
//   - every endpoint failed at the transport: IOError (Timeout when the last
//     one timed out) "etcd at <url> unreachable: <why>" (one clause per
//     endpoint, joined by "; ");
//   - etcd answered with an error: "etcd refused: <etcd's message> (at <url>)"
//     as NotFound (e.g. an expired lease), FailedPrecondition (permission
//     denied, authentication failed) or IOError (anything else);
//   - an answer that is not etcd's JSON: IOError naming the URL and the HTTP
//     status, with the hint that the endpoint may not be an etcd client URL.
// The password and the auth token never appear in errors or logs.
//
// With a user, the client authenticates (POST /v3/auth/authenticate) before
// the first request and again once when etcd says the token is invalid
// (expired, or etcd restarted).
//
// Thread-safe; borrows `http`, which must outlive the client. No lock is held
// across a request.
class EtcdClient {
 public:
  EtcdClient(net::HttpClient& http, EtcdOptions options);
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // A lease of `ttl_seconds` (>= 1).
  Result<Lease> GrantLease(int64_t ttl_seconds);
  // Renews lease `id` once; returns its TTL in seconds afterwards. NotFound
  // when the lease has expired or was revoked (etcd then answers TTL 0).
  Result<int64_t> KeepAliveOnce(int64_t id);
  // Revokes lease `id`, deleting the keys attached to it. NotFound when it
  // had already expired or been revoked.
  Status RevokeLease(int64_t id);

  // Puts `key` = `value`, attached to `lease` (0 = none). Returns the
  // store's revision after the put. NotFound when the lease does not exist.
  Result<int64_t> Put(const std::string& key, const std::string& value, int64_t lease = 0);
  // The value of `key`, or NotFound.
  Result<KeyValue> Get(const std::string& key);
  // Every key that starts with `prefix`, in key order.
  Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix);
  // Deletes `key`; returns how many keys went (0 or 1).
  Result<int64_t> Delete(const std::string& key);
  // Runs `txn` atomically.
  Result<TxnResult> Transact(const Txn& txn);

  // Put-if-absent: creates `key` = `value` on `lease` when it does not exist
  // (create_revision == 0). Returns the TxnResult: on failure, ranges[0]
  // holds the key as it is.
  Result<TxnResult> PutIfAbsent(const std::string& key, const std::string& value, int64_t lease);
  // Deletes `key` only if its mod_revision is still `mod_revision`. Returns
  // whether it did.
  Result<bool> DeleteIfUnchanged(const std::string& key, int64_t mod_revision);

  // The endpoint that answered last (the first one before any request).
  std::string CurrentEndpoint() const;

 private:
  // POSTs `body` (JSON) to `path` ("/v3/kv/range") at the current endpoint,
  // moving on to the next on a transport error; authenticates first when a
  // user is set. Returns the parsed etcd answer (the text of a JSON object).
  Result<std::string> Call(const std::string& path, const std::string& body);
  Result<std::string> CallOnce(const std::string& endpoint, const std::string& path,
                               const std::string& body, const std::string& token,
                               bool* token_invalid);
  Result<std::string> Authenticate(const std::string& endpoint);

  net::HttpClient& http_;
  const EtcdOptions options_;
  mutable std::mutex mu_;
  size_t current_ = 0;  // index into options_.endpoints
  std::string token_;   // the auth token, "" = none yet
};

}  // namespace sluice::ha
