// The ClusterBackend's public methods, its dispatcher thread and the lineage
// glue; the rest of it is in backend_*.cpp (cluster_backend_impl.h).
#include "cluster/cluster_backend_impl.h"
#include "vm/launch_rounds.h"

namespace polymer::cluster {

void ClusterBackend::Impl::log_run(const Participant* p, const KernelLaunch& launch, std::uint64_t b, std::uint64_t e,
                                   Clock::time_point start, bool backup, ChunkOutcome outcome, std::uint64_t bytes_out, std::uint64_t bytes_in) {
    if (!chunk_log.enabled()) return;
    std::uint32_t who = ChunkRun::kWholeAtHome;
    for (std::size_t i = 0; i < participants.size(); ++i)
        if (participants[i].get() == p) who = static_cast<std::uint32_t>(i);
    chunk_log.add(ChunkRun{who, launch_seq, launch.kernel->name, b, e, start, Clock::now(), bytes_out, bytes_in, backup, outcome});
}

void ClusterBackend::Impl::log_halo(const Participant& p, const HaloNote& h, Clock::time_point sent) {
    if (!chunk_log.enabled()) return;
    for (std::size_t i = 0; i < participants.size(); ++i)
        if (participants[i].get() == &p)
            chunk_log.add(ChunkRun{static_cast<std::uint32_t>(i), launch_seq, h.what, h.begin, h.end, sent, Clock::now(), 0, 0, false,
                                   ChunkOutcome::Halo});
}

HolderSet ClusterBackend::Impl::next_holder_bit() {
    const HolderSet b = next_next_bit;
    if (b != kZeros && b != 0) next_next_bit <<= 1;
    return b == kZeros ? 0 : b;
}

BufferRef ClusterBackend::Impl::buffer_ref(const void* key, const BufferInfo& info) {
    return BufferRef{const_cast<void*>(key), info.length, info.region ? info.region->type : ElemType::U8};
}

Result<std::size_t> ClusterBackend::Impl::log_launch(const KernelLaunch& launch) {
    bool any = false;
    for (std::size_t i = 0; i < launch.args.size(); ++i) any = any || resident(launch, i);
    if (!any) return Error{""};
    auto n = lineage.record(launch, rounds);
    if (!n) return Error{cat("kernel '", launch.kernel->name, "': ", n.error())};
    std::lock_guard lock(residency_mutex);
    for (std::size_t i = 0; i < launch.args.size(); ++i)
        if (resident(launch, i)) directory.mark_logged_input(launch.args[i].data, 0, launch.args[i].length, true);
    return n;
}

void ClusterBackend::Impl::restart_log_if_all_home() {
    std::lock_guard lock(residency_mutex);
    if (lineage.launches() == 0 || !directory.all_at_home()) return;
    lineage.restart();
    directory.clear_logged_inputs();
    for (auto& [key, info] : buffers) set_fences(key);
}

std::optional<std::string> ClusterBackend::Impl::recover_lost() {
    std::lock_guard recovery(recovery_mutex);
    std::optional<std::size_t> as_found_by;
    {
        std::lock_guard lock(chunk_mutex);
        if (in_launch) as_found_by = launch_record;
        else if (vector_record) as_found_by = vector_record;
    }
    std::vector<LostElements> lost;
    {
        std::lock_guard lock(residency_mutex);
        directory.each([&](const void* key, const std::vector<DirectoryRun>& runs) {
            for (const DirectoryRun& r : runs)
                if (r.holders == 0) lost.push_back(LostElements{buffer_ref(key, buffers[key]), r.begin, r.end});
        });
    }
    if (lost.empty()) return std::nullopt;  // another thread recovered them
    {
        // The replay runs at home: a distributed region's lost part must fit there.
        std::lock_guard lock(residency_mutex);
        for (const LostElements& l : lost)
            if (auto err = home_takes(l.buffer.data, l.begin, l.end)) return cat("recomputing region values lost with a node: ", *err);
    }
    auto done = lineage.recompute(lost, as_found_by);
    if (!done) return cat("recomputing region values lost with a node: ", done.error());
    std::lock_guard lock(residency_mutex);
    for (const LostElements& l : lost) {
        directory.set(l.buffer.data, l.begin, l.end, kHomeMemory);
        set_fences(l.buffer.data);
    }
    options.say(LogLevel::Info, cat("recomputed ", done.value().bytes_restored, " bytes lost with a node (", done.value().launches,
                                    " launches replayed over ", done.value().lanes, " lanes)"));
    return std::nullopt;
}

void ClusterBackend::Impl::wait_idle() {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return queue.empty() && !running; });
}

