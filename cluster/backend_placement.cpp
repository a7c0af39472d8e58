// Distributed regions and memory plans (docs/cluster.md, "Placement"):
// where a region starts, who owns each grain, what each participant will
// hold, and the errors when data fits nowhere.
#include "cluster/cluster_backend_impl.h"

namespace polymer::cluster {

std::string ClusterBackend::Impl::mib(std::uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return text;
}

std::string ClusterBackend::Impl::region_name(const void* key) const {
    auto it = buffers.find(key);
    return it != buffers.end() && it->second.region ? cat("'", it->second.region->name, "'") : std::string("(a buffer)");
}

std::size_t ClusterBackend::Impl::elem_of(const void* key) const {
    auto it = buffers.find(key);
    return it == buffers.end() ? 1 : it->second.elem;
}

std::uint64_t ClusterBackend::Impl::target_grains() const {
    const std::uint64_t configured = std::max(options.nodes.size(), options.min_nodes) + (options.local_work ? 1 : 0);
    return configured * std::max(1u, options.grains_per_participant);
}

std::uint64_t ClusterBackend::Impl::limit_of(const Participant& p) const {
    constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
    if (is_home(p)) return home_budget == 0 ? kNoLimit : home_budget;
    const std::uint64_t m = p.caps.max_memory;
    if (m == 0) return kNoLimit;
    return m - std::min<std::uint64_t>(m / 4, kMaxSliceBytes + (1u << 20));
}

std::uint64_t ClusterBackend::Impl::unwritten_in_blocks(const Participant& who, const void* key, std::uint64_t b, std::uint64_t e) const {
    auto blocks = placed.find(key);
    if (blocks == placed.end()) return 0;
    std::uint64_t n = 0;
    for (const Block& blk : blocks->second) {
        if (blk.who != &who || blk.end <= b || e <= blk.begin) continue;
        for (const DirectoryRun& r : directory.runs(key, std::max(b, blk.begin), std::min(e, blk.end)))
            if (unwritten(r.holders)) n += r.end - r.begin;
    }
    return n;
}

std::uint64_t ClusterBackend::Impl::home_usage() const {
    std::uint64_t bytes = 0;
    for (const auto& [key, touched] : home_touched) bytes += touched.elements() * elem_of(key);
    if (const Participant* home = home_participant())
        for (const auto& [key, blocks] : placed) bytes += unwritten_in_blocks(*home, key, 0, elem_count(key)) * elem_of(key);
    return bytes;
}

std::uint64_t ClusterBackend::Impl::home_new_bytes(const void* key, std::uint64_t b, std::uint64_t e) const {
    if (!is_placed(key)) return 0;
    std::uint64_t n = 0;
    auto it = home_touched.find(key);
    if (it == home_touched.end()) n = e - b;
    else it->second.for_each_gap_in(b, e, [&](std::uint64_t lo, std::uint64_t hi) { n += hi - lo; });
    if (const Participant* home = home_participant()) n -= std::min(n, unwritten_in_blocks(*home, key, b, e));
    return n * elem_of(key);
}

const Participant* ClusterBackend::Impl::home_participant() const {
    for (const auto& p : participants)
        if (is_home(*p)) return p.get();
    return nullptr;
}

std::uint64_t ClusterBackend::Impl::elem_count(const void* key) const {
    auto it = buffers.find(key);
    return it == buffers.end() ? 0 : it->second.length;
}

std::uint64_t ClusterBackend::Impl::usage(const Participant& p) const {
    if (is_home(p)) return home_usage();
    std::uint64_t bytes = 0;
    if (p.bit == 0) return 0;
    directory.held_by(p.bit, [&](const void* key) -> std::uint64_t { return elem_of(key); }, &bytes);
    for (const auto& [key, blocks] : placed) bytes += unwritten_in_blocks(p, key, 0, elem_count(key)) * elem_of(key);
    return bytes;
}

std::uint64_t ClusterBackend::Impl::new_bytes(const Participant& p, const void* key, std::uint64_t b, std::uint64_t e) const {
    if (is_home(p)) return home_new_bytes(key, b, e);
    const std::uint64_t elem = elem_of(key);
    std::uint64_t bytes = 0;
    std::uint64_t unwritten_elements = 0;
    for (const DirectoryRun& r : directory.runs(key, b, e)) {
        if (unwritten(r.holders)) unwritten_elements += r.end - r.begin;
        else if (!(r.holders & p.bit)) bytes += (r.end - r.begin) * elem;
    }
    return bytes + (unwritten_elements - unwritten_in_blocks(p, key, b, e)) * elem;
}

std::uint64_t ClusterBackend::Impl::launch_bytes(const Participant& p, const KernelLaunch& launch, std::uint64_t b, std::uint64_t e,
                                                 const void** most) const {
    std::uint64_t total = 0, top = 0;
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        if (!resident(launch, i)) continue;
        const auto [lo, hi] = reach(launch, i, b, e);
        const std::uint64_t n = lo < hi ? new_bytes(p, launch.args[i].data, lo, hi) : 0;
        total += n;
        if (most && n > top) top = n, *most = launch.args[i].data;
    }
    return total;
}

