// The debugger engine (vm/debugger): expressions, stopping rules, and the
// undo history, on small programs and on every sample lesson.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "isa/verifier.h"
#include "isa/loop_trip.h"
#include "vm/debugger/debug_session.h"
#include "../vm/loop_kernel_modules.h"

namespace polymer::debugger {
namespace {

Module assemble_or_fail(std::string_view source, std::string name = "test.pasm") {
    AssembleOptions ao;
    ao.filename = std::move(name);
    AssembleResult r = assemble(source, ao);
    std::string errors;
    for (const Diagnostic& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) errors += format_diagnostic(d);
    EXPECT_TRUE(r.ok()) << errors;
    if (!r.ok()) return Module{};
    EXPECT_TRUE(verify_module(*r.module).ok());
    return std::move(*r.module);
}

struct Session {
    explicit Session(std::string_view source, DebugOptions options = {})
        : module(assemble_or_fail(source)), out(&output) {
        auto s = DebugSession::create(module, out, MachineOptions{}, 0, options);
        EXPECT_TRUE(s.ok());
        session = std::move(s).value();
        for (std::uint32_t i = 0; i < module.procs.size(); ++i)
            if (module.procs[i].name == "main") {
                auto again = DebugSession::create(module, out, MachineOptions{}, i, options);
                session = std::move(again).value();
            }
    }
    Expression expr(std::string_view text) {
        auto e = Expression::parse(text, module, session->machine().pc());
        EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error());
        return std::move(e).value();
    }
    std::string value(std::string_view text) {
        auto v = expr(text).evaluate(session->machine());
        return v ? value_text(v.value()) : "error: " + v.error();
    }
    std::string error(std::string_view text) {
        auto e = Expression::parse(text, module, session->machine().pc());
        if (!e) return e.error();
        auto v = e.value().evaluate(session->machine());
        return v ? "no error" : v.error();
    }
    std::uint32_t label(std::string_view name) {
        for (const Label& l : module.labels)
            if (l.name == name) return l.pc;
        ADD_FAILURE() << "no label " << name;
        return 0;
    }
    Module module;
    std::string output;
    OutputBuffer out;
    std::unique_ptr<DebugSession> session;
};

// Everything backstep promises to restore.
struct MachineState {
    std::vector<std::int64_t> r;
    std::vector<std::uint64_t> f;
    std::uint32_t pc = 0;
    std::uint64_t steps = 0;
    std::vector<std::uint32_t> calls;
    std::vector<std::uint64_t> values;
    std::vector<std::vector<std::uint8_t>> regions;
    bool operator==(const MachineState&) const = default;
};

MachineState capture(const Machine& m) {
    MachineState s;
    for (unsigned i = 0; i < kIntRegisters; ++i) s.r.push_back(m.int_reg(i));
    for (unsigned i = 0; i < kFloatRegisters; ++i) s.f.push_back(std::bit_cast<std::uint64_t>(m.float_reg(i)));
    s.pc = m.pc();
    s.steps = m.steps();
    for (std::size_t i = 0; i < m.call_depth(); ++i) s.calls.push_back(m.call_slot(i));
    for (std::size_t i = 0; i < m.value_depth(); ++i) s.values.push_back(m.value_slot(i));
    for (std::size_t i = 0; i < m.regions().size(); ++i) {
        const Region& g = m.regions()[i];
        const auto* p = static_cast<const std::uint8_t*>(g.data);
        s.regions.emplace_back(p, p + g.bytes());
    }
    return s;
}

constexpr std::string_view kCalls = R"(
.region xs i32[4]
.proc twice
        add     r1, r1, r1
        ret
.end
.proc main
        li      r1, 3
        call    twice
        li      r2, 2
        st.i32  xs[r2], r1
        li      r3, 0
loop:
        addi    r3, r3, 1
        li      r4, 5
        blt     r3, r4, loop
done:
        print   r3
        halt
.end
)";

