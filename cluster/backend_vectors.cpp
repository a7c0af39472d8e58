// Vector ops run where their operands are (docs/cluster.md, "Vector ops on
// the nodes"): pieces per holder, partials combined at home in order.
#include "cluster/cluster_backend_impl.h"

namespace polymer::cluster {

auto ClusterBackend::Impl::vector_operands(const VectorOpArgs& args) -> std::vector<OpOperand> {
    std::vector<OpOperand> out;
    const RegionView* views[] = {&args.dst, &args.a, &args.b, &args.c};
    for (std::uint8_t slot = 0; slot < 4; ++slot)
        if (vector_region_slots(args.op) & slot_bit(slot)) out.push_back({slot, views[slot]});
    return out;
}

std::uint64_t ClusterBackend::Impl::vector_length(const VectorOpArgs& args) {
    return vector_shape(args.op) == VectorShape::Reduction ? args.a.length : args.dst.length;
}

bool ClusterBackend::Impl::vector_runs_on_nodes(const VectorOpArgs& args) const {
    if (!options.keep_data || vector_shape(args.op) == VectorShape::Whole) return false;
    if (vector_shape(args.op) == VectorShape::Rows) return matmul_runs_on_nodes(args);
    const std::uint64_t n = vector_length(args);
    if (n == 0) return false;
    bool away = false;
    std::lock_guard lock(residency_mutex);
    for (const OpOperand& o : vector_operands(args)) {
        if (o.view->region == nullptr || o.view->data == nullptr || o.view->length != n) return false;
        for (const DirectoryRun& r : directory.runs(o.view->data, 0, n))
            away = away || !(r.holders & kHomeMemory) || (unwritten(r.holders) && placed.count(o.view->data));
    }
    return away;
}

Result<std::uint64_t> ClusterBackend::Impl::vector_operand_on(Participant& p, const RegionView& v, std::uint64_t b, std::uint64_t e,
                                                              bool input) {
    return resident_copy_on(p, v.data, v.region, elem_size(v.type), v.length, b, e, input, 0, nullptr, nullptr, "");
}

Result<std::uint64_t> ClusterBackend::Impl::send_vector_piece(Participant& p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e) {
    VectorChunk msg;
    msg.op = static_cast<std::uint8_t>(args.op);
    msg.length = vector_length(args);
    msg.begin = b;
    msg.end = e;
    msg.int_scalar = args.int_scalar;
    msg.float_scalar = args.float_scalar;
    for (const OpOperand& o : vector_operands(args)) {
        auto id = vector_operand_on(p, *o.view, b, e, o.slot != 0);
        if (!id) return Error{id.error()};
        msg.operands.push_back(VectorOperand{o.slot, static_cast<std::uint8_t>(o.view->type), id.value(), kResidentVersion});
    }
    return p.client->start_vector(msg);
}

void ClusterBackend::Impl::log_vector_piece(const Participant* p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e,
                                            Clock::time_point start, std::uint64_t bytes_out, std::uint64_t bytes_in) {
    if (!chunk_log.enabled()) return;
    std::uint32_t who = ChunkRun::kWholeAtHome;
    for (std::size_t i = 0; i < participants.size(); ++i)
        if (participants[i].get() == p || (p == nullptr && participants[i]->bit == kHomeMemory)) who = static_cast<std::uint32_t>(i);
    chunk_log.add(ChunkRun{who, launch_seq, std::string(op_info(args.op).mnemonic), b, e, start, Clock::now(), bytes_out, bytes_in,
                           false, ChunkOutcome::Vector});
}

std::vector<OperandRun> ClusterBackend::Impl::operand_runs(const RegionView& v) {
    std::vector<OperandRun> runs;
    std::lock_guard lock(residency_mutex);
    for (const DirectoryRun& r : directory.runs(v.data, 0, v.length)) {
        auto blocks = placed.find(v.data);
        if (!unwritten(r.holders) || blocks == placed.end()) {
            runs.push_back(OperandRun{r.begin, r.end, r.holders, elem_size(v.type)});
            continue;
        }
        // Unwritten: each part goes to its block's participant, so a region
        // larger than any one of them stays spread.
        for (const Block& blk : blocks->second)
            if (blk.begin < r.end && r.begin < blk.end)
                runs.push_back(OperandRun{std::max(blk.begin, r.begin), std::min(blk.end, r.end), blk.who->bit, elem_size(v.type)});
    }
    return runs;
}

std::vector<std::pair<HolderSet, Participant*>> ClusterBackend::Impl::piece_candidates() const {
    std::vector<std::pair<HolderSet, Participant*>> out;
    for (auto& p : participants)
        if (p->alive && p->client && p->bit != 0) out.push_back({p->bit, p.get()});
    out.push_back({kHomeMemory, nullptr});  // last: the fallback
    return out;
}

auto ClusterBackend::Impl::plan_pieces(const VectorOpArgs& args, const std::vector<OpOperand>& operands)
    -> std::vector<std::pair<VectorPiece, Participant*>> {
    const std::uint64_t n = vector_length(args);
    std::vector<HolderSet> bits;
    std::vector<Participant*> who;
    for (auto [bit, p] : piece_candidates()) bits.push_back(bit), who.push_back(p);
    // Each piece's runner decides by the inputs' runs (dst's for an op without inputs).
    std::vector<OperandRun> runs;
    for (const OpOperand& o : operands) {
        if (o.slot == 0 && operands.size() > 1) continue;
        std::vector<OperandRun> more = operand_runs(*o.view);
        runs.insert(runs.end(), more.begin(), more.end());
    }
    std::vector<std::pair<VectorPiece, Participant*>> out;
    for (const VectorPiece& p : plan_vector_pieces(n, vector_piece_alignment(args.op), runs, bits, bits.size() - 1))
        out.push_back({p, who[p.runner]});
    return out;
}

void ClusterBackend::Impl::track_vector_operands(const VectorOpArgs& args, const std::vector<OpOperand>& operands) {
    const std::uint64_t n = vector_length(args);
    std::lock_guard lock(residency_mutex);
    for (const OpOperand& o : operands) {
        directory.track(o.view->data, n);
        buffers[o.view->data] = BufferInfo{o.view->region, elem_size(o.view->type), n};
    }
}

std::optional<std::string> ClusterBackend::Impl::run_in_rounds(std::uint64_t total, const VectorOpArgs& args, const PieceRunner& r) {
    struct Done {
        std::uint64_t begin, end;
        Participant* runner;  // null: the home
    };
    std::vector<Done> done;
    ElementRanges todo;
    todo.add(0, total);
    for (std::size_t round = 0; !todo.empty(); ++round) {
        if (round > participants.size() + 1) return cat(r.name, ": pieces still failing after ", round, " rounds");
        struct Sent {
            std::uint64_t begin, end;
            Participant* p;
            std::uint64_t request;
            Clock::time_point start;
            std::uint64_t bytes_out;
        };
        std::vector<Sent> sent;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> at_home;
        for (auto [piece, runner] : r.plan()) {
            Participant* p = runner;  // a lambda may not capture a structured binding (clang 14)
            todo.for_each_in(piece.begin, piece.end, [&](std::uint64_t b, std::uint64_t e) {
                if (p == nullptr || !p->alive) {
                    at_home.push_back({b, e});
                    return;
                }
                const auto start = Clock::now();
                const std::uint64_t out_before = p->stats.bytes_out;
                auto id = r.send(*p, b, e);
                if (!id) {
                    lose(*p, cat("vector op ", r.name, ": ", id.error()));
                    return;  // still to do: the next round
                }
                sent.push_back({b, e, p, id.value(), start, p->stats.bytes_out - out_before});
            });
        }
        // The home's pieces while the nodes run theirs.
        for (auto [b, e] : at_home) {
            const auto start = Clock::now();
            if (auto err = r.run_at_home(b, e)) return err;
            log_vector_piece(nullptr, args, b, e, start, 0, 0);
            for (auto& q : participants)
                if (q->bit == kHomeMemory) ++q->stats.vector_pieces, q->stats.vector_elements += (e - b) * r.elements_per_unit;
            done.push_back({b, e, nullptr});
            todo.remove(b, e);
        }
        for (Sent& s : sent) {
            auto got = s.p->client->wait_vector(s.request);
            if (!got) {
                lose(*s.p, cat("vector op ", r.name, ": ", got.error()));
                continue;
            }
            const std::uint64_t in = 20 + 8 * got.value().values.size();  // the result's payload
            s.p->stats.bytes_in += in;
            ++s.p->stats.vector_pieces;
            s.p->stats.vector_elements += (s.end - s.begin) * r.elements_per_unit;
            r.landed(*s.p, s.begin, s.end, got.value());
            log_vector_piece(s.p, args, s.begin, s.end, s.start, s.bytes_out, in);
            done.push_back({s.begin, s.end, s.p});
            todo.remove(s.begin, s.end);
        }
        // Results a node finished and then took with it: run again.
        if (r.results_stay)
            std::erase_if(done, [&](const Done& d) {
                if (d.runner == nullptr || d.runner->alive) return false;
                todo.add(d.begin, d.end);
                return true;
            });
    }
    return std::nullopt;
}

Result<VectorOpResult> ClusterBackend::Impl::run_vector_op(const VectorOpArgs& args) {
    if (vector_shape(args.op) == VectorShape::Scan) return run_scan(args);
    if (vector_shape(args.op) == VectorShape::Rows) return run_matmul(args);
    const bool elementwise = vector_shape(args.op) == VectorShape::Elementwise;
    const std::uint64_t n = vector_length(args);
    const std::string name(op_info(args.op).mnemonic);
    const std::vector<OpOperand> operands = vector_operands(args);
    track_vector_operands(args, operands);
    // An element-wise op is logged before it runs, as a launch is: a
    // node holding the only copy of a dst piece may be lost later.
    std::optional<std::size_t> record;
    if (elementwise) {
        auto r = lineage.record(args);
        if (!r) return Error{cat(name, ": ", r.error())};
        record = r.value();
        std::lock_guard lock(residency_mutex);
        for (const OpOperand& o : operands) directory.mark_logged_input(o.view->data, 0, n, true);
    }
    const VectorRecordScope in_progress(*this, record);

    std::map<std::uint64_t, VectorPartial> partials;  // a reduction's, by where their piece starts
    PieceRunner runner;
    runner.name = name;
    runner.results_stay = elementwise;  // a reduction's partials came back already
    runner.plan = [&] { return plan_pieces(args, operands); };
    runner.send = [&](Participant& p, std::uint64_t b, std::uint64_t e) { return send_vector_piece(p, args, b, e); };
    runner.run_at_home = [&](std::uint64_t b, std::uint64_t e) -> std::optional<std::string> {
        for (const OpOperand& o : operands)
            if (o.slot != 0)
                if (auto err = pull_home(o.view->data, b, e)) return err;
        if (elementwise) {
            std::lock_guard lock(residency_mutex);
            if (auto err = home_takes(args.dst.data, b, e)) return cat(name, ": ", *err);
        }
        if (elementwise) lineage.before_home_write(BufferRef{args.dst.data, n, args.dst.type}, b, e, HomeWrite::Replayable);
        VectorPartial part = run_vector_piece_cpu(args, b, e);
        if (elementwise) {
            std::lock_guard lock(residency_mutex);
            directory.set(args.dst.data, b, e, kHomeMemory);
        }
        partials[b] = std::move(part);
        return std::nullopt;
    };
    runner.landed = [&](Participant& p, std::uint64_t b, std::uint64_t e, VectorChunkResult& got) {
        if (elementwise) {
            std::lock_guard lock(residency_mutex);
            directory.set(args.dst.data, b, e, p.bit);
        }
        partials[b] = VectorPartial{got.int_value, std::move(got.values)};
    };
    if (auto err = run_in_rounds(n, args, runner)) return Error{*err};
    {
        std::lock_guard lock(residency_mutex);
        for (const OpOperand& o : operands) set_fences(o.view->data);
    }
    VectorOpResult result;
    if (!elementwise) {
        std::vector<VectorPartial> in_order;
        for (auto& [at, part] : partials) in_order.push_back(std::move(part));
        result = combine_vector_partials(args.op, in_order);
    }
    restart_log_if_all_home();
    return result;
}

}  // namespace polymer::cluster
