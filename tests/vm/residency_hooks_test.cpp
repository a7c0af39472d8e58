// The VM's side of residency (docs/execution.md, "Residency fences"): every
// place the home reads or writes region elements asks the backend to bring
// fenced ones home first (Backend::bring_home), and alloc, free, args and
// readln tell it the storage goes (Backend::forget_region). A fake backend
// plays the cluster: after each kernel launch it leaves the launch's output
// regions "on a node" (the home's copy scribbled over, the region fenced);
// bring_home "fetches" them (element k becomes kFetched + k) and records the
// call. A read that skips its hook sees the scribble; a write that skips it
// is lost to a later fetch; a missing call shows in the recorded list.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "vm/backend.h"
#include "vm/debugger/expression.h"
#include "vm/debugger/region_dump.h"
#include "vm/machine.h"
#include "vm/program_input.h"
#include "vm/region_store.h"

namespace polymer::test {
namespace {

constexpr ExecMode kModes[] = {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec};
constexpr std::int64_t kFetched = 1000;   // a fetched element k holds kFetched + k
constexpr std::uint8_t kStaleByte = 0x5A;  // the home's copy of a fenced region: 0x5A5A5A5A

class FencingBackend final : public Backend {
public:
    std::vector<std::string> calls;  // "read ys 3..4", "write ys 2..3", "forget ys"
    std::uint64_t window_begin = 0, window_end = ~std::uint64_t{0};  // what fence() fences: all of it

    std::string_view name() const override { return "fencing"; }
    Ticket submit(const VectorOpArgs& args) override { return cpu_.submit(args); }
    Ticket submit(const KernelLaunch& l) override {
        const Ticket t = cpu_.submit(l);
        pending_[t] = outputs(l);
        return t;
    }
    VectorOpResult wait(Ticket t) override {
        VectorOpResult r = cpu_.wait(t);
        if (auto it = pending_.find(t); it != pending_.end()) {
            for (Region* g : it->second) fence(*g);
            pending_.erase(it);
        }
        return r;
    }
    void wait_all() override {
        cpu_.wait_all();
        for (auto& [t, regions] : pending_)
            for (Region* g : regions) fence(*g);
        pending_.clear();
    }
    bool run_inline(const VectorOpArgs& args, VectorOpResult& r) override { return cpu_.run_inline(args, r); }
    bool run_inline(const KernelLaunch& l, VectorOpResult& r) override {
        if (!cpu_.run_inline(l, r)) return false;
        for (Region* g : outputs(l)) fence(*g);
        return true;
    }

    // Fetches the whole read fence (the "slice" holding [begin, end)): the
    // home is current, the node keeps its copy (the write fence stays) until
    // the home writes.
    void bring_home(Region& g, std::uint64_t begin, std::uint64_t end, HomeAccess access) override {
        calls.push_back(std::string(access == HomeAccess::Read ? "read " : "write ") + std::string(g.name) + " " +
                        std::to_string(begin) + ".." + std::to_string(end));
        EXPECT_LT(begin, end);
        EXPECT_TRUE(access == HomeAccess::Read ? g.reads_fenced(begin) : g.writes_fenced(begin)) << calls.back();
        for (std::uint64_t k = g.read_fence_begin(); k < g.read_fence_end(); ++k)
            set(g, k, kFetched + static_cast<std::int64_t>(k));
        if (access == HomeAccess::Write) g.set_fences(0, 0, 0, 0);
        else g.set_fences(0, 0, g.write_fence_begin(), g.write_fence_end());
    }
    void forget_region(Region& g) override {
        calls.push_back("forget " + std::string(g.name));
        g.set_fences(0, 0, 0, 0);
    }
    std::vector<ResidentSlice> residency(const Region& g) const override {
        if (g.write_fence_begin() == g.write_fence_end()) return {};
        return {{g.write_fence_begin(), g.write_fence_end(), "node test"}};
    }

private:
    // The regions a launch writes; KernelArg::region is how the fake finds them.
    static std::vector<Region*> outputs(const KernelLaunch& l) {
        std::vector<Region*> out;
        for (std::size_t i = 0; i < l.args.size(); ++i) {
            const KernelParam& p = l.kernel->params[i];
            if (p.kind == ParamKind::Buffer && p.access != Access::In && l.args[i].region != nullptr)
                out.push_back(l.args[i].region);
        }
        return out;
    }
    // The elements a launch left on the "node": [window_begin, window_end) of each output, clipped to it.
    void fence(Region& g) const {
        const std::uint64_t b = std::min(window_begin, g.length), e = std::min(window_end, g.length);
        if (b < e) std::memset(g.as<std::uint8_t>() + b * elem_size(g.type), kStaleByte, (e - b) * elem_size(g.type));
        g.set_fences(b, e, b, e);
    }
    static void set(Region& g, std::uint64_t k, std::int64_t v) {
        switch (g.type) {
        case ElemType::U8: g.as<std::uint8_t>()[k] = static_cast<std::uint8_t>(v); break;
        case ElemType::I32: g.as<std::int32_t>()[k] = static_cast<std::int32_t>(v); break;
        case ElemType::U32: g.as<std::uint32_t>()[k] = static_cast<std::uint32_t>(v); break;
        case ElemType::I64: g.as<std::int64_t>()[k] = v; break;
        case ElemType::F32: g.as<float>()[k] = static_cast<float>(v); break;
        case ElemType::F64: g.as<double>()[k] = static_cast<double>(v); break;
        }
    }

