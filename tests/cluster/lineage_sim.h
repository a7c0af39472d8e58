// A cluster in miniature for the lineage tests (tests/cluster/lineage_test.cpp):
// the home's memory, one node's memory, which elements only the node holds
// current, and a single-machine reference run beside them. Launches split
// their lanes between the home ([0, split)) and the node ([split, count)) on
// real CpuBackend runs; every home write goes through the Lineage calls the
// cluster backend makes (fetches, the home's own lanes, program stores,
// partial sums). kill_node() then loses what only the node held.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cluster/element_ranges.h"
#include "cluster/launch_plan.h"
#include "cluster/lineage.h"
#include "vm/backend.h"
#include "vm/vector_op.h"

namespace polymer::cluster::testing {

inline constexpr std::uint32_t kGarbage = 0xDEADBEEF;

// A region of 4-byte elements (i32 or f32), kept as bits.
struct SimBuffer {
    std::string name;
    ElemType type = ElemType::I32;
    std::vector<std::uint32_t> home, node, reference;
    std::vector<bool> away;  // the node holds the only current copy

    BufferRef ref() { return BufferRef{home.data(), home.size(), type}; }
};

// One kernel argument: a buffer or a uniform's bits.
struct SimArg {
    SimBuffer* buffer = nullptr;
    std::uint64_t uniform = 0;
    ElemType uniform_type = ElemType::I32;
};

inline SimArg uniform_i32(std::int32_t v) { return {nullptr, static_cast<std::uint32_t>(v), ElemType::I32}; }
inline SimArg uniform_f32(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    return {nullptr, u, ElemType::F32};
}

class SimCluster {
public:
    explicit SimCluster(Lineage& lineage) : lineage_(lineage) {}

    SimBuffer& add(const std::string& name, ElemType type, std::vector<std::uint32_t> values) {
        auto b = std::make_unique<SimBuffer>();
        b->name = name;
        b->type = type;
        b->home = values;
        b->reference = std::move(values);
        b->node.assign(b->home.size(), kGarbage);
        b->away.assign(b->home.size(), false);
        buffers_.push_back(std::move(b));
        return *buffers_.back();
    }

    // The home reads elements [lo, hi): what only the node holds is fetched.
    void fetch(SimBuffer& b, std::uint64_t lo, std::uint64_t hi) {
        for (std::uint64_t i = lo; i < hi;) {
            if (!b.away[i]) {
                ++i;
                continue;
            }
            std::uint64_t j = i;
            while (j < hi && b.away[j]) ++j;
            lineage_.before_home_write(b.ref(), i, j, HomeWrite::Replayable);
            for (std::uint64_t e = i; e < j; ++e) {
                b.home[e] = b.node[e];
                b.away[e] = false;
            }
            i = j;
        }
    }

    // A `st` at home: the element is brought home first.
    void store(SimBuffer& b, std::uint64_t i, std::uint32_t bits) {
        fetch(b, i, i + 1);
        lineage_.before_home_write(b.ref(), i, i + 1, HomeWrite::Program);
        b.home[i] = bits;
        b.reference[i] = bits;
    }

    // A logged launch: lanes [0, split) at home, [split, count) on the node;
    // `rounds` times over each (Backend::run_rounds, logged as one entry).
    void launch(const Kernel& k, const std::vector<SimArg>& args, std::uint64_t count, std::uint64_t split,
                std::uint64_t rounds = 1) {
        const LaunchPlan plan = plan_launch(k);
        ASSERT_TRUE(plan.splittable) << k.name;
        ASSERT_EQ(args.size(), k.params.size());
        split = std::min(split, count);
        // Broadcast buffers are current at home: inputs are shipped whole,
        // partials' sums land there.
        for (std::size_t p = 0; p < args.size(); ++p)
            if (args[p].buffer != nullptr && k.params[p].indexing == Indexing::Broadcast) {
                fetch(*args[p].buffer, 0, args[p].buffer->home.size());
                if (!plan.is_partial(p)) args[p].buffer->node = args[p].buffer->home;
            }
        ASSERT_TRUE(lineage_.record(launch_on(k, args, count, Side::Home, nullptr), rounds).ok());

        std::vector<std::vector<std::uint32_t>> home_parts(args.size()), node_parts(args.size());
        for (std::size_t p = 0; p < args.size(); ++p) {
            SimBuffer* b = args[p].buffer;
            if (b == nullptr) continue;
            if (plan.is_partial(p)) {
                home_parts[p].assign(b->home.size(), 0);
                node_parts[p].assign(b->home.size(), 0);
                continue;
            }
            if (k.params[p].indexing == Indexing::Window) {
                // Each side reads its lanes' reach: the home fetches what the
                // node alone holds of its reach, the node gets the rest of its own.
                const auto [hlo, hhi] = window_reach(0, split, k.params[p].window_lo, k.params[p].window_hi, b->home.size());
                fetch(*b, hlo, hhi);
                const auto [nlo, nhi] = window_reach(split, count, k.params[p].window_lo, k.params[p].window_hi, b->home.size());
                for (std::uint64_t i = nlo; i < nhi; ++i)
                    if (!b->away[i]) b->node[i] = b->home[i];
                continue;
            }
            if (k.params[p].indexing != Indexing::Element) continue;
            fetch(*b, 0, split);  // the home's lanes read current values
            if (k.params[p].access != Access::In) lineage_.before_home_write(b->ref(), 0, split, HomeWrite::Replayable);
            for (std::uint64_t i = split; i < count; ++i)  // shipped to the node unless it holds them
                if (!b->away[i]) b->node[i] = b->home[i];
        }
        run(launch_on(k, args, count, Side::Home, &home_parts), 0, split, rounds);
        run(launch_on(k, args, count, Side::Node, &node_parts), split, count, rounds);
        for (std::uint64_t i = 0; i < rounds; ++i) run(launch_on(k, args, count, Side::Reference, nullptr), 0, count);
        for (std::size_t p = 0; p < args.size(); ++p) {
            SimBuffer* b = args[p].buffer;
            if (b == nullptr) continue;
            if (plan.is_partial(p)) {
                // The home adds the partials (as a Replayable write: the engine
                // knows by itself that a replay cannot redo them).
                lineage_.before_home_write(b->ref(), 0, b->home.size(), HomeWrite::Replayable);
                for (std::size_t i = 0; i < b->home.size(); ++i) b->home[i] += home_parts[p][i] + node_parts[p][i];
            } else if (k.params[p].indexing == Indexing::Element && k.params[p].access != Access::In) {
                for (std::uint64_t i = split; i < count; ++i) b->away[i] = true;
            }
        }
    }

