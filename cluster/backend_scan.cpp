// vscan on the nodes (docs/cluster.md, "Vector ops on the nodes"): element i
// is the sum of elements 0..i, so a piece needs the running value of every
// piece before it. The pieces run one after another in element order, each
// where its input is, each from the running value (the carry) the piece
// before it ended on: one value crosses per piece, the data stays where it
// is, and the result is one pass's bit for bit (the same adds in the same
// order: vm/vector_op.h run_scan_piece_cpu).
#include "cluster/cluster_backend_impl.h"

namespace polymer::cluster {

std::optional<std::string> ClusterBackend::Impl::run_scan_piece_at_home(const VectorOpArgs& args, std::uint64_t b, std::uint64_t e,
                                                                        ScanCarry& carry) {
    if (auto err = pull_home(args.a.data, b, e)) return err;
    {
        std::lock_guard lock(residency_mutex);
        if (auto err = home_takes(args.dst.data, b, e)) return err;
    }
    const auto start = Clock::now();
    lineage.before_home_write(BufferRef{args.dst.data, args.dst.length, args.dst.type}, b, e, HomeWrite::Replayable);
    carry = run_scan_piece_cpu(args, b, e, carry);
    {
        std::lock_guard lock(residency_mutex);
        directory.set(args.dst.data, b, e, kHomeMemory);
    }
    log_vector_piece(nullptr, args, b, e, start, 0, 0);
    for (auto& q : participants)
        if (q->bit == kHomeMemory) ++q->stats.vector_pieces, q->stats.vector_elements += e - b;
    return std::nullopt;
}

Result<ScanCarry> ClusterBackend::Impl::run_scan_piece_on(Participant& p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e,
                                                          ScanCarry carry) {
    VectorOpArgs piece = args;  // the scalars carry the running value in (docs/protocol.md, vector-chunk)
    piece.int_scalar = carry.int_value;
    piece.float_scalar = carry.float_value;
    const auto start = Clock::now();
    const std::uint64_t out_before = p.stats.bytes_out;
    auto id = send_vector_piece(p, piece, b, e);
    if (!id) return Error{id.error()};
    auto r = p.client->wait_vector(id.value());
    if (!r) return Error{r.error()};
    if (r.value().values.size() != 1)
        return Error{cat("its result for vscan [", b, ", ", e, ") has ", r.value().values.size(), " float values, not the carry alone")};
    const std::uint64_t in = 20 + 8 * r.value().values.size();  // the result's payload
    p.stats.bytes_in += in;
    ++p.stats.vector_pieces;
    p.stats.vector_elements += e - b;
    {
        std::lock_guard lock(residency_mutex);
        directory.set(args.dst.data, b, e, p.bit);
    }
    log_vector_piece(&p, args, b, e, start, p.stats.bytes_out - out_before, in);
    return ScanCarry{r.value().int_value, r.value().values[0]};
}

Result<VectorOpResult> ClusterBackend::Impl::run_scan(const VectorOpArgs& args) {
    const std::uint64_t n = args.dst.length;
    const std::vector<OpOperand> operands = vector_operands(args);
    track_vector_operands(args, operands);
    // Logged before it runs, as an element-wise op is; each piece's carry
    // is noted as it starts, so a replay can run any piece alone.
    auto record = lineage.record(args);
    if (!record) return Error{cat("vscan: ", record.error())};
    {
        std::lock_guard lock(residency_mutex);
        for (const OpOperand& o : operands) directory.mark_logged_input(o.view->data, 0, n, true);
    }
    const VectorRecordScope in_progress(*this, record.value());

    struct Done {
        std::uint64_t begin, end;
        Participant* runner;  // null: the home
        ScanCarry carry_in;
    };
    std::vector<Done> done;
    ScanCarry carry{};
    std::size_t failures = 0;
    for (std::uint64_t at = 0; at < n;) {
        // The piece `at` is in, from `at` on: planned again after each one,
        // since a node lost meanwhile changes where the rest is.
        std::uint64_t end = n;
        Participant* runner = nullptr;
        for (auto [piece, who] : plan_pieces(args, operands))
            if (piece.begin <= at && at < piece.end) {
                end = piece.end;
                runner = who;
                break;
            }
        lineage.note_scan_piece(record.value(), at, end, carry);
        const ScanCarry carry_in = carry;
        if (runner == nullptr || !runner->alive) {
            if (auto err = run_scan_piece_at_home(args, at, end, carry)) return Error{cat("vscan: ", *err)};
            runner = nullptr;
        } else {
            auto out = run_scan_piece_on(*runner, args, at, end, carry);
            if (!out) {
                lose(*runner, cat("vector op vscan: ", out.error()));
                if (++failures > participants.size() + 1) return Error{cat("vscan: pieces still failing after ", failures, " tries")};
                continue;  // the same piece again, from the same carry, where the plan now puts it
            }
            carry = out.value();
        }
        done.push_back({at, end, runner, carry_in});
        at = end;
    }
    // A node lost after finishing pieces took their dst with it (the
    // recovery gave back what the scan found there): run them again at
    // home, each from the carry it had.
    for (bool again = true; again;) {
        again = false;
        for (Done& d : done) {
            if (d.runner == nullptr || d.runner->alive) continue;
            ScanCarry c = d.carry_in;
            if (auto err = run_scan_piece_at_home(args, d.begin, d.end, c)) return Error{cat("vscan: ", *err)};
            d.runner = nullptr;
            again = true;
        }
    }
    {
        std::lock_guard lock(residency_mutex);
        for (const OpOperand& o : operands) set_fences(o.view->data);
    }
    restart_log_if_all_home();
    return VectorOpResult{};
}

}  // namespace polymer::cluster
