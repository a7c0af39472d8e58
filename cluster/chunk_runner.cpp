#include "cluster/chunk_runner.h"

#include <chrono>

#include "cluster/element_ranges.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

std::variant<PreparedChunk, Refusal> prepare_chunk(const LaunchChunk& msg, NodeStore& store, PeerId peer) {
    auto refuse = [](ErrorCode c, std::string m) { return Refusal{c, std::move(m)}; };
    PreparedChunk chunk;
    chunk.module = store.module(peer, msg.module);
    if (!chunk.module)
        return refuse(ErrorCode::UnknownModule, cat("module ", to_hex(msg.module).substr(0, 16), " is not on this node; upload it first"));
    if (msg.kernel >= chunk.module->kernels.size())
        return refuse(ErrorCode::BadLaunch, cat("kernel index ", msg.kernel, " is out of range: the module has ",
                                                chunk.module->kernels.size(), " kernels"));
    const Kernel& k = chunk.module->kernels[msg.kernel];
    // Named only when refusing: building it for every launch cost a stream per tiny chunk.
    auto where = [&k] { return cat("kernel '", k.name, "'"); };
    if (msg.count > kMaxLaunchCount)
        return refuse(ErrorCode::BadLaunch, cat(where(), ": count ", msg.count, " is over the limit of ", kMaxLaunchCount));
    if (msg.begin > msg.end || msg.end > msg.count)
        return refuse(ErrorCode::BadLaunch, cat(where(), ": chunk [", msg.begin, ", ", msg.end, ") is not inside [0, ", msg.count, ")"));
    if (msg.args.size() != k.params.size())
        return refuse(ErrorCode::BadLaunch, cat(where(), " takes ", k.params.size(), " arguments, the launch binds ", msg.args.size()));

    chunk.launch.kernel = &k;
    chunk.launch.kernel_index = msg.kernel;
    chunk.launch.count = msg.count;
    chunk.launch.begin = msg.begin;
    chunk.launch.end = msg.end;
    chunk.launch.max_iterations = msg.max_iterations;
    chunk.rounds = msg.rounds;
    std::uint64_t result_bytes = 16;
    std::vector<HoldRange> writes;  // what the chunk and its fetches will write
    for (std::size_t p = 0; p < k.params.size(); ++p) {
        const KernelParam& param = k.params[p];
        const Binding& b = msg.args[p];
        KernelArg arg;
        arg.type = param.type;
        if (param.kind == ParamKind::Uniform) {
            if (b.kind != Binding::Kind::Uniform)
                return refuse(ErrorCode::BadLaunch, cat(where(), " param ", p, " '", param.name, "' is a uniform, the launch binds a region"));
            arg.uniform = b.uniform;
            chunk.launch.args.push_back(arg);
            continue;
        }
        if (b.kind != Binding::Kind::Region)
            return refuse(ErrorCode::BadLaunch, cat(where(), " param ", p, " '", param.name, "' is a buffer, the launch binds a uniform"));
        auto region = store.region(peer, b.region, b.version);
        if (!region)
            return refuse(ErrorCode::UnknownRegion, cat(where(), " param ", p, " '", param.name, "': region ", b.region,
                                                        " version ", b.version, " is not on this node"));
        const std::size_t size = elem_size(param.type);
        if (region->bytes.size() % size != 0)
            return refuse(ErrorCode::BadLaunch, cat(where(), " param ", p, " '", param.name, "': region ", b.region, " has ",
                                                    region->bytes.size(), " bytes, not a whole number of ", elem_type_name(param.type), " elements"));
        arg.length = region->bytes.size() / size;
        arg.data = arg.length == 0 ? nullptr : region->bytes.data();
        chunk.launch.args.push_back(arg);
        chunk.regions.push_back(region);
        // What this chunk touches: its lanes' elements (and halo), or the whole buffer.
        OutputSpan out{static_cast<std::uint32_t>(p), b.region, 0, region->bytes.size()};
        if (param.indexing == Indexing::Element) {
            const std::uint64_t first = std::min(msg.begin, arg.length), last = std::min(msg.end, arg.length);
            out.offset = first * size;
            out.length = (last - first) * size;
        } else if (param.indexing == Indexing::Window) {  // its lanes' reach: their elements and the halo
            const auto [first, last] = window_reach(msg.begin, msg.end, param.window_lo, param.window_hi, arg.length);
            out.offset = first * size;
            out.length = (last - first) * size;
        }
        // Settled before the chunk runs: the range is then this version's, so
        // what the chunk writes there stays for later launches and gets (a
        // later settle zeroes only what an older version left).
        region->settle(out.offset, out.offset + out.length);
        if (param.access == Access::In) continue;
        chunk.writes.push_back(out);
        writes.push_back({region.get(), out.offset, out.offset + out.length});
        if (msg.keep_outputs && param.indexing == Indexing::Element) continue;  // stays here for region-get
        result_bytes += 28 + out.length;
        chunk.outputs.push_back(out);
    }
    if (result_bytes > kMaxPayload)
        return refuse(ErrorCode::BadLaunch, cat(where(), ": the chunk's outputs are ", result_bytes,
                                                " bytes, over the frame limit of ", kMaxPayload, "; launch smaller chunks"));
    for (std::size_t i = 0; i < msg.fetches.size(); ++i) {
        const HaloFetch& h = msg.fetches[i];
        auto target = store.region(peer, h.to_region, h.to_version);
        if (!target)
            return refuse(ErrorCode::UnknownRegion, cat("fetch ", i, ": region ", h.to_region, " version ", h.to_version,
                                                        " is not on this node (put it, with its total size, first)"));
        if (h.offset > target->bytes.size() || h.length > target->bytes.size() - h.offset)
            return refuse(ErrorCode::OutOfRange, cat("fetch ", i, ": bytes [", h.offset, ", ", h.offset + h.length, ") run past region ",
                                                     h.to_region, "'s ", target->bytes.size(), " bytes"));
        writes.push_back({target.get(), h.offset, h.offset + h.length});
        chunk.fetch_targets.push_back(std::move(target));
    }
    if (auto r = store.hold(peer, writes)) return refuse(r->code, cat(where(), ": ", r->message));
    return chunk;
}

ChunkResult run_chunk(const PreparedChunk& chunk, Backend& backend) {
    const auto start = std::chrono::steady_clock::now();
    ChunkResult result;
    if (chunk.rounds > 1) {
        const std::optional<RoundsResult> taken = backend.run_rounds({&chunk.launch, 1}, chunk.rounds);
        const RoundsResult r = taken ? *taken : run_rounds_one_by_one(backend, {&chunk.launch, 1}, chunk.rounds);
        result.fault = r.fault;
        result.fault_round = r.rounds_done;
    } else {
        result.fault = backend.wait(backend.submit(chunk.launch)).fault;
    }
    result.kernel_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    for (const OutputSpan& o : chunk.outputs) {
        const auto* base = static_cast<const std::uint8_t*>(chunk.launch.args[o.param].data);
        OutputSlice s{o.param, o.region, o.offset, {}};
        if (o.length != 0) s.data.assign(base + o.offset, base + o.offset + o.length);
        result.outputs.push_back(std::move(s));
    }
    return result;
}

}  // namespace polymer::cluster