TEST(DebugExpression, ArithmeticPrecedenceAndTypes) {
    Session s(kCalls);
    s.session->machine().set_int_reg(1, 7);
    s.session->machine().set_float_reg(2, 0.5);
    EXPECT_EQ(s.value("1 + 2 * 3"), "7");
    EXPECT_EQ(s.value("(1 + 2) * 3"), "9");
    EXPECT_EQ(s.value("r1 * 2 - 1"), "13");
    EXPECT_EQ(s.value("r1 / 2"), "3");
    EXPECT_EQ(s.value("-r1 % 4"), "-3");
    EXPECT_EQ(s.value("f2 + 1"), "1.5");
    EXPECT_EQ(s.value("r1 == 7 && f2 < 1"), "1");
    EXPECT_EQ(s.value("r1 != 7 || !r0"), "1");
    EXPECT_EQ(s.value("1 << 4 | 3"), "19");
    EXPECT_EQ(s.value("0x10 + 0b11 + 'A'"), "84");
    EXPECT_EQ(s.value("len(xs)"), "4");
    EXPECT_EQ(s.value("xs[r0 + 1]"), "0");
    EXPECT_EQ(s.value("done"), std::to_string(s.label("done")));
    EXPECT_EQ(s.value("twice"), "0");
    EXPECT_EQ(s.value("pc"), std::to_string(s.session->machine().pc()));
    EXPECT_EQ(s.value("9223372036854775807 + 1"), "-9223372036854775808") << "integers wrap like the machine's";
}

TEST(DebugExpression, ErrorsAreOneLine) {
    Session s(kCalls);
    EXPECT_EQ(s.error("r1 +"), "expression expected at the end of 'r1 +'");
    EXPECT_EQ(s.error("nosuch + 1"), "unknown name 'nosuch' (not a register, region, label or procedure)");
    EXPECT_EQ(s.error("r1 / 0"), "division by zero in 'r1 / 0'");
    EXPECT_EQ(s.error("xs[4]"), "index 4 is outside 'xs' (length 4)");
    EXPECT_EQ(s.error("xs"), "'xs' is a region: write xs[i] or len(xs)");
    EXPECT_EQ(s.error("(1 + 2"), "')' expected in '(1 + 2'");
    EXPECT_EQ(s.error("1 $ 2"), "unexpected '$ 2' in expression");
    EXPECT_EQ(s.error("r32"), "unknown name 'r32' (not a register, region, label or procedure)");
    EXPECT_EQ(s.error("f1 & 1"), "'&' needs integers");
}

TEST(DebugSessionTest, StepNextFinishAndBreakpoints) {
    Session s(kCalls);
    DebugSession& d = *s.session;
    const std::uint32_t main_start = d.machine().pc();
    EXPECT_EQ(d.step(1).kind, StopKind::Step);
    EXPECT_EQ(d.machine().pc(), main_start + 1);
    // step enters the call, finish leaves it
    d.step(1);
    EXPECT_EQ(d.machine().pc(), 0u);
    EXPECT_EQ(d.machine().call_depth(), 1u);
    EXPECT_EQ(d.finish().kind, StopKind::Finish);
    EXPECT_EQ(d.machine().pc(), main_start + 2);
    EXPECT_EQ(d.machine().int_reg(1), 6);
    // next runs a call as one step
    d.restart();
    d.next(2);
    EXPECT_EQ(d.machine().pc(), main_start + 2);
    EXPECT_EQ(d.machine().int_reg(1), 6);
    // a breakpoint stops every pass of the loop; the first instruction of a resume never stops at its own
    const int id = d.add_breakpoint(s.label("loop"), "loop");
    for (int pass = 0; pass < 5; ++pass) {
        Stop stop = d.resume();
        ASSERT_EQ(stop.kind, StopKind::Breakpoint) << pass;
        EXPECT_EQ(stop.id, id);
        EXPECT_EQ(d.machine().int_reg(3), pass);
    }
    EXPECT_TRUE(d.set_enabled(id, false));
    EXPECT_EQ(d.resume().kind, StopKind::Halted);
    EXPECT_EQ(s.output, "") << "not flushed yet";
    s.out.flush();
    EXPECT_EQ(s.output, "5");
    EXPECT_EQ(d.breakpoints()[0].hits, 5u);
}

