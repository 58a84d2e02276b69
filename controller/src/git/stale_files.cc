#include "git/stale_files.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace sluice::git {

namespace fs = std::filesystem;

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Removes the regular files directly in `dir` (or, with `recursive`, below
// it) for which `stale(name)` holds; appends them, relative to `root`.
Status RemoveMatching(const fs::path& root, const fs::path& dir, bool recursive,
                      bool (*stale)(std::string_view), std::vector<std::string>* removed) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::Ok();
  auto remove_one = [&](const fs::directory_entry& e) -> Status {
    std::error_code fec;
    if (!e.is_regular_file(fec) || !stale(e.path().filename().native())) return Status::Ok();
    if (!fs::remove(e.path(), fec) && fec) {
      return Status::IOError("cannot remove the stale file " + e.path().string() + ": " +
                             fec.message() + "; remove it by hand");
    }
    removed->push_back(fs::relative(e.path(), root, fec).string());
    return Status::Ok();
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      SLUICE_RETURN_IF_ERROR(remove_one(*it));
    }
  } else {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
      SLUICE_RETURN_IF_ERROR(remove_one(*it));
    }
  }
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

bool IsLock(std::string_view name) { return EndsWith(name, ".lock"); }

bool IsPackTemp(std::string_view name) {
  return StartsWith(name, "tmp_") || StartsWith(name, "pack_git");
}

bool IsObjectTemp(std::string_view name) { return StartsWith(name, "tmp_"); }

}  // namespace

Result<std::vector<std::string>> RemoveStaleFiles(const std::string& git_dir) {
  std::vector<std::string> removed;
  const fs::path root(git_dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return removed;
  SLUICE_RETURN_IF_ERROR(RemoveMatching(root, root, false, IsLock, &removed));
  for (const char* sub : {"refs", "logs", "objects/info"}) {
    SLUICE_RETURN_IF_ERROR(RemoveMatching(root, root / sub, true, IsLock, &removed));
  }
  SLUICE_RETURN_IF_ERROR(RemoveMatching(root, root / "objects/pack", false, IsPackTemp, &removed));
  SLUICE_RETURN_IF_ERROR(RemoveMatching(root, root / "objects", false, IsObjectTemp, &removed));
  std::sort(removed.begin(), removed.end());
  return removed;
}

}  // namespace sluice::git
