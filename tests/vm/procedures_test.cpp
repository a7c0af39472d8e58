// Procedures (docs/language.md, "Procedures"): spawn, join, channels and
// barriers through the runtime (vm/procs/), in every execution mode against
// in-order; deadlocks, traps and the memory model; the ROB keeping younger
// work past a waiting recv; what --stats and --trace record.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "assembler/assembler.h"
#include "mode_runner.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/procs/procedures.h"

namespace polymer::test {
namespace {

Module assembled(const std::string& source) {
    AssembleOptions ao;
    ao.filename = "procs.pasm";
    AssembleResult r = assemble(source, ao);
    EXPECT_TRUE(r.ok()) << source;
    return r.ok() ? std::move(*r.module) : Module{};
}

// Runs `source` in order, then in every other mode (hand-off on and off, a
// ROB of 64 and of 2) and expects each to match in-order exactly: output,
// trap, steps, registers, regions. Returns the in-order outcome.
Outcome same_in_every_mode(const std::string& source, std::uint64_t max_steps = 5'000'000) {
    const Module m = assembled(source);
    const Outcome ref = run_mode(m, "main", ExecMode::InOrder, 64, nullptr, true, max_steps);
    for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec})
        for (bool hand_off : {true, false})
            for (std::uint32_t rob : {64u, 2u}) {
                const Outcome got = run_mode(m, "main", mode, rob, nullptr, hand_off, max_steps);
                EXPECT_EQ(difference(ref, got), "") << exec_mode_name(mode) << " hand-off " << hand_off << " rob " << rob;
            }
    return ref;
}

std::string trap_kind(const Outcome& o) { return o.trap ? std::string(trap_name(o.trap->kind)) : "(no trap)"; }

const char* const kPingPong = R"(
.channel pings 1
.channel pongs 1
.proc ponger
        li      r1, 0
next:   recv    r2, pings
        bz      r2, done
        mul     r3, r2, r2
        send    pongs, r3
        addi    r1, r1, 1
        jmp     next
done:   ret
.end
.proc main
        li      r8, -1
        spawn   r9, ponger, r8
        li      r2, 1
        li      r4, 5
round:  send    pings, r2
        recv    r3, pongs
        print   r3
        prints  " "
        addi    r2, r2, 1
        bge     r4, r2, round
        li      r0, 0
        send    pings, r0
        join    r1, f1, r9
        print   r1
        halt
.end
)";

TEST(Procedures, PingPongIsTheSameInEveryMode) {
    const Outcome o = same_in_every_mode(kPingPong);
    EXPECT_EQ(o.output, "1 4 9 16 25 5");
    EXPECT_EQ(o.status, RunStatus::Halted) << trap_kind(o);
}

TEST(Procedures, ASpawnedProcedureGetsACopyOfTheRegistersAndReturnsR1AndF1) {
    const Outcome o = same_in_every_mode(R"(
.proc child
        addi    r2, r2, 100     ; its own copy
        mov     r1, r2
        lif     f1, 2.5
        fadd    f1, f1, f3
        ret
.end
.proc main
        li      r2, 7
        lif     f3, 0.25
        li      r8, 0           ; the home
        spawn   r9, child, r8
        li      r2, 1           ; after the spawn: not the child's
        join    r10, f10, r9
        print   r10
        prints  " "
        printf  f10
        prints  " "
        print   r2
        halt
.end
)");
    EXPECT_EQ(o.output, "107 2.75 1");
}