    // A logged element-wise vector op over its operands' n elements (dst, a,
    // b, c; null where the op has none): [0, split) at home, [split, n) on
    // the node, as the cluster runs its pieces where the operands are.
    void vector_op(Op op, const std::vector<SimBuffer*>& operands, std::uint64_t split, double float_scalar = 0,
                   std::int64_t int_scalar = 0) {
        const std::uint64_t n = operands[0]->home.size();
        split = std::min(split, n);
        auto args_on = [&](auto pick) {
            VectorOpArgs args;
            args.op = op;
            args.float_scalar = float_scalar;
            args.int_scalar = int_scalar;
            RegionView* views[] = {&args.dst, &args.a, &args.b, &args.c};
            for (std::size_t slot = 0; slot < operands.size(); ++slot)
                if (operands[slot] != nullptr) *views[slot] = RegionView{operands[slot]->type, pick(*operands[slot]).data(), n};
            return args;
        };
        ASSERT_TRUE(lineage_.record(args_on([](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.home; })).ok());
        for (std::size_t slot = 1; slot < operands.size(); ++slot) {
            if (operands[slot] == nullptr) continue;
            SimBuffer& b = *operands[slot];
            fetch(b, 0, split);
            for (std::uint64_t i = split; i < n; ++i)
                if (!b.away[i]) b.node[i] = b.home[i];
        }
        lineage_.before_home_write(operands[0]->ref(), 0, split, HomeWrite::Replayable);
        run_vector_piece_cpu(args_on([](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.home; }), 0, split);
        run_vector_piece_cpu(args_on([](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.node; }), split, n);
        run_vector_op_cpu(args_on([](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.reference; }));
        for (std::uint64_t i = split; i < n; ++i) operands[0]->away[i] = true;
    }

    // A logged vscan dst := scan(a): the piece [0, split) at home, then
    // [split, n) on the node from the home's carry, as the cluster runs a
    // scan's pieces in order (backend_scan.cpp).
    void scan_op(SimBuffer& dst, SimBuffer& a, std::uint64_t split, std::size_t entry) {
        const std::uint64_t n = dst.home.size();
        split = std::min(split, n);
        auto args_on = [&](auto pick) {
            VectorOpArgs args;
            args.op = Op::Vscan;
            args.dst = RegionView{dst.type, pick(dst).data(), n};
            args.a = RegionView{a.type, pick(a).data(), n};
            return args;
        };
        auto home = [](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.home; };
        auto node = [](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.node; };
        auto reference = [](SimBuffer& b) -> std::vector<std::uint32_t>& { return b.reference; };
        auto rec = lineage_.record(args_on(home));
        ASSERT_TRUE(rec.ok()) << rec.error();
        ASSERT_EQ(rec.value(), entry);
        fetch(a, 0, split);
        for (std::uint64_t i = split; i < n; ++i)
            if (!a.away[i]) a.node[i] = a.home[i];
        lineage_.note_scan_piece(entry, 0, split, ScanCarry{});
        lineage_.before_home_write(dst.ref(), 0, split, HomeWrite::Replayable);
        const ScanCarry carry = run_scan_piece_cpu(args_on(home), 0, split, ScanCarry{});
        lineage_.note_scan_piece(entry, split, n, carry);
        run_scan_piece_cpu(args_on(node), split, n, carry);
        run_vector_op_cpu(args_on(reference));
        for (std::uint64_t i = split; i < n; ++i) dst.away[i] = true;
    }

