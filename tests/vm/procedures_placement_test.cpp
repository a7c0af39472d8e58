// Procedures that say where they may run (`.requires` inside a `.proc`,
// docs/language.md "On the nodes"): spawn places them only on loopback nodes
// that meet their requirements, in turn when anywhere, and traps
// bad-placement with each node's reason when none can take them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "loopback_nodes.h"
#include "mode_runner.h"

namespace polymer::test {
namespace {

using Advertised = LoopbackNodes::Advertised;

Module assembled(const std::string& source) {
    AssembleOptions ao;
    ao.filename = "placed.pasm";
    AssembleResult r = assemble(source, ao);
    EXPECT_TRUE(r.ok()) << source;
    return r.ok() ? std::move(*r.module) : Module{};
}

// `source` with every PLACE replaced by `where`.
std::string placed(std::string source, const std::string& where) {
    for (std::size_t at; (at = source.find("PLACE")) != std::string::npos;) source.replace(at, 5, where);
    return source;
}

Outcome run_on(const Module& m, ProcedureNodes* nodes, ExecMode mode = ExecMode::InOrder) {
    return run_mode(m, "main", mode, 64, nullptr, true, 0, nullptr, nodes);
}

std::string trap_text(const Outcome& o) {
    return o.trap ? std::string(trap_name(o.trap->kind)) + ": " + o.trap->detail : "(no trap)";
}

constexpr ExecMode kModes[] = {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec};

// render needs a GPU node; plain goes anywhere. main spawns render, plain,
// render, render anywhere and prints what each returned.
const char* const kRenderAndPlain = R"(
.proc render
        .requires gpu
        addi    r1, r1, 100
        ret
.end
.proc plain
        addi    r1, r1, 200
        ret
.end
.proc main
        li      r8, -1
        li      r1, 1
        spawn   r11, render, r8
        li      r1, 2
        spawn   r12, plain, r8
        li      r1, 3
        spawn   r13, render, r8
        li      r1, 4
        spawn   r14, render, r8
        join    r1, f1, r11
        print   r1
        join    r1, f1, r12
        print   r1
        join    r1, f1, r13
        print   r1
        join    r1, f1, r14
        print   r1
        halt
.end
)";

// Nodes 2 and 3 of three have a GPU: the GPU procedures take them in turn,
// and the plain one takes its turn among all three.
TEST(ProcedurePlacement, AnywhereTakesTheNodesThatMeetTheRequirementsInTurn) {
    const Module m = assembled(kRenderAndPlain);
    for (ExecMode mode : kModes) {
        LoopbackNodes nodes(3);
        nodes.describe(2, {"b", true});
        nodes.describe(3, {"c", true});
        const Outcome o = run_on(m, &nodes, mode);
        EXPECT_FALSE(o.trap) << trap_text(o);
        EXPECT_EQ(o.output, "101202103104") << exec_mode_name(mode);
        // render on 2; plain after it, on 3; render after 3: 1 has no GPU, so 2; then 3.
        EXPECT_EQ(nodes.started_on(), (std::vector<std::size_t>{2, 3, 2, 3})) << exec_mode_name(mode);
    }
}

TEST(ProcedurePlacement, MemoryAndNameMustBothHold) {
    const Module m = assembled(R"(
.proc render
        .requires mem >= 2G
        .requires node "box-3"
        li      r1, 7
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, render, r8
        join    r1, f1, r9
        print   r1
        halt
.end
)");
    LoopbackNodes nodes(3);
    nodes.describe(1, {"box-3", false, std::uint64_t{1} << 30});  // the name, not the memory
    nodes.describe(2, {"box-2", false, std::uint64_t{4} << 30});  // the memory, not the name
    nodes.describe(3, {"box-3", false, std::uint64_t{2} << 30});  // both: exactly 2 GiB is enough
    const Outcome o = run_on(m, &nodes);
    EXPECT_FALSE(o.trap) << trap_text(o);
    EXPECT_EQ(o.output, "7");
    EXPECT_EQ(nodes.started_on(), (std::vector<std::size_t>{3}));
}

// A procedure on a node spawning one with requirements: the home places it
// by the same rule.
TEST(ProcedurePlacement, ASpawnOnANodeIsPlacedByTheHomeByTheSameRule) {
    const Module m = assembled(R"(
.proc render
        .requires gpu
        li      r1, 40
        ret
.end
.proc worker
        li      r8, -1
        spawn   r9, render, r8
        join    r1, f1, r9
        addi    r1, r1, 2
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        print   r1
        halt
.end
)");
    LoopbackNodes nodes(2);
    nodes.describe(2, {"gpu-box", true});
    const Outcome o = run_on(m, &nodes);
    EXPECT_FALSE(o.trap) << trap_text(o);
    EXPECT_EQ(o.output, "42");
    EXPECT_EQ(nodes.started_on(), (std::vector<std::size_t>{1, 2}));
}

// render with requirements, spawned at PLACE.
const char* const kRenderAt = R"(
.proc render
        .requires gpu
        li      r1, 1
        ret
.end
.proc main
        li      r8, PLACE
        spawn   r9, render, r8
        join    r1, f1, r9
        print   r1
        halt
.end
)";