void ClusterBackend::Impl::run_dispatcher() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) return;
            job = std::move(queue.front());
            queue.pop_front();
            running = true;
        }
        std::string error = run_launch(job.launch, job.rounds);
        std::lock_guard lock(mutex);
        running = false;
        finished[job.ticket] = Outcome{std::move(error), launch_fault, fault_round};
        changed.notify_all();
    }
}


ClusterBackend::ClusterBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
    impl_->dispatcher = std::thread([i = impl_.get()] { i->run_dispatcher(); });
}

ClusterBackend::~ClusterBackend() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->changed.notify_all();
    if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
}

void ClusterBackend::keep_local(std::unique_ptr<Backend> local) { impl_->owned_local = std::move(local); }

Result<std::unique_ptr<ClusterBackend>> ClusterBackend::create(const Module& module, Backend& local, ClusterOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->local = &local;
    if (auto ticket = random_nonce()) impl->peer_ticket = ticket.value();
    impl->module_pbc = write_module(module);
    impl->module_hash = sha256(impl->module_pbc);
    // The home's memory left for distributed regions: its --max-memory less
    // the other regions, which it allocates whole.
    if (options.home_memory != 0) {
        std::uint64_t others = 0;
        for (const RegionDecl& d : module.regions)
            if (!d.distributed) others += d.length * elem_size(d.type);
        impl->home_budget = options.home_memory > others ? options.home_memory - others : 1;
    }
    if (options.local_work) {
        auto home = std::make_unique<Participant>();
        home->stats.name = "home";
        home->bit = kHomeMemory;  // its chunks work on the home's memory
        home->caps.throughput = options.home_throughput;  // 0: measured when it first shares a launch
        impl->participants.push_back(std::move(home));
    }
    if (!options.local_work && options.nodes.empty() && options.listen_host.empty())
        return Error{"no nodes and --no-local-work: nothing can run kernels"};
    for (std::size_t i = 0; i < options.nodes.size(); ++i) {
        const NodeAddress& a = options.nodes[i];
        auto p = std::make_unique<Participant>();
        p->slot = i;
        p->bit = impl->next_holder_bit();
        p->alive = false;  // until the roster reaches it
        p->stats.remote = true;
        p->stats.name = format_address(a);
        impl->participants.push_back(std::move(p));
    }
    if (!options.nodes.empty() || !options.listen_host.empty()) {
        RosterOptions r;
        r.nodes = options.nodes;
        r.secret = options.secret;
        r.client = options.client;
        r.listen_host = options.listen_host;
        r.listen_port = options.listen_port;
        r.say = options.say;
        auto roster = NodeRoster::start(std::move(r));
        if (!roster) return Error{roster.error()};
        impl->roster = std::move(roster).value();
        if (!options.listen_host.empty())
            std::fprintf(stderr, "polymer-run: listening for nodes on %s:%u\n", options.listen_host.c_str(),
                         static_cast<unsigned>(impl->roster->listen_port()));
        const auto deadline = Clock::now() + options.wait_nodes;
        const std::size_t arrived = impl->roster->wait_for(options.min_nodes, deadline);
        impl->admit_arrivals();
        std::string missing;
        for (auto& p : impl->participants)
            if (p->stats.remote && !p->alive) {
                p->stats.lost = impl->roster->why_missing(p->slot);
                missing += cat("; ", p->stats.lost);
            }
        if (arrived < options.min_nodes) {
            const std::string when = Clock::now() < deadline ? std::string(" (the others refused this home)")
                                                             : cat(" within ", pbc::cat(static_cast<double>(options.wait_nodes.count()) / 1000),
                                                                   " s (--wait-nodes)");
            return Error{cat("only ", arrived, " of the ", options.min_nodes, " nodes asked for (--min-nodes) connected", when, missing)};
        }
    }
    if (!options.on_fatal)
        options.on_fatal = [](const std::string& why) {
            say_on_stderr(LogLevel::Error, why);
            std::exit(2);
        };
    impl->options = std::move(options);
    return std::unique_ptr<ClusterBackend>(new ClusterBackend(std::move(impl)));
}

