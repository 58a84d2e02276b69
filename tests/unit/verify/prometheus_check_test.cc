// The Prometheus instant-query parser and threshold evaluation (pure, fed
// with strings), and QueryPrometheus's request and retry rules against a
// scripted HttpClient. Response shapes follow the documented HTTP API:
// https://prometheus.io/docs/prometheus/latest/querying/api/
#include "verify/prometheus_check.h"

#include <gtest/gtest.h>

#include <cmath>

#include "verify_test_util.h"

namespace sluice::verify {
namespace {

using std::chrono::milliseconds;
using testing::FakeHttpClient;
using testing::PromVector;
using testing::RecordingWaiter;
using testing::Response;

// ------------------------------------------------------------------ parser

struct ParseCase {
  const char* name;
  const char* body;
  bool ok;
  const char* result_type;  // when ok
  std::vector<double> values;
  Status::Code code;         // when !ok
  const char* message_part;  // when !ok
};

class ParsePrometheusInstantQueryTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParsePrometheusInstantQueryTest, Parses) {
  const ParseCase& c = GetParam();
  Result<PromInstantResult> r = ParsePrometheusInstantQuery(c.body);
  if (!c.ok) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << r.status().ToString();
    return;
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result_type, c.result_type);
  ASSERT_EQ(r->samples.size(), c.values.size());
  for (size_t i = 0; i < c.values.size(); ++i) {
    if (std::isnan(c.values[i])) {
      EXPECT_TRUE(std::isnan(r->samples[i].value));
    } else {
      EXPECT_EQ(r->samples[i].value, c.values[i]);
    }
  }
}

const double kNaN = std::nan("");
const double kInf = INFINITY;
constexpr auto kOk = Status::Code::kOk;
constexpr auto kBad = Status::Code::kInvalidArgument;
constexpr auto kRejected = Status::Code::kFailedPrecondition;

INSTANTIATE_TEST_SUITE_P(
    Table, ParsePrometheusInstantQueryTest,
    ::testing::Values(
        // The documented example of GET /api/v1/query?query=up.
        ParseCase{"DocumentedVector",
                  R"({"status":"success","data":{"resultType":"vector","result":[
                      {"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},
                       "value":[1435781451.781,"1"]},
                      {"metric":{"__name__":"up","job":"node","instance":"localhost:9100"},
                       "value":[1435781451.781,"0"]}]}})",
                  true,
                  "vector",
                  {1, 0},
                  kOk,
                  ""},
        ParseCase{"Scalar",
                  R"({"status":"success","data":{"resultType":"scalar",
                      "result":[1435781451.781,"0.0125"]}})",
                  true,
                  "scalar",
                  {0.0125},
                  kOk,
                  ""},
        ParseCase{"EmptyVector",
                  R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                  true,
                  "vector",
                  {},
                  kOk,
                  ""},
        ParseCase{"ExponentAndSpecialValues",
                  R"({"status":"success","data":{"resultType":"vector","result":[
                      {"metric":{"a":"1"},"value":[1,"1e-3"]},
                      {"metric":{"a":"2"},"value":[1,"NaN"]},
                      {"metric":{"a":"3"},"value":[1,"+Inf"]},
                      {"metric":{"a":"4"},"value":[1,"-Inf"]}]}})",
                  true,
                  "vector",
                  {0.001, kNaN, kInf, -kInf},
                  kOk,
                  ""},
        ParseCase{"WarningsDoNotFail",
                  R"({"status":"success","warnings":["partial response"],
                      "data":{"resultType":"scalar","result":[1,"2"]}})",
                  true,
                  "scalar",
                  {2},
                  kOk,
                  ""},
        ParseCase{"ErrorStatus",
                  R"({"status":"error","errorType":"bad_data",
                      "error":"1:5: parse error: unexpected right parenthesis ')'"})",
                  false,
                  "",
                  {},
                  kRejected,
                  "bad_data: 1:5: parse error"},
        ParseCase{"MalformedJson",
                  R"({"status":"success","data":{"resultType":)",
                  false,
                  "",
                  {},
                  kBad,
                  "not JSON"},
        ParseCase{"HtmlErrorPage", "<html>502 Bad Gateway</html>", false, "", {}, kBad, "not JSON"},
        ParseCase{"NoData", R"({"status":"success"})", false, "", {}, kBad, "no \"data\""},
        ParseCase{"Matrix",
                  R"({"status":"success","data":{"resultType":"matrix","result":[
                      {"metric":{},"values":[[1,"1"],[2,"2"]]}]}})",
                  false,
                  "",
                  {},
                  kBad,
                  "range vector"},
        ParseCase{"StringResult",
                  R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})",
                  false,
                  "",
                  {},
                  kBad,
                  "\"string\""},
        ParseCase{"ValueNotANumber",
                  R"({"status":"success","data":{"resultType":"scalar","result":[1,"abc"]}})",
                  false,
                  "",
                  {},
                  kBad,
                  "\"abc\" is not a number"},
        ParseCase{"ValueNotAPair",
                  R"({"status":"success","data":{"resultType":"vector","result":[
                      {"metric":{},"value":"1"}]}})",
                  false,
                  "",
                  {},
                  kBad,
                  "data.result[0].value"},
        ParseCase{"SeriesWithoutValue",
                  R"({"status":"success","data":{"resultType":"vector","result":[
                      {"metric":{}}]}})",
                  false,
                  "",
                  {},
                  kBad,
                  "has no \"value\""}),
    [](const ::testing::TestParamInfo<ParseCase>& info) { return info.param.name; });

