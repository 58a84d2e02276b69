// Signs the record events of a `git fast-import` stream as a controller
// would (record::RecordKeys::SignLine), for bench/generate.sh: every
// `data <n>` payload whose non-empty lines are all sluice event objects
// ({"v":...}) has each line signed and its length rewritten; everything else
// passes through unchanged.
//
//   sluice_sign_record KEYFILE < stream > signed-stream
//
// KEYFILE: an unencrypted OpenSSH ed25519 key (ssh-keygen -t ed25519 -N '').
// Exit 1 (with a message) when the key cannot be read or the stream ends
// inside a payload.

#include <iostream>
#include <string>

#include "record/trust.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: sluice_sign_record KEYFILE < fast-import-stream\n";
    return 2;
  }
  sluice::record::TrustOptions opts;
  opts.signing_key_file = argv[1];
  auto keys = sluice::record::RecordKeys::Load(opts, "", nullptr);
  if (!keys.ok()) {
    std::cerr << "sluice_sign_record: " << keys.status().ToString() << "\n";
    return 1;
  }
  std::ios::sync_with_stdio(false);
  for (std::string line; std::getline(std::cin, line);) {
    if (line.rfind("data ", 0) != 0 ||
        line.find_first_not_of("0123456789", 5) != std::string::npos) {
      std::cout << line << '\n';
      continue;
    }
    std::string payload(std::stoul(line.substr(5)), '\0');
    if (!std::cin.read(payload.data(), static_cast<std::streamsize>(payload.size()))) {
      std::cerr << "sluice_sign_record: the stream ends inside a data payload\n";
      return 1;
    }
    bool events = !payload.empty();
    for (size_t pos = 0; events && pos < payload.size();) {
      size_t nl = payload.find('\n', pos);
      if (nl == std::string::npos) nl = payload.size();
      if (nl > pos && payload.compare(pos, 5, "{\"v\":") != 0) events = false;
      pos = nl + 1;
    }
    if (events) {
      std::string signed_payload;
      for (size_t pos = 0; pos < payload.size();) {
        size_t nl = payload.find('\n', pos);
        if (nl == std::string::npos) nl = payload.size();
        if (nl > pos) signed_payload += (*keys)->SignLine(payload.substr(pos, nl - pos));
        if (nl < payload.size()) signed_payload += '\n';
        pos = nl + 1;
      }
      payload = std::move(signed_payload);
    }
    std::cout << "data " << payload.size() << '\n' << payload;
  }
  return 0;
}