TEST(DebugSessionTest, WatchAndUntil) {
    Session s(kCalls);
    DebugSession& d = *s.session;
    auto w = d.add_watch(s.expr("xs[2]"));
    ASSERT_TRUE(w.ok());
    Stop stop = d.resume();
    ASSERT_EQ(stop.kind, StopKind::Watchpoint);
    EXPECT_EQ(stop.old_value, "0");
    EXPECT_EQ(stop.new_value, "6");
    EXPECT_EQ(d.machine().pc(), s.label("loop") - 1) << "stopped after the store";
    Expression cond = s.expr("r3 == 3");
    EXPECT_EQ(d.until(cond).kind, StopKind::Until);
    EXPECT_EQ(d.machine().int_reg(3), 3);
    Expression at_done = s.expr("pc == done");
    EXPECT_EQ(d.until(at_done).kind, StopKind::Until);
    EXPECT_EQ(d.machine().pc(), s.label("done"));
    auto bad = d.add_watch(s.expr("xs[r3]"));
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), "cannot watch 'xs[r3]': index 5 is outside 'xs' (length 4)");
}

TEST(DebugSessionTest, BackstepRestoresEverythingAndSetIsUndoable) {
    Session s(kCalls);
    DebugSession& d = *s.session;
    std::vector<MachineState> states{capture(d.machine())};
    while (d.state() == DebugSession::State::Running && d.machine().pc() != s.label("done")) {
        d.step(1);
        states.push_back(capture(d.machine()));
    }
    ASSERT_TRUE(d.assign(s.expr("xs[1]"), Value::of_int(42)).ok());
    ASSERT_TRUE(d.assign(s.expr("f3"), Value::of_int(2)).ok());
    EXPECT_EQ(s.value("xs[1] + f3"), "44.0");
    BackstepReport sets = d.backstep(2);
    EXPECT_EQ(sets.undone, 2u);
    EXPECT_EQ(sets.sets_undone, 2u);
    EXPECT_EQ(capture(d.machine()), states.back());
    for (std::size_t k = states.size() - 1; k-- > 0;) {
        BackstepReport r = d.backstep(1);
        ASSERT_EQ(r.undone, 1u);
        ASSERT_EQ(capture(d.machine()), states[k]) << "after undoing step " << k + 1;
    }
    BackstepReport none = d.backstep(1);
    EXPECT_EQ(none.undone, 0u);
    EXPECT_TRUE(none.history_ran_out);
    EXPECT_FALSE(d.history().truncated());
}

TEST(DebugSessionTest, TrapStopsAtTheFaultAndBackstepLeavesIt) {
    Session s(".proc main\n  li r1, 5\n  li r2, 0\n  div r3, r1, r2\n  halt\n.end\n");
    DebugSession& d = *s.session;
    EXPECT_EQ(d.resume().kind, StopKind::Trapped);
    EXPECT_EQ(d.state(), DebugSession::State::Trapped);
    EXPECT_EQ(d.trap()->kind, TrapKind::DivisionByZero);
    EXPECT_EQ(d.machine().pc(), 2u);
    EXPECT_EQ(d.backstep(1).undone, 1u) << "the faulting instruction did nothing: li r2 is undone";
    EXPECT_EQ(d.state(), DebugSession::State::Running);
    EXPECT_EQ(d.machine().pc(), 1u);
    EXPECT_TRUE(d.assign(s.expr("r2"), Value::of_int(0)).ok());
    d.step(1);
    ASSERT_TRUE(d.assign(s.expr("r2"), Value::of_int(5)).ok());
    EXPECT_EQ(d.step(2).kind, StopKind::Halted);
    EXPECT_EQ(d.machine().int_reg(3), 1);
}

TEST(DebugSessionTest, HistoryIsBoundedAndConfigurable) {
    Session s(".proc main\nloop:\n  addi r1, r1, 1\n  jmp loop\n.end\n");
    DebugSession& d = *s.session;
    EXPECT_GE(d.history().max_steps(), 2000u) << "backstep promises at least 2,000 steps by default";
    d.history().set_max_steps(2000);
    d.step(5000);
    EXPECT_EQ(d.history().size(), 2000u);
    EXPECT_TRUE(d.history().truncated());
    BackstepReport r = d.backstep(2001);
    EXPECT_EQ(r.undone, 2000u);
    EXPECT_TRUE(r.history_ran_out);
    EXPECT_EQ(d.machine().steps(), 3000u);
    EXPECT_EQ(d.machine().int_reg(1), 1500);
}

