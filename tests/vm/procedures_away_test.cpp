// Procedures on nodes (vm/procs/away.h, docs/language.md "Procedures"): the
// home's side and the node's side meeting through LoopbackNodes, in every
// execution mode, against the same program with every procedure on the
// home: the same output, registers, regions and steps; the memory model
// across the two copies of the regions; traps, deadlocks, lost nodes and
// placements.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "assembler/assembler.h"
#include "loopback_nodes.h"
#include "tests/vm/alloc_both_sides.h"
#include "tests/vm/node_to_node_ping_pong.h"
#include "mode_runner.h"
#include "vm/output.h"
#include "vm/procs/procedures.h"

namespace polymer::test {
namespace {

Module assembled(const std::string& source, const std::string& filename = "away.pasm") {
    AssembleOptions ao;
    ao.filename = filename;
    AssembleResult r = assemble(source, ao);
    EXPECT_TRUE(r.ok()) << source;
    return r.ok() ? std::move(*r.module) : Module{};
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string trap_text(const Outcome& o) {
    return o.trap ? std::string(trap_name(o.trap->kind)) + ": " + o.trap->detail + " [" + o.trap->procedure + "]"
                  : "(no trap)";
}

constexpr ExecMode kModes[] = {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec};

// `source` with every PLACE replaced by `where`.
std::string placed(std::string source, const std::string& where) {
    for (std::size_t at; (at = source.find("PLACE")) != std::string::npos;) source.replace(at, 5, where);
    return source;
}

// Runs `source` with every procedure on the home (PLACE = 0, in order), then
// with PLACE = `where` on `nodes` loopback nodes in every mode, and expects
// the same outcome.
Outcome same_on_nodes(const std::string& source, const std::string& where, std::size_t nodes = 2,
                      std::uint64_t max_steps = 50'000'000) {
    const Outcome home = run_mode(assembled(placed(source, "0")), "main", ExecMode::InOrder, 64, nullptr, true, max_steps);
    const Module m = assembled(placed(source, where));
    for (ExecMode mode : kModes) {
        LoopbackNodes loop(nodes);
        const Outcome got = run_mode(m, "main", mode, 64, nullptr, true, max_steps, nullptr, &loop);
        EXPECT_EQ(difference(home, got), "") << exec_mode_name(mode);
        EXPECT_GT(loop.started(), 0u) << "no procedure ran on a node";
    }
    return home;
}

// Runs `m`'s main in order with `loop`'s nodes, keeping the machine for
// its procedures and --stats.
struct MachineRun {
    std::string out;
    std::unique_ptr<OutputBuffer> buffer;
    std::unique_ptr<Machine> machine;  // after the buffer it writes to
    RunResult result;
};
std::unique_ptr<MachineRun> run_with_nodes(const Module& m, LoopbackNodes& loop) {
    auto run = std::make_unique<MachineRun>();
    run->buffer = std::make_unique<OutputBuffer>(&run->out);
    MachineOptions o;
    o.procedure_nodes = &loop;
    auto machine = Machine::create(m, *run->buffer, o);
    EXPECT_TRUE(machine.ok());
    if (!machine.ok()) return run;
    run->machine = std::move(machine).value();
    run->result = run->machine->run(*run->machine->find_proc("main"));
    run->buffer->flush();
    return run;
}

const char* const kPingPongOnNode1 = R"(
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
        li      r8, PLACE
        spawn   r9, ponger, r8
        li      r8, 0           ; the same registers wherever it went
        li      r2, 1
        li      r4, 50
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

TEST(AwayProcedures, PingPongWithANodeIsTheSameAsOnTheHome) {
    const Outcome o = same_on_nodes(kPingPongOnNode1, "1");
    EXPECT_TRUE(o.output.ends_with("2500 50")) << o.output;
}

// The memory model across copies: main's writes before spawn and send are
// seen by the worker on its node; the worker's writes before its send and
// its end are seen by main after the recv and the join; a slice travels
// with sendr/recvr.
const char* const kRegionsBothWays = R"(
.region data i64[64]
.region out i64[64]
.region buf f64[8]
.channel go 1
.channel back 2
.proc worker
        li      r10, 0
        li      r11, 64
        li      r12, 0
sum:    ld.i64  r13, data[r10]
        add     r12, r12, r13
        addi    r10, r10, 1
        blt     r10, r11, sum
        send    back, r12
        recv    r14, go
        li      r10, 0
fill:   mul     r13, r10, r14
        st.i64  out[r10], r13
        addi    r10, r10, 1
        blt     r10, r11, fill
        li      r15, 0
        li      r16, 8
        recvr   r17, buf, r15, go
        ld.f64  f2, buf[r15]
        li      r15, 3
        st.f64  buf[r15], f2
        send    back, r17
        mov     r1, r12
        ret
.end
.proc main
        li      r10, 0
        li      r11, 64
init:   st.i64  data[r10], r10
        addi    r10, r10, 1
        blt     r10, r11, init
        li      r8, PLACE
        spawn   r9, worker, r8
        li      r8, 0
        recv    r2, back
        print   r2
        println
        li      r14, 3
        li      r10, 5
        st.i64  data[r10], r14
        send    go, r14
        li      r15, 0
        li      r16, 4
        li      r10, 0
        lif     f3, 2.5
        st.f64  buf[r10], f3
        sendr   go, buf, r15, r16
        recv    r3, back
        join    r1, f1, r9
        print   r1
        println
        li      r10, 63
        ld.i64  r4, out[r10]
        print   r4
        println
        print   r3
        println
        halt
.end
)";

TEST(AwayProcedures, RegionWritesFollowTheMemoryModelAcrossNodes) {
    const Outcome o = same_on_nodes(kRegionsBothWays, "2");
    EXPECT_EQ(o.output, "2016\n2016\n189\n4\n");
}

// Regions allocated anew travel both ways with their lengths
// (tests/vm/alloc_both_sides.h): the same as with every procedure on the
// home, in every mode.
TEST(AwayProcedures, RegionsAllocatedAnewTravelBothWaysWithTheirLengths) {
    const Outcome o = same_on_nodes(kAllocOnBothSides, "1");
    EXPECT_EQ(o.output, kAllocOnBothSidesOutput);
}

// A procedure on a node may reshape its regions only within the bytes they
// had at its spawn (what the node set aside for it): past that, its alloc
// traps bad-allocation there, naming the procedure and the line.
TEST(AwayProcedures, AnAllocPastTheBytesAtItsSpawnTrapsOnTheNode) {
    const Module m = assembled(R"(
.region xs i64[4]
.proc worker
        li      r2, 100
        alloc   xs, r2
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    LoopbackNodes loop(1);
    const Outcome o = run_mode(m, "main", ExecMode::InOrder, 64, nullptr, true, 1'000'000, nullptr, &loop);
    ASSERT_TRUE(o.trap) << o.output;
    EXPECT_EQ(o.trap->kind, TrapKind::BadAllocation) << trap_text(o);
    EXPECT_NE(o.trap->detail.find("'xs': 100 i64 elements would pass the memory limit of 32 bytes (a procedure on a node holds "
                                  "at most the bytes its regions had at its spawn"),
              std::string::npos)
        << trap_text(o);
    EXPECT_NE(o.trap->procedure.find("procedure #1, spawned by #0 at away.pasm:10, on node 1 'loop1'"), std::string::npos)
        << trap_text(o);
}

// Only the bytes that differ travel, in runs: main's two fives (bytes 0 and
// 8, one run of 9 bytes) go to the worker at its start, and the worker's
// seven (byte 16: 1 byte) comes back at its end; --stats counts them.
TEST(AwayProcedures, OnlyTheChangedBytesTravelAndStatsCountThem) {
    const Module m = assembled(R"(
.region xs i64[512]
.proc worker
        li      r2, 7
        li      r3, 2
        st.i64  xs[r3], r2
        ret
.end
.proc main
        li      r2, 5
        li      r3, 0
        st.i64  xs[r3], r2
        li      r3, 1
        st.i64  xs[r3], r2
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        li      r3, 2
        ld.i64  r4, xs[r3]
        print   r4
        halt
.end
)");
    LoopbackNodes loop(1);
    const auto run = run_with_nodes(m, loop);
    ASSERT_TRUE(run->machine);
    EXPECT_EQ(run->result.status, RunStatus::Halted);
    EXPECT_EQ(run->out, "7");
    const Procedures& procs = *run->machine->procedures();
    const LiveProcedure& worker = procs.all().at(1);
    EXPECT_EQ(worker.bytes_from_home, 9u);
    EXPECT_EQ(worker.bytes_to_home, 1u);
    EXPECT_NE(procs.stats_text().find("#1 worker (on node 1 'loop1'): 4 instructions"), std::string::npos) << procs.stats_text();
    EXPECT_NE(procs.stats_text().find("region bytes 1 to the home, 9 from it"), std::string::npos);
}

TEST(AwayProcedures, TheLessonsGiveTheirExpectedOutputOnTwoNodes) {
    for (const char* lesson : {"25-ping-pong", "26-parallel-sum", "27-pipeline", "28-barrier-solver"}) {
        const std::string base = std::string(POLYMER_SAMPLES_DIR) + "/" + lesson;
        const Module m = assembled(read_text(base + ".pasm"), base + ".pasm");
        const std::string expected = read_text(base + ".expected");
        for (ExecMode mode : {ExecMode::InOrder, ExecMode::Spec}) {
            LoopbackNodes loop(2);
            const Outcome got = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
            EXPECT_EQ(got.output, expected) << lesson << " " << exec_mode_name(mode) << ": " << trap_text(got);
            EXPECT_EQ(got.status, RunStatus::Halted) << lesson << ": " << trap_text(got);
            EXPECT_GT(loop.started(), 0u) << lesson;
        }
    }
}

TEST(AwayProcedures, ATrapOnANodeNamesTheNodeProcedureAndLine) {
    const Module m = assembled(R"(
.proc worker
        li      r2, 0
        div     r3, r1, r2
        ret
.end
.proc main
        li      r1, 7
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    for (ExecMode mode : kModes) {
        LoopbackNodes loop(1);
        const Outcome o = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
        ASSERT_TRUE(o.trap) << exec_mode_name(mode);
        EXPECT_EQ(o.trap->kind, TrapKind::DivisionByZero);
        EXPECT_EQ(o.trap->pc, 1u);
        EXPECT_EQ(o.trap->procedure, "procedure #1, spawned by #0 at away.pasm:10, on node 1 'loop1'");
    }
}

TEST(AwayProcedures, ADeadlockAcrossNodesListsEveryWaiter) {
    const Module m = assembled(R"(
.channel a 1
.channel b 1
.proc worker
        recv    r2, a
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        recv    r3, b
        halt
.end
)");
    LoopbackNodes loop(1);
    const Outcome o = run_mode(m, "main", ExecMode::Ooo, 64, nullptr, true, 0, nullptr, &loop);
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::Deadlock);
    EXPECT_NE(o.trap->detail.find("#0 main at away.pasm:11: recv waits for a message on channel 'b'"), std::string::npos) << o.trap->detail;
    EXPECT_NE(o.trap->detail.find("#1 worker at away.pasm:5: recv waits for a message on channel 'a'"), std::string::npos) << o.trap->detail;
}

TEST(AwayProcedures, PlacementsPastTheNodesAndRefusalsAreClear) {
    const char* const source = R"(
.proc worker
        li      r1, 5
        ret
.end
.proc main
        li      r8, PLACE
        spawn   r9, worker, r8
        join    r1, f1, r9
        print   r1
        halt
.end
)";
    const Module past = assembled(placed(source, "3"));
    LoopbackNodes two(2);
    Outcome o = run_mode(past, "main", ExecMode::InOrder, 64, nullptr, true, 0, nullptr, &two);
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::BadPlacement);
    EXPECT_EQ(o.trap->detail, "node 3: this run has 2 nodes");

