// How the ClusterBackend spreads a launch (docs/cluster.md, "How a launch is
// spread"): the grid of grains, claims sized by each participant's share,
// owners first, steals that pay for their move, backups, and the workers
// that run claims on the home and send them to the nodes.
#include "cluster/cluster_backend_impl.h"

#include <charconv>

namespace polymer::cluster {

bool ClusterBackend::Impl::meets(const Participant& p, const KernelRequirements& r) {
    if (!p.alive) return false;
    if (r.requires_gpu && !p.gpu) return false;
    const std::uint64_t memory = p.stats.remote ? p.caps.max_memory : physical_memory();
    return memory >= r.min_memory;
}

std::string ClusterBackend::Impl::requirement_text(const KernelRequirements& r) {
    std::string s;
    if (r.requires_gpu) s = ".requires gpu";
    if (r.min_memory != 0) s += cat(s.empty() ? ".requires " : ", ", "mem >= ", r.min_memory, " bytes");
    return s.empty() ? "no requirement" : s;
}

std::pair<KernelFault, std::uint64_t> ClusterBackend::Impl::run_at_home(const KernelLaunch& launch, std::uint64_t rounds) {
    CpuBackend cpu;
    if (rounds == 1) return {cpu.wait(cpu.submit(launch)).fault, 0};
    const std::optional<RoundsResult> taken = cpu.run_rounds({&launch, 1}, rounds);
    const RoundsResult r = taken ? *taken : run_rounds_one_by_one(cpu, {&launch, 1}, rounds);
    return {r.fault, r.rounds_done};
}

void ClusterBackend::Impl::note_fault(const KernelFault& f, std::uint64_t round) {
    if (!f) return;
    std::lock_guard lock(chunk_mutex);
    if (!launch_fault || round < fault_round) {
        launch_fault = f;
        fault_round = round;
    } else if (round == fault_round) {
        merge_fault(launch_fault, f);
    }
}

bool ClusterBackend::Impl::interrupted() {
    std::lock_guard lock(chunk_mutex);
    return launch_fault.kind == KernelFault::Kind::Interrupted;
}

std::string ClusterBackend::Impl::run_launch(const KernelLaunch& launch, std::uint64_t launch_rounds) {
    const Kernel& k = *launch.kernel;
    ++launch_seq;
    launch_fault = {};
    fault_round = 0;
    rounds = launch_rounds;
    if (launch.begin >= launch.end) return {};
    admit_arrivals();
    const LaunchPlan plan = plan_launch(k);
    track_buffers(launch);
    if (!plan.splittable) {
        // Nothing to cut safely (docs/cluster.md): the home runs it whole,
        // on current values, and its outputs are then the home's alone.
        if (auto e = bring_all_home(launch, plan, true)) return *e;
        const auto start = Clock::now();
        const auto [fault, round] = run_at_home(launch, rounds);
        note_fault(fault, round);
        log_run(nullptr, launch, launch.begin, launch.end, start, false, ChunkOutcome::Applied);
        update_fences(launch);
        return {};
    }
    // Broadcast inputs travel whole and partials are summed into the
    // home's copy: both need the current values at home first.
    if (auto e = bring_all_home(launch, plan, false)) return *e;
    std::optional<std::size_t> record;
    if (auto r = log_launch(launch)) record = r.value();
    else if (!r.error().empty()) return r.error();
    // Every capable participant takes part; `.prefers gpu` weighs the
    // GPU-class ones' claims up (chunk_sizing.h) rather than leaving the rest idle.
    std::vector<Participant*> capable;
    for (auto& p : participants)
        if (meets(*p, k.requirements)) capable.push_back(p.get());
    if (capable.empty()) return no_capable_node(k);
    if (std::string why = keep_those_with_room(launch, capable); !why.empty()) return why;
    if (capable.size() > 1)
        for (Participant* p : capable)
            if (!p->client && !(p->caps.throughput > 0)) p->caps.throughput = measure_saxpy_throughput();

    // The grid depends only on the lanes and the options (never on timing
    // or on who is alive), so partial sums combine the same way every run.
    const std::uint64_t configured = std::max(options.nodes.size(), options.min_nodes) + (options.local_work ? 1 : 0);
    const unsigned per = options.grains_per_participant;
    {
        std::lock_guard lock(chunk_mutex);
        grid = make_grid(launch.begin, launch.end, options.min_chunk_lanes, configured * std::max(1u, per));
        // A claim's element-wise outputs come back in one frame: at most
        // kMaxSliceBytes of them per claim (and per grain), so no claim is
        // ever refused as too large, and results stream back in pieces.
        std::uint64_t out_bytes_per_lane = 0;
        for (const KernelParam& param : k.params)
            if (param.kind != ParamKind::Uniform && param.access != Access::In && param.indexing == Indexing::Element)
                out_bytes_per_lane += elem_size(param.type);
        const std::uint64_t lane_cap = out_bytes_per_lane == 0 ? 0 : std::max<std::uint64_t>(1, kMaxSliceBytes / out_bytes_per_lane);
        if (lane_cap != 0 && grid.grain > lane_cap) grid.grain = lane_cap;  // still a function of count, options, kernel
        claim_cap = options.max_claim_grains;
        if (lane_cap != 0 && (claim_cap == 0 || claim_cap > lane_cap / grid.grain))
            claim_cap = std::max<std::uint64_t>(1, lane_cap / grid.grain);
        chunks.assign(grid.size(), ChunkState{});
        claims_made = 0;
        mean_lane_ns = 0;
        grain_taken.assign(grid.size(), 0);
        grain_runner.assign(grid.size(), nullptr);
        grains_left = grid.size();
        prefers_gpu = k.requirements.prefers_gpu;
        grain_owner = owners(launch, capable);
        if (std::string why = plan_memory(launch, capable); !why.empty()) return why;
        steal_bytes_per_lane = 0;
        for (std::size_t i = 0; i < launch.args.size(); ++i)
            if (resident(launch, i)) steal_bytes_per_lane += elem_size(launch.args[i].type);
        pending.clear();
        done_count = 0;
        sharing = capable;
        one_grain_claims = !plan.partial_params.empty();
        partial_count = plan.partial_params.size();
        for (auto& p : participants) {
            p->launch_lanes = 0;
            p->busy = {};
            p->outstanding = 0;
        }
    }
    {
        std::lock_guard lock(chunk_mutex);
        in_launch = true;
        current_launch = &launch;
        launch_record = record;
        residency_error.clear();
    }
    struct LaunchEnds {
        Impl& impl;
        ~LaunchEnds() {
            std::lock_guard lock(impl.chunk_mutex);
            impl.in_launch = false;
            impl.current_launch = nullptr;
            impl.launch_record.reset();
        }
    } launch_ends{*this};
    // Rounds: when every participant of a round dropped out (the home
    // may have stopped claiming before the nodes failed), the rest take over.
    for (int round = 0; round < 2; ++round) {
        std::vector<std::jthread> workers;
        WorkersLeft working{capable.size()};
        for (Participant* p : capable)
            workers.emplace_back([this, p, &launch, &plan, &working] {
                p->client ? remote_worker(*p, launch, plan) : home_worker(*p, launch, plan);
                working.finished();
            });
        give_up_on_silent_nodes(capable, working);
        workers.clear();  // joins
        for (Participant* p : capable)
            if (p->client) p->client->stop_waiting(false);
        if (!residency_error.empty()) return residency_error;
        if (done_count == grid.size() || interrupted()) break;
        admit_arrivals();  // a node back meanwhile takes the rest
        capable.clear();
        for (auto& p : participants)
            if (meets(*p, k.requirements)) capable.push_back(p.get());
        if (capable.empty()) return no_capable_node(k);
        std::lock_guard lock(chunk_mutex);
        sharing = capable;
    }
    if (interrupted()) {  // the fault says so
        update_fences(launch);
        return {};
    }
    if (done_count != grid.size()) return no_capable_node(k);
    for (std::uint32_t i : plan.partial_params)
        lineage.before_home_write(buffer_ref(launch.args[i]), 0, launch.args[i].length, HomeWrite::Replayable);
    combine_partials(launch, plan);
    update_fences(launch);
    restart_log_if_all_home();
    return {};
}

void ClusterBackend::Impl::give_up_on_silent_nodes(const std::vector<Participant*>& launch_participants, WorkersLeft& working) {
    const auto silent_limit = options.client.heartbeat_timeout / 3;
    std::vector<const Participant*> given_up;
    std::optional<Clock::time_point> stopped_waiting;
    while (!working.none_within(std::chrono::milliseconds(5))) {
        if (!all_done()) continue;
        if (!stopped_waiting) {
            for (Participant* p : launch_participants)
                if (p->client) p->client->stop_waiting(true);
            stopped_waiting = Clock::now();
        }
        // Workers that only waited for a reply return within a poll or two.
        if (Clock::now() - *stopped_waiting < std::chrono::milliseconds(100)) continue;
        for (Participant* p : launch_participants) {
            if (!p->client || p->client->silence() <= silent_limit ||
                std::find(given_up.begin(), given_up.end(), p) != given_up.end())
                continue;
            given_up.push_back(p);
            p->client->give_up(cat("silent for ", p->client->silence().count(),
                                   " ms while the launch finished without it: stopped or cut off"));
        }
    }
}

std::string ClusterBackend::Impl::no_capable_node(const Kernel& k) {
    std::string lost;
    for (auto& p : participants)
        if (!p->stats.lost.empty()) lost += cat("; ", p->stats.name, " lost: ", p->stats.lost);
    return cat("kernel '", k.name, "' (", requirement_text(k.requirements), "): no capable node left to run it",
               options.local_work ? "" : " (--no-local-work)", lost);
}

void ClusterBackend::Impl::combine_partials(const KernelLaunch& launch, const LaunchPlan& plan) {
    for (std::size_t i = 0; i < plan.partial_params.size(); ++i) {
        const KernelArg& arg = launch.args[plan.partial_params[i]];
        auto* home = static_cast<std::uint32_t*>(arg.data);
        for (std::size_t ci = 0; ci < claims_made; ++ci) {  // one grain each, in grain order: deterministic
            const ChunkState& c = chunks[ci];
            const Bytes& part = c.partials[i];
            const std::size_t n = std::min<std::size_t>(arg.length, part.size() / 4);
            for (std::size_t e = 0; e < n; ++e) {
                std::uint32_t v;
                std::memcpy(&v, part.data() + 4 * e, 4);
                home[e] += v;  // atadd on i32/u32: wrapping add
            }
        }
    }
}

void ClusterBackend::Impl::run_started(Participant& p, Clock::time_point now) {
    if (p.outstanding++ == 0) p.busy_since = now;
}

void ClusterBackend::Impl::run_ended(Participant& p, Clock::time_point now, std::uint64_t lanes) {
    p.launch_lanes += lanes;
    if (p.outstanding > 0 && --p.outstanding == 0) p.busy += now - p.busy_since;
}

std::pair<double, double> ClusterBackend::Impl::rate_and_total(const Participant& p, Clock::time_point now) const {
    std::vector<RateInput> inputs;
    std::size_t self = sharing.size();
    for (const Participant* q : sharing) {
        if (!q->alive && q != &p) continue;
        if (q == &p) self = inputs.size();
        inputs.push_back(RateInput{q->caps.throughput, prefers_gpu && q->gpu, q->measured_rate(now)});
    }
    const std::vector<double> rates = estimated_rates(inputs, options.prefer_weight);
    double total = 0;
    for (double r : rates) total += r;
    return {self < rates.size() ? rates[self] : 0.0, total};
}

double ClusterBackend::Impl::share_of(const Participant& p, Clock::time_point now) const {
    const auto [rate, total] = rate_and_total(p, now);
    return total > 0 && rate > 0 ? rate / total : 1.0;
}

bool ClusterBackend::Impl::worth_stealing(const Participant& thief, const Participant& victim, std::size_t left) const {
    if (!victim.alive) return true;
    const auto now = Clock::now();
    const double victim_rate = rate_and_total(victim, now).first, thief_rate = rate_and_total(thief, now).first;
    if (!(victim_rate > 0) || !(thief_rate > 0)) return true;
    const auto lanes = static_cast<double>(grid.grain);
    const double work = lanes * static_cast<double>(rounds);  // every round of the grain's lanes
    const double victim_seconds = static_cast<double>(left) * work / victim_rate;
    const double thief_seconds = work / thief_rate + lanes * static_cast<double>(steal_bytes_per_lane) / kStealLinkBytesPerSecond;
    return victim_seconds > 2 * thief_seconds;
}

std::optional<std::size_t> ClusterBackend::Impl::take(Participant& p, bool& backup) {
    std::lock_guard lock(chunk_mutex);
    backup = false;
    const auto now = Clock::now();
    std::optional<std::size_t> got;
    if (!pending.empty()) {
        got = pending.front();
        pending.pop_front();
    } else if (grains_left != 0 && launch_fault) {
        // Grains past the faulting lane cannot change what is reported: not
        // run. (With rounds, only past a fault in the first round: a later
        // round's fault loses to any grain's fault in an earlier one.)
        for (std::size_t g = 0; g < grid.size(); ++g)
            if (!grain_taken[g] && (launch_fault.kind == KernelFault::Kind::Interrupted ||
                                    (fault_round == 0 && grid.grain_begin(g) > launch_fault.lane))) {
                grain_taken[g] = 1;
                --grains_left;
                ++done_count;
            }
        claims_changed.notify_all();
    }
    if (!got && grains_left != 0) {
        const std::uint64_t most = one_grain_claims ? 1
                                                    : claim_grains(share_of(p, now), grains_left, options.claim_divisor, claim_cap);
        if (auto first = next_claim_start(p)) {
            // A run of untaken grains with the same owner as the first one.
            std::size_t g = *first, n = 0;
            Participant* owner = grain_owner.empty() ? nullptr : grain_owner[g];
            while (g + n < grid.size() && n < most && !grain_taken[g + n] &&
                   (grain_owner.empty() || grain_owner[g + n] == owner)) {
                grain_taken[g + n] = 1;
                grain_runner[g + n] = &p;
                ++n;
            }
            // Someone else's grains (or nobody's) must fit p's memory:
            // one grain at least, else p takes nothing here.
            if (owner != &p && !grain_owner.empty())
                while (n > 0 && !fits(p, grid.grain_begin(g), grid.grain_end(g + n - 1))) {
                    --n;
                    grain_taken[g + n] = 0;
                    grain_runner[g + n] = nullptr;
                }
            if (n == 0) {
                if (owner == nullptr || !owner->alive) fail_if_nobody_fits(g);
                return std::nullopt;
            }
            grains_left -= n;
            got = claims_made++;
            ChunkState& c = chunks[*got];
            c.begin = grid.grain_begin(g);
            c.end = grid.grain_end(g + n - 1);
            c.grains = n;
            c.partials.resize(partial_count);
        }
    }
    if (got) {
        ChunkState& c = chunks[*got];
        c.status = ChunkState::Status::Running;
        ++c.runners;
        c.first = &p;
        c.runners_first = p.launch_lanes == 0;  // nothing of p's has finished in this launch yet
        c.started = now;
        run_started(p, now);
        return got;
    }
    for (std::size_t i = 0; i < claims_made; ++i) {
        ChunkState& c = chunks[i];
        if (c.status != ChunkState::Status::Running || c.backed_up || c.first == &p || !straggling(c, now)) continue;
        if (!backups_allowed()) break;
        c.backed_up = true;
        ++c.runners;
        backup = true;
        run_started(p, now);
        return i;
    }
    return std::nullopt;
}

bool ClusterBackend::Impl::straggling(const ChunkState& c, Clock::time_point now) const {
    if (c.first && c.first->client && c.first->client->silence() > options.client.heartbeat_timeout / 3) return true;
    if (mean_lane_ns == 0) return false;  // nothing finished yet: no "usual" to compare with
    const double usual = (c.runners_first ? 4 : 2) * mean_lane_ns * static_cast<double>(c.end - c.begin);
    return now - c.started >= std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(20e6, usual)));
}

