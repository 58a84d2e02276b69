#include "ha/etcd_client.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "core/base64.h"
#include "core/strings.h"

namespace sluice::ha {
namespace {

using nlohmann::json;

// etcd's gRPC status codes that matter here.
constexpr int kCodeInvalidArgument = 3;
constexpr int kCodeNotFound = 5;
constexpr int kCodePermissionDenied = 7;
constexpr int kCodeUnavailable = 14;
constexpr int kCodeUnauthenticated = 16;

// The gateway writes 64-bit numbers as strings and omits zeros; accept a
// number too.
int64_t Int(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

bool Bool(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

Result<std::string> Bytes(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return std::string();
  auto decoded = Base64Decode(it->get<std::string>());
  if (!decoded.ok()) {
    return Status::IOError(std::string("etcd answered a ") + name + " that is not base64");
  }
  return decoded;
}

Result<std::vector<KeyValue>> ParseKvs(const json& range) {
  std::vector<KeyValue> out;
  auto it = range.find("kvs");
  if (it == range.end() || !it->is_array()) return out;
  for (const json& kv : *it) {
    KeyValue v;
    auto key = Bytes(kv, "key");
    if (!key.ok()) return key.status();
    auto value = Bytes(kv, "value");
    if (!value.ok()) return value.status();
    v.key = std::move(*key);
    v.value = std::move(*value);
    v.create_revision = Int(kv, "create_revision");
    v.mod_revision = Int(kv, "mod_revision");
    v.version = Int(kv, "version");
    v.lease = Int(kv, "lease");
    out.push_back(std::move(v));
  }
  return out;
}

int64_t HeaderRevision(const json& answer) {
  auto it = answer.find("header");
  return it != answer.end() && it->is_object() ? Int(*it, "revision") : 0;
}

json OpJson(const TxnOp& op) {
  json body = {{"key", Base64Encode(op.key)}};
  switch (op.kind) {
    case TxnOp::Kind::kPut:
      body["value"] = Base64Encode(op.value);
      if (op.lease != 0) body["lease"] = std::to_string(op.lease);
      return {{"request_put", body}};
    case TxnOp::Kind::kRange:
      if (!op.range_end.empty()) body["range_end"] = Base64Encode(op.range_end);
      return {{"request_range", body}};
    case TxnOp::Kind::kDelete:
      if (!op.range_end.empty()) body["range_end"] = Base64Encode(op.range_end);
      return {{"request_delete_range", body}};
  }
  return body;
}

json CompareJson(const Compare& c) {
  json body = {{"key", Base64Encode(c.key)}};
  switch (c.op) {
    case Compare::Op::kEqual:
      body["result"] = "EQUAL";
      break;
    case Compare::Op::kNotEqual:
      body["result"] = "NOT_EQUAL";
      break;
    case Compare::Op::kGreater:
      body["result"] = "GREATER";
      break;
    case Compare::Op::kLess:
      body["result"] = "LESS";
      break;
  }
  switch (c.target) {
    case Compare::Target::kCreateRevision:
      body["target"] = "CREATE";
      body["create_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kModRevision:
      body["target"] = "MOD";
      body["mod_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kVersion:
      body["target"] = "VERSION";
      body["version"] = std::to_string(c.number);
      break;
    case Compare::Target::kValue:
      body["target"] = "VALUE";
      body["value"] = Base64Encode(c.value);
      break;
  }
  return body;
}

// An endpoint as messages name it: the URL without any trailing slash.
std::string Trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The outcome of one request to one endpoint.
enum class Outcome { kAnswer, kEndpointFailed, kTokenInvalid };

}  // namespace

TxnOp TxnOp::Put(std::string key, std::string value, int64_t lease) {
  TxnOp op;
  op.kind = Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

TxnOp TxnOp::Get(std::string key) {
  TxnOp op;
  op.kind = Kind::kRange;
  op.key = std::move(key);
  return op;
}

TxnOp TxnOp::Delete(std::string key) {
  TxnOp op;
  op.kind = Kind::kDelete;
  op.key = std::move(key);
  return op;
}

std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Status ValidateEtcdOptions(const EtcdOptions& options) {
  if (options.endpoints.empty()) {
    return Status::InvalidArgument(
        "--etcd: no endpoint given; list the client URLs of the etcd cluster, e.g. "
        "--etcd http://10.0.0.1:2379,http://10.0.0.2:2379");
  }
  bool any_https = false;
  for (const std::string& e : options.endpoints) {
    const bool http = e.rfind("http://", 0) == 0;
    const bool https = e.rfind("https://", 0) == 0;
    if (!http && !https) {
      return Status::InvalidArgument("--etcd: \"" + net::RedactUrl(e) +
                                     "\" is not an http:// or https:// URL; give etcd's client "
                                     "URL, e.g. http://10.0.0.1:2379");
    }
    const std::string rest = e.substr(http ? 7 : 8);
    const std::string host = rest.substr(0, rest.find('/'));
    if (host.empty()) {
      return Status::InvalidArgument("--etcd: \"" + e + "\" has no host");
    }
    if (host.find('@') != std::string::npos) {
      return Status::InvalidArgument("--etcd: \"" + net::RedactUrl(e) +
                                     "\" carries credentials in the URL; use --etcd-user and "
                                     "--etcd-password-file instead");
    }
    if (rest.size() > host.size() && rest.substr(host.size()) != "/") {
      return Status::InvalidArgument("--etcd: \"" + e +
                                     "\" has a path; give the bare client URL "
                                     "(scheme://host:port)");
    }
    any_https = any_https || https;
  }
  if (!options.password.empty() && options.user.empty()) {
    return Status::InvalidArgument("--etcd-password-file given without --etcd-user");
  }
  if (!options.user.empty() && options.password.empty()) {
    return Status::InvalidArgument("--etcd-user \"" + options.user +
                                   "\" given without a password; add --etcd-password-file");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument(
        "--etcd-cert and --etcd-key go together (the client certificate and its key)");
  }
  if (!any_https && (!options.ca_file.empty() || !options.cert_file.empty())) {
    return Status::InvalidArgument(
        "--etcd-cacert/--etcd-cert/--etcd-key given but no --etcd endpoint is https://; "
        "use https:// URLs for a TLS cluster");
  }
  return Status::Ok();
}

EtcdClient::EtcdClient(net::HttpClient& http, EtcdOptions options)
    : http_(http), options_(std::move(options)) {}

std::string EtcdClient::CurrentEndpoint() const {
  std::lock_guard lock(mu_);
  return options_.endpoints.empty() ? "" : Trimmed(options_.endpoints[current_]);
}

namespace {

// Sends one POST; classifies the answer. On kAnswer, `*text` is the JSON
// object etcd sent (a success) or the Status is etcd's refusal.
Result<std::string> Post(net::HttpClient& http, const EtcdOptions& options,
                         const std::string& endpoint, const std::string& path,
                         const std::string& body, const std::string& token, Outcome* outcome) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = endpoint + path;
  req.body = body;
  req.timeout = options.request_timeout;
  req.follow_redirects = false;
  req.max_body_bytes = 64 * 1024 * 1024;
  req.headers.push_back({"Content-Type", "application/json"});
  if (!token.empty()) req.headers.push_back({"Authorization", token});
  req.ca_file = options.ca_file;
  req.cert_file = options.cert_file;
  req.key_file = options.key_file;
  auto res = http.Send(req);
  if (!res.ok()) {
    *outcome = Outcome::kEndpointFailed;
    // The client's message starts with "POST <url>: "; keep the reason.
    const std::string& m = res.status().message();
    auto colon = m.find(": ");
    std::string why = colon == std::string::npos ? m : m.substr(colon + 2);
    std::string text = "etcd at " + endpoint + " unreachable: " + why;
    return res.status().IsTimeout() ? Status::Timeout(text) : Status::IOError(text);
  }
  json answer = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    *outcome = Outcome::kEndpointFailed;
    return Status::IOError("etcd at " + endpoint + " answered HTTP " + std::to_string(res->status) +
                           " to POST " + path +
                           " with something other than etcd's JSON; is it an etcd client URL "
                           "(etcd 3.4 or later, default port 2379)?");
  }
  const bool refused = answer.contains("error") || (res->status != 200 && answer.contains("code"));
  if (!refused) {
    if (res->status != 200) {
      *outcome = Outcome::kEndpointFailed;
      return Status::IOError("etcd at " + endpoint + " answered HTTP " +
                             std::to_string(res->status) + " to POST " + path);
    }
    *outcome = Outcome::kAnswer;
    return answer.dump();
  }
  const int code = static_cast<int>(Int(answer, "code"));
  std::string message = answer.value("message", "");
  if (message.empty()) message = answer.value("error", std::string("(no message)"));
  if (code == kCodeUnauthenticated || message.find("invalid auth token") != std::string::npos) {
    *outcome = Outcome::kTokenInvalid;
  } else if (code == kCodeUnavailable) {
    // No leader, a timeout inside etcd: another member may do better.
    *outcome = Outcome::kEndpointFailed;
    return Status::IOError("etcd at " + endpoint + " unavailable: " + message);
  } else {
    *outcome = Outcome::kAnswer;
  }
  std::string text = "etcd refused: " + message + " (at " + endpoint + ")";
  if (code == kCodeInvalidArgument && message.find("user name is empty") != std::string::npos) {
    text += "; the cluster has authentication on: give --etcd-user and --etcd-password-file";
  }
  if (code == kCodeNotFound) return Status::NotFound(text);
  if (code == kCodePermissionDenied) {
    return Status::FailedPrecondition(
        text + "; grant the etcd user read-write on the prefix Sluice uses (/sluice/)");
  }
  if (code == kCodeUnauthenticated) return Status::FailedPrecondition(text);
  return Status::IOError(text);
}

}  // namespace

Result<std::string> EtcdClient::Authenticate(const std::string& endpoint) {
  json body = {{"name", options_.user}, {"password", options_.password}};
  Outcome outcome = Outcome::kAnswer;
  auto r = Post(http_, options_, endpoint, "/v3/auth/authenticate", body.dump(), "", &outcome);
  if (!r.ok()) {
    if (outcome == Outcome::kEndpointFailed) return r.status();
    return Status::FailedPrecondition(r.status().message() + "; check --etcd-user \"" +
                                      options_.user + "\" and --etcd-password-file");
  }
  json answer = json::parse(*r, nullptr, false);
  std::string token = answer.value("token", "");
  if (token.empty()) {
    return Status::FailedPrecondition("etcd at " + endpoint +
                                      " gave no auth token; is authentication enabled on the "
                                      "cluster (etcdctl auth enable)?");
  }
  return token;
}

Result<std::string> EtcdClient::Call(const std::string& path, const std::string& body) {
  size_t start = 0;
  std::string token;
  {
    std::lock_guard lock(mu_);
    start = current_;
    token = token_;
  }
  const size_t n = options_.endpoints.size();
  if (n == 0) return Status::InvalidArgument("no etcd endpoint configured (--etcd)");
  std::vector<std::string> failures;
  bool last_timed_out = false;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (start + i) % n;
    const std::string endpoint = Trimmed(options_.endpoints[index]);
    Outcome outcome = Outcome::kAnswer;
    Result<std::string> r = Status::Internal("not sent");
    // One authentication per endpoint at most: a fresh token that etcd
    // still calls invalid is a refusal, not a loop.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!options_.user.empty() && token.empty()) {
        auto t = Authenticate(endpoint);
        if (!t.ok()) {
          r = t.status();
          outcome = t.status().code() == Status::Code::kFailedPrecondition
                        ? Outcome::kAnswer
                        : Outcome::kEndpointFailed;
          break;
        }
        token = *t;
        std::lock_guard lock(mu_);
        token_ = token;
      }
      r = Post(http_, options_, endpoint, path, body, token, &outcome);
      if (outcome != Outcome::kTokenInvalid || options_.user.empty()) break;
      token.clear();  // expired or etcd restarted: authenticate again
    }
    if (outcome != Outcome::kEndpointFailed) {
      std::lock_guard lock(mu_);
      current_ = index;
      return r;
    }
    failures.push_back(r.status().message());
    last_timed_out = r.status().IsTimeout();
  }
  std::string text = Join(failures, "; ");
  return last_timed_out ? Status::Timeout(text) : Status::IOError(text);
}

Result<Lease> EtcdClient::GrantLease(int64_t ttl_seconds) {
  if (ttl_seconds < 1) return Status::InvalidArgument("a lease needs a TTL of at least 1 s");
  auto r = Call("/v3/lease/grant", json{{"TTL", std::to_string(ttl_seconds)}}.dump());
  if (!r.ok()) return r.status();
  json answer = json::parse(*r);
  Lease lease{Int(answer, "ID"), Int(answer, "TTL")};
  if (lease.id == 0)
    return Status::IOError("etcd granted no lease id (at " + CurrentEndpoint() + ")");
  return lease;
}

Result<int64_t> EtcdClient::KeepAliveOnce(int64_t id) {
  // The gateway streams keepalive answers; one request gives one answer,
  // wrapped in {"result": ...}.
  auto r = Call("/v3/lease/keepalive", json{{"ID", std::to_string(id)}}.dump());
  if (!r.ok()) return r.status();
  json answer = json::parse(*r);
  const json& result = answer.contains("result") ? answer["result"] : answer;
  int64_t ttl = Int(result, "TTL");
  if (ttl <= 0) {
    return Status::NotFound("etcd lease " + std::to_string(id) +
                            " has expired or was revoked (at " + CurrentEndpoint() + ")");
  }
  return ttl;
}

Status EtcdClient::RevokeLease(int64_t id) {
  auto r = Call("/v3/lease/revoke", json{{"ID", std::to_string(id)}}.dump());
  return r.ok() ? Status::Ok() : r.status();
}

Result<int64_t> EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  json body = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  auto r = Call("/v3/kv/put", body.dump());
  if (!r.ok()) return r.status();
  return HeaderRevision(json::parse(*r));
}

