// Which new connections a node takes (NodeLimits): at most
// max_unauthenticated unauthenticated at once, and per source address a
// token bucket of connection_rate per second up to connection_burst. Asked
// at accept, before the connection costs anything but its descriptor. Used
// from the node's io thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "cluster/node_limits.h"

namespace polymer::cluster {

class Admission {
public:
    using Clock = std::chrono::steady_clock;

    explicit Admission(const NodeLimits& limits) : limits_(limits) {}

    struct Refused {
        bool crowded = false;  // too many waiting (else: this address is too fast)
        std::string message;
    };
    // Takes a connection from `address` (counted as unauthenticated until
    // settled()), or says why not.
    std::optional<Refused> admit(const std::string& address, Clock::time_point now);
    // Called once per admitted connection: it authenticated, or it ended first.
    void settled() {
        if (unauthenticated_ > 0) --unauthenticated_;
    }
    unsigned unauthenticated() const { return unauthenticated_; }

private:
    struct Bucket {
        double tokens = 0;
        Clock::time_point at;
    };
    const NodeLimits& limits_;
    unsigned unauthenticated_ = 0;
    std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace polymer::cluster
