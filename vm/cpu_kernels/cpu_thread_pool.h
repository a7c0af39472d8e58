// A persistent pool of worker threads for the CPU backend. Work comes as a
// Job: a function run once for every chunk number in [0, chunks). Any thread
// may run any chunk, each exactly once; a thread that waits for a job runs
// its remaining chunks itself instead of sleeping, so a pool of N workers
// plus the waiting thread keeps N + 1 cores busy. Built from std::jthread,
// std::counting_semaphore and std::latch.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

namespace polymer {

class CpuJob {
public:
    CpuJob(std::uint32_t chunks, std::function<void(std::uint32_t)> run);

    // Runs chunks nobody has taken yet; returns when none is left to take
    // (others may still be running theirs).
    void help();
    // help(), then blocks until every chunk has finished. May be called
    // again (and from several threads); it returns at once when done.
    void wait();
    bool untaken_chunks() const { return next_.load(std::memory_order_relaxed) < chunks_; }

private:
    std::function<void(std::uint32_t)> run_;
    const std::uint32_t chunks_;
    std::atomic<std::uint32_t> next_{0};
    std::latch finished_;
};

class CpuThreadPool {
public:
    explicit CpuThreadPool(unsigned workers);
    // Stops the workers; jobs still queued are left to whoever waits on them.
    ~CpuThreadPool();
    CpuThreadPool(const CpuThreadPool&) = delete;
    CpuThreadPool& operator=(const CpuThreadPool&) = delete;

    unsigned workers() const { return static_cast<unsigned>(threads_.size()); }
    // Queues the job and wakes up to `wake` workers (at most one per chunk).
    void submit(std::shared_ptr<CpuJob> job, unsigned wake);

private:
    void work(std::stop_token stop);
    std::shared_ptr<CpuJob> next_job();

    std::mutex mutex_;
    std::deque<std::shared_ptr<CpuJob>> queue_;  // oldest first
    std::counting_semaphore<> wake_{0};
    std::vector<std::jthread> threads_;
};

}  // namespace polymer
