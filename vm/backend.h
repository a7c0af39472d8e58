// Where long operations run. The interpreter submits a vector op or a kernel
// launch and gets a ticket; it asks for the result with wait(). The
// in-order machine waits at once; the out-of-order engine keeps going and
// waits only when a later instruction needs the result. Operands are checked
// by the VM before submit (check_vector_op), so a backend never traps.
//
// Ordering contract: a backend may run the ops of tickets in flight at the
// same time and in any order. The caller (the VM) never submits an op that
// reads or writes a region an earlier op still in flight writes, or writes
// a region such an op reads, without waiting for that ticket first; ops on
// independent regions may overlap freely.
#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <memory>
#include <string_view>
#include <span>
#include <utility>
#include <vector>

#include "vm/kernel_launch.h"
#include "vm/vector_op.h"

namespace polymer {

class CpuThreadPool;  // vm/cpu_kernels/cpu_thread_pool.h
struct Region;        // vm/region_store.h

// What the home is about to do with region elements (Backend::bring_home).
enum class HomeAccess : std::uint8_t { Read, Write };

// Where the current values of a run of a region's elements are
// (Backend::residency; `info regions`, --stats).
struct ResidentSlice {
    std::uint64_t begin = 0, end = 0;  // elements
    std::string holders;               // "home", "node box2 (127.0.0.1:7447)", "home, box2 (...)", "lost"
};

using Ticket = std::uint64_t;

// Host<->device copies a backend has made so far (for --stats). A backend
// that works on the regions in place (the CPU) moves nothing: zeros are its
// real answer, not a missing one.
struct BackendStats {
    std::uint64_t bytes_uploaded = 0;    // regions -> device buffers
    std::uint64_t bytes_downloaded = 0;  // device buffers -> regions
};

// What a backend offers the kernels it runs, for `.requires` (docs/kernels.md).
struct BackendCapabilities {
    bool gpu = false;         // kernels run on a GPU-class device (discrete or integrated)
    std::uint64_t memory = 0;  // bytes of memory on the machine that runs them
    std::string where;         // for messages: "the CPU backend", "Vulkan device NAME (cpu)"
};

// The physical memory of this machine, in bytes.
std::uint64_t host_memory();

// What Backend::run_rounds did: every round (rounds_done == the rounds
// asked), or the rounds before one whose launch `launch` broke the kernel
// contract or was stopped by Ctrl-C (`fault`: that launch's, as its wait()
// would have said). A round's launches after the faulting one did not run.
struct RoundsResult {
    std::uint64_t rounds_done = 0;
    std::uint32_t launch = 0;  // in the body; meaningful only with a fault
    KernelFault fault;
    // The launches that ran (the faulting one included), of a body of
    // `body` launches asked to run `rounds` rounds.
    std::uint64_t launches_run(std::uint64_t body, std::uint64_t rounds) const {
        return fault ? rounds_done * body + launch + 1 : rounds * body;
    }
};

class Backend;

// Rounds run the plain way, on any backend: each launch of each round
// submitted and waited for in turn (or run inline), Ctrl-C looked at before
// each. What a node does with the rounds its home sends (cluster/chunk_runner.cpp).
RoundsResult run_rounds_one_by_one(Backend& backend, std::span<const KernelLaunch> body, std::uint64_t rounds);

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string_view name() const = 0;
    // Starts the op. The regions in `args` must stay alive and untouched by
    // anyone else until the ticket is waited for.
    virtual Ticket submit(const VectorOpArgs& args) = 0;
    // Starts a kernel launch (see vm/kernel_launch.h); same rules for the
    // buffers. Its wait() result holds the launch's fault, if a lane broke
    // the kernel contract (vm/kernel_fault.h), and nothing else.
    virtual Ticket submit(const KernelLaunch& launch) = 0;
    // Blocks until the op has finished and returns its result (reductions).
    // Each ticket is waited for at most once.
    virtual VectorOpResult wait(Ticket ticket) = 0;
    // Blocks until every op submitted so far has finished (`wait`, `fence`, `halt`).
    virtual void wait_all() = 0;
    // Runs the op on the calling thread now, if this backend would have run
    // it there anyway (small work, nothing in flight that it overlaps), and
    // returns true; false when it did nothing and the op must be submitted.
    // Saves a ticket's bookkeeping for the many tiny ops of scalar loops;
    // the executors try it first.
    virtual bool run_inline(const VectorOpArgs& /*args*/, VectorOpResult& /*result*/) { return false; }
    virtual bool run_inline(const KernelLaunch& /*launch*/, VectorOpResult& /*result*/) { return false; }
    // A loop of launches (vm/launch_rounds.h): runs `rounds` rounds of
    // `body`, in order (every launch of a round after the round's earlier
    // launches and the earlier rounds, as if each were submitted and waited
    // for in turn), and returns when all are done or one faults; or, before
    // doing anything, nullopt: this backend gains nothing from the rounds
    // over the loop run word by word, which the VM then does (the default).
    // The VM calls it with nothing in flight and the same launches every
    // round. The cluster takes one element-wise launch: each node runs every
    // round of its claims where their slices are, with one round trip, not
    // one per launch; the CPU backend an element-wise body, a cache-sized
    // piece of lanes through every round at a time. With a fault, the regions the rounds write are left as
    // they happened to be (a faulting launch's are anyway: other lanes ran);
    // the VM reports the fault and stops.
    virtual std::optional<RoundsResult> run_rounds(std::span<const KernelLaunch> /*body*/, std::uint64_t /*rounds*/) {
        return std::nullopt;
    }
    // What a kernel's `.requires` is checked against before a launch runs
    // (Machine::launch_args); nullopt for a backend that places each launch
    // by its requirements itself (the cluster's).
    virtual std::optional<BackendCapabilities> capabilities() const { return std::nullopt; }
    virtual BackendStats stats() const { return {}; }
    // Whether `launch` would run on this machine's cores through the CPU
    // backend, where a launch costs microseconds: kloop then runs a loop
    // with reductions as several launches whose partials stay in the cache
    // (vm/loop_kernel.cpp).
    virtual bool runs_on_host_cores(const KernelLaunch& /*launch*/) const { return false; }
    // Whether the backend that would run `launch` honours its group_folds
    // (vm/kernel_launch.h): then kloop folds a few values a group of lanes
    // rather than a partial a lane.
    virtual bool folds_groups(const KernelLaunch& /*launch*/) const { return false; }

