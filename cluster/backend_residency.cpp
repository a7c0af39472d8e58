// Region values kept where they are computed (docs/cluster.md, "Data lives
// on the nodes"): which buffers stay, what a chunk needs put or fetched node
// to node, what the home fetches when the program reads, and the fences.
#include "cluster/cluster_backend_impl.h"

namespace polymer::cluster {

bool ClusterBackend::Impl::resident(const KernelLaunch& launch, std::size_t i) const {
    const KernelParam& param = launch.kernel->params[i];
    const KernelArg& a = launch.args[i];
    return options.keep_data && param.kind != ParamKind::Uniform &&
           (param.indexing == Indexing::Element || param.indexing == Indexing::Window) && a.region != nullptr && a.data != nullptr;
}

bool ClusterBackend::Impl::keeps_outputs(const Participant& p, const KernelLaunch& launch) const {
    if (p.bit == 0 || !p.client) return false;
    bool any = false;
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        const KernelParam& param = launch.kernel->params[i];
        if (param.kind == ParamKind::Uniform || param.indexing != Indexing::Element || param.access == Access::In) continue;
        if (!resident(launch, i)) return false;
        any = true;
    }
    return any;
}

std::pair<std::uint64_t, std::uint64_t> ClusterBackend::Impl::clip(const KernelArg& a, std::uint64_t b, std::uint64_t e) {
    return {std::min(b, a.length), std::min(e, a.length)};
}

std::pair<std::uint64_t, std::uint64_t> ClusterBackend::Impl::reach(const KernelLaunch& launch, std::size_t i, std::uint64_t b,
                                                                    std::uint64_t e) {
    const KernelParam& param = launch.kernel->params[i];
    if (param.indexing == Indexing::Window) return window_reach(b, e, param.window_lo, param.window_hi, launch.args[i].length);
    return clip(launch.args[i], b, e);
}

void ClusterBackend::Impl::count_traffic(const void* key, const Region* region, Way way, std::uint64_t bytes) {
    if (region == nullptr || bytes == 0) return;
    auto [it, fresh] = traffic_row.try_emplace(key, traffic_rows.size());
    if (fresh) traffic_rows.push_back(RegionTraffic{std::string(region->name)});
    RegionTraffic& t = traffic_rows[it->second];
    (way == Way::ToNodes ? t.home_to_nodes : way == Way::ToHome ? t.nodes_to_home : t.node_to_node) += bytes;
}

void ClusterBackend::Impl::track_buffers(const KernelLaunch& launch) {
    if (!options.keep_data) return;
    std::lock_guard lock(residency_mutex);
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        const KernelArg& a = launch.args[i];
        if (launch.kernel->params[i].kind == ParamKind::Uniform || a.region == nullptr || a.data == nullptr) continue;
        directory.track(a.data, a.length);
        buffers[a.data] = BufferInfo{a.region, elem_size(a.type), a.length};
    }
}

void ClusterBackend::Impl::set_fences(const void* key) {
    auto it = buffers.find(key);
    if (it == buffers.end() || it->second.region == nullptr) return;
    Region& r = *it->second.region;
    const auto [read_begin, read_end] = directory.read_hull(key);
    const auto [write_begin, write_end] = directory.write_hull(key);
    r.set_fences(read_begin, read_end, write_begin, write_end);
}

void ClusterBackend::Impl::update_fences(const KernelLaunch& launch) {
    std::lock_guard lock(residency_mutex);
    for (const KernelArg& a : launch.args)
        if (a.region != nullptr && a.data != nullptr) set_fences(a.data);
}

Participant* ClusterBackend::Impl::source_for(const void* key, HolderSet holders) {
    for (auto& q : participants)
        if (q->alive && q->client && q->bit != 0 && (holders & q->bit) && q->resident_ids.count(key)) return q.get();
    return nullptr;
}