TEST(ParsePrometheusInstantQueryLabelsTest, KeepsSeriesLabels) {
  auto r = ParsePrometheusInstantQuery(PromVector("0.5"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(r->samples[0].labels.at("job"), "api");
}

// -------------------------------------------------------------- evaluation

config::PrometheusCheck Check() {
  config::PrometheusCheck c;
  c.url = "http://prom:9090";
  c.query = "sum(rate(errors[5m]))";
  return c;
}

PromInstantResult Values(std::vector<double> vs) {
  PromInstantResult r;
  r.result_type = "vector";
  int i = 0;
  for (double v : vs) r.samples.push_back({{{"pod", "p" + std::to_string(i++)}}, v});
  return r;
}

TEST(EvaluatePrometheusCheckTest, MaxPassesAndFailsWithMeasuredValue) {
  config::PrometheusCheck c = Check();
  c.max = 0.01;
  CheckResult pass = EvaluatePrometheusCheck(c, Values({0.004}), nullptr);
  EXPECT_TRUE(pass.ok);
  EXPECT_EQ(pass.name, "prometheus sum(rate(errors[5m]))");
  EXPECT_EQ(pass.detail, "0.004 (within max 0.01)");
  EXPECT_EQ(pass.value, 0.004);
  CheckResult fail = EvaluatePrometheusCheck(c, Values({0.05}), nullptr);
  EXPECT_FALSE(fail.ok);
  EXPECT_EQ(fail.detail, "0.05 > max 0.01");
  EXPECT_EQ(fail.value, 0.05);
  EXPECT_TRUE(EvaluatePrometheusCheck(c, Values({0.01}), nullptr).ok) << "max is inclusive";
}

TEST(EvaluatePrometheusCheckTest, Min) {
  config::PrometheusCheck c = Check();
  c.min = 10;
  EXPECT_TRUE(EvaluatePrometheusCheck(c, Values({12}), nullptr).ok);
  CheckResult r = EvaluatePrometheusCheck(c, Values({3}), nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "3 < min 10");
}

TEST(EvaluatePrometheusCheckTest, EmptyResultFails) {
  config::PrometheusCheck c = Check();
  c.max = 1;
  CheckResult r = EvaluatePrometheusCheck(c, Values({}), nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("query returned no series"), std::string::npos);
  EXPECT_FALSE(r.value.has_value());
}

TEST(EvaluatePrometheusCheckTest, NaNFailsAndInfinityIsCompared) {
  config::PrometheusCheck c = Check();
  c.max = 1;
  CheckResult nan = EvaluatePrometheusCheck(c, Values({std::nan("")}), nullptr);
  EXPECT_FALSE(nan.ok);
  EXPECT_NE(nan.detail.find("value is NaN"), std::string::npos) << nan.detail;
  CheckResult inf = EvaluatePrometheusCheck(c, Values({INFINITY}), nullptr);
  EXPECT_FALSE(inf.ok);
  EXPECT_EQ(inf.detail, "+Inf > max 1");
  config::PrometheusCheck m = Check();
  m.min = 0;
  EXPECT_TRUE(EvaluatePrometheusCheck(m, Values({INFINITY}), nullptr).ok);
}

TEST(EvaluatePrometheusCheckTest, EverySeriesMustPassAndTheOffenderIsNamed) {
  config::PrometheusCheck c = Check();
  c.max = 0.01;
  CheckResult pass = EvaluatePrometheusCheck(c, Values({0.001, 0.004}), nullptr);
  EXPECT_TRUE(pass.ok);
  EXPECT_EQ(pass.detail, "2 series, lowest 0.001, highest 0.004 (within max 0.01)");
  CheckResult fail = EvaluatePrometheusCheck(c, Values({0.001, 0.2}), nullptr);
  EXPECT_FALSE(fail.ok);
  EXPECT_EQ(fail.detail, "0.2 {pod=\"p1\"} > max 0.01");
}

TEST(EvaluatePrometheusCheckTest, RatioToBaseline) {
  config::PrometheusCheck c = Check();
  c.max_ratio_to_baseline = 1.5;
  BaselineReading base{0.01, ""};
  CheckResult pass = EvaluatePrometheusCheck(c, Values({0.012}), &base);
  EXPECT_TRUE(pass.ok) << pass.detail;
  EXPECT_EQ(pass.detail, "0.012 (within 1.5 x baseline 0.01 = 0.015)");
  CheckResult fail = EvaluatePrometheusCheck(c, Values({0.03}), &base);
  EXPECT_FALSE(fail.ok);
  EXPECT_EQ(fail.detail, "0.03 > 1.5 x baseline 0.01 = 0.015");
}

TEST(EvaluatePrometheusCheckTest, ZeroBaselineAdmitsOnlyZero) {
  config::PrometheusCheck c = Check();
  c.max_ratio_to_baseline = 2;
  BaselineReading zero{0.0, ""};
  EXPECT_TRUE(EvaluatePrometheusCheck(c, Values({0}), &zero).ok);
  CheckResult r = EvaluatePrometheusCheck(c, Values({0.0001}), &zero);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("a zero baseline admits only values <= 0"), std::string::npos)
      << r.detail;
}

TEST(EvaluatePrometheusCheckTest, RatioWithoutUsableBaselineFails) {
  config::PrometheusCheck c = Check();
  c.max_ratio_to_baseline = 1.5;
  CheckResult none = EvaluatePrometheusCheck(c, Values({0.01}), nullptr);
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.detail.find("no baseline was read before the apply"), std::string::npos);
  BaselineReading failed{std::nullopt, "query returned no series"};
  CheckResult f = EvaluatePrometheusCheck(c, Values({0.01}), &failed);
  EXPECT_FALSE(f.ok);
  EXPECT_NE(f.detail.find(": query returned no series"), std::string::npos) << f.detail;
  BaselineReading negative{-1.0, ""};
  EXPECT_FALSE(EvaluatePrometheusCheck(c, Values({0.01}), &negative).ok);
  BaselineReading nan{std::nan(""), ""};
  EXPECT_FALSE(EvaluatePrometheusCheck(c, Values({0.01}), &nan).ok);
}

