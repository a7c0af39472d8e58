// CpuBackend: tickets, the inline-or-pool decision, the decode cache and the
// overlap safety net. The kernel work itself is in vm/cpu_kernels/.
#include "vm/backend.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include "vm/cpu_kernels/block_interpreter.h"
#include "vm/cpu_kernels/cpu_thread_pool.h"
#include "vm/cpu_kernels/decoded_kernel.h"
#include "vm/launch_rounds.h"

namespace polymer {
namespace {

// A byte range an op reads or writes.
struct Span {
    const std::byte* begin = nullptr;
    const std::byte* end = nullptr;
    bool overlaps(const Span& o) const { return begin < o.end && o.begin < end; }
};

struct Footprint {
    std::vector<Span> reads, writes;
    void add(const void* data, std::uint64_t bytes, bool written) {
        if (data == nullptr || bytes == 0) return;
        const auto* p = static_cast<const std::byte*>(data);
        (written ? writes : reads).push_back({p, p + bytes});
    }
    bool conflicts(const Footprint& o) const {
        auto any = [](const std::vector<Span>& x, const std::vector<Span>& y) {
            for (const Span& a : x)
                for (const Span& b : y)
                    if (a.overlaps(b)) return true;
            return false;
        };
        return any(writes, o.writes) || any(writes, o.reads) || any(reads, o.writes);
    }
};

Footprint footprint_of(const VectorOpArgs& a) {
    Footprint f;
    for (const RegionView* v : {&a.a, &a.b, &a.c}) f.add(v->data, v->length * elem_size(v->type), false);
    f.add(a.dst.data, a.dst.length * elem_size(a.dst.type), true);
    return f;
}

Footprint footprint_of(const KernelLaunch& l) {
    Footprint f;
    for (std::size_t i = 0; i < l.args.size(); ++i) {
        // A parameter the kernel does not describe counts as written.
        const bool written = l.kernel == nullptr || i >= l.kernel->params.size() ||
                             l.kernel->params[i].access != Access::In;
        const std::size_t size = l.kernel != nullptr && i < l.kernel->params.size() ? elem_size(l.kernel->params[i].type) : 4;
        f.add(l.args[i].data, l.args[i].length * size, written);
    }
    return f;
}

std::uint64_t largest_operand(const VectorOpArgs& a) {
    return std::max({a.dst.length, a.a.length, a.b.length, a.c.length});
}

// What a ticket still holds: the pool job (null when it ran inline), where
// its result lands, and its memory for the overlap check.
struct InFlight {
    std::shared_ptr<CpuJob> job;
    std::shared_ptr<VectorOpResult> result;
    Footprint memory;
    std::shared_ptr<LaunchFaults> faults;  // a pooled launch's: read into the result once the job is done
};

// A launch the pool runs, kept alive by the job: the caller's KernelLaunch
// may be gone as soon as submit returns.
struct PooledLaunch {
    KernelLaunch launch;
    std::shared_ptr<const DecodedKernel> kernel;
    std::uint64_t chunk_lanes = 0;
};

}  // namespace

struct CpuBackend::State {
    unsigned threads = 1;
    std::uint64_t inline_lanes = 0, inline_elements = 0;

    std::mutex mutex;  // everything below
    Ticket next = 1;
    std::unordered_map<Ticket, InFlight> tickets;
    std::unordered_map<const Kernel*, std::shared_ptr<const DecodedKernel>> decoded;
    std::shared_ptr<CpuThreadPool> pool;  // shared, or made at the first pooled submit
    std::uint64_t pooled = 0;

    // The decoded form of the launch's kernel, decoded at most once per
    // kernel (the whole kernel is compared too, so a new kernel at an old
    // address is decoded afresh). Called with the mutex held.
    std::shared_ptr<const DecodedKernel> decode(const Kernel& k) {
        auto& slot = decoded[&k];
        if (!slot || slot->source != k) {
            if (decoded.size() > 1024) {  // a runaway cache: start over
                decoded.clear();
                return decode(k);
            }
            slot = std::make_shared<const DecodedKernel>(decode_kernel(k));
        }
        return slot;
    }

    CpuThreadPool& the_pool() {
        if (!pool) pool = std::make_shared<CpuThreadPool>(threads - 1);
        return *pool;
    }

    // Waits (helping) for every ticket in flight whose memory overlaps `f`;
    // their results stay for wait(). Called with the mutex held; the jobs do
    // not take it.
    void wait_for_overlaps(const Footprint& f) {
        for (auto& [t, op] : tickets)
            if (op.job && f.conflicts(op.memory)) op.job->wait();
    }