TEST(Procedures, AFullChannelMakesTheSenderWait) {
    const Module m = assembled(R"(
.channel c 2
.proc producer
        li      r2, 0
        li      r3, 10
more:   send    c, r2
        addi    r2, r2, 1
        blt     r2, r3, more
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, producer, r8
        li      r4, 0
        li      r5, 0
        li      r3, 10
take:   recv    r6, c
        add     r5, r5, r6
        addi    r4, r4, 1
        blt     r4, r3, take
        join    r1, f1, r9
        print   r5
        halt
.end
)");
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Ooo}) {
        std::string output;
        OutputBuffer out(&output);
        MachineOptions options;
        options.exec = mode;
        auto machine = Machine::create(m, out, options);
        ASSERT_TRUE(machine.ok());
        const RunResult r = machine.value()->run(*machine.value()->find_proc("main"));
        out.flush();
        EXPECT_EQ(r.status, RunStatus::Halted);
        EXPECT_EQ(output, "45");
        const Procedures& procs = *machine.value()->procedures();
        EXPECT_EQ(procs.channels()[0].messages, 10u);
        EXPECT_EQ(procs.channels()[0].most_held, 2u) << "never more than its capacity";
        EXPECT_GE(procs.all()[1].waits, 4u) << "the producer waited for room";
        EXPECT_NE(procs.stats_text().find("channel 'c': 10 messages, 80 bytes, at most 2 of 2 held at once"),
                  std::string::npos)
            << procs.stats_text();
    }
}

TEST(Procedures, BarrierRoundsGiveTheSequentialAnswer) {
    // Four procedures relax a rod together; the barriers order each step.
    const Outcome o = same_in_every_mode(R"(
.region u f64[18]
.region v f64[18]
.barrier step 4
.proc relax
        li      r10, 40
        li      r11, 0
        lif     f9, 0.5
        addi    r3, r2, 4
each:   mov     r4, r2
new:    addi    r5, r4, -1
        addi    r6, r4, 1
        ld.f64  f1, u[r5]
        ld.f64  f2, u[r6]
        fadd    f1, f1, f2
        fmul    f1, f1, f9
        st.f64  v[r4], f1
        addi    r4, r4, 1
        blt     r4, r3, new
        barrier step
        mov     r4, r2
copy:   ld.f64  f1, v[r4]
        st.f64  u[r4], f1
        addi    r4, r4, 1
        blt     r4, r3, copy
        barrier step
        addi    r11, r11, 1
        blt     r11, r10, each
        ret
.end
.proc main
        lif     f1, 64.0
        li      r1, 0
        st.f64  u[r1], f1
        li      r8, -1
        li      r2, 5
        spawn   r20, relax, r8
        li      r2, 9
        spawn   r21, relax, r8
        li      r2, 13
        spawn   r22, relax, r8
        li      r2, 1
        call    relax
        join    r1, f1, r20
        join    r1, f1, r21
        join    r1, f1, r22
        li      r4, 8
        ld.f64  f1, u[r4]
        printf  f1
        halt
.end
)");
    // The same iteration in C++: the barriers make the schedule irrelevant.
    double u[18] = {64.0}, v[18] = {};
    for (int s = 0; s < 40; ++s) {
        for (int i = 1; i < 17; ++i) v[i] = (u[i - 1] + u[i + 1]) * 0.5;
        for (int i = 1; i < 17; ++i) u[i] = v[i];
    }
    char want[64];
    std::snprintf(want, sizeof want, "%.17g", u[8]);
    EXPECT_DOUBLE_EQ(std::stod(o.output), std::stod(want)) << o.output;
}

TEST(Procedures, ASliceTravelsAsACopy) {
    // The sender overwrites its block after sendr: the message keeps what
    // the slice held at the send.
    const Outcome o = same_in_every_mode(R"(
.region made f64[] = 1.5, 2.5, 3.5, 4.5
.region got f64[6]
.channel blocks 2
.proc maker
        li      r0, 0
        li      r1, 1
        li      r2, 3
        sendr   blocks, made, r1, r2    ; made[1 .. 4)
        lif     f1, 99.0
        st.f64  made[r1], f1
        sendr   blocks, made, r0, r0    ; an empty slice
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, maker, r8
        li      r3, 2
        recvr   r4, got, r3, blocks
        li      r5, 0
        recvr   r6, got, r5, blocks
        join    r1, f1, r9
        print   r4
        prints  " "
        print   r6
        prints  " "
        li      r7, 6
        printr  got, r5, r7
        halt
.end
)");
    EXPECT_EQ(o.output, "3 0 [0, 0, 2.5, 3.5, 4.5, 0]");
}

