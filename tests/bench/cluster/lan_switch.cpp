// lan_switch: a home lab's Ethernet switch in user space, for lan_bench.sh
// where the kernel has no sch_netem (docs/benchmarks.md, "Over a home-lab
// LAN"). Each machine is a network namespace with a TAP interface (made
// beforehand: `ip -n NS tuntap add dev lan0 mode tap`, then addressed and
// up); the switch holds every TAP and forwards the Ethernet frames between
// them as a learning switch does, each direction of every link limited to
// RATE and every frame held back DELAY, one way between two machines: what
// `netem rate RATE delay DELAY` on each machine's side and `netem rate RATE`
// on the switch's would do. The same idea as mahimahi's link shells (not in
// Debian), which emulate a link with a TUN device and a process.
//
//   lan_switch [--rate 1gbit] [--delay 0.2ms] [--limit 1000] [--dev lan0] NETNS...
//
// A frame from machine A to B: serialised on A's link (RATE), then on B's
// (RATE, after whatever is queued there: the switch's output queue, at most
// LIMIT frames, dropped beyond it, as netem's limit), then delivered DELAY
// after. Broadcasts (ARP) go to every other port. It prints one line once
// every TAP is held, and its counts on SIGINT/SIGTERM. Timers are ppoll()'s:
// a delivery comes late by the machine's wake-up time (the link check in
// lan_bench.sh measures the round trip it got).
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;
using Mac = std::array<std::uint8_t, 6>;

volatile std::sig_atomic_t stopping = 0;
void stop(int) { stopping = 1; }

struct Frame {
    std::vector<std::uint8_t> bytes;
    Clock::time_point due;  // when it reaches the machine
};

struct Port {
    std::string netns;
    int fd = -1;
    Clock::time_point in_free{}, out_free{};  // when the link's way in (machine -> switch) and out are next free
    std::deque<Frame> out;                     // due times ascending (each waits for the one before on the link)
    std::uint64_t frames_in = 0, frames_out = 0, bytes_out = 0, dropped = 0;
};

// "1gbit", "500mbit", "64kbit", "1000000bit": bits a second.
std::optional<double> parse_rate(const std::string& s) {
    static const std::regex form(R"(([0-9]+(\.[0-9]+)?)([kmg]?)bit)");
    std::smatch m;
    if (!std::regex_match(s, m, form)) return std::nullopt;
    const double scale = m[3] == "k" ? 1e3 : m[3] == "m" ? 1e6 : m[3] == "g" ? 1e9 : 1.0;
    const double bits = std::stod(m[1]) * scale;
    return bits > 0 ? std::optional(bits) : std::nullopt;
}

// "0.2ms", "200us", "1s", "0".
std::optional<Nanos> parse_delay(const std::string& s) {
    static const std::regex form(R"(([0-9]+(\.[0-9]+)?)(s|ms|us)?)");
    std::smatch m;
    if (!std::regex_match(s, m, form)) return std::nullopt;
    const double scale = m[3] == "s" ? 1e9 : m[3] == "ms" ? 1e6 : m[3] == "us" ? 1e3 : 0.0;
    if (scale == 0.0 && std::stod(m[1]) != 0.0) return std::nullopt;  // a unit unless 0
    return Nanos(static_cast<std::int64_t>(std::stod(m[1]) * scale));
}