void ClusterBackend::Impl::wait_for_claims(std::chrono::milliseconds d) {
    std::unique_lock lock(chunk_mutex);
    claims_changed.wait_for(lock, d);
}

bool ClusterBackend::Impl::all_done() {
    std::lock_guard lock(chunk_mutex);
    return done_count == grid.size();
}

bool ClusterBackend::Impl::nothing_pending() {
    std::lock_guard lock(chunk_mutex);
    return pending.empty() && grains_left == 0;
}

std::optional<std::size_t> ClusterBackend::Impl::next_claim_start(const Participant& p) const {
    const auto untaken_of = [&](const Participant* who) -> std::optional<std::size_t> {
        for (std::size_t g = 0; g < grid.size(); ++g)
            if (!grain_taken[g] && (grain_owner.empty() ? who == nullptr : grain_owner[g] == who)) return g;
        return std::nullopt;
    };
    if (!grain_owner.empty())
        if (auto g = untaken_of(&p)) return g;
    if (auto g = untaken_of(nullptr)) return g;
    std::map<const Participant*, std::size_t> left, owned;
    for (std::size_t g = 0; g < grid.size(); ++g) {
        ++owned[grain_owner[g]];
        if (!grain_taken[g]) ++left[grain_owner[g]];
    }
    const Participant* victim = nullptr;
    std::size_t most = 0;
    for (auto [who, n] : left) {
        const bool behind = n >= std::max<std::size_t>(2, (owned[who] + 3) / 4);
        if ((behind && n > most) || (who != nullptr && !who->alive)) victim = who, most = std::max(most, n);
    }
    if (victim == nullptr || !worth_stealing(p, *victim, most)) return std::nullopt;
    // The victim's untaken grain next to what p owns or runs, so that
    // p's slice grows by it and stays one run (the next launch then runs
    // it on p, and a stencil keeps its two boundaries); from anywhere
    // when the victim is gone, or p has no slice yet (a node that just
    // joined: its first grain starts one).
    const auto mine = [&](std::size_t g) { return g < grid.size() && (grain_owner[g] == &p || grain_runner[g] == &p); };
    bool has_slice = false;
    for (std::size_t g = 0; g < grid.size() && !has_slice; ++g) has_slice = mine(g);
    for (std::size_t g = grid.size(); g-- > 0;)
        if (!grain_taken[g] && grain_owner[g] == victim &&
            (mine(g + 1) || (g > 0 && mine(g - 1)) || !victim->alive || !has_slice))
            return g;
    return std::nullopt;
}