std::string ClusterBackend::Impl::limit_name(const Participant& p) const {
    return !is_home(p) ? cat("its --max-memory of ", mib(p.caps.max_memory), " (less ", mib(p.caps.max_memory - limit_of(p)),
                          " for a frame being received)")
                    : home_limit_name();
}

std::string ClusterBackend::Impl::home_limit_name() const {
    return cat("what the home's --max-memory of ", mib(options.home_memory), " leaves for distributed regions is ", mib(home_budget));
}

void ClusterBackend::Impl::place_region(Region& r) {
    if (r.data == nullptr || r.length == 0 || !options.keep_data) return;
    std::lock_guard lock(residency_mutex);
    const void* key = r.data;
    directory.forget(key);
    directory.track(key, r.length, true);
    buffers[key] = BufferInfo{&r, elem_size(r.type), r.length};
    home_touched.erase(key);
    std::vector<const void*> group{key};
    for (const auto& [other, info] : buffers) {
        if (other == key || info.length != r.length || !is_placed(other)) continue;
        const std::vector<DirectoryRun> runs = directory.runs(other, 0, info.length);
        if (runs.size() == 1 && unwritten(runs[0].holders) && !home_touched.count(other)) group.push_back(other);
    }
    std::uint64_t lane_bytes = 0;
    std::string names;
    for (const void* k : group) {
        placed.erase(k);
        placement_error.erase(k);
        lane_bytes += elem_of(k);
        names += cat(names.empty() ? "" : ", ", region_name(k));
    }
    std::vector<const Participant*> who;
    for (const auto& p : participants)
        if (p->alive && p->bit != 0 && (p->client || is_home(*p))) who.push_back(p.get());
    const GrainGrid grid_of_region = make_grid(0, r.length, options.min_chunk_lanes, target_grains());
    const std::uint64_t grain_bytes = grid_of_region.grain * lane_bytes;
    std::vector<PlacementInput> in;
    std::string rooms;
    for (const Participant* p : who) {
        const std::uint64_t used = usage(*p), limit = limit_of(*p);
        const std::uint64_t room = limit > used ? limit - used : 0;
        in.push_back(PlacementInput{p->caps.throughput, room / grain_bytes});
        if (limit != std::numeric_limits<std::uint64_t>::max())
            rooms += cat(rooms.empty() ? "" : ", ", who_name(*p), " ", mib(room));
    }
    const auto counts = place_blocks(grid_of_region.size(), in);
    for (const void* k : group) {
        if (!counts) {
            placement_error[k] = cat("region ", region_name(k), " (", mib(elem_count(k) * elem_of(k)), ") does not fit",
                                     group.size() > 1 ? cat(" beside the regions placed with it (", names, ": ", mib(lane_bytes * r.length),
                                                            " in all)")
                                                      : std::string(),
                                     ": ", who.empty() ? std::string("no node keeps data") : cat("the room left is ", rooms),
                                     " (docs/cluster.md, \"Placement\")");
            continue;
        }
        std::vector<Block>& blocks = placed[k];
        std::uint64_t g = 0;
        for (std::size_t n = 0; n < who.size(); ++n) {
            if ((*counts)[n] == 0) continue;
            const std::uint64_t end = g + (*counts)[n];
            blocks.push_back(Block{who[n], grid_of_region.grain_begin(g), grid_of_region.grain_end(end - 1)});
            g = end;
        }
    }
    set_fences(key);
}

std::optional<std::string> ClusterBackend::Impl::home_takes(const void* key, std::uint64_t b, std::uint64_t e) {
    if (!is_placed(key) || b >= e) return std::nullopt;
    if (home_budget != 0) {
        const std::uint64_t more = home_new_bytes(key, b, e), used = home_usage();
        if (used + more > home_budget)
            return cat("region ", region_name(key), ": bringing elements [", b, ", ", e, ") home needs ", mib(more),
                       " more of the home's memory; it holds ", mib(used), " of distributed regions, and ", home_limit_name());
    }
    home_touched[key].add(b, e);
    return std::nullopt;
}

