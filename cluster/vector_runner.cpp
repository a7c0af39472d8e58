#include "cluster/vector_runner.h"

#include <array>
#include <chrono>

#include "isa/byte_io.h"
#include "isa/vector_rules.h"

namespace polymer::cluster {

using pbc::cat;

std::variant<PreparedVector, Refusal> prepare_vector_chunk(const VectorChunk& msg, NodeStore& store, PeerId peer) {
    auto refuse = [](ErrorCode c, std::string m) { return Refusal{c, std::move(m)}; };
    if (!is_valid_op(msg.op) || !as_vector_op(static_cast<Op>(msg.op)))
        return refuse(ErrorCode::BadLaunch, cat("opcode ", unsigned{msg.op}, " is not a vector op"));
    const Op op = static_cast<Op>(msg.op);
    const std::string name(op_info(op).mnemonic);
    const VectorShape shape = vector_shape(op);
    if (msg.begin > msg.end || msg.end > msg.length)
        return refuse(ErrorCode::BadLaunch, cat(name, ": piece [", msg.begin, ", ", msg.end, ") is not inside [0, ", msg.length, ")"));
    const std::uint64_t align = vector_piece_alignment(op);
    if (msg.begin % align != 0)
        return refuse(ErrorCode::BadLaunch, cat(name, ": a piece of a reduction starts at a multiple of ", align, ", not ", msg.begin));

    const std::uint8_t used = vector_region_slots(op);
    std::uint8_t bound = 0;
    for (const VectorOperand& o : msg.operands) bound |= slot_bit(o.slot);
    if (bound != used) return refuse(ErrorCode::BadLaunch, cat(name, ": binds region slots ", unsigned{bound}, ", the op's are ", unsigned{used}));

    PreparedVector v;
    v.args.op = op;
    v.args.int_scalar = msg.int_scalar;
    v.args.float_scalar = msg.float_scalar;
    v.begin = msg.begin;
    v.end = msg.end;
    RegionView* views[] = {&v.args.dst, &v.args.a, &v.args.b, &v.args.c};
    static const char* const kSlotNames[] = {"dst", "a", "b", "c"};
    std::array<std::shared_ptr<StoredRegion>, 4> regions;
    std::array<ElemType, 4> types{};
    for (const VectorOperand& o : msg.operands) {
        auto region = store.region(peer, o.region, o.version);
        if (!region)
            return refuse(ErrorCode::UnknownRegion,
                          cat(name, " ", kSlotNames[o.slot], ": region ", o.region, " version ", o.version, " is not on this node"));
        regions[o.slot] = std::move(region);
        types[o.slot] = static_cast<ElemType>(o.type);
    }
    // Each operand's elements and the run of them the piece touches: [begin,
    // end) of `length` for every op but vmatmul, whose `length`, `begin` and
    // `end` count rows: dst's and a's rows [begin, end) (N and K elements
    // each, K = int_scalar) and all of b (K x N).
    struct Extent {
        std::uint64_t elements, lo, hi;
    };
    std::array<Extent, 4> extent{};
    for (std::uint8_t slot = 0; slot < 4; ++slot) extent[slot] = {msg.length, msg.begin, msg.end};
    if (shape == VectorShape::Rows) {
        const std::int64_t k = msg.int_scalar;
        const std::uint64_t b_bytes = regions[2] ? regions[2]->bytes.size() : 0, b_size = elem_size(types[2]);
        if (k <= 0 || b_bytes % b_size != 0 || (b_bytes / b_size) % static_cast<std::uint64_t>(k) != 0)
            return refuse(ErrorCode::BadLaunch, cat(name, ": b's ", b_bytes, " bytes are not K x N elements for K = ", k));
        const auto uk = static_cast<std::uint64_t>(k), n = b_bytes / b_size / uk;
        std::uint64_t a_elements = 0, c_elements = 0;
        if (__builtin_mul_overflow(msg.length, uk, &a_elements) || __builtin_mul_overflow(msg.length, n, &c_elements))
            return refuse(ErrorCode::BadLaunch, cat(name, ": ", msg.length, " rows are too many"));
        extent[0] = {c_elements, msg.begin * n, msg.end * n};
        extent[1] = {a_elements, msg.begin * uk, msg.end * uk};
        extent[2] = {uk * n, 0, uk * n};
    }
    HoldRange written;
    for (const VectorOperand& o : msg.operands) {
        const char* slot = kSlotNames[o.slot];
        auto& region = regions[o.slot];
        const ElemType type = types[o.slot];
        const std::size_t size = elem_size(type);
        const Extent& x = extent[o.slot];
        if (region->bytes.size() % size != 0 || region->bytes.size() / size != x.elements)
            return refuse(ErrorCode::BadLaunch, cat(name, " ", slot, ": region ", o.region, " has ", region->bytes.size(), " bytes, not ",
                                                    x.elements, " ", elem_type_name(type), " elements"));
        *views[o.slot] = RegionView{type, x.elements == 0 ? nullptr : region->bytes.data(), x.elements};
        // Settled before the piece runs, as for a launch (chunk_runner.cpp):
        // the range then reads as this version, and what it writes stays.
        const ByteSpan span{region->bytes.data(), x.lo * size, x.hi * size};
        region->settle(span.lo, span.hi);
        (o.slot == 0 ? v.writes : v.reads).push_back(span);
        if (o.slot == 0) written = {region.get(), span.lo, span.hi};
        v.regions.push_back(region);
    }
    if (const char* problem = check_vector_op(v.args)) return refuse(ErrorCode::BadLaunch, problem);
    // A float sum's partial is a double per block of the piece.
    const std::uint64_t values = shape == VectorShape::Reduction ? (msg.end - msg.begin + align - 1) / align : 0;
    if (values > (kMaxPayload - 32) / 8)
        return refuse(ErrorCode::BadLaunch, cat(name, ": the piece's partial would be ", values * 8, " bytes, over the frame limit; send smaller pieces"));
    // A reduction writes no region (dst unbound: `written` stays empty).
    if (written.region)
        if (auto r = store.hold(peer, std::span(&written, 1))) return refuse(r->code, cat(name, " dst: ", r->message));
    return v;
}

VectorChunkResult run_vector_chunk(const PreparedVector& v) {
    const auto start = std::chrono::steady_clock::now();
    VectorChunkResult r;
    if (vector_shape(v.args.op) == VectorShape::Rows) {
        run_matmul_rows_cpu(v.args, v.begin, v.end);  // dst's rows stay in the node's region
    } else if (vector_shape(v.args.op) == VectorShape::Scan) {
        // The scalars carry the running value in, the result carries it out.
        const ScanCarry out = run_scan_piece_cpu(v.args, v.begin, v.end, ScanCarry{v.args.int_scalar, v.args.float_scalar});
        r.int_value = out.int_value;
        r.values = {out.float_value};
    } else {
        VectorPartial part = run_vector_piece_cpu(v.args, v.begin, v.end);
        r.int_value = part.int_value;
        r.values = std::move(part.values);
    }
    r.kernel_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    return r;
}

}  // namespace polymer::cluster