    CpuBackend cpu_;
    std::map<Ticket, std::vector<Region*>> pending_;
};

Module assemble_or_fail(std::string_view source, bool loop_kernels = false) {
    AssembleOptions ao;
    ao.filename = "residency.pasm";
    ao.loop_kernels = loop_kernels;
    AssembleResult a = assemble(source, ao);
    std::string diagnostics;
    for (const Diagnostic& d : a.diagnostics) diagnostics += format_diagnostic(d);
    EXPECT_TRUE(a.ok()) << diagnostics;
    return a.ok() ? std::move(*a.module) : Module{};
}

struct Outcome {
    std::string output;
    std::vector<std::string> calls;
    std::optional<Trap> trap;
    EngineStats engine;
    LoopKernelStats loops;
};

// Runs `main` on a fresh machine over a FencingBackend; `after` sees the machine when it stops.
template <class F>
Outcome run(const Module& m, ExecMode mode, F after, std::vector<std::string> args = {}, InputStream* input = nullptr,
            std::pair<std::uint64_t, std::uint64_t> window = {0, ~std::uint64_t{0}}) {
    Outcome r;
    FencingBackend backend;
    std::tie(backend.window_begin, backend.window_end) = window;
    OutputBuffer out(&r.output);
    MachineOptions o;
    o.exec = mode;
    o.backend = &backend;
    o.interpret_when_idle = false;  // every instruction through the ROB in the engine modes
    o.args = std::move(args);
    o.input = input;
    auto machine = Machine::create(m, out, o);
    EXPECT_TRUE(machine.ok()) << (machine.ok() ? "" : machine.error());
    if (!machine.ok()) return r;
    Machine& mc = *machine.value();
    r.trap = mc.run(*mc.find_proc("main")).trap;
    mc.backend().wait_all();
    after(mc);
    out.flush();
    r.calls = backend.calls;
    r.engine = mc.engine_stats();
    r.loops = mc.loop_kernel_stats();
    return r;
}
Outcome run(const Module& m, ExecMode mode) {
    return run(m, mode, [](Machine&) {});
}

constexpr std::string_view kTwice = R"(
.kernel twice (in x: i32[i], out y: i32[i])
        gid     r0
        ld      r1, x[r0]
        add     r1, r1, r1
        st      y[r0], r1
.end
)";

// ld.T, st.T and printr on a region a launch left on a "node"; a store on
// a path spec mispredicts, which must never bring anything home.
TEST(ResidencyHooks, LoadsStoresAndPrintrBringHomeInEveryMode) {
    const Module m = assemble_or_fail(std::string(kTwice) + R"(
.region xs i32[8] range 0, 1
.region ys i32[8]
.proc main
        li      r1, 8
        li      r2, 3
        li      r4, 77
        li      r5, 0
        launch  twice, r1, xs, ys
        ld.i32  r3, ys[r2]      ; read ys 3..4: 1003
        print   r3
        println
        launch  twice, r1, xs, ys
        li      r2, 2
        st.i32  ys[r2], r4      ; write ys 2..3, then 77 is the home's
        ld.i32  r3, ys[r2]
        print   r3
        println
        launch  twice, r1, xs, ys
        vsumi   r7, xs          ; 28, in flight: spec guesses the branch
        bne     r7, r5, skip
        st.i32  ys[r5], r4      ; never runs, so never fetches
skip:
        li      r6, 5
        li      r8, 2
        printr  ys, r6, r8      ; read ys 5..7
        println
        halt
.end
)");
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        const Outcome r = run(m, mode);
        EXPECT_FALSE(r.trap.has_value());
        EXPECT_EQ(r.output, "1003\n77\n[1005, 1006]\n");
        EXPECT_EQ(r.calls, (std::vector<std::string>{"read ys 3..4", "write ys 2..3", "read ys 5..7"}));
        if (mode == ExecMode::Spec) {
            EXPECT_GE(r.engine.mispredictions, 1u);  // the store was on the wrong path
        }
    }
}

