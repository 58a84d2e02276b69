// EtcdClient against a real etcd 3.4 on loopback (its v3 JSON gateway).
#include "ha/etcd_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "support/etcd_server.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace sluice::ha {
namespace {

using testing::EtcdServer;

EtcdOptions At(const std::vector<std::string>& endpoints) {
  EtcdOptions o;
  o.endpoints = endpoints;
  return o;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.ready()); }

  EtcdServer etcd_;
  net::CurlHttpClient http_;
};

TEST_F(EtcdClientTest, GrantsKeepsAliveAndRevokesALease) {
  EtcdClient client(http_, At({etcd_.Url()}));
  auto lease = client.GrantLease(10);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl_seconds, 10);
  auto ttl = client.KeepAliveOnce(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 10);
  ASSERT_TRUE(client.RevokeLease(lease->id).ok());
  auto again = client.KeepAliveOnce(lease->id);
  EXPECT_TRUE(again.status().IsNotFound()) << again.status().ToString();
  EXPECT_NE(again.status().message().find("expired or was revoked"), std::string::npos);
  Status revoked = client.RevokeLease(lease->id);
  EXPECT_TRUE(revoked.IsNotFound()) << revoked.ToString();
  EXPECT_NE(revoked.message().find("etcd refused: "), std::string::npos) << revoked.ToString();
}

TEST_F(EtcdClientTest, PutGetAndDeleteRoundTripAnyBytes) {
  EtcdClient client(http_, At({etcd_.Url()}));
  const std::string key = std::string("/t/k\0ey/\xff", 9);
  const std::string value = std::string("v\0al\"ue\n", 8);
  auto rev = client.Put(key, value);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_GT(*rev, 0);
  auto kv = client.Get(key);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(kv->key, key);
  EXPECT_EQ(kv->value, value);
  EXPECT_EQ(kv->create_revision, *rev);
  EXPECT_EQ(kv->mod_revision, *rev);
  EXPECT_EQ(kv->version, 1);
  EXPECT_EQ(kv->lease, 0);  // omitted by the gateway: zero
  auto deleted = client.Delete(key);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  EXPECT_TRUE(client.Get(key).status().IsNotFound());
  auto none = client.Delete(key);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);  // omitted by the gateway: zero
}

TEST_F(EtcdClientTest, GetPrefixListsOnlyThatPrefixInKeyOrder) {
  EtcdClient client(http_, At({etcd_.Url()}));
  for (const char* k : {"/p/b", "/p/a", "/p0", "/o/a", "/p/c"}) ASSERT_TRUE(client.Put(k, k).ok());
  auto kvs = client.GetPrefix("/p/");
  ASSERT_TRUE(kvs.ok()) << kvs.status().ToString();
  ASSERT_EQ(kvs->size(), 3u);
  EXPECT_EQ((*kvs)[0].key, "/p/a");
  EXPECT_EQ((*kvs)[1].key, "/p/b");
  EXPECT_EQ((*kvs)[2].key, "/p/c");
  auto empty = client.GetPrefix("/nothing/");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(EtcdClientTest, KeysOnALeaseGoWithIt) {
  EtcdClient client(http_, At({etcd_.Url()}));
  auto lease = client.GrantLease(30);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(client.Put("/l/a", "1", lease->id).ok());
  auto kv = client.Get("/l/a");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->lease, lease->id);
  ASSERT_TRUE(client.RevokeLease(lease->id).ok());
  EXPECT_TRUE(client.Get("/l/a").status().IsNotFound());
  // A put on a lease that is gone is refused, and says so.
  auto refused = client.Put("/l/b", "1", lease->id);
  EXPECT_TRUE(refused.status().IsNotFound()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("etcd refused: etcdserver: requested lease not found"),
            std::string::npos)
      << refused.status().ToString();
}