std::vector<Participant*> ClusterBackend::Impl::owners(const KernelLaunch& launch, const std::vector<Participant*>& capable) {
    std::vector<Participant*> found = holders_of_inputs(launch, capable);
    if (!found.empty() || !outputs_stay(launch)) return found;
    return first_placement(launch, capable);
}

std::vector<Participant*> ClusterBackend::Impl::first_placement(const KernelLaunch& launch,
                                                                const std::vector<Participant*>& capable) const {
    std::vector<RateInput> inputs;
    for (const Participant* p : capable) inputs.push_back(RateInput{p->caps.throughput, prefers_gpu && p->gpu, 0});
    const std::vector<double> rates = estimated_rates(inputs, options.prefer_weight);
    if (capable.size() < 2 || grid.size() == 0) return {};
    std::vector<PlacementInput> in;
    {
        std::lock_guard lock(residency_mutex);
        const std::uint64_t grain_bytes = std::max<std::uint64_t>(1, launch_bytes(*capable.front(), launch, grid.grain_begin(0),
                                                                                  grid.grain_end(0)));
        for (std::size_t k = 0; k < capable.size(); ++k) {
            const std::uint64_t used = usage(*capable[k]), limit = limit_of(*capable[k]);
            const std::uint64_t per = !is_home(*capable[k]) ? grain_bytes : std::max<std::uint64_t>(1, launch_bytes(*capable[k], launch,
                                                                               grid.grain_begin(0), grid.grain_end(0)));
            in.push_back(PlacementInput{rates[k], limit > used ? (limit - used) / per : 0});
        }
    }
    const auto counts = place_blocks(grid.size(), in);
    if (!counts) return {};
    std::vector<Participant*> out(grid.size(), nullptr);
    std::size_t g = 0;
    for (std::size_t k = 0; k < capable.size(); ++k)
        for (std::uint64_t n = 0; n < (*counts)[k]; ++n) out[g++] = capable[k];
    return out;
}

std::vector<Participant*> ClusterBackend::Impl::holders_of_inputs(const KernelLaunch& launch, const std::vector<Participant*>& capable) {
    std::vector<Participant*> nodes;
    for (Participant* p : capable)
        if (p->bit != 0 && (p->client || is_home(*p))) nodes.push_back(p);
    if (nodes.empty() || !options.keep_data) return {};
    std::lock_guard lock(residency_mutex);
    std::vector<Participant*> out(grid.size(), nullptr);
    bool any = false;
    std::vector<std::uint64_t> weight(nodes.size());
    for (std::size_t g = 0; g < grid.size(); ++g) {
        std::fill(weight.begin(), weight.end(), 0);
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            if (!resident(launch, i)) continue;
            const KernelArg& a = launch.args[i];
            const bool output = launch.kernel->params[i].access == Access::Out;
            const auto [b, e] = clip(a, grid.grain_begin(g), grid.grain_end(g));
            auto blocks = placed.find(a.data);
            for (const DirectoryRun& r : directory.runs(a.data, b, e)) {
                if (unwritten(r.holders)) {
                    if (blocks == placed.end()) continue;
                    for (const Block& blk : blocks->second)
                        for (std::size_t n = 0; n < nodes.size(); ++n)
                            if (nodes[n] == blk.who && blk.begin < r.end && r.begin < blk.end)
                                weight[n] += (std::min(blk.end, r.end) - std::max(blk.begin, r.begin)) * elem_size(a.type);
                    continue;
                }
                if (output) continue;
                for (std::size_t n = 0; n < nodes.size(); ++n)
                    if (!is_home(*nodes[n]) && (r.holders & nodes[n]->bit)) weight[n] += (r.end - r.begin) * elem_size(a.type);
            }
        }
        const auto best = std::max_element(weight.begin(), weight.end());
        if (*best == 0) continue;
        out[g] = nodes[static_cast<std::size_t>(best - weight.begin())];
        any = true;
    }
    return any ? out : std::vector<Participant*>{};
}