TEST(Procedures, SlicesAreChecked) {
    auto trap_of = [](const std::string& body) {
        const Outcome o = same_in_every_mode(".region xs i32[4]\n.region ys f32[4]\n.channel c 2\n.proc main\n" + body +
                                             "        halt\n.end\n");
        return o.trap ? std::string(trap_name(o.trap->kind)) + ": " + o.trap->detail : "(no trap)";
    };
    EXPECT_EQ(trap_of("        li r1, 2\n        li r2, 3\n        sendr c, xs, r1, r2\n"),
              "out-of-bounds: elements [2, 2 + 3) are outside 'xs' (length 4)");
    EXPECT_EQ(trap_of("        li r1, 0\n        li r2, 3\n        sendr c, xs, r1, r2\n        li r1, 2\n"
                      "        recvr r3, xs, r1, c\n"),
              "out-of-bounds: the message taken from channel 'c' holds 3 elements: they do not fit in 'xs' (length 4) "
              "from element 2");
    EXPECT_EQ(trap_of("        li r1, 0\n        li r2, 3\n        sendr c, xs, r1, r2\n        recvr r3, ys, r1, c\n"),
              "bad-message: the message taken from channel 'c' is a slice of i32 elements, not a slice of 'ys' (f32)");
    EXPECT_EQ(trap_of("        li r1, 0\n        send c, r1\n        recvr r3, ys, r1, c\n"),
              "bad-message: the message taken from channel 'c' is an integer (sent by send), not a slice of 'ys' (f32)");
    EXPECT_EQ(trap_of("        li r1, 0\n        li r2, 2\n        sendr c, xs, r1, r2\n        recv r3, c\n"),
              "bad-message: the message taken from channel 'c' is a slice (sent by sendr): recvr takes it");
}

// --- deadlocks -----------------------------------------------------------------

TEST(Procedures, ARecvNoOneWillAnswerIsADeadlockNamingWhereEachWaits) {
    const Outcome o = same_in_every_mode(R"(
.channel pings 1
.channel pongs 1
.proc ponger
        recv    r2, pings
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, ponger, r8
        recv    r3, pongs
        halt
.end
)");
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::Deadlock);
    EXPECT_NE(o.trap->detail.find("#0 main at procs.pasm:11: recv waits for a message on channel 'pongs' (empty)"),
              std::string::npos)
        << o.trap->detail;
    EXPECT_NE(o.trap->detail.find("#1 ponger at procs.pasm:5: recv waits for a message on channel 'pings' (empty)"),
              std::string::npos)
        << o.trap->detail;
}

TEST(Procedures, ABarrierShortOfPartiesIsADeadlock) {
    const Outcome o = same_in_every_mode(R"(
.barrier step 3
.proc worker
        barrier step
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, worker, r8
        barrier step
        join    r1, f1, r9
        halt
.end
)");
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::Deadlock);
    EXPECT_NE(o.trap->detail.find("waits at barrier 'step' (2 of 3 arrived)"), std::string::npos) << o.trap->detail;
}

TEST(Procedures, AFullChannelNobodyEmptiesIsADeadlock) {
    const Outcome o = same_in_every_mode(R"(
.channel c 1
.proc main
        li      r1, 1
        send    c, r1
        send    c, r1
        halt
.end
)");
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::Deadlock);
    EXPECT_NE(o.trap->detail.find("send waits for room on channel 'c' (full: 1 of 1)"), std::string::npos)
        << o.trap->detail;
}

// --- traps -----------------------------------------------------------------------

TEST(Procedures, ATrapInASpawnedProcedureNamesIt) {
    const Outcome o = same_in_every_mode(R"(
.proc worker
        li      r5, 0
        div     r1, r1, r5
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::DivisionByZero);
    EXPECT_EQ(o.trap->procedure, "procedure #1, spawned by #0 at procs.pasm:9, on the home");
}

