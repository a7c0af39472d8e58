// The debugger in out-of-order sessions (`--debug --exec ooo|spec`) through
// polymer-run over a pipe, with exact output: issue/commit/squash lines,
// info rob, breakpoints at commit, traps, and the in-order-only commands.
// On the CPU backend these 8-element ops run inline at submit, so the cycle
// each one completes in (and so every line below) is deterministic.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "polymer_run_session.h"

namespace {

// Two independent vector ops, a vsum on the first, a scalar op on the vsum.
constexpr const char* kRob = R"--(.region xs f32[8] fill 1.0
.region ys f32[8] fill 2.0
.region zs f32[8]
.region ws f32[8]
.proc main
        vadd    zs, xs, ys
        vadd    ws, ys, ys
        vsum    f1, zs
        fadd    f2, f1, f1
        printf  f2
        println
        halt
.end
)--";

// The branch waits for vsum; spec predicts it not taken, wrongly.
constexpr const char* kBranch = R"--(.region xs f32[8] fill 1.0
.proc main
        lif     f2, 4.0
        vsum    f1, xs
        flt     r3, f2, f1
        bnz     r3, small
        li      r4, 1
        print   r4
        println
        halt
small:  li      r4, 2
        print   r4
        println
        halt
.end
)--";

using polymer::test::kTrap;
using polymer::test::Session;

class DebuggerRob : public polymer::test::PolymerRunSession {
protected:
    void SetUp() override {
        PolymerRunSession::SetUp();
        write("rob.pasm", kRob);
        write("branch.pasm", kBranch);
        write("trap.pasm", kTrap);
    }
    Session debug(const std::string& exec, const std::string& program, const std::string& script) {
        return run("--backend cpu --debug --exec " + exec + " " + program, script);
    }
};

const std::string kRobBanner =
    "Polymer debugger: rob.pasm, 7 instructions in 1 procedure; stopped before pc 0 in main (rob.pasm:6). Type help for the commands.\n"
    "Out of order (--exec ooo): step runs cycles until instructions commit; info rob shows the reorder buffer.\n";