std::optional<std::string> ClusterBackend::Impl::pull_home(const void* key, std::uint64_t b, std::uint64_t e, HolderSet avoid) {
    for (;;) {
        std::vector<DirectoryRun> runs;
        BufferInfo info;
        {
            std::lock_guard lock(residency_mutex);
            auto it = buffers.find(key);
            if (it == buffers.end()) return std::nullopt;
            info = it->second;
            runs = directory.runs(key, b, e);
        }
        bool fetched_all = true;
        for (const DirectoryRun& r : runs) {
            if (r.holders & kHomeMemory) continue;
            Participant* q = nullptr;
            std::uint64_t id = 0;
            {
                std::lock_guard lock(residency_mutex);
                q = source_for(key, r.holders & ~avoid);
                if (q == nullptr) q = source_for(key, r.holders);  // inputs only the runner holds: it only reads them
                if (q) id = q->resident_ids[key];
            }
            if (q == nullptr) {  // its values went with a node: recompute them
                if (auto err = recover_lost()) return err;
                fetched_all = false;
                break;
            }
            {
                std::lock_guard lock(residency_mutex);
                if (auto err = home_takes(key, r.begin, r.end)) return err;
            }
            auto* home = static_cast<std::uint8_t*>(const_cast<void*>(key));
            const auto fetch_start = Clock::now();
            std::uint64_t offset = r.begin * info.elem;
            const std::uint64_t last = r.end * info.elem;
            std::string failed;
            while (offset < last) {
                const std::uint64_t n = std::min<std::uint64_t>(last - offset, kMaxSliceBytes);
                auto got = q->client->get_region(id, kResidentVersion, offset, n);
                if (!got || got.value().size() != n) {
                    failed = got ? cat("returned ", got.value().size(), " bytes of ", n) : got.error();
                    break;
                }
                lineage.before_home_write(buffer_ref(key, info), offset / info.elem, (offset + n) / info.elem, HomeWrite::Replayable);
                std::memcpy(home + offset, got.value().data(), n);
                q->stats.bytes_in += n;
                q->stats.bytes_fetched += n;
                {
                    std::lock_guard lock(residency_mutex);
                    count_traffic(key, info.region, Way::ToHome, n);
                }
                offset += n;
            }
            if (!failed.empty()) {
                lose(*q, cat("fetching region data: ", failed));
                fetched_all = false;  // look again: another holder, or none
                break;
            }
            if (chunk_log.enabled())  // --trace: a slice on the node's track
                for (std::size_t n = 0; n < participants.size(); ++n)
                    if (participants[n].get() == q)
                        chunk_log.add(ChunkRun{static_cast<std::uint32_t>(n), launch_seq,
                                               cat("fetch ", info.region ? std::string(info.region->name) : std::string("region")),
                                               r.begin, r.end, fetch_start, Clock::now(), 0, last - r.begin * info.elem, false,
                                               ChunkOutcome::Fetched});
            std::lock_guard lock(residency_mutex);
            directory.add(key, r.begin, r.end, kHomeMemory);
        }
        if (fetched_all) return std::nullopt;
    }
}

std::optional<std::string> ClusterBackend::Impl::pull_inputs_home(const KernelLaunch& launch, std::uint64_t b, std::uint64_t e,
                                                                  HolderSet avoid) {
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        if (!resident(launch, i) || launch.kernel->params[i].access == Access::Out) continue;
        const auto [lo, hi] = reach(launch, i, b, e);
        if (auto err = pull_home(launch.args[i].data, lo, hi, avoid)) return err;
    }
    return std::nullopt;
}

std::optional<std::string> ClusterBackend::Impl::bring_all_home(const KernelLaunch& launch, const LaunchPlan& plan, bool whole) {
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        const KernelParam& param = launch.kernel->params[i];
        const KernelArg& a = launch.args[i];
        if (param.kind == ParamKind::Uniform || a.data == nullptr) continue;
        // Element-wise and window buffers go a chunk's reach at a time.
        if (!whole && (param.indexing == Indexing::Element || param.indexing == Indexing::Window)) continue;
        if (auto err = pull_home(a.data, 0, a.length)) return err;
        if (param.access != Access::In || plan.is_partial(i)) {
            if (whole) lineage.before_home_write(buffer_ref(a), 0, a.length, HomeWrite::Program);
            std::lock_guard lock(residency_mutex);
            if (auto err = home_takes(a.data, 0, a.length)) return err;
            directory.set(a.data, 0, a.length, kHomeMemory);
            directory.mark_logged_input(a.data, 0, a.length, false);
            set_fences(a.data);
        }
    }
    return std::nullopt;
}

