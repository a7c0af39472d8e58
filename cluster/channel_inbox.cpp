#include "cluster/channel_inbox.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cluster/log.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {
// The inbox whose lead this thread holds (wake() from the leader's own
// take_in needs no eventfd: the leader looks at its answer next).
thread_local const ChannelInbox* leading = nullptr;

// Whether this process may run on one CPU only: the thread that sends the
// answer then needs this very one, so a leader yields at every look (a
// yield hands the CPU over at once, cheaper than a sleep and a wake-up: a
// ping-pong between two nodes pinned to one CPU ran 10% faster).
bool one_cpu() {
    static const bool one = [] {
        cpu_set_t cpus;
        return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) == 1;
    }();
    return one;
}

// A leader reading connections yields only every few looks and pauses
// between: on a busy machine a yield hands the rest of a time slice
// (milliseconds) to whatever else runs on this CPU, while a busy wait costs
// at most the spin, and the sleep after it is woken ahead of the busy work.
// But it yields now and then: the home's answers come through the io thread
// here, which may need this CPU.
constexpr unsigned kLooksPerYield = 4;

// Yields, and says whether another thread wanted this CPU: a yield that
// comes back this late let one run for a while (a busy one has the CPU
// until its time slice ends). Then looking awake only takes its CPU away,
// and a waiter sleeps instead.
bool yield_finds_cpu_busy() {
    constexpr auto kBusy = std::chrono::microseconds(50);
    const auto before = std::chrono::steady_clock::now();
    std::this_thread::yield();
    return std::chrono::steady_clock::now() - before > kBusy;
}

void pause_a_moment() {
    for (int i = 0; i < 32; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
        asm volatile("yield");
#endif
    }
}
}  // namespace

ChannelInbox::ChannelInbox(asio::io_context& io, Take take, ReadLimits limits, std::function<void(std::size_t)> release,
                           Dropped dropped)
    : io_(io), take_(std::move(take)), limits_(std::move(limits)), release_(std::move(release)), dropped_(std::move(dropped)) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    reader_ = std::thread([this] { reader(); });
}

ChannelInbox::~ChannelInbox() {
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        reader_changed_.notify_all();
    }
    ring();
    reader_.join();
    for (auto& a : conns_) asio::post(io_, [conn = a.conn] { conn->close("the home's procedures on this node are done"); });
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void ChannelInbox::adopt(std::shared_ptr<Connection> conn, std::uint64_t run) {
    std::lock_guard lock(mutex_);
    conns_.push_back({std::move(conn), run});
    ++conns_version_;
    reader_changed_.notify_all();
    if (leader_asleep_) ring();  // the leader polls the new one too
}

void ChannelInbox::drop_other_runs(std::uint64_t run) {
    std::vector<std::shared_ptr<Connection>> done;
    {
        std::lock_guard lock(mutex_);
        std::erase_if(conns_, [&](const Adopted& a) {
            if (a.run != run) done.push_back(a.conn);
            return a.run != run;
        });
        if (done.empty()) return;
        ++conns_version_;
        if (leader_asleep_) ring();
    }
    for (auto& conn : done) asio::post(io_, [conn] { conn->close("its run is over"); });
}

std::size_t ChannelInbox::connections() const {
    std::lock_guard lock(mutex_);
    return conns_.size();
}

bool ChannelInbox::procedure_leads() const {
    std::lock_guard lock(mutex_);
    return leader_ == Leader::Procedure;
}

