// A Backend made on first use, on the thread that first uses it: a
// procedure spawned onto a node gets its Machine on the node's io thread,
// but opening a Vulkan device takes tens of milliseconds there, so the
// device is opened by the procedure's own thread when it first runs a
// vector op or a kernel (cluster/away_host.cpp).
//
// Until then nothing is made: a region forgotten or fenced before the first
// op has nothing to forget, and the backend to come must not place regions
// (places_regions() is false).
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "vm/backend.h"

namespace polymer {

class DeferredBackend final : public Backend {
public:
    // `make` runs once, on the first use; it must not return null.
    explicit DeferredBackend(std::function<std::unique_ptr<Backend>()> make) : make_(std::move(make)) {}

    std::string_view name() const override { return get().name(); }
    Ticket submit(const VectorOpArgs& args) override { return get().submit(args); }
    Ticket submit(const KernelLaunch& launch) override { return get().submit(launch); }
    VectorOpResult wait(Ticket ticket) override { return get().wait(ticket); }
    void wait_all() override {
        if (made()) get().wait_all();
    }
    bool run_inline(const VectorOpArgs& args, VectorOpResult& result) override { return get().run_inline(args, result); }
    bool run_inline(const KernelLaunch& launch, VectorOpResult& result) override { return get().run_inline(launch, result); }
    std::optional<RoundsResult> run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) override {
        return get().run_rounds(body, rounds);
    }
    std::optional<BackendCapabilities> capabilities() const override { return get().capabilities(); }
    BackendStats stats() const override { return made() ? get().stats() : BackendStats{}; }
    bool runs_on_host_cores(const KernelLaunch& launch) const override { return get().runs_on_host_cores(launch); }
    bool folds_groups(const KernelLaunch& launch) const override { return get().folds_groups(launch); }
    void bring_home(Region& r, std::uint64_t begin, std::uint64_t end, HomeAccess access) override {
        if (made()) get().bring_home(r, begin, end, access);
    }
    void forget_region(Region& r) override {
        if (made()) get().forget_region(r);
    }
    std::vector<ResidentSlice> residency(const Region& r) const override { return made() ? get().residency(r) : std::vector<ResidentSlice>{}; }

private:
    bool made() const {
        std::lock_guard lock(mutex_);
        return backend_ != nullptr;
    }
    Backend& get() const {
        std::lock_guard lock(mutex_);
        if (!backend_) backend_ = make_();
        return *backend_;
    }

    std::function<std::unique_ptr<Backend>()> make_;
    mutable std::mutex mutex_;
    mutable std::unique_ptr<Backend> backend_;
};

}  // namespace polymer
