#include "config/pin.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "config/parse_internal.h"
#include "config/settings.h"
#include "config/yaml_reader.h"

namespace sluice::config {

using internal::FileDiags;
using internal::MapReader;
using internal::Quote;
using internal::Req;

namespace {

constexpr char kDigestHowTo[] = "pin the image by digest (sha256:<64 hex>)";

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// What is wrong with a digest that failed IsValidDigest, as a message.
std::string DigestProblem(const std::string& where, const std::string& digest) {
  const std::string q = "'" + Quote(digest) + "'";
  std::string lower;
  for (char c : digest) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [algo, want] : {std::pair<std::string, size_t>{"sha256", 64}, {"sha512", 128}}) {
    if (!lower.starts_with(algo + ":")) continue;
    if (digest.compare(0, algo.size(), algo) != 0) {
      return where + " " + q + ": the algorithm must be lowercase '" + algo + ":'";
    }
    std::string_view hex = std::string_view(digest).substr(algo.size() + 1);
    for (char c : hex) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) {
        return where + " " + q + " contains '" + Quote(std::string(1, c)) +
               "', which is not a hex digit; copy the digest exactly as the registry reports it";
      }
    }
    if (std::any_of(hex.begin(), hex.end(), [](char c) { return c >= 'A' && c <= 'F'; })) {
      return where + " " + q + " uses uppercase hex; digests are lowercase: write " + algo +
             ":<lowercase hex>";
    }
    return where + " " + q + " has " + std::to_string(hex.size()) + " hex digits; a " + algo +
           " digest has exactly " + std::to_string(want);
  }
  bool all_hex = !digest.empty() && std::all_of(digest.begin(), digest.end(), IsLowerHex);
  if (all_hex && (digest.size() == 64 || digest.size() == 128)) {
    return where + " " + q + " lacks its algorithm prefix; write " +
           (digest.size() == 64 ? "sha256:" : "sha512:") + "<hex>";
  }
  size_t colon = digest.find(':');
  if (colon != std::string::npos && colon > 0 && colon < 16 &&
      std::all_of(digest.begin(), digest.begin() + colon,
                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }) &&
      digest.size() - colon > 16) {
    return where + " " + q + " uses the unsupported algorithm '" + Quote(digest.substr(0, colon)) +
           "'; use sha256 or sha512";
  }
  return where + " " + q + " is a tag, not a digest: tags are mutable and are rejected; " +
         kDigestHowTo;
}

// The tag of an image reference ("registry:5000/shop/api:1.2" -> "1.2"), or "".
std::string ImageTag(std::string_view image) {
  size_t slash = image.rfind('/');
  std::string_view last = slash == std::string_view::npos ? image : image.substr(slash + 1);
  size_t colon = last.find(':');
  if (colon == std::string_view::npos) return "";
  return std::string(last.substr(colon + 1));
}

// Helm release names and Kubernetes namespaces: lowercase DNS labels.
bool IsDnsName(std::string_view s, size_t max, bool allow_dots) {
  if (s.empty() || s.size() > max) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '-' || (allow_dots && c == '.'); });
}