    const Module on_one = assembled(placed(source, "1"));
    LoopbackNodes refusing(1);
    refusing.refuse(1);
    o = run_mode(on_one, "main", ExecMode::InOrder, 64, nullptr, true, 0, nullptr, &refusing);
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::BadPlacement);
    EXPECT_EQ(o.trap->detail, "node 1 'loop1' cannot run procedure 'worker': it refuses (test)");

    // Anywhere falls back to the home when the node refuses.
    const Module anywhere = assembled(placed(source, "-1"));
    LoopbackNodes refusing_too(1);
    refusing_too.refuse(1);
    o = run_mode(anywhere, "main", ExecMode::InOrder, 64, nullptr, true, 0, nullptr, &refusing_too);
    EXPECT_EQ(o.output, "5");
    EXPECT_FALSE(o.trap) << trap_text(o);
}

TEST(AwayProcedures, AJoinOfAProcedureWhoseNodeWasLostTrapsSayingWhichWhereAndWhy) {
    const Module m = assembled(R"(
.channel c 4
.proc worker
        li      r1, 1
        send    c, r1
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    for (ExecMode mode : kModes) {
        LoopbackNodes loop(1);
        loop.lose_at_send(1);
        const Outcome o = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
        ASSERT_TRUE(o.trap) << exec_mode_name(mode);
        EXPECT_EQ(o.trap->kind, TrapKind::ProcedureLost);
        EXPECT_EQ(o.trap->pc, 5u);  // the join
        EXPECT_EQ(o.trap->detail,
                  "procedure #1 (worker) was lost with node 1 'loop1' (last heard from at away.pasm:4): connection lost (test)");
    }
}

// Lost while it waits at the home (for a message nobody sends yet): the
// loss goes first, so the join traps procedure-lost rather than the run
// deadlocking on a procedure that no longer exists.
TEST(AwayProcedures, AProcedureLostWhileItWaitsAtTheHomeIsLostNotDeadlocked) {
    const Module m = assembled(R"(
.channel c 1
.proc worker
        recv    r2, c
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    LoopbackNodes loop(1);
    loop.lose_after_recv(1);
    const Outcome o = run_mode(m, "main", ExecMode::InOrder, 64, nullptr, true, 0, nullptr, &loop);
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::ProcedureLost) << o.trap->detail;
    EXPECT_NE(o.trap->detail.find("procedure #1 (worker) was lost with node 1 'loop1' (last heard from at away.pasm:4)"),
              std::string::npos)
        << o.trap->detail;
}

TEST(AwayProcedures, AProcedureStillRunningOnANodeIsStoppedWhenMainEnds) {
    const Module m = assembled(R"(
.proc spinner
again:  addi    r2, r2, 1
        jmp     again
.end
.proc main
        li      r8, 1
        spawn   r9, spinner, r8
        prints  "bye"
        halt
.end
)");
    LoopbackNodes loop(1);
    const Outcome o = run_mode(m, "main", ExecMode::InOrder, 64, nullptr, true, 0, nullptr, &loop);
    EXPECT_EQ(o.output, "bye");
    EXPECT_EQ(o.status, RunStatus::Halted);
    // ~LoopbackNodes joins the spinner's thread: it ends only if it was stopped.
}

// --- Channels kept on nodes (docs/architecture.md, "vm/procs/") ---


TEST(KeptChannels, APingPongBetweenTwoNodesGoesThroughKeepersOnTheNodes) {
    const Outcome home = run_mode(assembled(node_to_node_ping_pong(0, 0, 50)), "main", ExecMode::InOrder, 64, nullptr, true, 0);
    EXPECT_EQ(home.output, "2500 42925");
    const Module m = assembled(node_to_node_ping_pong(2, 1, 50));
    for (ExecMode mode : kModes) {
        LoopbackNodes loop(2);
        const Outcome got = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
        EXPECT_EQ(difference(home, got), "") << exec_mode_name(mode);
        EXPECT_EQ(loop.handed_over(), 2u) << exec_mode_name(mode) << ": pings to node 2, pongs to node 1";
        // Each channel has one sending node: after the first, its sends go on credit.
        EXPECT_GT(loop.carried(ChannelFrame::Kind::SendOnCredit), 50u) << exec_mode_name(mode);
        EXPECT_EQ(loop.carried(ChannelFrame::Kind::Revoke), 0u) << exec_mode_name(mode);
    }
}

// Two producers on nodes 1 and 2, then main, send into `in`, kept on node 3
// where the consumer sums: with more than one sending node (credits or
// not, vm/procs/kept_channel.h), every message arrives, once.
TEST(KeptChannels, MessagesFromThreeSendersReachAKeptChannelOnce) {
    const char* const source = R"(
.channel in 2
.proc producer
        li      r2, 1
again:  send    in, r2
        addi    r2, r2, 1
        bge     r4, r2, again
        ret
.end
.proc consumer
        li      r1, 0
        li      r3, 0
        add     r5, r4, r4
        addi    r5, r5, 1
next:   recv    r2, in
        add     r1, r1, r2
        addi    r3, r3, 1
        blt     r3, r5, next
        ret
.end
.proc main
        li      r4, 300
        li      r8, 3
        spawn   r11, consumer, r8
        li      r8, 1
        spawn   r9, producer, r8
        li      r8, 2
        spawn   r10, producer, r8
        join    r1, f1, r9
        join    r1, f1, r10
        li      r2, 7
        send    in, r2
        join    r1, f1, r11
        print   r1
        halt
.end
)";
    const Module m = assembled(source);
    for (ExecMode mode : kModes)
        for (int run = 0; run < 3; ++run) {
            LoopbackNodes loop(3);
            const Outcome got = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
            EXPECT_EQ(got.output, "90307") << exec_mode_name(mode);  // 2 * (1 + ... + 300) + 7
            EXPECT_EQ(got.status, RunStatus::Halted) << exec_mode_name(mode) << ": " << (got.trap ? got.trap->detail : "");
            EXPECT_EQ(loop.carried(ChannelFrame::Kind::Revoke), loop.carried(ChannelFrame::Kind::Return)) << exec_mode_name(mode);
        }
}