// Enters `netns` (as `ip netns exec` does), attaches to its TAP `dev`, and
// comes back to the namespace it started in. The descriptor, or why not.
int attach(const std::string& netns, const std::string& dev, std::string& why) {
    const int home = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int there = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    int fd = -1;
    if (home < 0 || there < 0) {
        why = "no network namespace " + netns + ": " + std::strerror(errno);
    } else if (::setns(there, CLONE_NEWNET) != 0) {
        why = "cannot enter " + netns + ": " + std::strerror(errno);
    } else {
        fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        ifreq ifr{};
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev.c_str());
        if (fd < 0 || ::ioctl(fd, TUNSETIFF, &ifr) != 0) {
            why = "cannot attach to TAP " + dev + " in " + netns + " (ip -n " + netns + " tuntap add dev " + dev +
                  " mode tap): " + std::strerror(errno);
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
        if (::setns(home, CLONE_NEWNET) != 0) {
            why = std::string("cannot come back to the first namespace: ") + std::strerror(errno);
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }
    if (home >= 0) ::close(home);
    if (there >= 0) ::close(there);
    return fd;
}

class Switch {
public:
    Switch(std::vector<Port> ports, double rate, Nanos delay, std::size_t limit)
        : ports_(std::move(ports)), rate_(rate), delay_(delay), limit_(limit) {}

    void run() {
        std::vector<pollfd> fds;
        for (const Port& p : ports_) fds.push_back(pollfd{p.fd, POLLIN, 0});
        std::vector<std::uint8_t> buffer(65536);
        sigset_t none;
        sigemptyset(&none);
        while (!stopping) {
            timespec wait{};
            timespec* timeout = nullptr;
            if (auto next = next_due()) {
                const auto left = std::max(Nanos(0), std::chrono::duration_cast<Nanos>(*next - Clock::now()));
                wait.tv_sec = static_cast<time_t>(left.count() / 1000000000);
                wait.tv_nsec = static_cast<long>(left.count() % 1000000000);
                timeout = &wait;
            }
            const int n = ::ppoll(fds.data(), fds.size(), timeout, &none);
            if (n < 0 && errno != EINTR) {
                std::perror("lan_switch: ppoll");
                return;
            }
            for (std::size_t i = 0; n > 0 && i < fds.size(); ++i) {
                if ((fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                    std::fprintf(stderr, "lan_switch: the TAP of %s failed\n", ports_[i].netns.c_str());
                    return;
                }
                if ((fds[i].revents & POLLIN) != 0) take_in(i, buffer);
            }
            deliver();
        }
    }

    void report() const {
        for (const Port& p : ports_)
            std::fprintf(stderr, "lan_switch: %s: %llu frames in, %llu out (%llu bytes), %llu dropped\n", p.netns.c_str(),
                         static_cast<unsigned long long>(p.frames_in), static_cast<unsigned long long>(p.frames_out),
                         static_cast<unsigned long long>(p.bytes_out), static_cast<unsigned long long>(p.dropped));
    }

private:
    Nanos on_the_wire(std::size_t bytes) const {
        // Ethernet's preamble, start delimiter, CRC and gap take 24 bytes' time on the wire too.
        return Nanos(static_cast<std::int64_t>((bytes + 24) * 8 / rate_ * 1e9));
    }

    // The frames waiting on port `i`'s TAP, at most a batch of them (a busy
    // port must not keep the others and the deliveries waiting).
    void take_in(std::size_t i, std::vector<std::uint8_t>& buffer) {
        constexpr int kBatch = 64;
        for (int taken = 0; taken < kBatch; ++taken) {
            const ssize_t got = ::read(ports_[i].fd, buffer.data(), buffer.size());
            if (got < 14) return;  // EAGAIN: all taken (or a runt, dropped)
            const auto now = Clock::now();
            Port& from = ports_[i];
            ++from.frames_in;
            const std::size_t length = static_cast<std::size_t>(got);
            from.in_free = std::max(now, from.in_free) + on_the_wire(length);
            Mac dst, src;
            std::memcpy(dst.data(), buffer.data(), 6);
            std::memcpy(src.data(), buffer.data() + 6, 6);
            if ((src[0] & 1) == 0) where_[src] = i;
            const bool group = (dst[0] & 1) != 0;  // broadcast or multicast
            const auto known = where_.find(dst);
            for (std::size_t j = 0; j < ports_.size(); ++j) {
                if (j == i) continue;
                if (!group && known != where_.end() && known->second != j) continue;
                queue(j, buffer.data(), length, from.in_free);
            }
        }
    }

    void queue(std::size_t j, const std::uint8_t* bytes, std::size_t length, Clock::time_point at_switch) {
        Port& to = ports_[j];
        if (to.out.size() >= limit_) {
            ++to.dropped;
            return;
        }
        to.out_free = std::max(at_switch, to.out_free) + on_the_wire(length);
        to.out.push_back(Frame{std::vector<std::uint8_t>(bytes, bytes + length), to.out_free + delay_});
    }

    std::optional<Clock::time_point> next_due() const {
        std::optional<Clock::time_point> next;
        for (const Port& p : ports_)
            if (!p.out.empty() && (!next || p.out.front().due < *next)) next = p.out.front().due;
        return next;
    }

    void deliver() {
        const auto now = Clock::now();
        for (Port& p : ports_)
            while (!p.out.empty() && p.out.front().due <= now) {
                const Frame& f = p.out.front();
                if (::write(p.fd, f.bytes.data(), f.bytes.size()) < 0 && errno == EAGAIN) break;  // next time
                ++p.frames_out;
                p.bytes_out += f.bytes.size();
                p.out.pop_front();
            }
    }

    std::vector<Port> ports_;
    const double rate_;
    const Nanos delay_;
    const std::size_t limit_;
    std::map<Mac, std::size_t> where_;  // learnt: which port a machine's address is behind
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lan_switch: an Ethernet switch between network namespaces' TAP interfaces, each link limited to a "
                 "rate and delayed (lan_bench.sh's LAN where the kernel has no sch_netem)"};
    std::string rate_text = "1gbit", delay_text = "0.2ms", dev = "lan0";
    std::size_t limit = 1000;
    std::vector<std::string> namespaces;
    app.add_option("--rate", rate_text, "each direction of every link, like tc's: 1gbit, 500mbit")->capture_default_str();
    app.add_option("--delay", delay_text, "one way between two machines: 0.2ms, 200us, 0")->capture_default_str();
    app.add_option("--limit", limit, "frames queued for one machine at most; more are dropped")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--dev", dev, "the TAP interface's name in each namespace")->capture_default_str();
    app.add_option("netns", namespaces, "the machines' network namespaces (ip netns), two or more")->required()->expected(2, -1);
    CLI11_PARSE(app, argc, argv);
    const auto rate = parse_rate(rate_text);
    const auto delay = parse_delay(delay_text);
    if (!rate) return std::fprintf(stderr, "lan_switch: --rate %s: want a rate like 1gbit or 500mbit\n", rate_text.c_str()), 2;
    if (!delay) return std::fprintf(stderr, "lan_switch: --delay %s: want a time like 0.2ms or 200us\n", delay_text.c_str()), 2;

    // ppoll()'s timeouts to the nanosecond (a thread's default slack, 50 us,
    // is a quarter of a LAN's delay).
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    std::vector<Port> ports;
    for (const std::string& ns : namespaces) {
        std::string why;
        const int fd = attach(ns, dev, why);
        if (fd < 0) return std::fprintf(stderr, "lan_switch: %s\n", why.c_str()), 1;
        ports.push_back(Port{.netns = ns, .fd = fd});
    }
    // Blocked but inside ppoll(), which unblocks them: one that comes
    // between the look at `stopping` and the wait still ends the wait.
    std::signal(SIGINT, stop);
    std::signal(SIGTERM, stop);
    sigset_t ending;
    sigemptyset(&ending);
    sigaddset(&ending, SIGINT);
    sigaddset(&ending, SIGTERM);
    sigprocmask(SIG_BLOCK, &ending, nullptr);
    std::printf("lan_switch: %zu ports, each link %s each way, %s one way, at most %zu frames queued a port\n", ports.size(),
                rate_text.c_str(), delay_text.c_str(), limit);
    std::fflush(stdout);
    Switch s(std::move(ports), *rate, *delay, limit);
    s.run();
    s.report();
    return 0;
}