TEST_F(EtcdClientTest, PutIfAbsentLetsExactlyOneWriterWin) {
  EtcdClient a(http_, At({etcd_.Url()}));
  EtcdClient b(http_, At({etcd_.Url()}));
  auto first = a.PutIfAbsent("/own/prod", "a", 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->succeeded);
  ASSERT_EQ(first->ranges.size(), 1u);
  EXPECT_TRUE(first->ranges[0].empty());  // the put branch ran
  auto second = b.PutIfAbsent("/own/prod", "b", 0);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->succeeded);  // `succeeded` omitted by the gateway: false
  ASSERT_EQ(second->ranges.size(), 1u);
  ASSERT_EQ(second->ranges[0].size(), 1u);
  EXPECT_EQ(second->ranges[0][0].value, "a");
  EXPECT_EQ(second->ranges[0][0].mod_revision, first->revision);
  EXPECT_EQ(a.Get("/own/prod")->value, "a");
}

TEST_F(EtcdClientTest, PutIfAbsentRacedByManyThreadsHasOneWinner) {
  EtcdClient client(http_, At({etcd_.Url()}));
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = client.PutIfAbsent("/race", std::to_string(i), 0);
      if (r.ok() && r->succeeded) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST_F(EtcdClientTest, DeleteIfUnchangedComparesTheModRevision) {
  EtcdClient client(http_, At({etcd_.Url()}));
  auto rev1 = client.Put("/cas", "1");
  ASSERT_TRUE(rev1.ok());
  auto rev2 = client.Put("/cas", "2");
  ASSERT_TRUE(rev2.ok());
  auto stale = client.DeleteIfUnchanged("/cas", *rev1);
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_FALSE(*stale);
  EXPECT_TRUE(client.Get("/cas").ok());
  auto fresh = client.DeleteIfUnchanged("/cas", *rev2);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(*fresh);
  EXPECT_TRUE(client.Get("/cas").status().IsNotFound());
}

TEST_F(EtcdClientTest, TransactComparesValues) {
  EtcdClient client(http_, At({etcd_.Url()}));
  ASSERT_TRUE(client.Put("/v", "old").ok());
  Txn txn;
  txn.compare.push_back({"/v", Compare::Target::kValue, Compare::Op::kEqual, 0, "new"});
  txn.success.push_back(TxnOp::Put("/v", "newer"));
  txn.failure.push_back(TxnOp::Get("/v"));
  txn.failure.push_back(TxnOp::Put("/v", "new"));
  auto r = client.Transact(txn);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->succeeded);
  ASSERT_EQ(r->ranges.size(), 2u);
  ASSERT_EQ(r->ranges[0].size(), 1u);
  EXPECT_EQ(r->ranges[0][0].value, "old");
  r = client.Transact(txn);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(client.Get("/v")->value, "newer");
}

TEST_F(EtcdClientTest, MovesOnToTheNextEndpointOnATransportError) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  EtcdClient client(http_, At({dead, etcd_.Url()}));
  EXPECT_EQ(client.CurrentEndpoint(), dead);
  auto rev = client.Put("/failover", "x");
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(client.CurrentEndpoint(), etcd_.Url());  // and stays there
  EXPECT_TRUE(client.Get("/failover").ok());
}

TEST(EtcdClientErrorTest, AnUnreachableEndpointIsNamedInTheError) {
  net::CurlHttpClient http;
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  EtcdClient client(http, At({dead}));
  auto lease = client.GrantLease(5);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), Status::Code::kIOError);
  EXPECT_EQ(lease.status().message().rfind("etcd at " + dead + " unreachable: ", 0), 0u)
      << lease.status().ToString();
}

TEST(EtcdClientErrorTest, EveryEndpointIsNamedWhenAllFail) {
  net::CurlHttpClient http;
  const std::string a = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  const std::string b = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  EtcdClient client(http, At({a, b}));
  auto r = client.Get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("etcd at " + a + " unreachable"), std::string::npos);
  EXPECT_NE(r.status().message().find("; etcd at " + b + " unreachable"), std::string::npos)
      << r.status().ToString();
}