    // A logged vmatmul c := a (M x K) * b (K x N): rows [0, split) at home,
    // [split, M) on the node, b read whole (current at home first).
    void matmul_op(SimBuffer& c, SimBuffer& a, SimBuffer& b, std::uint64_t k, std::uint64_t split) {
        const std::uint64_t m = a.home.size() / k, n = b.home.size() / k;
        split = std::min(split, m);
        auto args_on = [&](auto pick) {
            VectorOpArgs args;
            args.op = Op::Vmatmul;
            args.int_scalar = static_cast<std::int64_t>(k);
            args.dst = RegionView{c.type, pick(c).data(), c.home.size()};
            args.a = RegionView{a.type, pick(a).data(), a.home.size()};
            args.b = RegionView{b.type, pick(b).data(), b.home.size()};
            return args;
        };
        auto home = [](SimBuffer& x) -> std::vector<std::uint32_t>& { return x.home; };
        auto node = [](SimBuffer& x) -> std::vector<std::uint32_t>& { return x.node; };
        auto reference = [](SimBuffer& x) -> std::vector<std::uint32_t>& { return x.reference; };
        fetch(b, 0, b.home.size());
        b.node = b.home;
        ASSERT_TRUE(lineage_.record(args_on(home)).ok());
        fetch(a, 0, split * k);
        for (std::uint64_t i = split * k; i < m * k; ++i)
            if (!a.away[i]) a.node[i] = a.home[i];
        lineage_.before_home_write(c.ref(), 0, split * n, HomeWrite::Replayable);
        run_matmul_rows_cpu(args_on(home), 0, split);
        run_matmul_rows_cpu(args_on(node), split, m);
        run_vector_op_cpu(args_on(reference));
        for (std::uint64_t i = split * n; i < m * n; ++i) c.away[i] = true;
    }

    // The node dies (kill -9): what it alone held is lost. A half-landed
    // transfer may have left anything in home memory there.
    std::vector<LostElements> kill_node() {
        std::vector<LostElements> lost;
        for (auto& b : buffers_) {
            for (std::uint64_t i = 0; i < b->away.size();) {
                if (!b->away[i]) {
                    ++i;
                    continue;
                }
                std::uint64_t j = i;
                while (j < b->away.size() && b->away[j]) ++j;
                lost.push_back({b->ref(), i, j});
                lineage_.before_home_write(b->ref(), i, j, HomeWrite::Replayable);
                for (std::uint64_t e = i; e < j; ++e) b->home[e] = kGarbage ^ static_cast<std::uint32_t>(e * 2654435761u);
                i = j;
            }
            b->node.assign(b->node.size(), kGarbage);
            b->away.assign(b->away.size(), false);
        }
        return lost;
    }

    // Everything home; a new epoch.
    void checkpoint() {
        for (auto& b : buffers_) fetch(*b, 0, b->home.size());
        lineage_.restart();
    }

    // Every element the home holds current equals the single-machine run's, bit for bit.
    void expect_home_is_reference() const {
        for (const auto& b : buffers_) {
            std::uint64_t wrong = 0, first = 0;
            for (std::size_t i = 0; i < b->home.size(); ++i)
                if (!b->away[i] && b->home[i] != b->reference[i] && wrong++ == 0) first = i;
            EXPECT_EQ(wrong, 0u) << b->name << ": " << wrong << " elements differ from the reference, the first at " << first
                                 << " (home " << std::hex << b->home[first] << ", reference " << b->reference[first] << ")";
        }
    }

    CpuBackend& cpu() { return cpu_; }

private:
    enum class Side { Home, Node, Reference };

    KernelLaunch launch_on(const Kernel& k, const std::vector<SimArg>& args, std::uint64_t count, Side side,
                           std::vector<std::vector<std::uint32_t>>* parts) {
        KernelLaunch l;
        l.kernel = &k;
        l.count = count;
        l.end = count;
        for (std::size_t p = 0; p < args.size(); ++p) {
            KernelArg a;
            if (args[p].buffer == nullptr) {
                a.type = args[p].uniform_type;
                a.uniform = args[p].uniform;
            } else {
                SimBuffer& b = *args[p].buffer;
                std::vector<std::uint32_t>& v = parts != nullptr && !(*parts)[p].empty() ? (*parts)[p]
                                               : side == Side::Home                     ? b.home
                                               : side == Side::Node                     ? b.node
                                                                                        : b.reference;
                a.data = v.empty() ? nullptr : v.data();
                a.length = v.size();
                a.type = b.type;
            }
            l.args.push_back(a);
        }
        return l;
    }

    void run(KernelLaunch l, std::uint64_t lo, std::uint64_t hi, std::uint64_t rounds = 1) {
        if (lo >= hi) return;
        l.begin = lo;
        l.end = hi;
        const KernelFault fault = rounds == 1 ? cpu_.wait(cpu_.submit(l)).fault : run_rounds_one_by_one(cpu_, {&l, 1}, rounds).fault;
        ASSERT_FALSE(fault) << l.kernel->name << " faulted";
    }

    Lineage& lineage_;
    CpuBackend cpu_;
    std::vector<std::unique_ptr<SimBuffer>> buffers_;
};

}  // namespace polymer::cluster::testing
