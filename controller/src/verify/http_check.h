#pragma once

#include <string>

#include "config/verification.h"
#include "net/http_client.h"
#include "verify/check.h"

namespace sluice::verify {

// "http <url>" with any user:password removed: the name of an HTTP check in
// results and the record.
std::string HttpCheckName(const config::HttpCheck& check);

// Runs one HTTP check (SPEC section 1.2, `verification.checks[].http`): GETs
// `check.url` with `check.timeout`, and passes when the status equals
// `check.expect` and, if `check.body_contains` is set, the body contains it.
// A failed attempt (wrong status, missing text, transport error or timeout)
// is retried up to `check.retries` times, waiting BackoffDelay(n) through
// `wait` before retry n. Never throws; every failure is a CheckResult with
// ok == false and a detail naming the last observation and the attempts
// made ("503 after 4 attempts"). When `wait` reports cancellation the check
// stops and returns ok == false, cancelled == true.
//
// `http` is borrowed for the call. Thread-safe if `http` and `wait` are.
CheckResult RunHttpCheck(net::HttpClient& http, const config::HttpCheck& check, const Waiter& wait);

}  // namespace sluice::verify