TEST(EtcdClientErrorTest, AServerThatIsNotEtcdIsAClearError) {
  httplib::Server server;
  server.Post(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("<html>not here</html>", "text/html");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  ASSERT_TRUE(testing::WaitForPort(port));
  net::CurlHttpClient http;
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  EtcdClient client(http, At({url}));
  auto r = client.GrantLease(5);
  server.stop();
  thread.join();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("etcd at " + url + " answered HTTP 404"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("is it an etcd client URL"), std::string::npos);
}

TEST(EtcdOptionsTest, ValidationNamesTheFlagAndTheFix) {
  EXPECT_NE(ValidateEtcdOptions(At({})).message().find("--etcd: no endpoint"), std::string::npos);
  EXPECT_NE(
      ValidateEtcdOptions(At({"127.0.0.1:2379"})).message().find("not an http:// or https://"),
      std::string::npos);
  EXPECT_NE(ValidateEtcdOptions(At({"http://u:p@h:2379"})).message().find("--etcd-user"),
            std::string::npos);
  EXPECT_EQ(ValidateEtcdOptions(At({"http://u:p@h:2379"})).message().find("u:p"),
            std::string::npos);  // no password in the message
  EXPECT_NE(ValidateEtcdOptions(At({"http://h:2379/v3"})).message().find("has a path"),
            std::string::npos);
  EXPECT_TRUE(ValidateEtcdOptions(At({"http://h:2379", "https://h2:2379/"})).ok());
  EtcdOptions o = At({"http://h:2379"});
  o.user = "sluice";
  EXPECT_NE(ValidateEtcdOptions(o).message().find("--etcd-password-file"), std::string::npos);
  o.password = "pw";
  EXPECT_TRUE(ValidateEtcdOptions(o).ok());
  o.ca_file = "/ca.pem";
  EXPECT_NE(ValidateEtcdOptions(o).message().find("https://"), std::string::npos);
  o.endpoints = {"https://h:2379"};
  o.cert_file = "/c.pem";
  EXPECT_NE(ValidateEtcdOptions(o).message().find("go together"), std::string::npos);
  o.key_file = "/k.pem";
  EXPECT_TRUE(ValidateEtcdOptions(o).ok());
}

TEST(EtcdOptionsTest, PrefixRangeEndFollowsEtcdsRule) {
  EXPECT_EQ(PrefixRangeEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixRangeEnd("a\xff"), "b");
  EXPECT_EQ(PrefixRangeEnd(""), std::string(1, '\0'));
}

// Authentication: users and roles set up through the gateway as root.
class EtcdAuthTest : public EtcdClientTest {
 protected:
  void SetUp() override {
    EtcdClientTest::SetUp();
    for (
        const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
            {"/v3/auth/user/add", R"({"name":"root","password":"rootpw"})"},
            {"/v3/auth/role/add", R"({"name":"root"})"},
            {"/v3/auth/user/grant", R"({"user":"root","role":"root"})"},
            {"/v3/auth/user/add", R"({"name":"sluice","password":"s3cret"})"},
            {"/v3/auth/role/add", R"({"name":"sluice"})"},
            // READWRITE on ["/sluice/", "/sluice0")
            {"/v3/auth/role/grant",
             R"({"name":"sluice","perm":{"permType":"READWRITE","key":"L3NsdWljZS8=","range_end":"L3NsdWljZTA="}})"},
            {"/v3/auth/user/grant", R"({"user":"sluice","role":"sluice"})"},
            {"/v3/auth/enable", "{}"}}) {
      net::HttpRequest req;
      req.method = "POST";
      req.url = etcd_.Url() + path;
      req.body = body;
      auto res = http_.Send(req);
      ASSERT_TRUE(res.ok() && res->status == 200) << path << ": " << (res.ok() ? res->body : "");
    }
  }

  EtcdOptions WithUser(std::string user, std::string password) {
    EtcdOptions o = At({etcd_.Url()});
    o.user = std::move(user);
    o.password = std::move(password);
    return o;
  }
};