// Credits end when another's send waits for lent room: producer A (node 1)
// sends once straight to the keeper (node 3), which lends node 1 the free
// room, then A is done. B (node 2) starts after that: its first send finds
// all the room lent, so the keeper revokes it, node 1 returns it unused,
// and B's 300 messages go in.
TEST(KeptChannels, ASendWaitingForLentRoomRevokesTheCredits) {
    const char* const source = R"(
.channel in 4
.channel ack 1
.channel ack2 1
.proc producer_a
        li      r2, 1
        send    in, r2
        li      r2, 2
        send    in, r2
        recv    r3, ack
        li      r2, 3
        send    in, r2
        ret
.end
.proc producer_b
        recv    r3, ack2
        li      r2, 1
again:  send    in, r2
        addi    r2, r2, 1
        bge     r4, r2, again
        ret
.end
.proc consumer
        recv    r2, in
        mov     r1, r2
        recv    r2, in
        add     r1, r1, r2
        send    ack, r2
        recv    r2, in
        add     r1, r1, r2
        send    ack2, r2
        li      r3, 0
next:   recv    r2, in
        add     r1, r1, r2
        addi    r3, r3, 1
        blt     r3, r4, next
        ret
.end
.proc main
        li      r4, 300
        li      r8, 3
        spawn   r11, consumer, r8
        li      r8, 1
        spawn   r9, producer_a, r8
        li      r8, 2
        spawn   r10, producer_b, r8
        join    r1, f1, r11
        print   r1
        halt
.end
)";
    const Module m = assembled(source);
    for (ExecMode mode : kModes) {
        LoopbackNodes loop(3);
        const Outcome got = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
        EXPECT_EQ(got.output, "45156") << exec_mode_name(mode);  // 1 + 2 + 3 + (1 + ... + 300)
        EXPECT_EQ(got.status, RunStatus::Halted) << exec_mode_name(mode) << ": " << (got.trap ? got.trap->detail : "");
        EXPECT_GE(loop.credits_carried(), 1u) << exec_mode_name(mode);
        EXPECT_EQ(loop.carried(ChannelFrame::Kind::Revoke), 1u) << exec_mode_name(mode);
        EXPECT_EQ(loop.carried(ChannelFrame::Kind::Return), 1u) << exec_mode_name(mode);
        EXPECT_EQ(loop.carried(ChannelFrame::Kind::SendOnCredit), 0u) << exec_mode_name(mode) << ": A never used its credits";
    }
}