void ClusterBackend::Impl::give_back(std::size_t i, Participant& p) {
    std::lock_guard lock(chunk_mutex);
    ChunkState& c = chunks[i];
    --c.runners;
    run_ended(p, Clock::now(), 0);
    if (c.status == ChunkState::Status::Done) return;
    ++p.stats.retries;
    if (c.runners == 0) {
        c.status = ChunkState::Status::Pending;
        c.backed_up = false;
        pending.push_front(i);
        claims_changed.notify_all();
    }
}

bool ClusterBackend::Impl::claim(std::size_t i, Participant& p, bool backup, std::uint64_t kernel_ns, bool kept) {
    std::lock_guard lock(chunk_mutex);
    ChunkState& c = chunks[i];
    const auto now = Clock::now();
    --c.runners;
    run_ended(p, now, (c.end - c.begin) * rounds);  // a losing copy's lanes still say how fast p is; a lane of each round counts
    if (c.status == ChunkState::Status::Done) return false;
    c.status = ChunkState::Status::Done;
    c.winner = &p;
    c.kept = kept;
    done_count += c.grains;
    claims_changed.notify_all();
    ++p.stats.chunks;
    if (p.stats.rejoins != 0) ++p.stats.chunks_since_rejoin;
    p.stats.lanes += c.end - c.begin;
    p.stats.kernel_ns += kernel_ns;
    if (backup) ++p.stats.backups_won;
    const double per_lane = std::chrono::duration<double, std::nano>(now - c.started).count() / static_cast<double>(c.end - c.begin);
    mean_lane_ns = mean_lane_ns == 0 ? per_lane : (mean_lane_ns * 7 + per_lane) / 8;
    return true;
}