Result<KeyValue> EtcdClient::Get(const std::string& key) {
  auto r = Call("/v3/kv/range", json{{"key", Base64Encode(key)}}.dump());
  if (!r.ok()) return r.status();
  auto kvs = ParseKvs(json::parse(*r));
  if (!kvs.ok()) return kvs.status();
  if (kvs->empty()) return Status::NotFound("etcd has no key " + key);
  return std::move(kvs->front());
}

Result<std::vector<KeyValue>> EtcdClient::GetPrefix(const std::string& prefix) {
  json body = {{"key", Base64Encode(prefix.empty() ? std::string(1, '\0') : prefix)},
               {"range_end", Base64Encode(PrefixRangeEnd(prefix))}};
  auto r = Call("/v3/kv/range", body.dump());
  if (!r.ok()) return r.status();
  return ParseKvs(json::parse(*r));
}

Result<int64_t> EtcdClient::Delete(const std::string& key) {
  auto r = Call("/v3/kv/deleterange", json{{"key", Base64Encode(key)}}.dump());
  if (!r.ok()) return r.status();
  return Int(json::parse(*r), "deleted");
}

Result<TxnResult> EtcdClient::Transact(const Txn& txn) {
  json body = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const Compare& c : txn.compare) body["compare"].push_back(CompareJson(c));
  for (const TxnOp& op : txn.success) body["success"].push_back(OpJson(op));
  for (const TxnOp& op : txn.failure) body["failure"].push_back(OpJson(op));
  auto r = Call("/v3/kv/txn", body.dump());
  if (!r.ok()) return r.status();
  json answer = json::parse(*r);
  TxnResult result;
  result.succeeded = Bool(answer, "succeeded");  // omitted = false
  result.revision = HeaderRevision(answer);
  const std::vector<TxnOp>& ran = result.succeeded ? txn.success : txn.failure;
  const json responses = answer.value("responses", json::array());
  for (size_t i = 0; i < ran.size(); ++i) {
    std::vector<KeyValue> kvs;
    if (ran[i].kind == TxnOp::Kind::kRange && i < responses.size()) {
      const json& one = responses[i];
      auto range = one.find("response_range");
      if (range != one.end()) {
        auto parsed = ParseKvs(*range);
        if (!parsed.ok()) return parsed.status();
        kvs = std::move(*parsed);
      }
    }
    result.ranges.push_back(std::move(kvs));
  }
  return result;
}

Result<TxnResult> EtcdClient::PutIfAbsent(const std::string& key, const std::string& value,
                                          int64_t lease) {
  Txn txn;
  txn.compare.push_back(
      {key, Compare::Target::kCreateRevision, Compare::Op::kEqual, /*number=*/0, /*value=*/""});
  txn.success.push_back(TxnOp::Put(key, value, lease));
  txn.failure.push_back(TxnOp::Get(key));
  return Transact(txn);
}

Result<bool> EtcdClient::DeleteIfUnchanged(const std::string& key, int64_t mod_revision) {
  Txn txn;
  txn.compare.push_back(
      {key, Compare::Target::kModRevision, Compare::Op::kEqual, mod_revision, ""});
  txn.success.push_back(TxnOp::Delete(key));
  auto r = Transact(txn);
  if (!r.ok()) return r.status();
  return r->succeeded;
}

}  // namespace sluice::ha