TEST(KeptChannels, TheHomeKeepsEveryChannelWhenItsCarrierCannotCarryThem) {
    const Outcome home = run_mode(assembled(node_to_node_ping_pong(0, 0, 50)), "main", ExecMode::InOrder, 64, nullptr, true, 0);
    LoopbackNodes loop(2, /*direct=*/false);
    const Outcome got = run_mode(assembled(node_to_node_ping_pong(2, 1, 50)), "main", ExecMode::Ooo, 64, nullptr, true, 0, nullptr, &loop);
    EXPECT_EQ(difference(home, got), "");
    EXPECT_EQ(loop.handed_over(), 0u);
}

// The memory model through kept channels: main writes ys and sends `go`;
// the writer sums ys, writes xs and sends `data` (kept on node 2 by then,
// where the reader waits, after a first message through the home); the
// reader must see both writes, main's through the writer (the orders
// chain), so its node acquires them from the home before its recv finishes.
TEST(KeptChannels, AMessageFromANodeCarriesWhatItsSenderHadSeen) {
    const char* const source = R"(
.region xs i64[16]
.region ys i64[16]
.channel go 1
.channel data 1
.channel ready 1
.proc writer
        send    data, r0        ; through the home: a channel goes to a node for messages from nodes
        recv    r2, go
        li      r10, 0
        li      r11, 16
        li      r12, 0
sum:    ld.i64  r13, ys[r10]
        add     r12, r12, r13
        mul     r14, r10, r2
        st.i64  xs[r10], r14
        addi    r10, r10, 1
        blt     r10, r11, sum
        send    data, r12
        ret
.end
.proc reader
        recv    r2, data        ; the writer's first, through the home
        send    ready, r0       ; its next recv follows this at the home, before main goes on
        recv    r2, data
        li      r10, 0
        li      r11, 16
        li      r12, 0
sum:    ld.i64  r13, xs[r10]
        add     r12, r12, r13
        ld.i64  r13, ys[r10]
        add     r12, r12, r13
        addi    r10, r10, 1
        blt     r10, r11, sum
        add     r1, r12, r2
        ret
.end
.proc main
        li      r8, WRITER
        spawn   r9, writer, r8
        li      r8, READER
        spawn   r10, reader, r8
        li      r8, 0
        li      r11, 0
        li      r12, 16
fill:   st.i64  ys[r11], r11
        addi    r11, r11, 1
        blt     r11, r12, fill
        recv    r2, ready
        li      r2, 3
        send    go, r2
        join    r1, f1, r9
        join    r1, f1, r10
        print   r1
        halt
.end
)";
    auto placed_at = [&](const std::string& writer, const std::string& reader) {
        std::string s = source;
        s.replace(s.find("WRITER"), 6, writer);
        s.replace(s.find("READER"), 6, reader);
        return assembled(s);
    };
    const Outcome home = run_mode(placed_at("0", "0"), "main", ExecMode::InOrder, 64, nullptr, true, 0);
    EXPECT_EQ(home.output, "600");  // xs: 3 * 120, ys: 120 twice (the reader's sum and the writer's message)
    const Module m = placed_at("1", "2");
    for (ExecMode mode : kModes) {
        for (int run = 0; run < 5; ++run) {  // the spawns race with main's fill: the clocks must order it every time
            LoopbackNodes loop(2);
            const Outcome got = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
            EXPECT_EQ(got.output, "600") << exec_mode_name(mode) << ": " << trap_text(got);  // 240 without the writer's xs
            // `data` (the reader waits there before main sends `go`), not
            // `go`, whose messages come from the home.
            EXPECT_EQ(loop.handed_over(), 1u) << exec_mode_name(mode);
        }
    }
}

