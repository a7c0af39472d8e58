// File descriptors under pressure. A node raises its soft RLIMIT_NOFILE to
// the hard limit at start; and keeps one spare descriptor open so that at
// the limit it can still accept a waiting connection and close it at once
// (a refusal the peer sees) instead of leaving the accept ready for ever,
// which made the accept loop spin.
#pragma once

#include <string>

namespace polymer::cluster {

// Raises the soft descriptor limit to the hard one; a line saying what it did.
std::string raise_descriptor_limit();

class SpareDescriptor {
public:
    SpareDescriptor();
    ~SpareDescriptor();
    SpareDescriptor(const SpareDescriptor&) = delete;
    SpareDescriptor& operator=(const SpareDescriptor&) = delete;

    // Frees the spare, accepts one waiting connection on `listener` (if any)
    // and closes it, then takes the spare again. True when one was closed.
    bool accept_and_close(int listener);

private:
    int fd_ = -1;
};

}  // namespace polymer::cluster
