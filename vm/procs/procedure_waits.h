// How the procedures a home spawned onto a node wait for what they wait for
// (AwayProcedure: the home's answers, their channels' keepers' frames). The
// plain way (PlainWaits) spins a moment, then sleeps on a condition variable
// until whoever brought the answer wakes it. A node whose channel frames
// come on connections of their own lets the waiting threads read those
// connections themselves (cluster/channel_inbox.h): a frame then wakes only
// the thread that waits for it, not an io thread first and the waiter next.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace polymer {

class ProcedureWaits {
public:
    virtual ~ProcedureWaits() = default;
    // Returns once `ready()` is true. `ready` is called often, from this
    // thread only, and must not block (it reads atomics).
    virtual void wait(const std::function<bool()>& ready) = 0;
    // Something a waiter waits for has come (its ready() may be true now).
    // Any thread; after the thing itself is in place.
    virtual void wake() = 0;

    // How long a waiter looks for its answer awake before it sleeps: a
    // round trip on a LAN is tens of microseconds, and a sleep and wake-up
    // costs about as much again (docs/protocol.md, "Threads").
    static constexpr auto kSpin = std::chrono::microseconds(50);
};

class PlainWaits final : public ProcedureWaits {
public:
    void wait(const std::function<bool()>& ready) override {
        const auto spin_until = std::chrono::steady_clock::now() + kSpin;
        while (!ready() && std::chrono::steady_clock::now() < spin_until) std::this_thread::yield();
        std::unique_lock lock(mutex_);
        ++sleepers_;
        while (!ready()) changed_.wait(lock);  // wake() locks after the answer is in: none is missed
        --sleepers_;
    }
    void wake() override {
        std::lock_guard lock(mutex_);
        if (sleepers_ > 0) changed_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int sleepers_ = 0;
};

}  // namespace polymer
