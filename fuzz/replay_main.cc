// Replays a libFuzzer corpus without libFuzzer: the `main` of the fuzz
// targets in the normal (gcc) build. Every argument is a file or a directory
// whose regular files are read (sorted, not recursively) and passed to
// LLVMFuzzerTestOneInput one at a time, so the test suite runs the seeds and
// every crash regression of a target on each build.
//
// Exits 0 after at least one input ran; 1 when an argument cannot be read or
// no input was found (a corpus that silently vanished must fail the test). A
// target that crashes on an input aborts the process, which fails the test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// Reads `path` whole into `out`; false when it cannot be opened.
bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// The files to replay for one argument, in a stable order; false on error.
bool InputsOf(const fs::path& arg, std::vector<fs::path>* inputs) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    inputs->push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) return false;
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(arg, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) return false;
  std::sort(files.begin(), files.end());
  inputs->insert(inputs->end(), files.begin(), files.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!InputsOf(argv[i], &inputs)) {
      std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no inputs (usage: %s <corpus dir or file>...)\n", argv[0]);
    return 1;
  }
  for (const fs::path& p : inputs) {
    std::string data;
    if (!ReadFile(p, &data)) {
      std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
      return 1;
    }
    // Print before running so that a crash names its input.
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), data.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  std::fprintf(stderr, "replay: %zu inputs ran\n", inputs.size());
  return 0;
}