void ChannelInbox::ring() {
    if (wake_fd_ < 0) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void ChannelInbox::wake() {
    // The leader's own take_in: it looks at its answer next, so only
    // followers may need waking, and most often there are none. A follower
    // counts itself before its last look at ready(), and this reads the
    // count after the answer was marked ready, both read-modify-writes of
    // the count: whichever comes second sees the other (the follower then
    // sees the answer, or this sees the follower).
    if (leading == this && followers_.fetch_add(0, std::memory_order_acq_rel) == 0) return;
    std::lock_guard lock(mutex_);
    if (followers_ > 0) changed_.notify_all();
    if (leader_asleep_ && leading != this) ring();  // a leader still awake looks at ready() anyway
}

void ChannelInbox::wait(const std::function<bool()>& ready) {
    auto spin_until = Clock::now() + kLongestSpin;
    std::unique_lock lock(mutex_);
    for (;;) {
        if (ready()) return;
        if (leader_ == Leader::None) {
            leader_ = Leader::Procedure;
            ++leads_;
            lock.unlock();
            lead(ready, spin_until);  // moves spin_until to now when it finds the CPU busy
            lock.lock();
            leader_ = Leader::None;
            if (followers_ > 0) changed_.notify_all();  // one of them takes the lead
            continue;
        }
        // A follower stays awake for the spin too (looking again at the lead
        // as well as its answer): an answer from another procedure here
        // comes within a round trip, and a sleep costs as much again. It
        // yields: its answer comes from another thread, which may need the CPU.
        if (leader_ == Leader::Procedure && Clock::now() < spin_until) {
            lock.unlock();
            if (yield_finds_cpu_busy()) spin_until = Clock::time_point{};
            lock.lock();
            continue;
        }
        // Under the lock, after ready() said no: wake() cannot slip between.
        const bool ask = leader_ == Leader::Reader;
        if (ask) {
            ++want_lead_;
            if (leader_asleep_) ring();
        }
        followers_.fetch_add(1, std::memory_order_acq_rel);  // counted before the look below (wake())
        if (!ready()) changed_.wait(lock);
        --followers_;
        if (ask) --want_lead_;
    }
}

void ChannelInbox::lead(const std::function<bool()>& done, Clock::time_point& spin_until) {
    leading = this;
    std::vector<std::shared_ptr<Connection>>& conns = lead_conns_;
    std::uint64_t& version = lead_version_;
    std::vector<pollfd> fds;
    unsigned looks = 0;
    for (;;) {
        if (const std::uint64_t v = conns_version_.load(); v != version) {
            std::lock_guard lock(mutex_);
            conns.clear();
            for (const Adopted& a : conns_) conns.push_back(a.conn);
            version = conns_version_.load();
        }
        const bool took = read_all(conns, done);
        if (done()) break;
        if (took) continue;
        if (Clock::now() < spin_until) {
            // Reading the connections itself, it pauses between looks; but
            // an answer may come from the io thread here too (the home's),
            // which may need this CPU: every few looks, and at each when
            // there is nothing to read or one CPU to run on, it yields.
            if (conns.empty() || one_cpu() || ++looks % kLooksPerYield == 0) {
                if (yield_finds_cpu_busy()) spin_until = Clock::time_point{};
            } else {
                pause_a_moment();
            }
            continue;
        }
        // Asleep from here on for wake(): it rings only a sleeping leader.
        // Marked under the lock, then done() once more: whoever made it
        // true either finds the mark and rings, or did so before we looked.
        {
            std::lock_guard lock(mutex_);
            leader_asleep_ = true;
        }
        if (!done() && conns_version_.load() == version) {
            fds.clear();
            for (const auto& c : conns) fds.push_back(pollfd{c->native_fd(), POLLIN, 0});
            fds.push_back(pollfd{wake_fd_, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), static_cast<int>(kLongestPoll.count())) > 0 && (fds.back().revents & POLLIN) != 0) {
                std::uint64_t rung = 0;
                [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &rung, sizeof rung);
            }
        }
        std::lock_guard lock(mutex_);
        leader_asleep_ = false;
    }
    leading = nullptr;
}

bool ChannelInbox::read_all(std::vector<std::shared_ptr<Connection>>& conns, const std::function<bool()>& done) {
    bool took = false;
    for (std::size_t i = 0; i < conns.size();) {
        bool keep = true;
        for (;;) {
            ReadOutcome r = conns[i]->read_frame_now(std::chrono::milliseconds(0), nullptr, &limits_, &lead_payload_room_);
            if (r.idle) break;
            took = true;
            const bool more = r.more_buffered;
            if (!take_in(*conns[i], std::move(r))) {
                keep = false;
                break;
            }
            if (done() && !more) break;
        }
        if (keep) {
            ++i;
            continue;
        }
        conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));  // drop() told the others
    }
    return took;
}