void expect_bad_placement(const Outcome& o, const std::string& detail) {
    ASSERT_TRUE(o.trap) << o.output;
    EXPECT_EQ(o.trap->kind, TrapKind::BadPlacement);
    EXPECT_EQ(o.trap->detail, detail);
    EXPECT_EQ(o.trap->pc, 3u);  // the spawn
    EXPECT_EQ(o.output, "");
}

TEST(ProcedurePlacement, NoNodeMeetingTheRequirementsTrapsWithEachNodesReason) {
    const Module m = assembled(placed(kRenderAt, "-1"));
    LoopbackNodes nodes(2);
    nodes.describe(2, {"b", false});
    expect_bad_placement(run_on(m, &nodes),
                         "procedure 'render' .requires gpu: no node meets it: node 1 'loop1': it has no GPU; "
                         "node 2 'b': it has no GPU");
    // No nodes at all: a run without a cluster, and one with an empty one.
    const std::string none = "procedure 'render' .requires gpu: no node meets it: this run has no nodes (--nodes, --local-nodes)";
    expect_bad_placement(run_on(m, nullptr), none);
    LoopbackNodes empty(0);
    expect_bad_placement(run_on(m, &empty), none);
}

TEST(ProcedurePlacement, ANumberedNodeThatDoesNotMeetThemTrapsWithTheReason) {
    const Module m = assembled(R"(
.proc render
        .requires gpu
        .requires mem >= 2G
        .requires node box3
        li      r1, 1
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, render, r8
        halt
.end
)");
    LoopbackNodes nodes(1);
    nodes.describe(1, {"a", false, std::uint64_t{512} << 20});
    const Outcome o = run_on(m, &nodes);
    ASSERT_TRUE(o.trap);
    EXPECT_EQ(o.trap->kind, TrapKind::BadPlacement);
    EXPECT_EQ(o.trap->detail,
              "procedure 'render' .requires gpu, mem >= 2G, node 'box3': node 1 'a' does not meet it: it has no GPU, "
              "it offers 512 MiB (--max-memory), it is named 'a'");
    EXPECT_TRUE(nodes.started_on().empty());
}

TEST(ProcedurePlacement, TheHomeIsNoPlaceForAProcedureWithRequirements) {
    LoopbackNodes nodes(1);
    nodes.describe(1, {"gpu-box", true});
    expect_bad_placement(run_on(assembled(placed(kRenderAt, "0")), &nodes),
                         "procedure 'render' .requires gpu: it .requires a node, and placement 0 is the home");
    EXPECT_TRUE(nodes.started_on().empty());
    // The same numbered node that meets them takes it.
    const Outcome o = run_on(assembled(placed(kRenderAt, "1")), &nodes);
    EXPECT_FALSE(o.trap) << trap_text(o);
    EXPECT_EQ(o.output, "1");
    EXPECT_EQ(nodes.started_on(), (std::vector<std::size_t>{1}));
}

// Anywhere: a meeting node that refuses the start passes it to the next
// meeting one, never to the home; when all refuse, the trap says so.
TEST(ProcedurePlacement, MeetingNodesThatRefuseAreSkippedButNeverForTheHome) {
    const Module m = assembled(placed(kRenderAt, "-1"));
    LoopbackNodes nodes(3);
    nodes.describe(1, {"g1", true});
    nodes.describe(3, {"g3", true});
    nodes.refuse(1);
    Outcome o = run_on(m, &nodes);
    EXPECT_FALSE(o.trap) << trap_text(o);
    EXPECT_EQ(o.output, "1");
    EXPECT_EQ(nodes.started_on(), (std::vector<std::size_t>{3}));

    LoopbackNodes refusing(3);
    refusing.describe(1, {"g1", true});
    refusing.describe(3, {"g3", true});
    refusing.refuse(1);
    refusing.refuse(3);
    expect_bad_placement(run_on(m, &refusing),
                         "procedure 'render' .requires gpu: no node that meets it could start it: node 1 'g1': it "
                         "refused it: it refuses (test); node 3 'g3': it refused it: it refuses (test)");
    // A numbered node that meets them but refuses: as for any procedure.
    LoopbackNodes one(1);
    one.describe(1, {"g1", true});
    one.refuse(1);
    expect_bad_placement(run_on(assembled(placed(kRenderAt, "1")), &one),
                         "node 1 'g1' cannot run procedure 'render': it refuses (test)");
}

// `.requires` is where spawn may put a procedure: a `call` runs its code in
// the calling procedure, wherever that is.
TEST(ProcedurePlacement, ACallIgnoresTheRequirements) {
    const Module m = assembled(R"(
.proc render
        .requires gpu
        li      r1, 5
        ret
.end
.proc main
        call    render
        print   r1
        halt
.end
)");
    const Outcome o = run_on(m, nullptr);
    EXPECT_FALSE(o.trap) << trap_text(o);
    EXPECT_EQ(o.output, "5");
}

}  // namespace
}  // namespace polymer::test
