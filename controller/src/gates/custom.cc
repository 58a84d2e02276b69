#include "gates/custom.h"

#include "core/text.h"
#include "gates/time_zone.h"

namespace sluice::gates {
namespace {

// One printable line of at most 200 bytes: the command's output must not
// break the record's one-line reasons.
std::string Clean(const std::string& line) {
  std::string out;
  for (char c : line) {
    if (c == '\n') break;
    if (c == '\r') continue;
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t first = out.find_first_not_of(' ');
  out = first == std::string::npos ? "" : out.substr(first);
  if (out.size() > 200) out = std::string(TruncateUtf8(out, 200)) + "…";
  return out;
}

}  // namespace

GateResult EvaluateCustomGate(const config::CustomGate& gate, const CustomGateEvidence& outcome) {
  GateResult r{"custom:" + gate.name, Verdict::kBlock, "", {}};
  std::string command;
  for (const auto& a : gate.command) command += (command.empty() ? "" : " ") + a;
  r.evidence["command"] = command;
  r.evidence["exitCode"] = std::to_string(outcome.exit_code);
  if (outcome.timed_out) r.evidence["timedOut"] = "true";
  const std::string said = Clean(outcome.first_line);
  const std::string who = "custom gate '" + gate.name + "'";
  if (!outcome.error.empty()) {
    r.evidence["error"] = outcome.error;
    r.reason = who + " could not run: " + outcome.error;
    return r;
  }
  if (outcome.timed_out) {
    r.reason = who + " timed out after " +
               FormatDuration(std::chrono::duration_cast<std::chrono::seconds>(gate.timeout)) +
               (said.empty() ? "" : " (last said: " + said + ")");
    return r;
  }
  if (outcome.exit_code == 0) {
    r.verdict = Verdict::kPass;
    r.reason = said.empty() ? who + " passed (exit 0)" : said;
  } else if (outcome.exit_code == kCustomGateWaitExit) {
    r.verdict = Verdict::kWait;
    r.reason = said.empty() ? who + " asked to wait (exit 75)" : said;
  } else if (outcome.exit_code < 0) {
    r.reason = who + " did not report an exit status; refusing to deploy (fail closed)";
  } else {
    r.reason =
        said.empty() ? who + " failed (exit " + std::to_string(outcome.exit_code) + ")" : said;
  }
  return r;
}

}  // namespace sluice::gates