Participant* ClusterBackend::Impl::peer_source(const Participant& p, const void* key, HolderSet holders) {
    if (!p.fetches_from_peers) return nullptr;
    for (auto& q : participants)
        if (q.get() != &p && q->alive && q->client && q->bit != 0 && (holders & q->bit) && q->has_ticket && q->peer_port != 0 &&
            q->resident_ids.count(key))
            return q.get();
    return nullptr;
}

Result<std::uint64_t> ClusterBackend::Impl::put_resident_inputs(Participant& p, const KernelLaunch& launch, std::size_t i, std::uint64_t b,
                                                                std::uint64_t e, HolderSet avoid, std::vector<HaloFetch>& fetches,
                                                                std::vector<HaloNote>& notes) {
    const KernelArg& a = launch.args[i];
    const KernelParam& param = launch.kernel->params[i];
    const auto [lo, hi] = reach(launch, i, b, e);
    return resident_copy_on(p, a.data, a.region, elem_size(a.type), a.length, lo, hi, param.access != Access::Out, avoid, &fetches, &notes,
                            param.indexing == Indexing::Window ? "halo " : "slice ");
}

Result<std::uint64_t> ClusterBackend::Impl::resident_copy_on(Participant& p, const void* key, const Region* region, std::size_t size,
                                                             std::uint64_t length, std::uint64_t lo, std::uint64_t hi, bool input,
                                                             HolderSet avoid, std::vector<HaloFetch>* fetches,
                                                             std::vector<HaloNote>* notes, const char* what) {
    const std::uint64_t total = length * size;
    std::uint64_t id = 0;
    std::vector<DirectoryRun> runs;
    {
        std::lock_guard lock(residency_mutex);
        auto [it, fresh] = p.resident_ids.try_emplace(key, 0);
        if (fresh) {
            it->second = p.next_region++;
            name_region(p, it->second, region);
        }
        id = it->second;
        if (input) runs = directory.runs(key, lo, hi);
    }
    std::uint64_t& have = p.versions[id];
    for (const DirectoryRun& r : runs) {
        if (r.holders & p.bit) continue;
        const std::uint64_t offset = r.begin * size, bytes = (r.end - r.begin) * size;
        if (!(r.holders & kHomeMemory)) {
            if (fetches != nullptr) {
                std::lock_guard lock(residency_mutex);
                if (Participant* q = peer_source(p, key, r.holders & ~avoid)) {
                    fetches->push_back(HaloFetch{q->host, q->peer_port, q->resident_ids[key], kResidentVersion, id, kResidentVersion,
                                                 offset, bytes});
                    p.stats.bytes_from_nodes += bytes;
                    count_traffic(key, region, Way::NodeToNode, bytes);
                    if (chunk_log.enabled() && notes != nullptr && region != nullptr)
                        notes->push_back(HaloNote{cat(what, region->name, " from ", q->stats.name), r.begin, r.end});
                    continue;
                }
            }
            if (auto err = pull_home(key, r.begin, r.end, avoid)) return Error{*err};
        }
        const auto* data = static_cast<const std::uint8_t*>(key);
        p.stats.bytes_out += bytes;
        auto put = p.client->put_region(id, kResidentVersion, total, offset, {data + offset, bytes});
        if (!put) return Error{put.error()};
        have = kResidentVersion;
        std::lock_guard lock(residency_mutex);
        count_traffic(key, region, Way::ToNodes, bytes);
        directory.add(key, r.begin, r.end, p.bit);
    }
    if (have != kResidentVersion) {  // an output, or all present or fetched: the copy must exist
        auto put = p.client->put_region(id, kResidentVersion, total, 0, {});
        if (!put) return Error{put.error()};
        have = kResidentVersion;
    }
    return id;
}