Ticket ClusterBackend::submit(const VectorOpArgs& args) {
    // Where its operands are, when some are away from the home (after the
    // launches before it: they may move them).
    if (impl_->vector_runs_on_nodes(args)) {
        impl_->wait_idle();
        if (impl_->vector_runs_on_nodes(args)) {
            auto r = impl_->run_vector_op(args);
            if (!r) impl_->options.on_fatal(r.error());
            std::lock_guard lock(impl_->mutex);
            const Ticket t = impl_->next_ticket++;
            impl_->vector_results[t] = r ? r.value() : VectorOpResult{};
            return t;
        }
    }
    // Else at home: its operands must be current there first.
    bool tracked = false;
    {
        std::lock_guard lock(impl_->residency_mutex);
        for (const RegionView* v : {&args.dst, &args.a, &args.b, &args.c})
            tracked = tracked || (v->data != nullptr && impl_->directory.tracks(v->data));
    }
    if (tracked) {
        impl_->wait_idle();
        for (const RegionView* v : {&args.a, &args.b, &args.c, &args.dst}) {
            Region* r = nullptr;
            {
                std::lock_guard lock(impl_->residency_mutex);
                auto it = impl_->buffers.find(v->data);
                if (v->data != nullptr && it != impl_->buffers.end()) r = it->second.region;
            }
            if (r != nullptr) impl_->bring_home(*r, 0, r->length, v == &args.dst ? HomeAccess::Write : HomeAccess::Read);
        }
    }
    const Ticket local = impl_->local->submit(args);
    std::lock_guard lock(impl_->mutex);
    const Ticket t = impl_->next_ticket++;
    impl_->local_tickets[t] = local;
    return t;
}

ClusterBackend::Impl::Outcome ClusterBackend::Impl::await_outcome(std::unique_lock<std::mutex>& lock, Ticket ticket) {
    changed.wait(lock, [&] { return finished.count(ticket) != 0; });
    Outcome outcome = std::move(finished[ticket]);
    finished.erase(ticket);
    lock.unlock();
    if (!outcome.error.empty()) options.on_fatal(outcome.error);
    return outcome;
}

Ticket ClusterBackend::submit(const KernelLaunch& launch) {
    std::lock_guard lock(impl_->mutex);
    const Ticket t = impl_->next_ticket++;
    impl_->queue.push_back(Impl::Job{t, launch, 1});
    impl_->changed.notify_all();
    return t;
}

// One launch whose rounds may run by pieces: each claim runs every round
// where its slices are, one message for all of them. Anything else the VM
// runs word by word.
std::optional<RoundsResult> ClusterBackend::run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) {
    if (body.size() != 1 || !rounds_run_by_pieces(body)) return std::nullopt;
    std::unique_lock lock(impl_->mutex);
    const Ticket t = impl_->next_ticket++;
    impl_->queue.push_back(Impl::Job{t, body[0], rounds});
    impl_->changed.notify_all();
    const Impl::Outcome outcome = impl_->await_outcome(lock, t);
    return outcome.fault ? RoundsResult{outcome.fault_round, 0, outcome.fault} : RoundsResult{rounds, 0, {}};
}

VectorOpResult ClusterBackend::wait(Ticket ticket) {
    std::unique_lock lock(impl_->mutex);
    if (auto it = impl_->vector_results.find(ticket); it != impl_->vector_results.end()) {
        const VectorOpResult r = it->second;
        impl_->vector_results.erase(it);
        return r;
    }
    if (auto it = impl_->local_tickets.find(ticket); it != impl_->local_tickets.end()) {
        const Ticket local = it->second;
        impl_->local_tickets.erase(it);
        lock.unlock();
        return impl_->local->wait(local);
    }
    if (ticket <= impl_->cleared_upto && impl_->finished.count(ticket) == 0) return {};  // settled by wait_all
    VectorOpResult result;
    result.fault = impl_->await_outcome(lock, ticket).fault;
    return result;
}

