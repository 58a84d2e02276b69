#pragma once

#include "config/policy.h"
#include "gates/gate.h"

namespace sluice::gates {

// Exit status with which a custom gate command says "not yet, ask again
// later" (EX_TEMPFAIL).
inline constexpr int kCustomGateWaitExit = 75;

// A `custom:<name>` gate from the outcome of its command (run by the engine):
// exit 0 pass, exit 75 wait, any other exit block; a command that timed out
// or could not run blocks. The reason is the first line of its stdout, or a
// default naming the gate and exit code. Pure and thread-safe.
// Evidence: command, exitCode, timedOut, error.
GateResult EvaluateCustomGate(const config::CustomGate& gate, const CustomGateEvidence& outcome);

}  // namespace sluice::gates