void ClusterBackend::Impl::home_worker(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan) {
    for (;;) {
        bool backup = false;
        auto i = take(p, backup);
        if (!i) {
            if (all_done() || interrupted()) return;
            wait_for_claims(std::chrono::milliseconds(2));
            continue;
        }
        KernelLaunch piece = launch;
        piece.begin = chunks[*i].begin;
        piece.end = chunks[*i].end;
        if (auto e = pull_inputs_home(launch, piece.begin, piece.end, backup ? runner_bit(*i) : 0)) {
            fail_launch(*e);
            give_back(*i, p);
            return;
        }
        std::vector<Bytes> partials(plan.partial_params.size());
        for (std::size_t j = 0; j < partials.size(); ++j) {
            KernelArg& a = piece.args[plan.partial_params[j]];
            partials[j].assign(a.length * elem_size(a.type), 0);
            a.data = partials[j].empty() ? nullptr : partials[j].data();
        }
        for (std::size_t j = 0; j < piece.args.size(); ++j)
            if (resident(launch, j) && launch.kernel->params[j].access != Access::In) {
                const auto [lo, hi] = clip(launch.args[j], piece.begin, piece.end);
                lineage.before_home_write(buffer_ref(launch.args[j]), lo, hi, HomeWrite::Replayable);
            }
        const auto start = Clock::now();
        const auto [fault, round] = run_at_home(piece, rounds);  // element-wise outputs land in place: this range is ours alone
        const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        const bool won = claim(*i, p, backup, ns, false);
        if (won || fault.kind == KernelFault::Kind::Interrupted) note_fault(fault, round);
        if (won) {
            chunks[*i].partials = std::move(partials);
            outputs_held_by(launch, piece.begin, piece.end, kHomeMemory);
        }
        log_run(&p, launch, piece.begin, piece.end, start, backup, won ? ChunkOutcome::Applied : ChunkOutcome::Lost);
    }
}

