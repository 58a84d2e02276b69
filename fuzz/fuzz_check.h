// What a fuzz target checks beyond "does not crash": the documented contract
// of the parser under test. A broken contract aborts, which libFuzzer reports
// as a crash and the replay test as a failure.
#pragma once

#include <cstdio>
#include <cstdlib>

// Aborts with `what` when `cond` is false. Not assert(): it must hold in
// release builds too, where the replay tests run.
#define SLUICE_FUZZ_CHECK(cond, what)                                                      \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz contract broken: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