TEST(DebugSessionTest, VectorOpSnapshotsAreCappedByBytes) {
    const std::string source = ".region xs f64[1000]\n.region ys f64[1000]\n.proc main\n"
                               "  viota xs\n  vcopy ys, xs\n  viota ys\n  halt\n.end\n";
    {
        Session s(source);  // default budget: both snapshots kept, undo restores ys
        DebugSession& d = *s.session;
        d.step(3);
        EXPECT_EQ(d.history().snapshot_bytes(), 3 * 8000u);
        EXPECT_EQ(d.backstep(2).undone, 2u);
        EXPECT_EQ(s.value("ys[999] + xs[999]"), "999.0");
        EXPECT_EQ(d.backstep(1).undone, 1u);
        EXPECT_EQ(s.value("xs[999]"), "0.0");
    }
    DebugOptions small;
    small.history_bytes = 10'000;  // room for one 8,000-byte snapshot
    Session s(source, small);
    DebugSession& d = *s.session;
    d.step(3);
    EXPECT_EQ(d.history().size(), 1u) << "older snapshots are dropped to stay under the budget";
    EXPECT_LE(d.history().snapshot_bytes(), 10'000u);
    DebugOptions tiny;
    tiny.history_bytes = 100;  // no snapshot fits: the history restarts after each vector op
    Session t(source, tiny);
    t.session->step(3);
    EXPECT_EQ(t.session->history().size(), 0u);
    EXPECT_TRUE(t.session->backstep(1).history_ran_out);
}

// A lesson's arguments (NN-name.args, one line of words) and its stdin
// (NN-name.stdin), as samples/CMakeLists.txt passes them; each run reads a
// fresh copy of the input.
struct LessonInputs {
    std::vector<std::string> args;
    std::string input;

    explicit LessonInputs(const std::filesystem::path& lesson) {
        std::filesystem::path p = lesson;
        std::ifstream args_file(p.replace_extension(".args"));
        for (std::string word; args_file >> word;) args.push_back(word);
        std::ifstream stdin_file(p.replace_extension(".stdin"));
        input.assign(std::istreambuf_iterator<char>(stdin_file), std::istreambuf_iterator<char>());
    }
    MachineOptions options(MachineOptions o, std::unique_ptr<InputStream>& stream) const {
        stream = std::make_unique<InputStream>(input);
        o.args = args;
        o.input = stream.get();
        return o;
    }
};

// Every sample: stepping one instruction at a time prints exactly what a
// plain run prints, and backstep returns to the states seen on the way.
TEST(DebugSessionTest, SteppingEverySampleMatchesAPlainRun) {
    std::vector<std::filesystem::path> samples;
    for (const auto& e : std::filesystem::directory_iterator(POLYMER_SAMPLES_DIR))
        if (e.path().extension() == ".pasm") samples.push_back(e.path());
    std::sort(samples.begin(), samples.end());
    ASSERT_GE(samples.size(), 13u);
    for (const auto& path : samples) {
        SCOPED_TRACE(path.filename().string());
        std::ifstream in(path);
        const std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        Module m = assemble_or_fail(source, path.string());
        std::uint32_t main_proc = 0;
        for (std::uint32_t i = 0; i < m.procs.size(); ++i)
            if (m.procs[i].name == "main") main_proc = i;

        const LessonInputs inputs(path);
        std::unique_ptr<InputStream> plain_input, stepped_input;
        std::string plain_text;
        std::uint64_t plain_steps = 0;
        {
            OutputBuffer out(&plain_text);
            auto machine = Machine::create(m, out, inputs.options(MachineOptions{}, plain_input));
            ASSERT_TRUE(machine.ok());
            const RunResult r = machine.value()->run(main_proc);
            ASSERT_EQ(r.status, RunStatus::Halted);
            plain_steps = r.steps;
        }
        // About 40 checkpoints over the run (every step of a short one, so
        // vector ops and launches are undone too), the last 40 kept.
        const std::uint64_t every = std::max<std::uint64_t>(1, plain_steps / 40);
        std::string stepped_text;
        OutputBuffer out(&stepped_text);
        auto created = DebugSession::create(m, out, inputs.options(MachineOptions{}, stepped_input), main_proc);
        ASSERT_TRUE(created.ok());
        DebugSession& d = *created.value();
        std::vector<std::pair<std::uint64_t, MachineState>> checkpoints;
        HistoryStart segment = d.history_start();
        while (d.state() == DebugSession::State::Running) {
            d.step(1);
            // With procedures the history starts again at each switch and
            // procedure instruction: only checkpoints since then can be reached.
            const HistoryStart now = d.history_start();
            if (now.kind != segment.kind || now.procedure != segment.procedure || now.pc != segment.pc ||
                d.history().empty())
                checkpoints.clear(), segment = now;
            if (d.state() == DebugSession::State::Running && d.machine().steps() % every == 0) {
                if (checkpoints.size() == 40) checkpoints.erase(checkpoints.begin());
                checkpoints.emplace_back(d.machine().steps(), capture(d.machine()));
            }
        }
        ASSERT_EQ(d.state(), DebugSession::State::Halted);
        EXPECT_EQ(d.steps(), plain_steps) << "every procedure's instructions";
        out.flush();
        EXPECT_EQ(stepped_text, plain_text);
        // Back through the checkpoints still in the history, newest first.
        for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
            // The halting instruction counts as a step but changed nothing, so it is not in the history.
            const std::uint64_t done = d.machine().steps() - (d.state() == DebugSession::State::Halted ? 1 : 0);
            if (done == it->first) continue;  // the checkpoint just before the halt
            if (done - it->first > d.history().size()) break;
            d.backstep(done - it->first);
            ASSERT_EQ(capture(d.machine()), it->second) << "back at step " << it->first;
        }
    }
}