bool IsVarName(std::string_view s) {
  if (s.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// Stores a positive timeout into `out`; false on error (reported).
bool Timeout(MapReader& m, std::chrono::milliseconds& out) {
  if (!m.Present("timeout")) return true;
  auto v = m.Duration("timeout");
  if (!v) return false;
  if (v->count() == 0) {
    m.diags().Add(m.Get("timeout"), m.Where("timeout") + " must be longer than 0 (e.g. 5m)");
    return false;
  }
  out = *v;
  return true;
}

void CheckPath(FileDiags& d, const YAML::Node& node, const std::string& where,
               const std::string& path, bool& ok) {
  std::string problem = internal::PathProblem(where, path);
  if (!problem.empty()) {
    d.Add(node, problem);
    ok = false;
  }
}

// The placeholders exec arguments and terraform vars may use (docs/adapters.md;
// adapters::PinPlaceholders fills them at apply).
const std::vector<std::string>& KnownPlaceholders() {
  static const std::vector<std::string> kKnown = {"digest", "image", "version", "source",
                                                  "env",    "app",   "commit"};
  return kKnown;
}

// Reports an unknown or unterminated {{placeholder}} in `text` (the value at
// `where`), which would otherwise fail only at apply. False if one was found.
bool CheckPlaceholders(FileDiags& d, const YAML::Node& node, const std::string& where,
                       const std::string& text) {
  const std::vector<std::string>& known = KnownPlaceholders();
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + ("{{" + k + "}}");
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) return true;
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      d.Add(node, where + " '" + Quote(text) +
                      "' opens a placeholder with {{ but never closes it; write {{name}} with "
                      "one of " +
                      list);
      return false;
    }
    std::string_view name = std::string_view(text).substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string msg = where + " uses the unknown placeholder {{" + Quote(name) + "}};";
      std::string close_match = internal::ClosestMatch(name, known);
      if (!close_match.empty()) msg += " did you mean {{" + close_match + "}}?";
      d.Add(node, msg + " known placeholders: " + list);
      return false;
    }
    pos = close + 2;
  }
}