void ClusterBackend::Impl::outputs_held_by(const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, HolderSet holders) {
    std::lock_guard lock(residency_mutex);
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
        if (!resident(launch, i) || launch.kernel->params[i].access == Access::In) continue;
        const auto [lo, hi] = clip(launch.args[i], b, e);
        directory.set(launch.args[i].data, lo, hi, holders);
        if ((holders & kHomeMemory) && is_placed(launch.args[i].data)) home_touched[launch.args[i].data].add(lo, hi);
    }
}

HolderSet ClusterBackend::Impl::runner_bit(std::size_t i) {
    std::lock_guard lock(chunk_mutex);
    return chunks[i].first ? chunks[i].first->bit : 0;
}

bool ClusterBackend::Impl::outputs_stay(const KernelLaunch& launch) const {
    for (std::size_t i = 0; i < launch.args.size(); ++i)
        if (resident(launch, i) && launch.kernel->params[i].access != Access::In) return true;
    return false;
}

void ClusterBackend::Impl::forget_holder(Participant& p) {
    if (p.bit == 0) return;
    std::lock_guard lock(residency_mutex);
    // Runs left with no holder are recomputed when first needed (recover_lost).
    directory.drop_holder(p.bit, [](const void*, std::uint64_t, std::uint64_t) {});
    p.resident_ids.clear();
    for (auto& [key, info] : buffers) set_fences(key);
}

void ClusterBackend::Impl::fail_launch(const std::string& why) {
    std::lock_guard lock(chunk_mutex);
    if (residency_error.empty()) residency_error = why;
    done_count = grid.size();  // the workers stop
    claims_changed.notify_all();
}

void ClusterBackend::Impl::bring_home(Region& r, std::uint64_t b, std::uint64_t e, HomeAccess access) {
    const void* key = r.data;
    std::uint64_t lo = b, hi = e;
    {
        std::lock_guard lock(residency_mutex);
        auto it = buffers.find(key);
        if (it == buffers.end() || it->second.length != r.length) {
            r.set_fences(0, 0, 0, 0);
            return;
        }
        // The window around the element: a scalar loop over the region
        // fetches a piece at a time, not an element.
        const std::uint64_t w = std::max<std::uint64_t>(1, kFetchWindowBytes / it->second.elem);
        lo = b / w * w;
        hi = std::min(r.length, std::max(e, lo + w));
    }
    if (auto err = pull_home(key, lo, hi)) options.on_fatal(*err);
    if (access == HomeAccess::Write) {
        std::optional<std::string> err;
        {
            std::lock_guard lock(residency_mutex);
            err = home_takes(key, lo, hi);
        }
        if (err) options.on_fatal(*err);
        lineage.before_home_write(BufferRef{r.data, r.length, r.type}, lo, hi, HomeWrite::Program);
    }
    {
        std::lock_guard lock(residency_mutex);
        if (access == HomeAccess::Write) {
            directory.set(key, lo, hi, kHomeMemory);
            directory.mark_logged_input(key, lo, hi, false);
        }
        set_fences(key);
    }
    restart_log_if_all_home();
}

void ClusterBackend::Impl::forget_region(Region& r) {
    lineage.forget(r.data);
    std::lock_guard lock(residency_mutex);
    directory.forget(r.data);
    buffers.erase(r.data);
    traffic_row.erase(r.data);
    placed.erase(r.data);
    placement_error.erase(r.data);
    home_touched.erase(r.data);
    // No launch runs now (the caller waited): the nodes may free their
    // copies at once. Ids are never reused, so a late frame cannot name one.
    for (auto& p : participants) {
        std::vector<std::uint64_t> ids;
        if (auto it = p->resident_ids.find(r.data); it != p->resident_ids.end()) {
            ids.push_back(it->second);
            p->resident_ids.erase(it);
        }
        if (auto it = p->region_ids.find(r.data); it != p->region_ids.end()) {
            ids.push_back(it->second);
            p->versions.erase(it->second);
            p->broadcast_bytes.erase(it->second);
            p->region_ids.erase(it);
        }
        for (std::uint64_t id : ids) p->region_names.erase(id);
        if (p->client && p->alive) p->client->drop_regions(std::move(ids));
    }
    r.set_fences(0, 0, 0, 0);
}

}  // namespace polymer::cluster