    // Residency: a backend that keeps region values on other machines (the
    // cluster's; docs/cluster.md, "Data lives on the nodes") fences them in
    // the Region (region_store.h). The VM calls bring_home before it reads
    // (or writes) elements [begin, end) of `r` at home inside a fence; the
    // backend makes them current at home (Write: and the home's only copy)
    // and narrows the fences. It may bring more (the whole slice holding
    // them). Called on the VM's thread, never while an op in flight writes
    // `r` (the ordering contract). Backends that keep nothing elsewhere never
    // set a fence, so this is never called on them.
    virtual void bring_home(Region& /*r*/, std::uint64_t /*begin*/, std::uint64_t /*end*/, HomeAccess /*access*/) {}
    // `r`'s storage is about to be replaced or freed (alloc, free): values
    // kept elsewhere are dropped, and its fences cleared.
    virtual void forget_region(Region& /*r*/) {}
    // Whether it keeps the values of distributed regions (Region::distributed)
    // elsewhere from the start, so the home reserves only their address space
    // (RegionStore::create): a cluster with nodes does.
    virtual bool places_regions() const { return false; }
    // A distributed region got fresh storage while places_regions() (the
    // store was built, or `alloc` replaced it): the backend places its
    // elements, all zeros, on its nodes and fences the home's copy.
    virtual void place_region(Region& /*r*/) {}
    // Where `r`'s element values are, in runs (empty: all at home).
    virtual std::vector<ResidentSlice> residency(const Region& /*r*/) const { return {}; }
};

// Vector ops and kernels on this machine's cores (vm/cpu_kernels/). Small
// work runs inline inside submit() on the calling thread (no other thread is
// woken); larger work goes to a persistent thread pool, created at the first
// such submit, and submit() returns at once. wait(ticket) runs the ticket's
// remaining chunks on the waiting thread too, then returns its result.
// Several tickets may be in flight at once. The caller keeps the ordering
// contract above; as a safety net submit() also waits for any earlier ticket
// still in flight whose memory overlaps the new op's (one writes what the
// other reads or writes), so two ops on one region never run out of order.
// submit/wait/wait_all may be called from several threads.
struct CpuBackendOptions {
    // Threads that run work: 0 = std::thread::hardware_concurrency(). The pool
    // has threads - 1 workers; the thread that waits is the last one. 1 runs
    // everything inline.
    unsigned threads = 0;
    // Launches of fewer lanes run inline; 0 = kDefaultInlineLanes.
    std::uint64_t inline_lanes = 0;
    // Vector ops over fewer elements (the largest operand) run inline; 0 =
    // kDefaultInlineElements. A vector op runs on one thread either way.
    std::uint64_t inline_elements = 0;
    // Workers shared with other CpuBackends (polymer-node: one pool for all
    // its chunk threads, not a pool of `cores` threads each). Null: the
    // backend makes its own at its first pooled submit. When set, `threads`
    // is the pool's workers + 1.
    std::shared_ptr<CpuThreadPool> shared_pool;
};

class CpuBackend final : public Backend {
public:
    // Measured on the development VM (docs/kernels.md, "The CPU backend").
    static constexpr std::uint64_t kDefaultInlineLanes = 32768;
    static constexpr std::uint64_t kDefaultInlineElements = 1 << 18;

    explicit CpuBackend(CpuBackendOptions options = {});
    ~CpuBackend() override;  // waits for everything in flight
    CpuBackend(const CpuBackend&) = delete;
    CpuBackend& operator=(const CpuBackend&) = delete;

    std::string_view name() const override { return "cpu"; }
    Ticket submit(const VectorOpArgs& args) override;
    Ticket submit(const KernelLaunch& launch) override;
    VectorOpResult wait(Ticket ticket) override;
    // Drops the results of tickets not waited for, as VulkanBackend does.
    void wait_all() override;
    bool run_inline(const VectorOpArgs& args, VectorOpResult& result) override;
    bool run_inline(const KernelLaunch& launch, VectorOpResult& result) override;
    // Rounds of an element-wise body run a piece of lanes at a time, this many
    // bytes of their element-wise buffers: on the nodes of the resident
    // benchmark 256 KiB was the fastest of 64 KiB to 4 MiB (docs/benchmarks.md,
    // "Resident data"); other bodies are declined.
    static constexpr std::uint64_t kRoundsPieceBytes = 256 * 1024;
    std::optional<RoundsResult> run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) override;
    bool runs_on_host_cores(const KernelLaunch&) const override { return true; }
    // Wide kernels (the only kind kloop makes) fold in the interpreter, over
    // enough lanes for a group's kFoldWays ways to fit a lane's room each.
    bool folds_groups(const KernelLaunch& launch) const override {
        return launch.kernel != nullptr && launch.kernel->wide && launch.count >= kFoldWays;
    }
    std::optional<BackendCapabilities> capabilities() const override {
        return BackendCapabilities{false, host_memory(), "the CPU backend"};
    }

    unsigned threads() const;
    // Tickets submitted so far that went to the pool (the rest ran inline).
    std::uint64_t pooled_submits() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace polymer