Result<std::uint64_t> ClusterBackend::Impl::send_chunk(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan, std::uint64_t b,
                                                       std::uint64_t e, HolderSet avoid, std::vector<HaloNote>& notes) {
    NodeClient& c = *p.client;
    if (!p.module_uploaded) {
        auto have = c.have_module(module_hash);
        if (!have) return Error{have.error()};
        if (!have.value()) {
            auto up = c.upload_module(module_pbc);
            if (!up) return Error{up.error()};
            p.stats.bytes_out += module_pbc.size();
        }
        p.module_uploaded = true;
    }
    const Kernel& k = *launch.kernel;
    LaunchChunk msg;
    msg.module = module_hash;
    msg.kernel = launch.kernel_index;
    msg.count = launch.count;
    msg.begin = b;
    msg.end = e;
    msg.max_iterations = launch.max_iterations;
    for (std::size_t i = 0; i < k.params.size(); ++i) {
        const KernelParam& param = k.params[i];
        const KernelArg& arg = launch.args[i];
        if (param.kind == ParamKind::Uniform) {
            msg.args.push_back(Binding{Binding::Kind::Uniform, 0, 0, static_cast<std::uint32_t>(arg.uniform)});
            continue;
        }
        const std::size_t size = elem_size(arg.type);
        const std::uint64_t total = arg.length * size;
        const auto* data = static_cast<const std::uint8_t*>(arg.data);
        if (p.bit != 0 && resident(launch, i)) {
            auto id = put_resident_inputs(p, launch, i, b, e, avoid, msg.fetches, notes);
            if (!id) return Error{id.error()};
            msg.args.push_back(Binding{Binding::Kind::Region, id.value(), kResidentVersion, 0});
            continue;
        }
        auto [it, fresh] = p.region_ids.try_emplace(arg.data, 0);
        if (fresh) {
            it->second = p.next_region++;
            std::lock_guard lock(residency_mutex);
            name_region(p, it->second, arg.region);
        }
        const std::uint64_t id = it->second;
        std::uint64_t& have = p.versions[id];
        auto put = [&](std::uint64_t version, std::uint64_t offset, std::span<const std::uint8_t> bytes) -> Result<Done> {
            p.stats.bytes_out += bytes.size();
            {
                std::lock_guard lock(residency_mutex);
                count_traffic(arg.data, arg.region, Way::ToNodes, bytes.size());
            }
            return c.put_region(id, version, total, offset, bytes);
        };
        std::uint64_t version = 0;
        if (plan.is_partial(i)) {
            // Zeroed per chunk: the node returns this chunk's sums alone.
            version = p.next_partial_version++ | (1ull << 63);
            auto r = put(version, 0, {});
            if (!r) return Error{r.error()};
        } else if (param.indexing == Indexing::Broadcast) {
            Bytes& held = p.broadcast_bytes[id];
            const bool same = have != 0 && held.size() == total && (total == 0 || std::memcmp(held.data(), data, total) == 0);
            if (same) {
                version = have;
            } else {
                version = (launch_seq << 8) | 1;
                auto r = put(version, 0, {data, total});
                if (!r) return Error{r.error()};
                held.assign(data, data + total);
            }
        } else {
            // Element-wise and window buffers: the chunk's reach, fresh each launch.
            version = launch_seq << 8;
            const auto [first, last] = reach(launch, i, b, e);
            std::span<const std::uint8_t> slice;
            if (param.access != Access::Out && last > first) slice = {data + first * size, (last - first) * size};
            if (have != version || !slice.empty()) {
                auto r = put(version, first * size, slice);
                if (!r) return Error{r.error()};
            }
            p.broadcast_bytes.erase(id);
        }
        have = version;
        msg.args.push_back(Binding{Binding::Kind::Region, id, version, 0});
    }
    msg.keep_outputs = keeps_outputs(p, launch);
    msg.rounds = rounds;
    return c.start_launch(msg);
}