// Every sample under --exec ooo: stepping one commit at a time prints exactly
// what a plain run prints and commits as many instructions.
TEST(DebugSessionTest, SteppingEverySampleOutOfOrderMatchesAPlainRun) {
    std::vector<std::filesystem::path> samples;
    for (const auto& e : std::filesystem::directory_iterator(POLYMER_SAMPLES_DIR))
        if (e.path().extension() == ".pasm") samples.push_back(e.path());
    std::sort(samples.begin(), samples.end());
    ASSERT_GE(samples.size(), 13u);
    MachineOptions ooo;
    ooo.exec = ExecMode::Ooo;
    for (const auto& path : samples) {
        SCOPED_TRACE(path.filename().string());
        std::ifstream in(path);
        const std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        Module m = assemble_or_fail(source, path.string());
        std::uint32_t main_proc = 0;
        for (std::uint32_t i = 0; i < m.procs.size(); ++i)
            if (m.procs[i].name == "main") main_proc = i;
        const LessonInputs inputs(path);
        std::unique_ptr<InputStream> plain_input, stepped_input;
        std::string plain_text;
        std::uint64_t plain_steps = 0;
        {
            OutputBuffer out(&plain_text);
            auto machine = Machine::create(m, out, inputs.options(MachineOptions{}, plain_input));
            ASSERT_TRUE(machine.ok());
            const RunResult r = machine.value()->run(main_proc);
            ASSERT_EQ(r.status, RunStatus::Halted);
            plain_steps = r.steps;
        }
        std::string stepped_text;
        OutputBuffer out(&stepped_text);
        auto created = DebugSession::create(m, out, inputs.options(ooo, stepped_input), main_proc);
        ASSERT_TRUE(created.ok());
        DebugSession& d = *created.value();
        if (has_procedure_ops(m)) {  // stepped in order: the output and the count must still match
            ASSERT_FALSE(d.out_of_order());
            while (d.state() == DebugSession::State::Running) d.step(1);
            ASSERT_EQ(d.state(), DebugSession::State::Halted);
            EXPECT_EQ(d.steps(), plain_steps);
            out.flush();
            EXPECT_EQ(stepped_text, plain_text);
            continue;
        }
        ASSERT_TRUE(d.out_of_order());
        std::uint64_t commits = 0;
        d.on_rob_event = [&](const ooo::RobEvent& e) { commits += e.kind == ooo::RobEvent::Kind::Commit; };
        while (d.state() == DebugSession::State::Running) {
            const std::uint64_t before = commits;
            d.step(1);
            if (d.state() == DebugSession::State::Running) {
                ASSERT_EQ(commits, before + 1);
            }
        }
        ASSERT_EQ(d.state(), DebugSession::State::Halted);
        EXPECT_EQ(d.machine().steps(), plain_steps);
        EXPECT_EQ(commits, plain_steps);
        out.flush();
        EXPECT_EQ(stepped_text, plain_text);
    }
}

}  // namespace
}  // namespace polymer::debugger

