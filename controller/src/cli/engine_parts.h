#pragma once

#include "adapters/process.h"
#include "core/clock.h"
#include "net/http_client.h"
#include "verify/verifier.h"

namespace sluice::cli {

// The real implementations behind the engine's seams, built once per
// command that runs passes (`reconcile`, `controller`). Not copyable: the
// verifier borrows the client and the clock.
struct EngineParts {
  adapters::BoostCommandRunner runner;
  net::CurlHttpClient http;
  SystemClock clock;
  verify::CheckVerifier verifier{http, clock};
};

}  // namespace sluice::cli