TEST(KeptChannels, StatsCountTheMessagesTheKeepersCarried) {
    const Module m = assembled(node_to_node_ping_pong(2, 1, 50));
    LoopbackNodes loop(2);
    const auto run = run_with_nodes(m, loop);
    ASSERT_TRUE(run->machine);
    ASSERT_EQ(run->result.status, RunStatus::Halted);
    const std::string stats = run->machine->procedures()->stats_text();
    EXPECT_NE(stats.find("channel 'pings': 51 messages, 408 bytes, at most 1 of 1 held at once"), std::string::npos) << stats;
    EXPECT_NE(stats.find("channel 'pongs': 50 messages, 400 bytes, at most 1 of 1 held at once; handed to node 1 'loop1'"),
              std::string::npos)
        << stats;
    EXPECT_NE(stats.find("channel 'pings': 51 messages, 408 bytes, at most 1 of 1 held at once; handed to node 2 'loop2'"),
              std::string::npos)
        << stats;
    // After its first send straight to the keeper, the pinger's node sends on credit.
    const std::string before = "where its receivers run; ";
    const std::size_t at = stats.find(before);
    ASSERT_NE(at, std::string::npos) << stats;
    EXPECT_GE(std::stoull(stats.substr(at + before.size())), 40u) << stats;
    EXPECT_NE(stats.find(" sends went on credit, without waiting", at), std::string::npos) << stats;
    // Each procedure's own count, the messages that went through keepers included.
    EXPECT_NE(stats.find("#1 ponger (on node 2 'loop2'): "), std::string::npos) << stats;
    EXPECT_NE(stats.find("sent 50 messages, received 51 messages"), std::string::npos) << stats;
    EXPECT_NE(stats.find("sent 51 messages, received 50 messages"), std::string::npos) << stats;
}