TEST(Procedures, MisusesTrapWithWhatWasWrong) {
    auto trap_of = [](const std::string& body) {
        const Outcome o = same_in_every_mode(".channel c 2\n.proc worker\n        ret\n.end\n.proc main\n" + body +
                                             "        halt\n.end\n");
        return o.trap ? std::string(trap_name(o.trap->kind)) + ": " + o.trap->detail : "(no trap)";
    };
    EXPECT_EQ(trap_of("        li r9, 5\n        join r1, f1, r9\n"),
              "bad-procedure: 5 is not a procedure handle (this run has #0 to #0)");
    EXPECT_EQ(trap_of("        li r9, 0\n        join r1, f1, r9\n"), "bad-procedure: procedure #0 cannot join itself");
    EXPECT_EQ(trap_of("        li r8, -1\n        spawn r9, worker, r8\n        join r1, f1, r9\n        join r1, f1, r9\n"),
              "bad-procedure: procedure #1 was joined already");
    EXPECT_EQ(trap_of("        lif f1, 1.5\n        sendf c, f1\n        recv r1, c\n"),
              "bad-message: the message taken from channel 'c' is a float (sent by sendf): recvf takes it");
    EXPECT_EQ(trap_of("        li r1, 3\n        send c, r1\n        recvf f1, c\n"),
              "bad-message: the message taken from channel 'c' is an integer (sent by send): recv takes it");
    EXPECT_EQ(trap_of("        li r8, 2\n        spawn r9, worker, r8\n"),
              "bad-placement: node 2: this run has no nodes (--nodes, --local-nodes)");
    EXPECT_NE(trap_of("        li r8, -3\n        spawn r9, worker, r8\n").find("bad-placement: the placement is -3"),
              std::string::npos);
}

// --- the memory model ------------------------------------------------------------

TEST(Procedures, WritesBeforeASendAreSeenAfterTheRecvEvenFromALongOp) {
    // The vector op writing `big` is long (a pooled backend op in flight):
    // the send waits for it, and the receiver reads what it wrote.
    const Outcome o = same_in_every_mode(R"(
.region big i64[400000]
.channel ready 1
.proc reader
        recv    r1, ready
        li      r2, 399999
        ld.i64  r1, big[r2]
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, reader, r8
        li      r3, 42
        vfill   big, r3
        send    ready, r3
        join    r1, f1, r9
        print   r1
        halt
.end
)");
    EXPECT_EQ(o.output, "42");
}

TEST(Procedures, YoungerWorkRunsWhileARecvWaitsAtTheHead) {
    // Main's recv has to wait (the sender has not run yet); the adds after
    // it touch no region and do not use r1, so the ROB executes them before
    // the recv commits.
    const Module m = assembled(R"(
.channel c 1
.proc sender
        li      r1, 9
        send    c, r1
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, sender, r8
        recv    r1, c
        addi    r2, r2, 1
        addi    r3, r3, 2
        addi    r4, r4, 3
        join    r5, f5, r9
        add     r1, r1, r2
        print   r1
        halt
.end
)");
    for (ExecMode mode : {ExecMode::Ooo, ExecMode::Spec}) {
        std::string output;
        OutputBuffer out(&output);
        PipelineLog log;
        MachineOptions options;
        options.exec = mode;
        options.interpret_when_idle = false;
        options.pipeline_log = &log;
        auto machine = Machine::create(m, out, options);
        ASSERT_TRUE(machine.ok());
        machine.value()->run(*machine.value()->find_proc("main"));
        out.flush();
        EXPECT_EQ(output, "10");
        const auto recv = std::find_if(log.records.begin(), log.records.end(),
                                       [](const InsnRecord& r) { return r.op == Op::Recv && !r.squashed; });
        ASSERT_NE(recv, log.records.end());
        const auto addi = std::find_if(recv, log.records.end(), [](const InsnRecord& r) { return r.op == Op::Addi; });
        ASSERT_NE(addi, log.records.end());
        EXPECT_EQ(addi->procedure, 0u);
        EXPECT_LT(addi->exec_end_ns, recv->retire_ns) << "the add ran before the recv committed";
        // The trace knows both procedures and the message between them.
        ASSERT_EQ(log.procedures.size(), 2u);
        EXPECT_EQ(log.procedures[1], "#1 sender");
        ASSERT_EQ(log.messages.size(), 1u);
        EXPECT_EQ(log.messages[0].from, 1u);
        EXPECT_EQ(log.messages[0].to, 0u);
        EXPECT_LE(log.messages[0].sent_ns, log.messages[0].received_ns);
        EXPECT_TRUE(std::any_of(log.procedure_spans.begin(), log.procedure_spans.end(), [](const ProcedureSpan& s) {
            return s.procedure == 0 && s.waiting && s.what.find("recv: waits for a message on channel 'c'") == 0;
        }));
    }
}

