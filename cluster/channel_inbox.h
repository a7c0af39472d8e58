// A node's chan-frames from the home's other nodes, read by the threads that
// wait for them (docs/protocol.md, "Channels kept on nodes"; docs/cluster.md,
// "Threads"). Each peer node sends this node its chan-frames on a connection
// of their own (chan-inbox); the session that accepted it hands it here once
// it has left asio (Connection::leave_io), so no io thread wakes when a frame
// comes (the node that dialled reads its end the same way). From then on it
// is read by whoever of the home's procedures here
// waits (ProcedureWaits), leader/follower style:
//
// - One waiting thread at a time, the leader, reads every inbox connection
//   and takes each frame in through `take` (which answers the procedures it
//   concerns: their ready() turns true, and wake() wakes them). It spins a
//   moment, then sleeps in poll() on the connections and an eventfd that
//   wake() rings, until its own answer is in; then it lets go.
// - The others sleep on a condition variable until their answer is in or
//   the lead is free. In a ping-pong the one procedure here always leads:
//   a frame wakes only the thread that waits for it.
// - When no procedure waits for a grace period (they all compute), a reader
//   thread of the inbox's own takes the lead, so frames never wait long for
//   a busy node; a procedure that then waits asks it to step aside.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cluster/connection.h"
#include "cluster/messages.h"
#include "vm/procs/procedure_waits.h"

namespace polymer::cluster {

class ChannelInbox final : public ProcedureWaits {
public:
    // `take`: a chan-frame from a peer node, on the reading thread; why it
    // is refused (sent back to that peer as an error), or nothing.
    // `limits`: what one frame may make this node hold, reserved until
    // `take` returns and then handed to `release`.
    // `dropped`: a connection found closed or faulty, and why (it is closed
    // on the io thread), on the reading thread.
    using Take = std::function<std::optional<Refusal>(const Frame&)>;
    using Dropped = std::function<void(const std::shared_ptr<Connection>&, const std::string&)>;
    ChannelInbox(asio::io_context& io, Take take, ReadLimits limits, std::function<void(std::size_t)> release, Dropped dropped = {});
    ~ChannelInbox();  // every waiter is gone by then; closes the connections (on the io thread)
    ChannelInbox(const ChannelInbox&) = delete;
    ChannelInbox& operator=(const ChannelInbox&) = delete;

    // A connection that from now on carries only chan-frames (and
    // heartbeats) of program run `run`, out of asio already. Any thread.
    void adopt(std::shared_ptr<Connection> conn, std::uint64_t run);
    // A new run starts here: the connections of the others are done with
    // (each run dials its own), and are closed now rather than whenever
    // their other end lets go: a waiter would poll them meanwhile, and the
    // inbox's reader keep looking in.
    void drop_other_runs(std::uint64_t run);
    std::size_t connections() const;
    // Whether a waiting procedure leads now (not the inbox's own reader).
    bool procedure_leads() const;

    // --- ProcedureWaits ---
    void wait(const std::function<bool()>& ready) override;
    void wake() override;

    // How long no procedure may lead before the inbox's own reader does:
    // kGrace, growing to kLongestGrace while the procedures keep leading (the
    // reader's every look there wakes a thread on a CPU a waiter spins on; a
    // node-to-node ping-pong ran 5% faster with looks 20 ms apart), back to
    // kGrace once the reader has led.
    static constexpr auto kGrace = std::chrono::milliseconds(1);
    static constexpr auto kLongestGrace = std::chrono::milliseconds(8);
    // How long a waiter looks awake at most (ProcedureWaits::kSpin is for a
    // LAN's round trip): between nodes on one machine a sleep costs a wake-up
    // of tens of microseconds, and threads that sleep get put on one CPU
    // together, so a slow answer cost the next ones too. Cut short when a
    // yield finds another thread wanting the CPU (docs/protocol.md, "Threads").
    static constexpr auto kLongestSpin = std::chrono::milliseconds(1);
    // The longest one poll() sleeps before it looks again (it is woken at
    // once by what it waits for; this only bounds a wake-up it missed).
    static constexpr auto kLongestPoll = std::chrono::milliseconds(50);

private:
    enum class Leader { None, Procedure, Reader };
    using Clock = std::chrono::steady_clock;
    // Reads and takes in, on the leader's thread, until `done()`; looks
    // awake until `spin_until` before it sleeps in poll(), and moves it to
    // now when a yield finds another thread wanting the CPU.
    void lead(const std::function<bool()>& done, Clock::time_point& spin_until);
    // Takes in the whole frames that have come on the connections; whether
    // any did. Once `done()`, it reads no more of a connection whose bytes
    // it has used up (its answer is in: another look costs a system call).
    bool read_all(std::vector<std::shared_ptr<Connection>>& conns, const std::function<bool()>& done);
    // One frame from `conn`: false when the connection is done with.
    bool take_in(Connection& conn, ReadOutcome r);
    void drop(const std::shared_ptr<Connection>& conn, const std::string& why);
    void ring();
    void reader();  // the inbox's own reader thread

    asio::io_context& io_;
    Take take_;
    ReadLimits limits_;
    std::function<void(std::size_t)> release_;
    Dropped dropped_;
    int wake_fd_ = -1;

    mutable std::mutex mutex_;
    std::condition_variable changed_;         // followers: the lead is free, or an answer came
    std::condition_variable reader_changed_;  // the reader thread: connections came, or it must go
    struct Adopted {
        std::shared_ptr<Connection> conn;
        std::uint64_t run = 0;  // the program run it carries
    };
    std::vector<Adopted> conns_;
    std::atomic<std::uint64_t> conns_version_{0};  // bumped when conns_ changes: the leader copies it again
    // The leader's copy of the connections (whoever leads uses it, one at a
    // time), kept from lead to lead while conns_version_ stays.
    std::vector<std::shared_ptr<Connection>> lead_conns_;
    std::uint64_t lead_version_ = ~std::uint64_t{0};
    std::vector<std::uint8_t> lead_payload_room_;  // the last frame's payload storage, for the next (the leader's)
    Leader leader_ = Leader::None;
    bool leader_asleep_ = false;  // the leader is in (or about to enter) poll(): wake() rings the eventfd
    std::uint64_t leads_ = 0;  // times a procedure took the lead (the reader waits for a quiet grace period)
    // Under mutex_; wake() from the leader's own thread reads it without.
    std::atomic<int> followers_{0};
    std::atomic<int> want_lead_{0};  // procedures asking the reader thread to step aside
    std::atomic<bool> closing_{false};
    std::thread reader_;
};

}  // namespace polymer::cluster
