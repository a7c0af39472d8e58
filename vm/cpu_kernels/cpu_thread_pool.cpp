#include "vm/cpu_kernels/cpu_thread_pool.h"

#include <algorithm>

namespace polymer {

CpuJob::CpuJob(std::uint32_t chunks, std::function<void(std::uint32_t)> run)
    : run_(std::move(run)), chunks_(chunks), finished_(chunks) {}

void CpuJob::help() {
    for (;;) {
        const std::uint32_t i = next_.fetch_add(1, std::memory_order_relaxed);
        if (i >= chunks_) return;
        run_(i);
        finished_.count_down();  // releases: the chunk's writes happen before wait() returns
    }
}

void CpuJob::wait() {
    help();
    finished_.wait();
}

CpuThreadPool::CpuThreadPool(unsigned workers) {
    threads_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this](std::stop_token st) { work(st); });
}

CpuThreadPool::~CpuThreadPool() {
    for (auto& t : threads_) t.request_stop();
    wake_.release(static_cast<std::ptrdiff_t>(threads_.size()));
    threads_.clear();  // joins
}

void CpuThreadPool::submit(std::shared_ptr<CpuJob> job, unsigned wake) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake = std::min(wake, workers());
    if (wake > 0) wake_.release(static_cast<std::ptrdiff_t>(wake));
}

// The oldest job with a chunk left to take; finished ones leave the queue.
std::shared_ptr<CpuJob> CpuThreadPool::next_job() {
    std::lock_guard lock(mutex_);
    while (!queue_.empty() && !queue_.front()->untaken_chunks()) queue_.pop_front();
    return queue_.empty() ? nullptr : queue_.front();
}

void CpuThreadPool::work(std::stop_token stop) {
    for (;;) {
        wake_.acquire();
        if (stop.stop_requested()) return;
        while (auto job = next_job()) job->help();
    }
}

}  // namespace polymer