std::string ClusterBackend::Impl::plan_memory(const KernelLaunch& launch, const std::vector<Participant*>& capable) {
    planned.clear();
    std::lock_guard lock(residency_mutex);
    for (std::size_t i = 0; i < launch.args.size(); ++i)
        if (resident(launch, i))
            if (auto it = placement_error.find(launch.args[i].data); it != placement_error.end()) return it->second;
    if (grain_owner.empty()) return {};
    std::map<const Participant*, std::map<const void*, std::uint64_t>> by_region;
    for (const Participant* p : capable) planned[p] = usage(*p);
    for (std::size_t g = 0; g < grid.size(); ++g) {
        const Participant* owner = grain_owner[g];
        if (owner == nullptr) continue;
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            if (!resident(launch, i)) continue;
            const auto [lo, hi] = reach(launch, i, grid.grain_begin(g), grid.grain_end(g));
            const std::uint64_t n = lo < hi ? new_bytes(*owner, launch.args[i].data, lo, hi) : 0;
            planned[owner] += n;
            by_region[owner][launch.args[i].data] += n;
        }
    }
    for (const Participant* p : capable) {
        if (planned[p] <= limit_of(*p)) continue;
        const void* most = nullptr;
        std::uint64_t top = 0;
        for (const auto& [key, n] : by_region[p])
            if (n > top) top = n, most = key;
        return cat("launch of kernel '", launch.kernel->name, "': ", who_name(*p), " would hold ", mib(planned[p]),
                   most ? cat(", ", mib(top), " more of region ", region_name(most)) : std::string(), ", past ", limit_name(*p),
                   " (docs/cluster.md, \"Placement\")");
    }
    return {};
}

std::string ClusterBackend::Impl::keep_those_with_room(const KernelLaunch& launch, std::vector<Participant*>& capable) {
    std::uint64_t whole = 0, top = 0;
    const void* biggest = nullptr;
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        const KernelParam& param = launch.kernel->params[i];
        const KernelArg& a = launch.args[i];
        if (param.kind == ParamKind::Uniform || param.indexing != Indexing::Broadcast || a.data == nullptr) continue;
        const std::uint64_t bytes = a.length * elem_size(a.type);
        whole += bytes;
        if (bytes > top) top = bytes, biggest = a.data;
    }
    if (whole == 0) return {};
    std::string rooms;
    std::vector<Participant*> kept;
    {
        std::lock_guard lock(residency_mutex);
        for (Participant* p : capable) {
            const std::uint64_t used = is_home(*p) ? 0 : usage(*p), limit = is_home(*p) ? std::numeric_limits<std::uint64_t>::max() : limit_of(*p);
            if (used + whole <= limit) {
                kept.push_back(p);
                continue;
            }
            rooms += cat(rooms.empty() ? "" : ", ", who_name(*p), " has room for ", mib(limit > used ? limit - used : 0));
        }
    }
    if (kept.empty())
        return cat("launch of kernel '", launch.kernel->name, "': its whole-buffer inputs (", mib(whole), ", the largest ",
                   buffers.count(biggest) ? cat("region ", region_name(biggest)) : std::string("a buffer"), " of ", mib(top),
                   ") fit no node's memory: ", rooms, options.local_work ? "" : "; the home runs no chunks (--no-local-work)");
    capable = std::move(kept);
    return {};
}

bool ClusterBackend::Impl::fits(const Participant& p, std::uint64_t b, std::uint64_t e) {
    if (current_launch == nullptr) return true;
    std::lock_guard lock(residency_mutex);
    const std::uint64_t need = launch_bytes(p, *current_launch, b, e);
    auto [it, fresh] = planned.try_emplace(&p, 0);
    if (fresh) it->second = usage(p);
    if (it->second + need > limit_of(p)) return false;
    it->second += need;
    return true;
}

void ClusterBackend::Impl::fail_if_nobody_fits(std::size_t g) {
    std::string rooms;
    {
        std::lock_guard lock(residency_mutex);
        for (const Participant* q : sharing) {
            if (!q->alive) continue;
            const std::uint64_t need = launch_bytes(*q, *current_launch, grid.grain_begin(g), grid.grain_end(g));
            auto it = planned.find(q);
            const std::uint64_t have = it == planned.end() ? usage(*q) : it->second;
            if (have + need <= limit_of(*q)) return;  // q can take it
            rooms += cat(rooms.empty() ? "" : "; ", who_name(*q), " holds ", mib(have), " and needs ", mib(need), " more");
        }
    }
    if (residency_error.empty())
        residency_error = cat("launch of kernel '", current_launch->kernel->name, "': lanes [", grid.grain_begin(g), ", ",
                              grid.grain_end(g), ") fit no participant's memory (", rooms, ") (docs/cluster.md, \"Placement\")");
    done_count = grid.size();  // the workers stop
    claims_changed.notify_all();
}

}  // namespace polymer::cluster