TEST(EvaluatePrometheusCheckTest, RatioNeedsOneSeries) {
  config::PrometheusCheck c = Check();
  c.max_ratio_to_baseline = 1.5;
  BaselineReading base{1.0, ""};
  CheckResult r = EvaluatePrometheusCheck(c, Values({0.5, 0.6}), &base);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("needs exactly one"), std::string::npos);
}

TEST(EvaluatePrometheusCheckTest, AllThresholdsTogether) {
  config::PrometheusCheck c = Check();
  c.max = 0.02;
  c.min = 0;
  c.max_ratio_to_baseline = 2;
  BaselineReading base{0.005, ""};
  CheckResult r = EvaluatePrometheusCheck(c, Values({0.008}), &base);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.detail, "0.008 (within max 0.02, min 0, 2 x baseline 0.005 = 0.01)");
  EXPECT_FALSE(EvaluatePrometheusCheck(c, Values({0.011}), &base).ok);
}

// ----------------------------------------------------------- HTTP requests

TEST(QueryPrometheusTest, EncodesTheQueryAndJoinsTheUrl) {
  FakeHttpClient http([](const net::HttpRequest&) { return Response(200, PromVector("1")); });
  RecordingWaiter w;
  auto r = QueryPrometheus(http, "http://prom:9090/", "sum(rate(x{a=\"b c\"}[5m]))",
                           [&](milliseconds d) { return w(d); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(http.urls().size(), 1u);
  EXPECT_EQ(
      http.urls()[0],
      "http://prom:9090/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29");
}

TEST(QueryPrometheusTest, RetriesUnavailableThenSucceeds) {
  int calls = 0;
  FakeHttpClient http([&](const net::HttpRequest&) -> Result<net::HttpResponse> {
    if (++calls == 1) return Status::IOError("GET http://prom:9090/...: Couldn't connect");
    if (calls == 2) {
      return Response(503, R"({"status":"error","errorType":"timeout","error":"query timed out"})");
    }
    return Response(200, PromVector("0.5"));
  });
  RecordingWaiter w;
  auto r = QueryPrometheus(http, "http://prom:9090", "up", [&](milliseconds d) { return w(d); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(w.waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000)}));
}

TEST(QueryPrometheusTest, RejectedQueryFailsAtOnceWithPrometheusMessage) {
  FakeHttpClient http([](const net::HttpRequest&) {
    return Response(400, R"({"status":"error","errorType":"bad_data",)"
                         R"("error":"invalid parameter \"query\": 1:4: parse error"})");
  });
  RecordingWaiter w;
  auto r = QueryPrometheus(http, "http://prom:9090", "up((", [&](milliseconds d) { return w(d); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HTTP 400"), std::string::npos);
  EXPECT_NE(r.status().message().find("bad_data: invalid parameter"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(w.waits.empty());
  EXPECT_EQ(http.urls().size(), 1u);
}

TEST(QueryPrometheusTest, GivesUpAfterThreeAttempts) {
  FakeHttpClient http([](const net::HttpRequest&) { return Response(502, "bad gateway"); });
  RecordingWaiter w;
  auto r = QueryPrometheus(http, "http://prom:9090", "up", [&](milliseconds d) { return w(d); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HTTP 502"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(http.urls().size(), 3u);
}

TEST(QueryPrometheusTest, CancelledDuringBackoff) {
  FakeHttpClient http([](const net::HttpRequest&) { return Response(503, ""); });
  auto r = QueryPrometheus(http, "http://prom:9090", "up", [](milliseconds) { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCancelled());
  CheckResult cr = RunPrometheusCheck(http, Check(), nullptr, [](milliseconds) { return true; });
  EXPECT_TRUE(cr.cancelled);
  EXPECT_FALSE(cr.ok);
}

TEST(FormatValueTest, PrometheusSpellings) {
  EXPECT_EQ(FormatValue(0.0125), "0.0125");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
}

}  // namespace
}  // namespace sluice::verify