TEST_F(EtcdAuthTest, AuthenticatesAndAgainAfterEtcdRestarts) {
  EtcdClient client(http_, WithUser("sluice", "s3cret"));
  ASSERT_TRUE(client.Put("/sluice/a", "1").ok());
  auto lease = client.GrantLease(60);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  // etcd's simple tokens live in memory: a restart invalidates them, and
  // the client must authenticate again by itself.
  etcd_.Stop();
  ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
  auto kv = client.Get("/sluice/a");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(kv->value, "1");
  EXPECT_TRUE(client.KeepAliveOnce(lease->id).ok());
}

TEST_F(EtcdAuthTest, AWrongPasswordIsAClearErrorWithoutThePassword) {
  EtcdClient client(http_, WithUser("sluice", "wrong-pw"));
  auto r = client.Get("/sluice/a");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("etcd refused: etcdserver: authentication failed"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("--etcd-user \"sluice\""), std::string::npos);
  EXPECT_EQ(r.status().message().find("wrong-pw"), std::string::npos);
}

TEST_F(EtcdAuthTest, NoUserAgainstAnAuthClusterSaysWhatToGive) {
  EtcdClient client(http_, At({etcd_.Url()}));
  auto r = client.Get("/sluice/a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("give --etcd-user and --etcd-password-file"),
            std::string::npos)
      << r.status().ToString();
}

TEST_F(EtcdAuthTest, OutsideTheGrantedPrefixIsPermissionDenied) {
  EtcdClient client(http_, WithUser("sluice", "s3cret"));
  auto r = client.Put("/other", "1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("permission denied"), std::string::npos)
      << r.status().ToString();
}

// TLS with client certificates: a CA, a server certificate for localhost and
// a client certificate, made with the openssl CLI.
class EtcdTlsTest : public ::testing::Test {
 protected:
  static std::string Openssl(const std::vector<std::string>& args, const std::string& cwd) {
    std::vector<std::string> argv = {"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::CommandOutput out = testing::RunCommand(argv, cwd);
    EXPECT_EQ(out.exit_code, 0) << out.err;
    return out.out;
  }

  static void MakeCerts(const std::string& d) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca"},
            d);
    for (const std::string name : {"server", "client"}) {
      Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name},
              d);
      testing::WriteFile(d + "/" + name + ".ext",
                         // etcd's gateway dials its own gRPC port with the server
                         // certificate, so that one needs clientAuth too.
                         name == "server" ? "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                            "extendedKeyUsage=serverAuth,clientAuth\n"
                                          : "extendedKeyUsage=clientAuth\n");
      Openssl({"x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
               "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext"},
              d);
    }
  }
};

TEST_F(EtcdTlsTest, SpeaksTlsWithAClientCertificate) {
  testing::TempDir certs;
  MakeCerts(certs.path());
  EtcdServer::Options o;
  o.cert_file = certs.Sub("server.pem");
  o.key_file = certs.Sub("server.key");
  o.client_ca_file = certs.Sub("ca.pem");
  o.probe_ca_file = certs.Sub("ca.pem");
  o.probe_cert_file = certs.Sub("client.pem");
  o.probe_key_file = certs.Sub("client.key");
  o.host = "localhost";
  EtcdServer etcd(o);
  ASSERT_TRUE(etcd.ready());
  net::CurlHttpClient http;

  EtcdOptions good = At({etcd.Url()});
  good.ca_file = certs.Sub("ca.pem");
  good.cert_file = certs.Sub("client.pem");
  good.key_file = certs.Sub("client.key");
  ASSERT_TRUE(ValidateEtcdOptions(good).ok());
  EtcdClient client(http, good);
  auto rev = client.Put("/tls", "yes");
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(client.Get("/tls")->value, "yes");

  // Without the client certificate the handshake fails: a clear error.
  EtcdOptions no_cert = At({etcd.Url()});
  no_cert.ca_file = certs.Sub("ca.pem");
  EtcdClient refused(http, no_cert);
  auto r = refused.Get("/tls");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("etcd at " + etcd.Url() + " unreachable: "),
            std::string::npos)
      << r.status().ToString();

  // Without the CA, the server is not trusted.
  EtcdClient untrusted(http, At({etcd.Url()}));
  EXPECT_FALSE(untrusted.Get("/tls").ok());
}

}  // namespace
}  // namespace sluice::ha