// A handle operand's region is fenced the same way.
TEST(ResidencyHooks, HandleOperandsBringHome) {
    const Module m = assemble_or_fail(std::string(kTwice) + R"(
.region xs i32[8] range 0, 1
.region ys i32[8]
.proc main
        li      r1, 8
        li      r2, 6
        rgn     r9, ys
        launch  twice, r1, xs, @r9
        ld.i32  r3, @r9[r2]
        print   r3
        println
        halt
.end
)");
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        const Outcome r = run(m, mode);
        EXPECT_EQ(r.output, "1006\n");
        EXPECT_EQ(r.calls, (std::vector<std::string>{"read ys 6..7"}));
    }
}

// alloc and free drop what a backend keeps of the old storage; args and
// readln replace a region's storage the same way.
TEST(ResidencyHooks, AllocFreeArgsAndReadlnForgetTheOldStorage) {
    const Module m = assemble_or_fail(std::string(kTwice) + R"(
.region xs i32[8] range 0, 1
.region ys i32[8]
.region word u8[0]
.region line u8[0]
.proc main
        li      r1, 8
        li      r2, 1
        li      r0, 0
        launch  twice, r1, xs, ys
        alloc   ys, r1          ; fresh zeros: nothing to fetch
        ld.i32  r3, ys[r2]
        print   r3
        println
        launch  twice, r1, xs, ys
        free    ys
        args    word, r0
        readln  r4, line
        len     r5, word
        printr  word, r0, r5
        printr  line, r0, r4
        println
        halt
.end
)");
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        InputStream input(std::string("typed\n"));
        const Outcome r = run(m, mode, [](Machine&) {}, {"hello"}, &input);
        EXPECT_FALSE(r.trap.has_value());
        EXPECT_EQ(r.output, "0\nhellotyped\n");
        EXPECT_EQ(r.calls, (std::vector<std::string>{"forget ys", "forget ys", "forget word", "forget line"}));
    }
}

// A loop run as a kernel (kloop) leaves its output on the "node"; its last
// iteration, run as scalar code, stores into it (write), and later reads see
// the fetched values.
TEST(ResidencyHooks, LoopKernelOutputIsFetchedInEveryMode) {
    const Module m = assemble_or_fail(R"(
.region xs i32[2000] range 0, 1
.region ys i32[2000]
.proc main
        li      r1, 0
        li      r2, 2000
loop:
        ld.i32  r3, xs[r1]
        add     r3, r3, r3
        st.i32  ys[r1], r3
        addi    r1, r1, 1
        blt     r1, r2, loop
        li      r1, 5
        ld.i32  r3, ys[r1]
        print   r3
        println
        li      r1, 1999
        ld.i32  r3, ys[r1]
        print   r3
        println
        halt
.end
)",
                                      true);
    ASSERT_EQ(m.loop_kernels.size(), 1u) << "the assembler no longer makes this loop a kernel";
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        const Outcome r = run(m, mode);
        EXPECT_EQ(r.loops.kernels, 1u);
        EXPECT_EQ(r.output, "1005\n3998\n");  // fetched; then the last iteration's own store
        EXPECT_EQ(r.calls, (std::vector<std::string>{"write ys 1999..2000"}));
    }
}

// What reads a stopped machine's regions: --dump-region and the debugger's
// `x`, `print` and `set`, and `info regions`' residency.
TEST(ResidencyHooks, DumpsAndTheDebuggerBringHome) {
    const Module m = assemble_or_fail(std::string(kTwice) + R"(
.region xs i32[4] range 0, 1
.region ys i32[4]
.region zs i32[4]
.region ws i32[4]
.proc main
        li      r1, 4
        launch  twice, r1, xs, ys
        launch  twice, r1, xs, zs
        launch  twice, r1, xs, ws
        halt
.end
)");
    std::string dump, printed, after_set;
    std::vector<ResidentSlice> where;
    const Outcome r = run(m, ExecMode::InOrder, [&](Machine& mc) {
        where = mc.backend().residency(mc.regions()[1]);
        dump = debugger::dump_region(mc, mc.regions()[1], 1, 2);
        Result<debugger::Expression> e = debugger::Expression::parse("zs[3]", m);
        ASSERT_TRUE(e.ok());
        Result<debugger::Value> v = e.value().evaluate(mc);
        ASSERT_TRUE(v.ok());
        printed = std::to_string(v.value().i);
        Result<debugger::Expression> place = debugger::Expression::parse("ws[0]", m);
        ASSERT_TRUE(place.ok());
        ASSERT_TRUE(place.value().assign(mc, debugger::Value::of_int(9)).ok());
        after_set = debugger::dump_region(mc, mc.regions()[3], 0, 4);
    });
    ASSERT_EQ(where.size(), 1u);
    EXPECT_EQ(where[0].end, 4u);
    EXPECT_EQ(where[0].holders, "node test");
    EXPECT_EQ(dump, "ys: i32[4], elements 1..2\n  [1] 1001 1002\n");
    EXPECT_EQ(printed, "1003");
    EXPECT_EQ(after_set, "ws: i32[4], elements 0..3\n  [0] 9 1001 1002 1003\n");
    // set reads the element first (its bounds, the undo log), then writes it.
    EXPECT_EQ(r.calls, (std::vector<std::string>{"read ys 1..3", "read zs 3..4", "read ws 0..1", "write ws 0..1"}));
}