TEST_F(DebuggerRob, StepShowsIssueAndCommitAndInfoRobTheEntries) {
    Session s = debug("ooo", "rob.pasm", "info rob\nstep\ninfo rob\nstep\ninfo rob\np f1\nstep 5\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.err, "");
    EXPECT_EQ(s.out, kRobBanner + R"--(The reorder buffer is empty.
cycle 1: issue #0 pc 0 vadd    zs, xs, ys
cycle 1: issue #1 pc 1 vadd    ws, ys, ys
cycle 1: issue #2 pc 2 vsum    f1, zs
cycle 1: issue #3 pc 3 fadd    f2, f1, f1
cycle 2: issue #4 pc 4 printf  f2
cycle 2: issue #5 pc 5 println
cycle 2: issue #6 pc 6 halt
cycle 5: commit #0 pc 0 vadd    zs, xs, ys
Reorder buffer, oldest first (6 entries):
#1    pc 1   line 7   vadd    ws, ys, ys          done
#2    pc 2   line 8   vsum    f1, zs              executing (in flight on the backend)
#3    pc 3   line 9   fadd    f2, f1, f1          issued, operands waiting
#4    pc 4   line 10  printf  f2                  done
#5    pc 5   line 11  println                     done
#6    pc 6   line 12  halt                        done
cycle 6: commit #1 pc 1 vadd    ws, ys, ys
Reorder buffer, oldest first (5 entries):
#2    pc 2   line 8   vsum    f1, zs              executing (in flight on the backend)
#3    pc 3   line 9   fadd    f2, f1, f1          issued, operands waiting
#4    pc 4   line 10  printf  f2                  done
#5    pc 5   line 11  println                     done
#6    pc 6   line 12  halt                        done
(out of order: registers and the pc shown are the committed state; regions hold what executed vector ops and kernels wrote, committed or not: info rob)
f1 = 0.0
cycle 8: commit #2 pc 2 vsum    f1, zs
cycle 9: commit #3 pc 3 fadd    f2, f1, f1
48cycle 9: commit #4 pc 4 printf  f2

cycle 9: commit #5 pc 5 println
cycle 9: commit #6 pc 6 halt
The program halted after 7 instructions.
)--");
}

// As in order, a breakpoint stops before its instruction: out of order, before it commits.
TEST_F(DebuggerRob, ABreakpointStopsBeforeItsInstructionCommits) {
    Session s = debug("ooo", "rob.pasm", "b 10\nc\ninfo rob\nprint f2\nc\nrun\nx zs\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, kRobBanner + R"--(Breakpoint 1 at pc 4 in main (rob.pasm:10): printf  f2
Breakpoint 1, pc 4 in main (rob.pasm:10): printf  f2
Reorder buffer, oldest first (3 entries):
#4    pc 4   line 10  printf  f2                  done
#5    pc 5   line 11  println                     done
#6    pc 6   line 12  halt                        done
(out of order: registers and the pc shown are the committed state; regions hold what executed vector ops and kernels wrote, committed or not: info rob)
f2 = 48.0
48
The program halted after 7 instructions.
Starting again from the beginning (output already printed stays printed).
Breakpoint 1, pc 4 in main (rob.pasm:10): printf  f2
zs: f32[8], elements 0..7
  [0] 3.0 3.0 3.0 3.0 3.0 3.0 3.0 3.0
)--");
}

TEST_F(DebuggerRob, SpecSquashesTheMispredictedPath) {
    Session s = debug("spec", "branch.pasm", "step\ninfo rob\nstep\ninfo rob\nc\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: branch.pasm, 12 instructions in 1 procedure; stopped before pc 0 in main (branch.pasm:3). Type help for the commands.
Out of order (--exec spec): step runs cycles until instructions commit; info rob shows the reorder buffer.
cycle 1: issue #0 pc 0 lif     f2, 4.0
cycle 1: issue #1 pc 1 vsum    f1, xs
cycle 1: issue #2 pc 2 flt     r3, f2, f1
cycle 1: issue #3 pc 3 bnz     r3, small
cycle 2: commit #0 pc 0 lif     f2, 4.0
cycle 2: issue #4 pc 4 li      r4, 1
cycle 2: issue #5 pc 5 print   r4
cycle 2: issue #6 pc 6 println
cycle 2: issue #7 pc 7 halt
Reorder buffer, oldest first (7 entries):
#1    pc 1   line 4   vsum    f1, xs              executing (in flight on the backend)
#2    pc 2   line 5   flt     r3, f2, f1          issued, operands waiting
#3    pc 3   line 6   bnz     r3, small           issued (predicted), operands waiting
#4    pc 4   line 7   li      r4, 1               done
#5    pc 5   line 8   print   r4                  done
#6    pc 6   line 9   println                     done
#7    pc 7   line 10  halt                        done
cycle 4: commit #1 pc 1 vsum    f1, xs
cycle 4: squash #4..#7
cycle 4: issue #4 pc 8 li      r4, 2
cycle 4: issue #5 pc 9 print   r4
cycle 4: issue #6 pc 10 println
cycle 4: issue #7 pc 11 halt
Reorder buffer, oldest first (6 entries):
#2    pc 2   line 5   flt     r3, f2, f1          done
#3    pc 3   line 6   bnz     r3, small           done
#4    pc 8   line 11  li      r4, 2               done
#5    pc 9   line 12  print   r4                  done
#6    pc 10  line 13  println                     done
#7    pc 11  line 14  halt                        done
2
The program halted after 8 instructions.
)--");
}

TEST_F(DebuggerRob, ATrapStopsAtTheFaultingInstruction) {
    Session s = debug("ooo", "trap.pasm", "c\ninfo rob\nstep\n");
    EXPECT_EQ(s.status, 2);
    EXPECT_EQ(s.out, R"--(Polymer debugger: trap.pasm, 4 instructions in 1 procedure; stopped before pc 0 in main (trap.pasm:2). Type help for the commands.
Out of order (--exec ooo): step runs cycles until instructions commit; info rob shows the reorder buffer.
The program trapped; it is stopped at the faulting instruction.
trap: division-by-zero in proc 'main' at pc 2 (trap.pasm:4:9): div r3, r1, r2
  4          div     r3, r1, r2
Registers (the others are 0):
r1 = 5
The reorder buffer is empty.
error: the program has trapped (run starts it again)
)--");
}

// Every command of the in-order debugger works out of order too, with the
// same stops, values and undo: the sessions match line for line once the
// cycle events and the one-time note are left out.
TEST_F(DebuggerRob, EveryCommandStopsAndUndoesAsInOrder) {
    write("all.pasm", R"--(.region xs f64[] = 1.0, 2.0, 3.0, 4.0
.region ys f64[4]
.proc main
        li      r1, 0
        li      r2, 3
loop:   addi    r1, r1, 1
        call    twice
        blt     r1, r2, loop
        vadd    ys, xs, xs
        vsum    f1, ys
        printf  f1
        println
        halt
.end
.proc twice
        add     r3, r1, r1
        print   r3
        println
        ret
.end
)--");
    const std::string script =
        "break twice\ncontinue\nbt\nfinish\nnext\nwatch r1\ncontinue\nset r1 = 5\nprint r1\nbackstep 2\n"
        "print r1\ninfo history\ndelete\nuntil r3 == 4\nprint r3\nbt\nbackstep 3\nprint r3\nx ys\nbreak 10\n"
        "continue\nx ys\nbackstep\nx ys\nstep\ndelete\ncontinue\n";
    auto without_engine_lines = [](const std::string& out) {
        std::istringstream in(out);
        std::string line, kept;
        while (std::getline(in, line))
            if (!line.starts_with("cycle ") && !line.starts_with("(out of order") && !line.starts_with("Out of order"))
                kept += line + "\n";
        return kept;
    };
    const Session in_order = debug("in-order", "all.pasm", script);
    EXPECT_EQ(in_order.status, 0);
    EXPECT_NE(in_order.out.find("Undid 2 steps (1 of them set commands)."), std::string::npos) << in_order.out;
    EXPECT_NE(in_order.out.find("#1  pc 3 in main (all.pasm:7)"), std::string::npos) << in_order.out;
    EXPECT_NE(in_order.out.find("The program halted after 28 instructions."), std::string::npos) << in_order.out;
    for (const char* mode : {"ooo", "spec"}) {
        const Session s = debug(mode, "all.pasm", script);
        EXPECT_EQ(s.status, 0);
        EXPECT_EQ(without_engine_lines(s.out), in_order.out) << mode;
    }
}

// The per-node figures move while launches are in flight: `info nodes` stays in order only.
TEST_F(DebuggerRob, InfoNodesSaysWhyAndTheSessionGoesOn) {
    Session s = debug("ooo", "rob.pasm", "info nodes\nstep\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, kRobBanner + R"--(error: info nodes works on the in-order machine only (start the debugger with --exec in-order)
cycle 1: issue #0 pc 0 vadd    zs, xs, ys
cycle 1: issue #1 pc 1 vadd    ws, ys, ys
cycle 1: issue #2 pc 2 vsum    f1, zs
cycle 1: issue #3 pc 3 fadd    f2, f1, f1
cycle 2: issue #4 pc 4 printf  f2
cycle 2: issue #5 pc 5 println
cycle 2: issue #6 pc 6 halt
cycle 5: commit #0 pc 0 vadd    zs, xs, ys
)--");
}

}  // namespace