void ClusterBackend::wait_all() {
    impl_->local->wait_all();
    std::unique_lock lock(impl_->mutex);
    impl_->local_tickets.clear();
    impl_->changed.wait(lock, [&] { return impl_->queue.empty() && !impl_->running; });
    std::string error;
    for (auto& [t, e] : impl_->finished)
        if (!e.error.empty() && error.empty()) error = e.error;
    impl_->finished.clear();
    impl_->cleared_upto = impl_->next_ticket - 1;
    lock.unlock();
    if (!error.empty()) impl_->options.on_fatal(error);
}

BackendStats ClusterBackend::stats() const { return impl_->local->stats(); }

void ClusterBackend::bring_home(Region& r, std::uint64_t begin, std::uint64_t end, HomeAccess access) {
    impl_->wait_idle();
    impl_->bring_home(r, begin, end, access);
}

void ClusterBackend::forget_region(Region& r) {
    impl_->wait_idle();
    impl_->forget_region(r);
}

bool ClusterBackend::places_regions() const { return impl_->options.keep_data; }

void ClusterBackend::place_region(Region& r) {
    impl_->wait_idle();
    impl_->place_region(r);
}

std::vector<ResidentSlice> ClusterBackend::residency(const Region& r) const {
    std::lock_guard lock(impl_->residency_mutex);
    std::vector<ResidentSlice> out;
    if (!impl_->directory.tracks(r.data)) return out;
    bool away = false;
    for (const DirectoryRun& run : impl_->directory.runs(r.data, 0, r.length)) {
        std::string who;
        for (auto& p : impl_->participants) {
            if (!(run.holders & p->bit) || p->bit == kHomeMemory) continue;
            who += cat(who.empty() ? "" : ", ", p->stats.name);
        }
        if (run.holders & kHomeMemory) who = who.empty() ? "home" : cat("home, ", who);
        if (unwritten(run.holders)) who = "zeros, not written yet";
        if (run.holders != kHomeMemory) away = true;
        out.push_back(ResidentSlice{run.begin, run.end, who.empty() ? "lost" : who});
    }
    if (!away) out.clear();  // all at home: nothing to say
    return out;
}

void ClusterBackend::record_chunk_runs(std::size_t limit) { impl_->chunk_log.enable(limit); }

const ChunkLog& ClusterBackend::chunk_log() const { return impl_->chunk_log; }

std::vector<ParticipantStats> ClusterBackend::participant_stats() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<ParticipantStats> out;
    std::lock_guard residency(impl_->residency_mutex);
    const auto elem = [&](const void* key) -> std::uint64_t {
        auto it = impl_->buffers.find(key);
        return it == impl_->buffers.end() ? 1 : it->second.elem;
    };
    for (auto& p : impl_->participants) {
        out.push_back(p->stats);
        if (p->bit == 0) continue;
        const Directory::Held h = impl_->directory.held_by(p->bit, elem, &out.back().bytes_held);
        out.back().runs_held = h.runs;
    }
    return out;
}

std::vector<RegionTraffic> ClusterBackend::region_traffic() const {
    std::lock_guard lock(impl_->residency_mutex);
    return impl_->traffic_rows;
}

std::uint16_t ClusterBackend::listen_port() const { return impl_->roster ? impl_->roster->listen_port() : 0; }

std::string ClusterBackend::describe_nodes() const {
    std::lock_guard lock(impl_->mutex);
    std::string s;
    for (auto& p : impl_->participants) {
        if (!p->stats.remote) continue;
        if (!p->alive) {
            s += cat(p->stats.name, ": not connected: ", p->stats.lost, "\n");
            continue;
        }
        const Capabilities& c = p->caps;
        s += cat(p->stats.name, ": backend ", c.backend, ", ", c.cores, " cores, memory ", c.memory_bytes >> 20,
                 " MiB (max-memory ", c.max_memory >> 20, " MiB), ",
                 c.throughput > 0 ? cat("throughput ", static_cast<std::uint64_t>(c.throughput / 1e6), " M elements/s")
                                  : std::string("throughput not measured (taken as the others' mean)"),
                 p->gpu ? ", GPU-class" : "");
        if (c.devices.empty()) s += ", no Vulkan devices";
        for (const DeviceDesc& d : c.devices) s += cat(", device '", d.name, "' (", d.type, ", ", d.memory_bytes >> 20, " MiB)");
        s += "\n";
    }
    return s;
}

}  // namespace polymer::cluster