bool ClusterBackend::Impl::apply(Participant& p, std::size_t i, const KernelLaunch& launch, const LaunchPlan& plan, ChunkResult& r,
                                 bool backup) {
    std::uint64_t in = 0;
    for (const OutputSlice& s : r.outputs) in += s.data.size();
    p.stats.bytes_in += in;
    const bool kept = keeps_outputs(p, launch);
    if (!claim(i, p, backup, r.kernel_ns, kept)) return false;
    note_fault(r.fault, r.fault_round);
    // Its resident copies hold the outputs now; the home's too unless they stayed there.
    outputs_held_by(launch, chunks[i].begin, chunks[i].end, p.bit == 0 ? kHomeMemory : kept ? p.bit : (p.bit | kHomeMemory));
    for (OutputSlice& s : r.outputs) {
        if (s.param >= launch.args.size()) continue;
        const KernelArg& arg = launch.args[s.param];
        if (plan.is_partial(s.param)) {
            chunks[i].partials[plan.partial_index(s.param)] = std::move(s.data);
            continue;
        }
        const std::uint64_t total = arg.length * elem_size(arg.type);
        if (s.offset > total || s.data.size() > total - s.offset || s.data.empty()) continue;
        std::memcpy(static_cast<std::uint8_t*>(arg.data) + s.offset, s.data.data(), s.data.size());
        std::lock_guard lock(residency_mutex);
        count_traffic(arg.data, arg.region, Way::ToHome, s.data.size());
    }
    return true;
}

void ClusterBackend::Impl::name_region(Participant& p, std::uint64_t id, const Region* region) {
    if (region != nullptr && !region->name.empty()) p.region_names.try_emplace(id, region->name);
}