bool ParseArtifact(MapReader& a, Artifact& art) {
  FileDiags& d = a.diags();
  bool ok = a.valid();
  if (!ok) return false;
  std::string tag;
  if (auto image = a.String("image", Req::kRequired)) {
    art.image = *image;
    tag = ImageTag(*image);
    if (std::any_of(image->begin(), image->end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
      d.Add(a.Get("image"), "artifact.image '" + Quote(*image) + "' contains whitespace");
      ok = false;
    } else if (image->find('@') != std::string::npos) {
      d.Add(a.Get("image"), "artifact.image '" + Quote(*image) +
                                "' carries a digest; write the repository alone in "
                                "artifact.image and the digest in artifact.digest");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (!a.Has("digest")) {
    ok = false;
    if (!tag.empty()) {
      d.Add(a.Present("digest") ? a.KeyLine("digest") : a.ValueLine("image"),
            "artifact.digest is missing and artifact.image '" + Quote(art.image) +
                "' names the tag '" + Quote(tag) + "': tags are mutable and are rejected; " +
                kDigestHowTo + " in artifact.digest");
    } else if (a.Present("digest")) {
      d.Add(a.KeyLine("digest"), "artifact.digest has no value; " + std::string(kDigestHowTo));
    } else {
      a.Missing("digest",
                std::string("an immutable digest is the only accepted reference; ") + kDigestHowTo);
    }
  } else if (auto digest = a.String("digest")) {
    art.digest = *digest;
    if (!IsValidDigest(*digest)) {
      d.Add(a.Get("digest"), DigestProblem("artifact.digest", *digest));
      ok = false;
    } else if (!tag.empty()) {
      d.Add(a.Get("image"), "artifact.image '" + Quote(art.image) + "' carries the tag '" +
                                Quote(tag) +
                                "'; remove it: tags are mutable, the digest alone pins the image");
      ok = false;
    }
  } else {
    ok = false;
  }
  for (auto [key, field] : {std::pair<const char*, std::string*>{"version", &art.version},
                            {"source", &art.source},
                            {"promotedFrom", &art.promoted_from}}) {
    if (!a.Present(key)) continue;
    if (auto v = a.String(key))
      *field = *v;
    else
      ok = false;
  }
  return ok;
}

std::optional<HelmDeploy> ParseHelm(FileDiags& d, const YAML::Node& node, int owner_line) {
  MapReader m(d, node, "deploy.helm", owner_line,
              {"release", "chart", "version", "namespace", "values", "timeout", "digestKey",
               "repositoryKey", "kubeContext"});
  if (!m.valid()) return std::nullopt;
  bool ok = true;
  HelmDeploy h;
  if (auto v = m.String("release", Req::kRequired)) {
    h.release = *v;
    if (!IsDnsName(*v, 53, true)) {
      d.Add(m.Get("release"), "deploy.helm.release '" + Quote(*v) +
                                  "' is not a valid Helm release name; use at most 53 "
                                  "lowercase letters, digits, '-' and '.', starting and ending "
                                  "with a letter or digit");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (auto v = m.String("chart", Req::kRequired)) {
    h.chart = *v;
    // A chart without a scheme that looks like a path must stay in the repo
    // ("repo/chart" references pass IsContainedPath anyway).
    bool looks_like_path =
        v->find("://") == std::string::npos &&
        (v->starts_with("/") || v->starts_with(".") || v->find('\\') != std::string::npos ||
         v->find("..") != std::string::npos);
    if (looks_like_path) CheckPath(d, m.Get("chart"), "deploy.helm.chart", *v, ok);
  } else {
    ok = false;
  }
  for (auto [key, field] : {std::pair<const char*, std::string*>{"version", &h.version},
                            {"digestKey", &h.digest_key},
                            {"repositoryKey", &h.repository_key},
                            {"kubeContext", &h.kube_context}}) {
    if (!m.Present(key)) continue;
    if (auto v = m.String(key))
      *field = *v;
    else
      ok = false;
  }
  if (m.Present("namespace")) {
    if (auto v = m.String("namespace")) {
      h.namespace_ = *v;
      if (!IsDnsName(*v, 63, false)) {
        d.Add(m.Get("namespace"), "deploy.helm.namespace '" + Quote(*v) +
                                      "' is not a valid Kubernetes namespace; use at most 63 "
                                      "lowercase letters, digits and '-'");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (m.Present("values")) {
    if (auto v = m.StringList("values")) {
      h.values = *v;
      const YAML::Node items = m.Get("values");
      for (size_t i = 0; i < v->size(); ++i) {
        CheckPath(d, items[i], internal::Item("deploy.helm.values", i), (*v)[i], ok);
      }
    } else {
      ok = false;
    }
  }
  if (!Timeout(m, h.timeout)) ok = false;
  if (!ok) return std::nullopt;
  return h;
}

std::optional<TerraformDeploy> ParseTerraform(FileDiags& d, const YAML::Node& node, int owner_line,
                                              const std::string& env) {
  MapReader m(d, node, "deploy.terraform", owner_line,
              {"dir", "workspace", "binary", "vars", "timeout"});
  if (!m.valid()) return std::nullopt;
  bool ok = true;
  TerraformDeploy t;
  t.workspace = env;
  if (auto v = m.String("dir", Req::kRequired)) {
    t.dir = *v;
    CheckPath(d, m.Get("dir"), "deploy.terraform.dir", *v, ok);
  } else {
    ok = false;
  }
  if (!m.Read("workspace", t.workspace)) ok = false;
  if (m.Present("binary")) {
    if (auto v = m.Enum("binary", {"terraform", "tofu"}))
      t.binary = *v;
    else
      ok = false;
  }
  YAML::Node vars = m.Get("vars");
  if (vars.IsDefined() && !vars.IsNull()) {
    if (!vars.IsMap()) {
      d.Add(vars,
            "deploy.terraform.vars must be a map of name: value, got " + internal::Describe(vars));
      ok = false;
    } else {
      for (const auto& kv : vars) {
        if (!kv.first.IsScalar() || !IsVarName(kv.first.Scalar())) {
          d.Add(kv.first, "deploy.terraform.vars has the key " + internal::Describe(kv.first) +
                              "; variable names are letters, digits, '_' and '-', starting "
                              "with a letter or '_'");
          ok = false;
          continue;
        }
        std::string w = internal::Child("deploy.terraform.vars", kv.first.Scalar());
        if (kv.second.IsNull() || !kv.second.IsScalar()) {
          d.Add(kv.second.IsNull() ? kv.first : kv.second,
                w + " must be a string, number or boolean, got " + internal::Describe(kv.second) +
                    "; quote it to pass it as text");
          ok = false;
          continue;
        }
        if (!CheckPlaceholders(d, kv.second, w, kv.second.Scalar())) ok = false;
        t.vars[kv.first.Scalar()] = kv.second.Scalar();
      }
    }
  }
  if (!Timeout(m, t.timeout)) ok = false;
  if (!ok) return std::nullopt;
  return t;
}

std::optional<ExecDeploy> ParseExec(FileDiags& d, const YAML::Node& node, int owner_line) {
  MapReader m(d, node, "deploy.exec", owner_line, {"command", "timeout"});
  if (!m.valid()) return std::nullopt;
  bool ok = true;
  ExecDeploy e;
  if (auto v = m.StringList("command", Req::kRequired)) {
    e.command = *v;
    if (v->empty()) {
      d.Add(m.KeyLine("command"),
            "deploy.exec.command is empty; give the program and its arguments, e.g. "
            "[scripts/deploy.sh, \"{{digest}}\"]");
      ok = false;
    } else if ((*v)[0].find('/') != std::string::npos || (*v)[0].find('\\') != std::string::npos) {
      const YAML::Node items = m.Get("command");
      CheckPath(d, items[0], "deploy.exec.command[0]", (*v)[0], ok);
      e.program_line = internal::LineOf(items[0]);
    }
    // Arguments get placeholder substitution at apply; argv[0] does not.
    const YAML::Node items = m.Get("command");
    for (size_t i = 1; i < v->size(); ++i) {
      if (!CheckPlaceholders(d, items[i], internal::Item("deploy.exec.command", i), (*v)[i])) {
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  if (!Timeout(m, e.timeout)) ok = false;
  if (!ok) return std::nullopt;
  return e;
}

// `deploy.dependsOn`: a list of app names of the same environment.
bool ParseDependsOn(MapReader& m, const std::string& app, Deploy& deploy) {
  FileDiags& d = m.diags();
  if (!m.Present("dependsOn")) return true;
  YAML::Node list = m.Get("dependsOn");
  if (!list.IsNull() && !list.IsSequence()) {
    d.Add(list,
          "deploy.dependsOn must be a list of app names of this environment, e.g. "
          "dependsOn: [db], got " +
              internal::Describe(list));
    return false;
  }
  auto names = m.StringList("dependsOn");
  if (!names) return false;
  bool ok = true;
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    const YAML::Node item = list[i];
    const std::string where = internal::Item("deploy.dependsOn", i);
    if (!IsValidName(name)) {
      d.Add(item, where + " '" + Quote(name) +
                      "' is not an app name; name the pin file of an app of this environment "
                      "without .yaml (lowercase letters, digits, '.', '_' and '-')");
      ok = false;
      continue;
    }
    if (name == app) {
      d.Add(item, where + " names '" + Quote(app) +
                      "' itself; an app cannot depend on itself: remove it");
      ok = false;
      continue;
    }
    bool twice = std::any_of(deploy.depends_on.begin(), deploy.depends_on.end(),
                             [&](const Dependency& dep) { return dep.app == name; });
    if (twice) {
      d.Add(item, where + " names '" + Quote(name) + "' a second time; remove the duplicate");
      ok = false;
      continue;
    }
    deploy.depends_on.push_back({name, internal::LineOf(item)});
  }
  return ok;
}

// `weightValue`: a Helm value path ("canary.weight") that, with '.' turned
// into '_', is also a Terraform variable name.
bool IsWeightValue(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  if (s.back() == '.' || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

constexpr char kStepsHowTo[] = "e.g. steps: [{ weight: 10 }, { pause: 5m }, { weight: 100 }]";

// `deploy.strategy.canary.steps`.
bool ParseCanarySteps(MapReader& c, Strategy& s) {
  FileDiags& d = c.diags();
  if (!c.Present("steps")) {
    c.Missing("steps", kStepsHowTo);
    return false;
  }
  YAML::Node list = c.Get("steps");
  if (!list.IsSequence() || list.size() == 0) {
    d.Add(c.ValueLine("steps"),
          "deploy.strategy.canary.steps must be a list of { weight: N } and { pause: D }, " +
              std::string(kStepsHowTo) + ", got " + internal::Describe(list));
    return false;
  }
  bool ok = true;
  int last_weight = 0;
  int last_weight_line = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = internal::Item("deploy.strategy.canary.steps", i);
    MapReader step(d, list[i], where, internal::LineOf(list[i]), {"weight", "pause"});
    if (!step.valid()) {
      ok = false;
      continue;
    }
    CanaryStep cs;
    cs.line = internal::LineOf(list[i]);
    const bool has_weight = step.Present("weight");
    const bool has_pause = step.Present("pause");
    if (has_weight == has_pause) {
      d.Add(cs.line, where + (has_weight ? " has both weight and pause" : " is empty") +
                         "; give each step one of { weight: N } or { pause: D }");
      ok = false;
      continue;
    }
    if (has_pause) {
      auto p = step.Duration("pause");
      if (!p) {
        ok = false;
        continue;
      }
      if (p->count() <= 0) {
        d.Add(step.Get("pause"), where +
                                     ".pause must be longer than 0 (e.g. 5m); remove the step "
                                     "to go on without a pause");
        ok = false;
        continue;
      }
      cs.pause = *p;
      if (last_weight == 0) {
        d.Add(step.Get("pause"), where +
                                     " pauses before any weight step; start the steps with a "
                                     "weight (e.g. { weight: 10 })");
        ok = false;
      }
      s.steps.push_back(cs);
      continue;
    }
    auto w = step.Int("weight", 1, 100);
    if (!w) {
      ok = false;
      continue;
    }
    cs.weight = *w;
    if (*w <= last_weight) {
      d.Add(step.Get("weight"),
            where + ".weight " + std::to_string(*w) + " is not more than the weight before it (" +
                std::to_string(last_weight) + "); weights must increase from step to step");
      ok = false;
    }
    last_weight = std::max(last_weight, *w);
    last_weight_line = internal::LineOf(step.Get("weight"));
    s.steps.push_back(cs);
  }
  if (ok && last_weight != 100) {
    d.Add(last_weight_line, "deploy.strategy.canary.steps ends at weight " +
                                std::to_string(last_weight) +
                                ", so the release would never take all traffic; end the steps "
                                "with { weight: 100 }");
    ok = false;
  }
  if (ok && s.steps.back().pause) {
    d.Add(s.steps.back().line,
          "deploy.strategy.canary.steps ends with a pause after weight 100, which holds nothing; "
          "remove it, or give verification.duration to watch the full release longer");
    ok = false;
  }
  return ok;
}

// `deploy.strategy`: canary steps or blueGreen.
bool ParseStrategy(MapReader& m, Deploy& deploy) {
  FileDiags& d = m.diags();
  if (!m.Present("strategy")) return true;
  MapReader s(d, m.Get("strategy"), "deploy.strategy", m.KeyLine("strategy"),
              {"canary", "blueGreen"});
  if (!s.valid()) return false;
  if (s.Present("canary") && s.Present("blueGreen")) {
    d.Add(s.KeyLine("blueGreen"),
          "deploy.strategy has both canary and blueGreen; a release takes one of them: remove "
          "one");
    return false;
  }
  if (s.Present("blueGreen")) {
    MapReader bg(d, s.Get("blueGreen"), "deploy.strategy.blueGreen", s.KeyLine("blueGreen"), {});
    if (!bg.valid()) return false;
    deploy.strategy.kind = StrategyKind::kBlueGreen;
    return true;
  }
  if (!s.Present("canary")) {
    d.Add(m.KeyLine("strategy"),
          "deploy.strategy names no strategy; give canary: { steps: [...] } or blueGreen: {}, or "
          "remove deploy.strategy to apply in one go");
    return false;
  }
  MapReader c(d, s.Get("canary"), "deploy.strategy.canary", s.KeyLine("canary"),
              {"steps", "weightValue"});
  if (!c.valid()) return false;
  deploy.strategy.kind = StrategyKind::kCanary;
  bool ok = ParseCanarySteps(c, deploy.strategy);
  if (c.Present("weightValue")) {
    if (auto v = c.String("weightValue")) {
      if (!IsWeightValue(*v)) {
        d.Add(c.Get("weightValue"),
              "deploy.strategy.canary.weightValue '" + Quote(*v) +
                  "' is not a value path; use letters, digits, '_', '-' and '.' (e.g. "
                  "canary.weight: helm --set canary.weight=N, terraform -var canary_weight=N)");
        ok = false;
      } else {
        deploy.strategy.weight_value = *v;
      }
    } else {
      ok = false;
    }
  }
  return ok;
}

bool ParseDeploy(MapReader& m, const std::string& env, const std::string& app, Deploy& deploy) {
  FileDiags& d = m.diags();
  if (!m.valid()) return false;
  bool ok = ParseDependsOn(m, app, deploy);
  if (!ParseStrategy(m, deploy)) ok = false;
  const std::vector<std::string> kinds = {"helm", "terraform", "exec"};
  std::optional<std::string> adapter = m.Enum("adapter", kinds, Req::kRequired);
  if (!adapter) ok = false;
  for (const auto& kind : kinds) {
    if (adapter && kind != *adapter && m.Present(kind)) {
      d.Add(m.KeyLine(kind), "deploy." + kind + " does not match deploy.adapter '" + *adapter +
                                 "'; remove deploy." + kind + ", or set adapter: " + kind);
      ok = false;
    }
  }
  if (!adapter) return false;
  if (!m.Present(*adapter)) {
    d.Add(m.ValueLine("adapter"), "deploy.adapter is '" + *adapter + "' but deploy." + *adapter +
                                      " is missing; add a deploy." + *adapter + " block");
    return false;
  }
  YAML::Node block = m.Get(*adapter);
  int line = m.KeyLine(*adapter);
  if (deploy.strategy.kind == StrategyKind::kBlueGreen && *adapter != "exec") {
    d.Add(m.KeyLine("strategy"),
          "deploy.strategy.blueGreen needs the exec adapter (it sees "
          "SLUICE_SLOT and SLUICE_ACTION); with " +
              *adapter + ", use canary steps or adapter: exec");
    ok = false;
  }
  if (*adapter == "helm") {
    deploy.adapter = AdapterKind::kHelm;
    deploy.helm = ParseHelm(d, block, line);
    ok = ok && deploy.helm.has_value();
  } else if (*adapter == "terraform") {
    deploy.adapter = AdapterKind::kTerraform;
    deploy.terraform = ParseTerraform(d, block, line, env);
    ok = ok && deploy.terraform.has_value();
  } else {
    deploy.adapter = AdapterKind::kExec;
    deploy.exec = ParseExec(d, block, line);
    ok = ok && deploy.exec.has_value();
  }
  return ok;
}

}  // namespace

namespace internal {

std::string PathProblem(const std::string& where, std::string_view path) {
  if (IsContainedPath(path)) return "";
  std::string why;
  if (path.empty()) {
    why = "is empty";
  } else if (path.find('\0') != std::string_view::npos) {
    why = "contains a NUL byte";
  } else if (path.find('\\') != std::string_view::npos) {
    why = "contains a backslash (use '/')";
  } else if (path.front() == '/' || path.front() == '~' ||
             (path.size() >= 2 && std::isalpha(static_cast<unsigned char>(path[0])) &&
              path[1] == ':')) {
    why = "is absolute";
  } else {
    why = "contains a '..' component";
  }
  return where + " '" + Quote(path) + "' " + why +
         ": paths must be relative to the repository root and stay inside it";
}

}  // namespace internal

std::string_view AdapterName(AdapterKind kind) {
  switch (kind) {
    case AdapterKind::kHelm:
      return "helm";
    case AdapterKind::kTerraform:
      return "terraform";
    case AdapterKind::kExec:
      return "exec";
  }
  return "unknown";
}

std::string TerraformWeightVar(const std::string& weight_value) {
  std::string out = weight_value;
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

bool IsValidDigest(std::string_view digest) {
  size_t want;
  if (digest.starts_with("sha256:")) {
    want = 64;
  } else if (digest.starts_with("sha512:")) {
    want = 128;
  } else {
    return false;
  }
  std::string_view hex = digest.substr(7);
  return hex.size() == want && std::all_of(hex.begin(), hex.end(), IsLowerHex);
}

bool IsContainedPath(std::string_view path) {
  if (path.empty()) return false;
  if (path.find('\0') != std::string_view::npos) return false;
  if (path.find('\\') != std::string_view::npos) return false;
  if (path.front() == '/' || path.front() == '~') return false;
  // "C:/x" would be absolute on Windows checkouts.
  if (path.size() >= 2 && std::isalpha(static_cast<unsigned char>(path[0])) && path[1] == ':') {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

std::optional<Pin> ParsePin(std::string_view yaml_text, const std::string& path,
                            Diagnostics& diags) {
  FileDiags d(path, diags);
  Pin pin;
  pin.env = internal::EnvFromPath(path);
  {
    // The app is the file name without ".yaml"/".yml".
    size_t slash = path.rfind('/');
    std::string file = slash == std::string::npos ? path : path.substr(slash + 1);
    for (const char* ext : {".yaml", ".yml"}) {
      if (file.ends_with(ext)) {
        file.resize(file.size() - std::string_view(ext).size());
        break;
      }
    }
    pin.app = file;
  }
  try {
    std::optional<YAML::Node> doc = internal::LoadDocument(yaml_text, d);
    if (!doc) return std::nullopt;
    MapReader top(d, *doc, "", internal::RootLine(*doc), {"artifact", "deploy", "verification"});
    if (!top.valid()) return std::nullopt;
    if (top.Present("artifact")) {
      MapReader a(d, top.Get("artifact"), "artifact", top.KeyLine("artifact"),
                  {"image", "digest", "version", "source", "promotedFrom"});
      ParseArtifact(a, pin.artifact);
    } else {
      top.Missing("artifact", "give artifact.image and artifact.digest (sha256:<64 hex>)");
    }
    if (top.Present("deploy")) {
      MapReader m(d, top.Get("deploy"), "deploy", top.KeyLine("deploy"),
                  {"adapter", "helm", "terraform", "exec", "dependsOn", "strategy"});
      ParseDeploy(m, pin.env, pin.app, pin.deploy);
    } else {
      top.Missing("deploy", "give deploy.adapter (helm, terraform or exec) and its block");
    }
    if (top.Present("verification")) {
      if (!top.Has("verification")) {
        d.Add(top.KeyLine("verification"),
              "verification has no value; remove it to use the environment's verification, or "
              "give it checks");
      } else {
        pin.verification = internal::ParseVerification(d, top.Get("verification"), "verification",
                                                       top.KeyLine("verification"));
      }
    }
  } catch (const std::exception& e) {
    d.Add(0, std::string("internal error while reading the pin: ") + Quote(e.what()));
  }
  d.SortByLine();
  if (!d.ok()) return std::nullopt;
  return pin;
}

}  // namespace sluice::config