bool ChannelInbox::take_in(Connection& conn, ReadOutcome r) {
    struct Release {  // what the frame held, given back once it is taken in
        ChannelInbox& inbox;
        std::size_t bytes;
        ~Release() {
            if (bytes != 0 && inbox.release_) inbox.release_(bytes);
        }
    } release{*this, r.reserved};
    auto self = conn.shared_from_this();
    if (!r.frame) {
        if (r.closed) {
            drop(self, cat("chan-inbox from ", conn.peer(), ": ", r.message));
        } else {
            conn.send_error(0, r.code, r.message);
            drop(self, cat("chan-inbox from ", conn.peer(), ": ", error_code_name(r.code), ": ", r.message));
        }
        return false;
    }
    const Frame& f = *r.frame;
    struct GiveBack {  // its payload's room, for the next frame read whole
        ChannelInbox& inbox;
        ReadOutcome& r;
        ~GiveBack() {
            if (r.frame->payload.capacity() <= Connection::kReadBuffer) inbox.lead_payload_room_ = std::move(r.frame->payload);
        }
    } give_back{*this, r};
    switch (f.type) {
    case MsgType::Heartbeat: return true;
    case MsgType::Goodbye: drop(self, cat("chan-inbox from ", conn.peer(), ": the peer node is shutting down")); return false;
    case MsgType::Error: {  // the peer refused one of this node's chan-frames
        auto e = decode_error(f.payload);
        if (e) log(LogLevel::Warn, "peer ", conn.peer(), " refused a chan-frame: ", error_code_name(e.value().code), ": ", e.value().message);
        return true;
    }
    case MsgType::ChanFrame:
        if (auto refusal = take_(f)) {
            log(LogLevel::Warn, "peer ", conn.peer(), ": chan-frame refused: ", error_code_name(refusal->code), ": ", refusal->message);
            conn.send_error(f.request_id, refusal->code, refusal->message);
        }
        return true;
    default: {
        const std::string why = cat("a chan-inbox connection carries only chan-frames and heartbeats; ", msg_type_name(f.type), " refused");
        conn.send_error(f.request_id, ErrorCode::BadPayload, why);
        drop(self, cat("peer ", conn.peer(), ": ", why));
        return false;
    }
    }
}

void ChannelInbox::drop(const std::shared_ptr<Connection>& conn, const std::string& why) {
    log(LogLevel::Debug, why, "; closing it");
    {
        std::lock_guard lock(mutex_);
        std::erase_if(conns_, [&](const Adopted& a) { return a.conn == conn; });
        ++conns_version_;
    }
    asio::post(io_, [conn, why] { conn->close(why); });
    if (dropped_) dropped_(conn, why);
}

void ChannelInbox::reader() {
    std::unique_lock lock(mutex_);
    std::uint64_t seen = leads_;
    auto grace = kGrace;
    while (!closing_) {
        if (conns_.empty()) {
            reader_changed_.wait(lock);
            continue;
        }
        // Leads only after a whole grace period in which no procedure did.
        // While they keep leading it looks less and less often: each look
        // takes a CPU from a procedure that waits awake.
        if (leader_ != Leader::None || leads_ != seen) {
            seen = leads_;
            reader_changed_.wait_for(lock, grace);
            grace = std::min(grace * 2, kLongestGrace);
            continue;
        }
        grace = kGrace;
        leader_ = Leader::Reader;
        lock.unlock();
        Clock::time_point no_spin{};
        lead([this] { return closing_.load() || want_lead_.load() > 0; }, no_spin);
        lock.lock();
        leader_ = Leader::None;
        seen = leads_;
        if (followers_ > 0) changed_.notify_all();
        if (want_lead_.load() > 0) reader_changed_.wait_for(lock, kGrace);  // let them take it
    }
}

}  // namespace polymer::cluster