std::string ClusterBackend::Impl::with_region_names(const Participant& p, std::string_view text) const {
    std::lock_guard lock(residency_mutex);
    std::string out;
    constexpr std::string_view kRegion = "region ", kVersion = " version ";
    auto digits = [&](std::size_t at) {
        std::size_t end = at;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        return end;
    };
    std::size_t at = 0;
    for (std::size_t hit; (hit = text.find(kRegion, at)) != std::string_view::npos;) {
        const std::size_t id_begin = hit + kRegion.size(), id_end = digits(id_begin);
        std::uint64_t id = 0;
        auto named = p.region_names.end();
        if (id_end != id_begin && std::from_chars(text.data() + id_begin, text.data() + id_end, id).ec == std::errc{})
            named = p.region_names.find(id);
        if (named == p.region_names.end()) {
            out += text.substr(at, id_end - at);
            at = id_end;
            continue;
        }
        std::size_t end = id_end;
        if (text.substr(end, kVersion.size()) == kVersion && digits(end + kVersion.size()) != end + kVersion.size())
            end = digits(end + kVersion.size());  // the version is the home's bookkeeping, not the program's
        out += text.substr(at, hit - at);
        out += cat("region '", named->second, "'");
        at = end;
    }
    out += text.substr(at);
    return out;
}

void ClusterBackend::Impl::lose(Participant& p, const std::string& node_why) {
    const std::string why = with_region_names(p, node_why);
    {
        std::lock_guard lock(chunk_mutex);
        if (!p.alive) return;  // another thread saw it first
        p.alive = false;
        if (p.stats.lost.empty()) p.stats.lost = why;
        options.say(LogLevel::Warn, cat(p.stats.name, " dropped out: ", why, "; its chunks run elsewhere"));
        if (roster) roster->lost(p.slot);  // redialled in the background (a node that dialled us dials again itself)
        // Claims of this launch whose outputs only p kept run again elsewhere.
        if (in_launch)
            for (std::size_t i = 0; i < claims_made; ++i) {
                ChunkState& c = chunks[i];
                if (c.status != ChunkState::Status::Done || c.winner != &p || !c.kept) continue;
                c.status = ChunkState::Status::Pending;
                c.backed_up = false;
                c.winner = nullptr;
                done_count -= c.grains;
                ++p.stats.retries;
                pending.push_back(i);
                claims_changed.notify_all();
            }
    }
    forget_holder(p);
}