TEST(KeptChannels, ADeadlockWithAProcedureWaitingAtAKeeperListsEveryWaiter) {
    const Module m = assembled(R"(
.channel a 1
.channel b 1
.proc left
        li      r2, 1
        send    b, r2           ; right takes it through the home: b goes to right's node
        recv    r2, a           ; nobody sends on a
        ret
.end
.proc right
        recv    r2, b
        recv    r2, b           ; waits at b's keeper on node 2
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, left, r8
        li      r8, 2
        spawn   r10, right, r8
        join    r1, f1, r9
        halt
.end
)");
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Spec}) {
        LoopbackNodes loop(2);
        const Outcome o = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
        ASSERT_TRUE(o.trap) << exec_mode_name(mode);
        EXPECT_EQ(o.trap->kind, TrapKind::Deadlock) << trap_text(o);
        EXPECT_NE(o.trap->detail.find("#1 left at away.pasm:7: recv waits for a message on channel 'a' (empty)"), std::string::npos)
            << o.trap->detail;
        EXPECT_NE(o.trap->detail.find("#2 right at away.pasm:12: recv waits for a message on channel 'b' (empty; kept on node 2 'loop2')"),
                  std::string::npos)
            << o.trap->detail;
        EXPECT_NE(o.trap->detail.find("#0 main at away.pasm:20: join waits for procedure #1 (left) to end"), std::string::npos)
            << o.trap->detail;
        EXPECT_EQ(loop.handed_over(), 1u);
    }
}