namespace polymer::debugger {
namespace {

// A kloop word (tests/vm/loop_kernel_modules.h): on, one step runs the loop's
// kernel and backstep undoes it whole; `set loop-kernels off` makes the step
// do nothing, so the scalar loop is stepped as written. In order and out of order.
TEST(DebugSessionTest, KloopIsOneStepOrNothing) {
    std::unique_ptr<Module> m = test::squares_module();
    ASSERT_TRUE(m);
    std::uint32_t kloop = 0;
    while (!is_loop_word(m->code[kloop])) ++kloop;
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Ooo}) {
        SCOPED_TRACE(exec_mode_name(mode));
        std::string output;
        OutputBuffer out(&output);
        MachineOptions o;
        o.args = {"5000", "0"};
        o.exec = mode;
        auto created = DebugSession::create(*m, out, o, 0);
        ASSERT_TRUE(created.ok());
        DebugSession& d = *created.value();
        while (d.state() == DebugSession::State::Running && d.machine().pc() != kloop) d.step(1);
        ASSERT_EQ(d.machine().pc(), kloop);
        auto ys = [&](std::size_t i) { return d.machine().regions()[1].as<const std::int32_t>()[i]; };
        d.step(1);
        EXPECT_EQ(d.machine().pc(), kloop + 1);
        EXPECT_EQ(d.machine().int_reg(1), 4999);  // the last iteration is the scalar loop's
        EXPECT_EQ(ys(4998), 4998 * 4998 + 7);
        EXPECT_EQ(ys(4999), 0);
        EXPECT_EQ(d.backstep(1).undone, 1u);
        EXPECT_EQ(d.machine().int_reg(1), 0);
        EXPECT_EQ(ys(4998), 0);
        d.set_loop_kernels(false);
        d.step(1);
        EXPECT_EQ(d.machine().pc(), kloop + 1);
        EXPECT_EQ(d.machine().int_reg(1), 0);  // nothing ran: the loop is next, as written
        EXPECT_EQ(ys(0), 0);
        EXPECT_EQ(d.machine().loop_kernel_stats().kernels, 1u);
        ASSERT_TRUE(d.restart().ok());
        EXPECT_FALSE(d.machine().options().loop_kernels);  // kept across restart
    }
}

}  // namespace
}  // namespace polymer::debugger

