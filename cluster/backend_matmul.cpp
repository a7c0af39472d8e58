// vmatmul on the nodes (docs/cluster.md, "Vector ops on the nodes"): row i
// of C (M x N) reads row i of A (M x K) and all of B (K x N). So C is cut
// into pieces of rows, each run where most of A's same rows are (B is put
// whole where it is missing, as a launch's broadcast input), and C's rows
// stay with whoever computed them. Each element sums its K products in the
// same order whatever the rows around it (vm/vector_op.h
// run_matmul_rows_cpu), so the result is one pass's, bit for bit.
#include "cluster/cluster_backend_impl.h"

namespace polymer::cluster {

bool ClusterBackend::Impl::matmul_runs_on_nodes(const VectorOpArgs& args) const {
    // Pieces write C while others read B: never when they are one region.
    if (args.dst.data == args.b.data || args.dst.length == 0) return false;
    bool away = false;
    std::lock_guard lock(residency_mutex);
    for (const RegionView* v : {&args.dst, &args.a, &args.b}) {
        if (v->region == nullptr || v->data == nullptr) return false;
        for (const DirectoryRun& r : directory.runs(v->data, 0, v->length))
            away = away || !(r.holders & kHomeMemory) || (unwritten(r.holders) && placed.count(v->data));
    }
    return away;
}

Result<std::uint64_t> ClusterBackend::Impl::send_matmul_rows(Participant& p, const VectorOpArgs& args, std::uint64_t r0, std::uint64_t r1) {
    const auto k = static_cast<std::uint64_t>(args.int_scalar);
    const std::uint64_t m = args.a.length / k, n = args.b.length / k;
    VectorChunk msg;
    msg.op = static_cast<std::uint8_t>(args.op);
    msg.length = m;  // rows: docs/protocol.md, vector-chunk
    msg.begin = r0;
    msg.end = r1;
    msg.int_scalar = args.int_scalar;
    const struct {
        std::uint8_t slot;
        const RegionView* view;
        std::uint64_t lo, hi;
        bool input;
    } operands[] = {{0, &args.dst, r0 * n, r1 * n, false}, {1, &args.a, r0 * k, r1 * k, true}, {2, &args.b, 0, args.b.length, true}};
    for (const auto& o : operands) {
        auto id = vector_operand_on(p, *o.view, o.lo, o.hi, o.input);
        if (!id) return Error{id.error()};
        msg.operands.push_back(VectorOperand{o.slot, static_cast<std::uint8_t>(o.view->type), id.value(), kResidentVersion});
    }
    return p.client->start_vector(msg);
}

Result<VectorOpResult> ClusterBackend::Impl::run_matmul(const VectorOpArgs& args) {
    const auto k = static_cast<std::uint64_t>(args.int_scalar);
    const std::uint64_t m = args.a.length / k, n = args.b.length / k;
    {
        std::lock_guard lock(residency_mutex);
        for (const RegionView* v : {&args.dst, &args.a, &args.b}) {
            directory.track(v->data, v->length);
            buffers[v->data] = BufferInfo{v->region, elem_size(v->type), v->length};
        }
    }
    // Every piece reads B whole: current at home first, for the lineage
    // log's copy of it and to put where it is missing.
    if (auto err = pull_home(args.b.data, 0, args.b.length)) return Error{cat("vmatmul: ", *err)};
    // Logged before it runs, as an element-wise op is: a node holding the
    // only copy of some of C's rows may be lost later.
    auto record = lineage.record(args);
    if (!record) return Error{cat("vmatmul: ", record.error())};
    {
        std::lock_guard lock(residency_mutex);
        directory.mark_logged_input(args.dst.data, 0, args.dst.length, true);
        directory.mark_logged_input(args.a.data, 0, args.a.length, true);
    }
    const VectorRecordScope in_progress(*this, record.value());

    // A's runs in rows: a row goes with most of its elements.
    auto plan = [&] {
        std::vector<HolderSet> bits;
        std::vector<Participant*> who;
        for (auto [bit, p] : piece_candidates()) bits.push_back(bit), who.push_back(p);
        std::vector<OperandRun> rows;
        for (const OperandRun& r : operand_runs(args.a))
            rows.push_back(OperandRun{r.begin / k, (r.end + k - 1) / k, r.holders, r.elem_bytes});
        std::vector<std::pair<VectorPiece, Participant*>> out;
        for (const VectorPiece& p : plan_vector_pieces(m, 1, rows, bits, bits.size() - 1)) out.push_back({p, who[p.runner]});
        return out;
    };
    PieceRunner runner;
    runner.name = "vmatmul";
    runner.elements_per_unit = n;  // a unit is a row of C
    runner.plan = plan;
    runner.send = [&](Participant& p, std::uint64_t r0, std::uint64_t r1) { return send_matmul_rows(p, args, r0, r1); };
    runner.run_at_home = [&](std::uint64_t r0, std::uint64_t r1) -> std::optional<std::string> {
        if (auto err = pull_home(args.a.data, r0 * k, r1 * k)) return err;
        {
            std::lock_guard lock(residency_mutex);
            if (auto err = home_takes(args.dst.data, r0 * n, r1 * n)) return cat("vmatmul: ", *err);
        }
        lineage.before_home_write(BufferRef{args.dst.data, args.dst.length, args.dst.type}, r0 * n, r1 * n, HomeWrite::Replayable);
        run_matmul_rows_cpu(args, r0, r1);
        std::lock_guard lock(residency_mutex);
        directory.set(args.dst.data, r0 * n, r1 * n, kHomeMemory);
        return std::nullopt;
    };
    runner.landed = [&](Participant& p, std::uint64_t r0, std::uint64_t r1, VectorChunkResult&) {
        std::lock_guard lock(residency_mutex);
        directory.set(args.dst.data, r0 * n, r1 * n, p.bit);
    };
    if (auto err = run_in_rounds(m, args, runner)) return Error{*err};
    {
        std::lock_guard lock(residency_mutex);
        for (const RegionView* v : {&args.dst, &args.a, &args.b}) set_fences(v->data);
    }
    restart_log_if_all_home();
    return VectorOpResult{};
}

}  // namespace polymer::cluster