// The node that keeps a channel is lost: the feeder's send there traps
// procedure-lost, naming the node (its third send cannot have gone in
// before: the worker takes at most two and the channel holds one); or
// main's join of the worker does, when the feeder's trap comes second.
// Never a hang.
TEST(KeptChannels, AKeepersNodeLostMakesItsChannelsUsersTrap) {
    const Module m = assembled(R"(
.channel c 1
.proc worker
        recv    r3, c           ; the feeder's first, through the home: c goes to this node, which is then lost
        recv    r3, c
        ret
.end
.proc feeder
        send    c, r0
        send    c, r0
        send    c, r0
        ret
.end
.proc main
        li      r8, 2
        spawn   r9, worker, r8
        li      r8, 1
        spawn   r10, feeder, r8
        join    r1, f1, r10
        join    r1, f1, r9
        halt
.end
)");
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Ooo}) {
        LoopbackNodes loop(2);
        loop.lose_after_keep(2);
        const Outcome o = run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, &loop);
        ASSERT_TRUE(o.trap) << exec_mode_name(mode) << ": " << o.output;
        EXPECT_EQ(o.trap->kind, TrapKind::ProcedureLost) << trap_text(o);
        EXPECT_NE(o.trap->detail.find("node 2"), std::string::npos) << trap_text(o);
        EXPECT_EQ(loop.handed_over(), 1u);
    }
}

}  // namespace
}  // namespace polymer::test