void ClusterBackend::Impl::admit_arrivals() {
    if (!roster) return;
    for (Arrival& a : roster->take()) {
        Participant* p = nullptr;
        for (auto& q : participants) {
            const bool same_slot = a.slot != Arrival::kJoined && q->slot == a.slot;
            const bool same_joined = a.slot == Arrival::kJoined && q->slot == Arrival::kJoined && q->stats.remote &&
                                     !q->alive && q->caps.name == a.client->capabilities().name;
            if (same_slot || same_joined) p = q.get();
        }
        auto random = random_nonce();
        if (!random) {
            options.say(LogLevel::Warn, cat("node ", a.address, " not admitted: ", random.error()));
            continue;
        }
        // Node to node: the run's ticket lets the other nodes fetch from
        // it (and it from them); refused or not, the node takes part.
        const bool ticket_taken = peer_ticket && a.client->send_peer_ticket(*peer_ticket).ok();
        std::lock_guard lock(mutex);
        if (p == nullptr) {
            participants.push_back(std::make_unique<Participant>());
            p = participants.back().get();
            p->slot = Arrival::kJoined;
            p->bit = next_holder_bit();
            p->stats.remote = true;
        }
        p->client = std::move(a.client);
        p->caps = p->client->capabilities();
        p->gpu = gpu_class(p->caps);
        p->host.clear();
        if (auto at = parse_host_port(a.address)) p->host = at.value().host;
        p->peer_port = p->caps.peer_port;
        p->has_ticket = ticket_taken;
        p->fetches_from_peers = ticket_taken;
        p->alive = true;
        p->module_uploaded = false;
        p->region_ids.clear();
        p->versions.clear();
        p->broadcast_bytes.clear();
        // A node back (restarted or not) holds nothing we count on: the
        // directory forgets its copies (lineage recomputes what only it had).
        forget_holder(*p);
        // Region ids unique to this home: a node's store is shared by all its
        // peers, so two homes (two polymer-run processes) must not collide.
        std::uint64_t base = 0;
        std::memcpy(&base, random.value().data(), sizeof base);
        p->next_region = (base & ~0xFFFF'FFFFull) | 1;
        p->stats.name = cat(p->caps.name, " (", p->slot == Arrival::kJoined ? "dialled in from " : "", a.address, ")");
        p->stats.lost.clear();
        if (p->connected_once) {
            ++p->stats.rejoins;
            p->stats.chunks_since_rejoin = 0;
            options.say(LogLevel::Info, cat(p->stats.name, " is back; it takes chunks again"));
        }
        p->connected_once = true;
    }
}

void ClusterBackend::Impl::remote_worker(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan) {
    struct InFlight {
        std::size_t chunk;
        std::uint64_t request;
        bool backup;
        Clock::time_point sent;   // --trace
        std::uint64_t bytes_out;  // --trace
        std::vector<HaloNote> halos;  // --trace
    };
    std::deque<InFlight> in_flight;
    auto log_flight = [&](const InFlight& f, ChunkOutcome outcome, std::uint64_t bytes_in = 0) {
        log_run(&p, launch, chunks[f.chunk].begin, chunks[f.chunk].end, f.sent, f.backup, outcome, f.bytes_out, bytes_in);
    };
    auto fail = [&](const std::string& why, std::optional<std::size_t> extra) {
        lose(p, why);
        if (extra) give_back(*extra, p);
        for (const InFlight& f : in_flight) {
            give_back(f.chunk, p);
            log_flight(f, ChunkOutcome::Failed);
        }
    };
    for (;;) {
        while (in_flight.size() < std::max(1u, options.in_flight_per_node)) {
            bool backup = false;
            // Backups only when this node has nothing else to do.
            if (!in_flight.empty() && nothing_pending()) break;
            auto i = take(p, backup);
            if (!i) break;
            const auto sent = Clock::now();
            const std::uint64_t out_before = p.stats.bytes_out;
            std::vector<HaloNote> halos;
            auto id = send_chunk(p, launch, plan, chunks[*i].begin, chunks[*i].end, backup ? runner_bit(*i) : 0, halos);
            if (!id && id.error().ends_with(NodeClient::kStoppedWaiting)) {  // the launch is done: the node stays
                log_flight({*i, 0, backup, sent, p.stats.bytes_out - out_before}, ChunkOutcome::Abandoned);
                give_back(*i, p);
                for (const InFlight& f : in_flight) {
                    log_flight(f, ChunkOutcome::Abandoned);
                    p.client->abandon_launch(f.request);
                    give_back(f.chunk, p);
                }
                return;
            }
            if (!id) {
                log_flight({*i, 0, backup, sent, p.stats.bytes_out - out_before}, ChunkOutcome::Failed);
                fail(id.error(), *i);
                return;
            }
            in_flight.push_back({*i, id.value(), backup, sent, p.stats.bytes_out - out_before, std::move(halos)});
        }
        if (in_flight.empty()) {
            if (all_done()) return;
            wait_for_claims(std::chrono::milliseconds(2));
            continue;
        }
        // Stops waiting for every chunk this node still runs: the node is
        // told (Cancel) and the chunks are no longer counted as running here.
        auto abandon_all = [&] {
            for (const InFlight& g : in_flight) {
                log_flight(g, ChunkOutcome::Abandoned);
                p.client->abandon_launch(g.request);
                std::lock_guard lock(chunk_mutex);
                --chunks[g.chunk].runners;
            }
        };
        InFlight f = in_flight.front();
        std::optional<ErrorCode> refused;
        auto polled = p.client->wait_launch_for(f.request, std::chrono::milliseconds(5), &refused);
        if (!polled && interrupt_requested()) {  // Ctrl-C: stop waiting for the node
            note_fault({KernelFault::Kind::Interrupted, 0, 0, 0, 0, 0}, 0);
            abandon_all();
            return;
        }
        if (!polled) {
            // Still running. When backups have finished every chunk, stop
            // waiting for this (hung or slow) node: its results are not needed.
            if (all_done()) {
                abandon_all();
                return;
            }
            // While waiting, take a backup or a requeued chunk if there is room.
            continue;
        }
        in_flight.pop_front();
        auto& r = *polled;
        if (!r && refused == ErrorCode::PeerFetchFailed) {
            // The node could not reach the node holding a halo (a firewall,
            // another token, a node just gone): it stays, the chunk runs
            // again, and from now on what it lacks comes through the home.
            if (p.fetches_from_peers)
                options.say(LogLevel::Warn, cat(p.stats.name, ": ", r.error(), "; it gets what it lacks through the home from now on"));
            p.fetches_from_peers = false;
            log_flight(f, ChunkOutcome::Failed);
            give_back(f.chunk, p);
            continue;
        }
        if (!r) {
            // A refusal from a live node (unsupported, out of memory) or a lost one: either way it stops here.
            log_flight(f, ChunkOutcome::Failed);
            fail(r.error(), f.chunk);
            return;
        }
        if (r.value().fault && r.value().fault_round >= rounds) {
            log_flight(f, ChunkOutcome::Failed);
            fail(cat("it reported a fault in round ", r.value().fault_round, " of a launch of ", rounds, " rounds"), f.chunk);
            return;
        }
        std::uint64_t in = 0;
        for (const OutputSlice& s : r.value().outputs) in += s.data.size();
        const bool won = apply(p, f.chunk, launch, plan, r.value(), f.backup);
        log_flight(f, won ? ChunkOutcome::Applied : ChunkOutcome::Lost, in);
        for (const HaloNote& h : f.halos) log_halo(p, h, f.sent);
    }
}

}  // namespace polymer::cluster
