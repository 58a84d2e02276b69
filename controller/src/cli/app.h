#pragma once

namespace sluice::cli {

// Exit codes of every command (SPEC section 7).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBlocked = 3;
inline constexpr int kExitWaiting = 4;

// Parses argv, runs the command and returns the process exit code. Results go
// to stdout, errors to stderr.
int Main(int argc, char** argv);

}  // namespace sluice::cli
