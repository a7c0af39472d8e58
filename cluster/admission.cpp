#include "cluster/admission.h"

#include <algorithm>
#include <iterator>

#include "isa/byte_io.h"

namespace polymer::cluster {

std::optional<Admission::Refused> Admission::admit(const std::string& address, Clock::time_point now) {
    const double burst = std::max(1u, limits_.connection_burst);
    auto refill = [&](Bucket& b) {
        const double seconds = std::chrono::duration<double>(now - b.at).count();
        b.tokens = std::min(burst, b.tokens + seconds * limits_.connection_rate);
        b.at = now;
    };
    // Forget full buckets now and then, so the map holds only addresses that
    // connected recently (a spoofing flood cannot grow it for ever).
    if (buckets_.size() >= 4096) {
        for (auto it = buckets_.begin(); it != buckets_.end();) {
            refill(it->second);
            it = it->second.tokens >= burst ? buckets_.erase(it) : std::next(it);
        }
    }
    auto [it, fresh] = buckets_.try_emplace(address, Bucket{burst, now});
    Bucket& bucket = it->second;
    if (!fresh) refill(bucket);
    if (bucket.tokens < 1)
        return Refused{false, pbc::cat("more than ", limits_.connection_rate, " new connections per second (burst ", limits_.connection_burst,
                        ") from ", address, " (--max-connection-rate)")};
    if (unauthenticated_ >= limits_.max_unauthenticated)
        return Refused{true, pbc::cat(unauthenticated_, " connections are already waiting to authenticate (--max-unauthenticated)")};
    bucket.tokens -= 1;
    ++unauthenticated_;
    return std::nullopt;
}

}  // namespace polymer::cluster