namespace polymer::debugger {
namespace {

// Procedures (vm/procs/): main spawns two workers that each sum 1..r2 and
// joins them. Worker #1 gets r2 = 3, worker #2 r2 = 4.
constexpr std::string_view kWorkers = R"(
.proc worker
        li      r1, 0
        li      r3, 0
wloop:
        addi    r3, r3, 1
        add     r1, r1, r3
        blt     r3, r2, wloop
        ret
.end
.proc main
        li      r5, 0
        li      r2, 3
        spawn   r8, worker, r5
        li      r2, 4
        spawn   r9, worker, r5
        join    r1, f1, r8
        print   r1
        join    r1, f1, r9
        print   r1
        halt
.end
)";

std::uint32_t pc_of(const Module& m, std::string_view mnemonic, int nth = 0) {
    for (std::uint32_t pc = 0; pc < m.code.size(); ++pc)
        if (op_info(static_cast<Op>(word_op(m.code[pc]))).mnemonic == mnemonic && nth-- == 0) return pc;
    ADD_FAILURE() << "no " << mnemonic;
    return 0;
}

TEST(DebugProcedures, BreakpointsHitInEveryProcedureAndTheViewFollows) {
    Session s(kWorkers);
    DebugSession& d = *s.session;
    ASSERT_NE(d.procedures(), nullptr);
    d.add_breakpoint(s.label("wloop"), "wloop");
    ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
    EXPECT_EQ(d.running(), 1u) << "main waits at its first join; worker #1 runs";
    EXPECT_EQ(d.selected(), 1u);
    EXPECT_EQ(d.evaluate(s.expr("r2")).value().i, 3);
    // The views can show main, which waits at its join; running commands go on in #1.
    ASSERT_TRUE(d.select(0).ok());
    EXPECT_EQ(d.viewed().pc, pc_of(s.module, "join"));
    EXPECT_EQ(d.evaluate(s.expr("r9")).value().i, 2) << "main's handle of worker #2";
    EXPECT_EQ(d.evaluate(s.expr("pc")).value().i, pc_of(s.module, "join"));
    EXPECT_FALSE(d.assign(s.expr("r1"), Value::of_int(1)).ok()) << "set writes the running procedure only";
    EXPECT_EQ(d.select(3).error(), "no procedure #3 (this run has #0 to #2; info procs lists them)");
    for (int pass = 1; pass < 3; ++pass) {
        ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
        EXPECT_EQ(d.running(), 1u);
        EXPECT_EQ(d.selected(), 1u) << "a stop selects the procedure it happened in";
        EXPECT_EQ(d.machine().int_reg(3), pass);
    }
    ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
    EXPECT_EQ(d.running(), 2u) << "#1 ended; #2 has its first pass";
    EXPECT_EQ(d.machine().int_reg(2), 4);
    EXPECT_EQ(d.procedures()->all()[1].status, ProcStatus::Ended);
    EXPECT_EQ(d.procedures()->all()[1].result_r1, 6);
    d.remove_all();
    EXPECT_EQ(d.resume().kind, StopKind::Halted);
    s.out.flush();
    EXPECT_EQ(s.output, "610");
    EXPECT_EQ(d.steps(), 10u + 13u + 16u) << "main's, #1's and #2's instructions";
    EXPECT_EQ(d.history_start().kind, HistoryStart::Kind::End);
    EXPECT_EQ(d.backstep(1).undone, 0u) << "#0's end stopped the others: not undoable";
}

// Backstep undoes a procedure's own steps exactly, and never across a switch
// or a procedure instruction.
TEST(DebugProcedures, BackstepStopsWhereTheProcedureBeganRunning) {
    Session s(kWorkers);
    DebugSession& d = *s.session;
    d.add_breakpoint(s.module.procs[0].start, "worker");
    ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
    ASSERT_EQ(d.running(), 1u);
    EXPECT_TRUE(d.history().empty());
    EXPECT_EQ(d.history_start().kind, HistoryStart::Kind::Switch);
    EXPECT_EQ(d.history_start().procedure, 1u);
    std::vector<MachineState> states{capture(d.machine())};
    for (int k = 0; k < 6; ++k) {
        d.step(1);
        states.push_back(capture(d.machine()));
    }
    const MachineState main_before = [&] {
        MachineState m;
        m.pc = d.procedures()->state_of(0).pc;
        m.r.assign(std::begin(d.procedures()->state_of(0).regs.r), std::end(d.procedures()->state_of(0).regs.r));
        return m;
    }();
    for (std::size_t k = states.size() - 1; k-- > 0;) {
        ASSERT_EQ(d.backstep(1).undone, 1u);
        ASSERT_EQ(capture(d.machine()), states[k]);
    }
    const BackstepReport none = d.backstep(5);
    EXPECT_EQ(none.undone, 0u);
    EXPECT_TRUE(none.history_ran_out);
    EXPECT_FALSE(d.history().truncated()) << "nothing dropped: the history starts at the switch";
    EXPECT_EQ(d.procedures()->state_of(0).pc, main_before.pc) << "main is untouched";
    EXPECT_TRUE(std::equal(main_before.r.begin(), main_before.r.end(), d.procedures()->state_of(0).regs.r));
    // In main, after a spawn: the history starts after it.
    ASSERT_TRUE(d.restart().ok());
    d.remove_all();
    d.step(4);  // li, li, spawn, li
    EXPECT_EQ(d.history_start().kind, HistoryStart::Kind::ProcedureOp);
    EXPECT_EQ(d.history_start().pc, pc_of(s.module, "spawn"));
    EXPECT_EQ(d.backstep(5).undone, 1u) << "only the li after the spawn";
    EXPECT_EQ(d.machine().pc(), pc_of(s.module, "spawn") + 1);
    EXPECT_EQ(d.procedures()->all().size(), 2u);
}

// step counts every procedure's instructions; next runs a waiting
// instruction (and a call) as one step of the procedure it was given in.
TEST(DebugProcedures, StepFollowsTheSchedulerNextWaitsForTheJoin) {
    Session s(kWorkers);
    DebugSession& d = *s.session;
    const std::uint32_t join = pc_of(s.module, "join");
    d.add_breakpoint(join, "join");
    ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
    EXPECT_EQ(d.step(1).kind, StopKind::Step);
    EXPECT_EQ(d.running(), 1u) << "the join waits: the step ends before worker #1's first instruction";
    EXPECT_EQ(d.machine().pc(), s.module.procs[0].start);
    ASSERT_TRUE(d.restart().ok());
    ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
    EXPECT_EQ(d.next(1).kind, StopKind::Step);
    EXPECT_EQ(d.running(), 0u);
    EXPECT_EQ(d.machine().pc(), join + 1) << "both workers ran; main has done its join";
    EXPECT_EQ(d.machine().int_reg(1), 6);
    // The join tried again when main resumed did not stop at its breakpoint a second time.
    EXPECT_EQ(d.breakpoints()[0].hits, 2u) << "one in the first run, one in this";
    ASSERT_TRUE(d.restart().ok());
    ASSERT_EQ(d.resume().kind, StopKind::Breakpoint);
    ASSERT_EQ(d.resume().kind, StopKind::Halted) << "the second join, after the workers, is not at the breakpoint";
    EXPECT_EQ(d.breakpoints()[0].hits, 3u) << "one hit per run";
}

TEST(DebugProcedures, DeadlockAndTrapsInASpawnedProcedureStopTheSession) {
    Session dead(".proc waiter\n  li r4, 0\n  join r1, f1, r4\n  ret\n.end\n"
                 ".proc main\n  li r5, 0\n  spawn r8, waiter, r5\n  join r1, f1, r8\n  halt\n.end\n");
    DebugSession& d = *dead.session;
    EXPECT_EQ(d.resume().kind, StopKind::Trapped);
    EXPECT_EQ(d.trap()->kind, TrapKind::Deadlock);
    EXPECT_EQ(d.running(), 0u);
    EXPECT_EQ(d.machine().pc(), pc_of(dead.module, "join", 1)) << "main's state, at its join";
    EXPECT_NE(d.trap()->detail.find("#1 waiter at test.pasm:3: join waits for procedure #0 (main) to end"),
              std::string::npos)
        << d.trap()->detail;
    EXPECT_EQ(d.backstep(1).undone, 0u) << "nothing to undo across the switch back to main";

    Session bad(".proc bad\n  li r2, 0\n  div r3, r1, r2\n  ret\n.end\n"
                ".proc main\n  li r5, 0\n  li r1, 7\n  spawn r8, bad, r5\n  join r1, f1, r8\n  halt\n.end\n");
    DebugSession& b = *bad.session;
    EXPECT_EQ(b.resume().kind, StopKind::Trapped);
    EXPECT_EQ(b.trap()->kind, TrapKind::DivisionByZero);
    EXPECT_EQ(b.running(), 1u);
    EXPECT_EQ(b.selected(), 1u);
    EXPECT_EQ(b.trap()->procedure, "procedure #1, spawned by #0 at test.pasm:9, on the home");
    EXPECT_EQ(b.machine().int_reg(1), 7) << "the spawned procedure's registers";
    EXPECT_EQ(b.backstep(1).undone, 1u) << "its own li r2 is undone";
    EXPECT_EQ(b.state(), DebugSession::State::Running);
}

TEST(DebugProcedures, OutOfOrderIsNotUsedForAProgramWithProcedures) {
    const Module m = assemble_or_fail(kWorkers);
    std::string text;
    OutputBuffer out(&text);
    MachineOptions ooo;
    ooo.exec = ExecMode::Ooo;
    auto d = DebugSession::create(m, out, ooo, 1);
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d.value()->out_of_order());
    EXPECT_EQ(d.value()->exec_mode(), ExecMode::InOrder);
    EXPECT_EQ(d.value()->resume().kind, StopKind::Halted);
    out.flush();
    EXPECT_EQ(text, "610");
}

}  // namespace
}  // namespace polymer::debugger