    Ticket add(InFlight op) {
        const Ticket t = next++;
        tickets.emplace(t, std::move(op));
        return t;
    }
};

CpuBackend::CpuBackend(CpuBackendOptions options) : state_(std::make_unique<State>()) {
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    state_->threads = options.threads == 0 ? hw : options.threads;
    if (options.shared_pool) {
        state_->pool = std::move(options.shared_pool);
        state_->threads = state_->pool->workers() + 1;
    }
    state_->inline_lanes = options.inline_lanes == 0 ? kDefaultInlineLanes : options.inline_lanes;
    state_->inline_elements = options.inline_elements == 0 ? kDefaultInlineElements : options.inline_elements;
}

CpuBackend::~CpuBackend() { wait_all(); }

unsigned CpuBackend::threads() const { return state_->threads; }

std::uint64_t CpuBackend::pooled_submits() const {
    std::lock_guard lock(state_->mutex);
    return state_->pooled;
}

std::uint64_t host_memory() {
    return static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

Ticket CpuBackend::submit(const VectorOpArgs& args) {
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    Footprint memory = footprint_of(args);
    s.wait_for_overlaps(memory);
    auto result = std::make_shared<VectorOpResult>();
    if (s.threads <= 1 || largest_operand(args) < s.inline_elements) {
        *result = run_vector_op_cpu(args);
        return s.add({nullptr, std::move(result), {}});
    }
    auto job = std::make_shared<CpuJob>(1, [args, result](std::uint32_t) { *result = run_vector_op_cpu(args); });
    s.the_pool().submit(job, 1);
    ++s.pooled;
    return s.add({std::move(job), std::move(result), std::move(memory)});
}

// What submit does for inline work (under the lock, as there), without a
// ticket: only while no op is in flight, so there is no overlap to wait for.
bool CpuBackend::run_inline(const VectorOpArgs& args, VectorOpResult& result) {
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    if (!s.tickets.empty() || (s.threads > 1 && largest_operand(args) >= s.inline_elements)) return false;
    result = run_vector_op_cpu(args);
    return true;
}

bool CpuBackend::run_inline(const KernelLaunch& launch, VectorOpResult& result) {
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    if (!s.tickets.empty()) return false;
    result = {};
    if (launch.kernel == nullptr || launch.end <= launch.begin) return true;
    if (s.threads > 1 && launch.end - launch.begin >= s.inline_lanes) return false;
    LaunchFaults faults;
    run_kernel_blocks(*s.decode(*launch.kernel), launch, launch.begin, launch.end, faults);
    result.fault = faults.fault();
    return true;
}

Ticket CpuBackend::submit(const KernelLaunch& launch) {
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    if (launch.kernel == nullptr || launch.end <= launch.begin) return s.add({});
    Footprint memory = footprint_of(launch);
    s.wait_for_overlaps(memory);
    std::shared_ptr<const DecodedKernel> kernel = s.decode(*launch.kernel);
    const std::uint64_t lanes = launch.end - launch.begin;
    if (s.threads <= 1 || lanes < s.inline_lanes) {
        LaunchFaults faults;
        run_kernel_blocks(*kernel, launch, launch.begin, launch.end, faults);
        auto result = std::make_shared<VectorOpResult>();
        result->fault = faults.fault();
        return s.add({nullptr, std::move(result), {}, nullptr});
    }
    // Chunks of whole blocks, about 8 per thread so a thread that is slowed
    // down (the machine is shared) does not hold the others up for long.
    auto work = std::make_shared<PooledLaunch>();
    work->launch = launch;
    work->kernel = std::move(kernel);
    constexpr std::uint64_t block = std::max(kBlockLanes, kWideBlockLanes);  // whole blocks of either width
    const std::uint64_t per_chunk = std::max<std::uint64_t>(lanes / (8ull * s.threads), 16ull * kBlockLanes);
    work->chunk_lanes = (per_chunk + block - 1) / block * block;
    const auto chunks = static_cast<std::uint32_t>((lanes + work->chunk_lanes - 1) / work->chunk_lanes);
    auto faults = std::make_shared<LaunchFaults>();
    auto job = std::make_shared<CpuJob>(chunks, [work, faults](std::uint32_t i) {
        const KernelLaunch& l = work->launch;
        const std::uint64_t first = l.begin + i * work->chunk_lanes;
        run_kernel_blocks(*work->kernel, l, first, std::min(l.end, first + work->chunk_lanes), *faults);
    });
    s.the_pool().submit(job, chunks);
    ++s.pooled;
    return s.add({std::move(job), std::make_shared<VectorOpResult>(), std::move(memory), std::move(faults)});
}

// A body whose rounds may run by pieces (vm/launch_rounds.h) runs each piece
// of lanes through every round while its elements are still in the core's
// cache: one pass over memory instead of one a launch. Pieces run on the
// pool, as a launch's chunks do. Any other body is declined (word by word
// loses nothing here: a launch costs the CPU microseconds).
std::optional<RoundsResult> CpuBackend::run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) {
    if (!rounds_run_by_pieces(body) || body[0].end <= body[0].begin) return std::nullopt;
    wait_all();  // the rounds' regions are theirs alone from here
    State& s = *state_;
    std::vector<std::shared_ptr<const DecodedKernel>> kernels;
    {
        std::lock_guard lock(s.mutex);
        for (const KernelLaunch& l : body) kernels.push_back(s.decode(*l.kernel));
    }
    const std::uint64_t first = body[0].begin, lanes = body[0].end - body[0].begin;
    constexpr std::uint64_t block = std::max(kBlockLanes, kWideBlockLanes);
    const std::uint64_t per_lane = std::max<std::uint64_t>(1, element_bytes_per_lane(body));
    const std::uint64_t piece = std::max<std::uint64_t>(block, kRoundsPieceBytes / per_lane / block * block);
    const auto pieces = static_cast<std::uint32_t>((lanes + piece - 1) / piece);

    // Each piece stops at its first fault; no piece starts a round after the
    // earliest round one faulted in, and every piece runs that round, so the
    // fault reported is the one the rounds run in turn would have met.
    struct Outcome {
        std::uint64_t round = 0;
        std::uint32_t launch = 0;
        KernelFault fault;
    };
    std::vector<Outcome> outcomes(pieces);
    std::atomic<std::uint64_t> earliest{std::numeric_limits<std::uint64_t>::max()};
    auto run_piece = [&](std::uint32_t i) {
        const std::uint64_t b = first + i * piece, e = std::min(first + lanes, b + piece);
        for (std::uint64_t k = 0; k < rounds && k <= earliest.load(std::memory_order_relaxed); ++k)
            for (std::uint32_t j = 0; j < body.size(); ++j) {
                LaunchFaults faults;
                run_kernel_blocks(*kernels[j], body[j], b, e, faults);
                if (const KernelFault f = faults.fault()) {
                    outcomes[i] = {k, j, f};
                    std::uint64_t seen = earliest.load(std::memory_order_relaxed);
                    while (k < seen && !earliest.compare_exchange_weak(seen, k, std::memory_order_relaxed)) {}
                    return;
                }
            }
    };
    if (s.threads <= 1 || pieces == 1) {
        for (std::uint32_t i = 0; i < pieces; ++i) run_piece(i);
    } else {
        auto job = std::make_shared<CpuJob>(pieces, run_piece);
        {
            std::lock_guard lock(s.mutex);
            s.the_pool().submit(job, pieces);
            ++s.pooled;
        }
        job->wait();
    }
    RoundsResult r{rounds, 0, {}};
    for (const Outcome& o : outcomes) {
        if (!o.fault) continue;
        if (o.round < r.rounds_done || (o.round == r.rounds_done && o.launch < r.launch))
            r = {o.round, o.launch, o.fault};
        else if (o.round == r.rounds_done && o.launch == r.launch)
            merge_fault(r.fault, o.fault);
    }
    return r;
}


// The ticket stays listed until its job is done, so a submit from another
// thread meanwhile still sees its memory.
VectorOpResult CpuBackend::wait(Ticket ticket) {
    State& s = *state_;
    std::shared_ptr<CpuJob> job;
    {
        std::lock_guard lock(s.mutex);
        auto it = s.tickets.find(ticket);
        if (it == s.tickets.end()) return {};  // already waited for (or never submitted)
        job = it->second.job;
    }
    if (job) job->wait();
    std::lock_guard lock(s.mutex);
    auto it = s.tickets.find(ticket);
    if (it == s.tickets.end()) return {};  // another thread's wait or wait_all took it
    std::shared_ptr<VectorOpResult> result = std::move(it->second.result);
    if (result && it->second.faults) result->fault = it->second.faults->fault();
    s.tickets.erase(it);
    return result ? *result : VectorOpResult{};
}

void CpuBackend::wait_all() {
    State& s = *state_;
    std::vector<std::pair<Ticket, std::shared_ptr<CpuJob>>> all;
    {
        std::lock_guard lock(s.mutex);
        for (auto& [t, op] : s.tickets) all.emplace_back(t, op.job);
    }
    for (auto& [t, job] : all)
        if (job) job->wait();
    std::lock_guard lock(s.mutex);
    for (auto& [t, job] : all) s.tickets.erase(t);
}

}  // namespace polymer
