#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::git {

// Makes libgit2 open its plain TCP connections (git:// and http://) as
// sockets that acknowledge each read at once (TCP_QUICKACK, set again after
// every read: Linux clears it) and send without Nagle's delay (TCP_NODELAY).
//
// Why: in a fetch, `git upload-pack` answers the first batch of "have"
// lines with one small write, then the rest of its ACKs with another. The
// second waits for the first to be acknowledged (Nagle), and Linux delays
// that acknowledgement by at least 40 ms while the client has nothing to
// send: 40-44 ms of every fetch with something new were this stall
// (docs/performance.md), about a third of a webhook pass.
//
// The registration is libgit2's, for the whole process, so it is made only
// for remote URLs that start with git:// or http://: libgit2 1.5's ssh
// transport reads the file descriptor out of its own socket stream type,
// and a TLS stream is left as libgit2 makes it. Idempotent; a URL of
// another scheme (or a local path) registers nothing. Returns whether the
// quick-ack sockets are now in use.
bool UseQuickAckSockets(std::string_view url);

// How many connections the quick-ack sockets have opened in this process.
uint64_t QuickAckConnections();

}  // namespace sluice::git