// --- scheduling ------------------------------------------------------------------

TEST(Procedures, ASpinningProcedureCannotHoldUpTheOthers) {
    // Main spins on a flag (a race the memory model does not bless, but it
    // must end): its time slice runs out and the setter gets its turn.
    const Module m = assembled(R"(
.region flag i64[1]
.proc setter
        li      r1, 1
        li      r0, 0
        st.i64  flag[r0], r1
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, setter, r8
        li      r0, 0
wait:   ld.i64  r1, flag[r0]
        bz      r1, wait
        join    r1, f1, r9
        print   r1
        halt
.end
)");
    // How long main spins depends on where each mode ends a time slice, so
    // only the output is compared (steps would differ).
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec})
        for (bool hand_off : {true, false}) {
            const Outcome o = run_mode(m, "main", mode, 64, nullptr, hand_off, 50'000'000);
            EXPECT_EQ(o.output, "1") << exec_mode_name(mode) << " hand-off " << hand_off;
            EXPECT_EQ(o.status, RunStatus::Halted) << trap_kind(o) << " " << exec_mode_name(mode);
        }
}

TEST(Procedures, TheStepLimitCountsEveryProcedure) {
    // Each worker runs about 1,200 instructions: under a limit of 2,000
    // neither alone reaches it, both together do.
    const std::string source = R"(
.proc worker
        li      r2, 0
        li      r3, 400
loop:   addi    r2, r2, 1
        blt     r2, r3, loop
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, worker, r8
        spawn   r10, worker, r8
        join    r1, f1, r9
        join    r1, f1, r10
        halt
.end
)";
    const Outcome limited = same_in_every_mode(source, 1'500);
    EXPECT_EQ(trap_kind(limited), "step-limit");
    const Outcome enough = same_in_every_mode(source, 2'000);
    EXPECT_EQ(enough.status, RunStatus::Halted) << trap_kind(enough);
    EXPECT_GT(enough.steps, 1'500u);
}

TEST(Procedures, TheProgramEndsWithMainAndNamesWhoWasStillRunning) {
    const Module m = assembled(R"(
.channel c 1
.channel started 1
.proc forever
        send    started, r1
        recv    r1, c
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, forever, r8
        recv    r2, started
        halt
.end
)");
    std::string output;
    OutputBuffer out(&output);
    auto machine = Machine::create(m, out, MachineOptions{});
    ASSERT_TRUE(machine.ok());
    const RunResult r = machine.value()->run(*machine.value()->find_proc("main"));
    EXPECT_EQ(r.status, RunStatus::Halted);
    EXPECT_EQ(machine.value()->procedures()->still_running_text(),
              "the program ended with procedure #1 (forever) still running; it was stopped at procs.pasm:6 (recv), "
              "where it waits for a message on channel 'c' (empty)\n");
}

}  // namespace
}  // namespace polymer::test
