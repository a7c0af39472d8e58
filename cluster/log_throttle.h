// At most one log line per interval for a message that an attacker (or a
// full descriptor table) could repeat millions of times a second; the next
// line says how many were left out. Used from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/log.h"

namespace polymer::cluster {

class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(1)) : interval_(interval) {}

    void log(LogLevel level, const std::string& message) {
        const auto now = Clock::now();
        if (logged_once_ && now - last_ < interval_) {
            ++left_out_;
            return;
        }
        logged_once_ = true;
        last_ = now;
        if (left_out_ == 0) {
            log_line(level, message);
        } else {
            log_line(level, pbc::cat(message, " (and ", left_out_, " similar lines left out)"));
            left_out_ = 0;
        }
    }

private:
    std::chrono::milliseconds interval_;
    Clock::time_point last_{};
    bool logged_once_ = false;
    std::uint64_t left_out_ = 0;
};

}  // namespace polymer::cluster