// Region's limits (the ld.T/st.T fast path's one compare): the largest n
// with every element below it in bounds and outside the fence; they follow
// every fence change and every change of storage.
TEST(RegionLimits, FollowTheFencesAndTheStorage) {
    RegionDecl d;
    d.name = "ys";
    d.length = 8;
    Result<RegionStore> made = RegionStore::create({d}, 1 << 20);
    ASSERT_TRUE(made.ok()) << made.error();
    RegionStore& store = made.value();
    Region& g = store[0];
    EXPECT_EQ(g.read_limit(), 8u);
    EXPECT_EQ(g.write_limit(), 8u);
    g.set_fences(2, 5, 1, 6);
    EXPECT_EQ(g.read_limit(), 2u);
    EXPECT_EQ(g.write_limit(), 1u);
    g.set_fences(4, 5, 4, 6);  // a forward scan fetched [2, 4): the limits move up
    EXPECT_EQ(g.read_limit(), 4u);
    EXPECT_EQ(g.write_limit(), 4u);
    g.set_fences(0, 0, 5, 8);  // nothing stale at home, copies elsewhere at the end
    EXPECT_EQ(g.read_limit(), 8u);
    EXPECT_EQ(g.write_limit(), 5u);
    g.set_fences(0, 8, 0, 8);
    EXPECT_EQ(g.read_limit(), 0u);
    // Fresh storage is all at home, however the old was fenced.
    ASSERT_EQ(store.allocate(g, 3, nullptr), "");
    EXPECT_FALSE(g.reads_fenced(0) || g.writes_fenced(0));
    EXPECT_EQ(g.read_limit(), 3u);
    EXPECT_EQ(g.write_limit(), 3u);
    g.set_fences(1, 2, 1, 2);
    ASSERT_EQ(store.allocate(g, 20, nullptr), "");
    EXPECT_EQ(g.read_limit(), 20u);
    EXPECT_EQ(g.write_limit(), 20u);
    g.set_fences(10, 30, 10, 30);  // a hull past the end (never set so, but the limit stays in bounds)
    EXPECT_EQ(g.read_limit(), 10u);
    store.release(g, nullptr);
    EXPECT_EQ(g.read_limit(), 0u);
    EXPECT_EQ(g.write_limit(), 0u);
}

// A fence in the middle of a region: loads and stores below it take the
// fast path, those inside bring home, and those past its end (past the
// limit, in bounds, outside the fence) work without a call; past the
// length still traps.
TEST(RegionLimits, AccessesPastTheLimitOutsideTheFenceWorkInEveryMode) {
    const Module m = assemble_or_fail(std::string(kTwice) + R"(
.region xs i32[8] range 0, 1
.region ys i32[8]
.proc main
        li      r1, 8
        li      r4, 77
        launch  twice, r1, xs, ys   ; ys[2..5) left on the "node"
        li      r2, 6
        ld.i32  r3, ys[r2]          ; past the limit (2), outside the fence: 12, no call
        print   r3
        println
        li      r2, 7
        st.i32  ys[r2], r4          ; past the write limit, outside: no call
        ld.i32  r3, ys[r2]
        print   r3
        println
        li      r2, 1
        ld.i32  r3, ys[r2]          ; below the limit: 2
        print   r3
        println
        li      r2, 3
        ld.i32  r3, ys[r2]          ; inside: read ys 3..4, 1003
        print   r3
        println
        li      r2, 4
        st.i32  ys[r2], r4          ; the write fence stays after the read: write ys 4..5
        ld.i32  r3, ys[r2]
        print   r3
        println
        li      r2, 8
        ld.i32  r3, ys[r2]          ; past the length
        halt
.end
)");
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        const Outcome r = run(m, mode, [](Machine&) {}, {}, nullptr, {2, 5});
        EXPECT_EQ(r.output, "12\n77\n2\n1003\n77\n");
        ASSERT_TRUE(r.trap.has_value());
        EXPECT_EQ(r.trap->kind, TrapKind::OutOfBounds);
        EXPECT_EQ(r.calls, (std::vector<std::string>{"read ys 3..4", "write ys 4..5"}));
    }
}

}  // namespace
}  // namespace polymer::test
