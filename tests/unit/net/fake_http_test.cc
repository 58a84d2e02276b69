// FakeHttpClient (tests/support/fake_http.h), the one scripted HttpClient of
// the tests: canned answers by method and URL, the handler for the rest,
// and the record of every request.
#include "support/fake_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::testing {
namespace {

using ::testing::ElementsAre;

net::HttpRequest Request(const std::string& method, const std::string& url) {
  net::HttpRequest req;
  req.method = method;
  req.url = url;
  return req;
}

TEST(FakeHttpClientTest, UnscriptedRequestsAre404) {
  FakeHttpClient http;
  Result<net::HttpResponse> res = http.Send(Request("GET", "http://x/a"));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "");
}

TEST(FakeHttpClientTest, CannedAnswersMatchMethodAndUrl) {
  FakeHttpClient http([](const net::HttpRequest&) -> Result<net::HttpResponse> {
    return Response(500, "handler");
  });
  http.On("HEAD", "http://x/a", Response(200, "canned"));
  http.On("GET", "http://x/b", Status::Timeout("scripted timeout"));
  EXPECT_EQ(http.Send(Request("HEAD", "http://x/a"))->body, "canned");
  EXPECT_EQ(http.Send(Request("GET", "http://x/a"))->body, "handler");  // other method
  Result<net::HttpResponse> timeout = http.Send(Request("GET", "http://x/b"));
  ASSERT_FALSE(timeout.ok());
  EXPECT_EQ(timeout.status().code(), Status::Code::kTimeout);
  http.On("HEAD", "http://x/a", Response(204));  // replaces the earlier answer
  EXPECT_EQ(http.Send(Request("HEAD", "http://x/a"))->status, 204);
}

TEST(FakeHttpClientTest, RecordsEveryRequestInOrder) {
  FakeHttpClient http;
  http.On("GET", "http://x/a", Response(200));
  net::HttpRequest post = Request("POST", "http://x/b");
  post.body = "payload";
  ASSERT_TRUE(http.Send(Request("GET", "http://x/a")).ok());
  ASSERT_TRUE(http.Send(post).ok());
  EXPECT_THAT(http.urls(), ElementsAre("http://x/a", "http://x/b"));
  EXPECT_EQ(http.request_count(), 2u);
  ASSERT_EQ(http.requests().size(), 2u);
  EXPECT_EQ(http.requests()[1].method, "POST");
  EXPECT_EQ(http.requests()[1].body, "payload");
}

TEST(FakeHttpClientTest, ForwardToSendsThroughAnotherClient) {
  FakeHttpClient inner;
  inner.On("GET", "http://x/a", Response(200, "from inner"));
  FakeHttpClient outer(ForwardTo(inner));
  EXPECT_EQ(outer.Send(Request("GET", "http://x/a"))->body, "from inner");
  EXPECT_EQ(outer.request_count(), 1u);
  EXPECT_EQ(inner.request_count(), 1u);
}

}  // namespace
}  // namespace sluice::testing
