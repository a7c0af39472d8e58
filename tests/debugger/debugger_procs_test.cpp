// The debugger's REPL on programs with procedures (vm/procs/,
// docs/debugger.md "Procedures"), through polymer-run with commands piped
// on stdin: info procs, proc N, breakpoints in spawned procedures, the
// procedure named at each stop, step/next across a wait, backstep's limit
// at a switch, a deadlock and a trap in a spawned procedure.
#include <gtest/gtest.h>

#include <string>

#include "polymer_run_session.h"

namespace {

// main spawns two workers, each r1 := r2 * r2 + 1 through a call, and joins them.
constexpr const char* kWorkers = R"--(.proc square
        mul     r1, r1, r1
        ret
.end
.proc worker
        mov     r1, r2
        call    square
        addi    r1, r1, 1
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
        println
        join    r1, f1, r9
        print   r1
        println
        halt
.end
)--";

// Each waits for the other to end.
constexpr const char* kDeadlock = R"--(.proc waiter
        li      r4, 0
        join    r1, f1, r4
        ret
.end
.proc main
        li      r5, 0
        spawn   r8, waiter, r5
        join    r1, f1, r8
        halt
.end
)--";

constexpr const char* kTrapInWorker = R"--(.proc bad
        li      r2, 0
        div     r3, r1, r2
        ret
.end
.proc main
        li      r5, 0
        li      r1, 7
        spawn   r8, bad, r5
        join    r1, f1, r8
        halt
.end
)--";

using polymer::test::Session;

class DebuggerProcedures : public polymer::test::PolymerRunSession {
protected:
    void SetUp() override {
        PolymerRunSession::SetUp();
        write("w.pasm", kWorkers);
        write("dead.pasm", kDeadlock);
        write("bad.pasm", kTrapInWorker);
        write("early.pasm", ".proc idle\n        li      r1, 1\n        ret\n.end\n.proc main\n        li      r5, 0\n"
                            "        spawn   r8, idle, r5\n        halt\n.end\n");
        write("plain.pasm", ".proc main\n        li      r1, 1\n        halt\n.end\n");
    }
};

TEST_F(DebuggerProcedures, WorkersBreakListSelectAndContinue) {
    Session s = run("--debug w.pasm", "break square\ncontinue\ninfo procs\nproc 1\ninfo registers r1 r2 r8\np r1\nbt\nproc 0\ninfo procs\np r9\nbt\nlist\nset r1 = 5\ncontinue\np r1\nbt\ncontinue\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: w.pasm, 18 instructions in 3 procedures; stopped before pc 6 in main (w.pasm:12). Type help for the commands.
Breakpoint 1 at pc 0 in square (w.pasm:2): mul     r1, r1, r1
[procedure #1 worker]
Breakpoint 1, pc 0 in square (w.pasm:2): mul     r1, r1, r1
  #0  main    waiting  pc 11 in main (w.pasm:17): join    r1, f1, r8; waits for procedure #1 (worker) to end
* #1  worker  running  pc 0 in square (w.pasm:2): mul     r1, r1, r1
  #2  worker  ready    pc 2 in worker (w.pasm:6): mov     r1, r2
[procedure #1 worker, running]
pc 0 in square (w.pasm:2): mul     r1, r1, r1
r1 = 3
r2 = 3
r8 = 0
r1 = 3
#0  pc 0 in square (w.pasm:2)
#1  pc 3 in worker (w.pasm:7)
(procedure #1 worker was spawned by #0 main at pc 8 in main (w.pasm:14))
[procedure #0 main, waiting]
pc 11 in main (w.pasm:17): join    r1, f1, r8
* #0  main    waiting  pc 11 in main (w.pasm:17): join    r1, f1, r8; waits for procedure #1 (worker) to end
  #1  worker  running  pc 0 in square (w.pasm:2): mul     r1, r1, r1
  #2  worker  ready    pc 2 in worker (w.pasm:6): mov     r1, r2
(* the selected procedure; the program is in #1 worker, where step and continue go on: proc 1 selects it)
r9 = 2
#0  pc 11 in main (w.pasm:17)
     12          li      r5, 0
     13          li      r2, 3
     14          spawn   r8, worker, r5
     15          li      r2, 4
     16          spawn   r9, worker, r5
=>   17          join    r1, f1, r8
     18          print   r1
     19          println
     20          join    r1, f1, r9
     21          print   r1
error: set changes the running procedure only: #0 is selected, #1 is running (proc 1 selects it)
[procedure #2 worker]
Breakpoint 1, pc 0 in square (w.pasm:2): mul     r1, r1, r1
r1 = 4
#0  pc 0 in square (w.pasm:2)
#1  pc 3 in worker (w.pasm:7)
(procedure #2 worker was spawned by #0 main at pc 10 in main (w.pasm:16))
10
17
The program halted after 24 instructions (by its 3 procedures).
)--");
}

TEST_F(DebuggerProcedures, StepAndNextAcrossAWaitInOrderEvenWhenOooIsAsked) {
    Session s = run("--debug --exec ooo w.pasm", "break 17\ncontinue\nstep\nstep\nproc\nnext\nnext\nnext\ninfo procs\ncontinue\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: w.pasm, 18 instructions in 3 procedures; stopped before pc 6 in main (w.pasm:12). Type help for the commands.
Breakpoint 1 at pc 11 in main (w.pasm:17): join    r1, f1, r8
[procedure #0 main]
Breakpoint 1, pc 11 in main (w.pasm:17): join    r1, f1, r8
[procedure #1 worker]
pc 2 in worker (w.pasm:6): mov     r1, r2
pc 3 in worker (w.pasm:7): call    square
[procedure #1 worker, running]
pc 3 in worker (w.pasm:7): call    square
pc 4 in worker (w.pasm:8): addi    r1, r1, 1
pc 5 in worker (w.pasm:9): ret
[procedure #2 worker]
pc 2 in worker (w.pasm:6): mov     r1, r2
  #0  main    ready    pc 11 in main (w.pasm:17): join    r1, f1, r8
  #1  worker  ended    pc 5 in worker (w.pasm:9): ret; r1 = 10, f1 = 0.0 for its join
* #2  worker  running  pc 2 in worker (w.pasm:6): mov     r1, r2
10
17
The program halted after 24 instructions (by its 3 procedures).
)--");
    EXPECT_EQ(s.err, "polymer-run: note: --debug steps a program with procedures in order; --exec ooo is not used\n");
}

TEST_F(DebuggerProcedures, BackstepStopsAtASwitchAndAfterAProcedureInstruction) {
    Session s = run("--debug w.pasm", "step 3\ninfo history\nbackstep 5\nbreak square\ncontinue\nset r1 = 5\nstep\ninfo history\nbackstep 5\nbackstep\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: w.pasm, 18 instructions in 3 procedures; stopped before pc 6 in main (w.pasm:12). Type help for the commands.
pc 9 in main (w.pasm:15): li      r2, 4
backstep can undo 0 steps (keeps up to 10000 steps and 67108864 bytes of region snapshots; 0 bytes in use); it starts after the spawn at pc 8 in main (w.pasm:14) (backstep does not undo spawn, join, send, recv or barrier).
error: no more history: it starts after the spawn at pc 8 in main (w.pasm:14) (backstep does not undo spawn, join, send, recv or barrier)
Breakpoint 1 at pc 0 in square (w.pasm:2): mul     r1, r1, r1
[procedure #1 worker]
Breakpoint 1, pc 0 in square (w.pasm:2): mul     r1, r1, r1
r1 = 5
pc 1 in square (w.pasm:3): ret
backstep can undo 4 steps (keeps up to 10000 steps and 67108864 bytes of region snapshots; 0 bytes in use); it starts where the scheduler switched to procedure #1 worker (backstep does not undo a switch between procedures).
Undid 4 steps (1 of them set commands).
Note: the history starts here, where the scheduler switched to procedure #1 worker (backstep does not undo a switch between procedures).
pc 2 in worker (w.pasm:6): mov     r1, r2
error: no more history: it starts where the scheduler switched to procedure #1 worker (backstep does not undo a switch between procedures)
)--");
}

TEST_F(DebuggerProcedures, ADeadlockStopsTheSession) {
    Session s = run("--debug dead.pasm", "continue\ninfo procs\nproc 1\nbt\nbackstep\n");
    EXPECT_EQ(s.status, 2);
    EXPECT_EQ(s.out, R"--(Polymer debugger: dead.pasm, 7 instructions in 2 procedures; stopped before pc 3 in main (dead.pasm:7). Type help for the commands.
The program trapped; it is stopped at the faulting instruction.
trap: deadlock in proc 'main' (procedure #0 on the home) at pc 5 (dead.pasm:9:9): join r1, f1, r8: every live procedure waits, so none can go on:
  #0 main at dead.pasm:9: join waits for procedure #1 (waiter) to end
  #1 waiter at dead.pasm:3: join waits for procedure #0 (main) to end
  9          join    r1, f1, r8
Registers (the others are 0):
r8 = 1
* #0  main    waiting  pc 5 in main (dead.pasm:9): join    r1, f1, r8; waits for procedure #1 (waiter) to end
  #1  waiter  waiting  pc 1 in waiter (dead.pasm:3): join    r1, f1, r4; waits for procedure #0 (main) to end
[procedure #1 waiter, waiting]
pc 1 in waiter (dead.pasm:3): join    r1, f1, r4
#0  pc 1 in waiter (dead.pasm:3)
(procedure #1 waiter was spawned by #0 main at pc 4 in main (dead.pasm:8))
error: no more history: it starts where the scheduler switched to procedure #0 main (backstep does not undo a switch between procedures)
)--");
}

TEST_F(DebuggerProcedures, ATrapInASpawnedProcedureStopsThere) {
    Session s = run("--debug bad.pasm", "continue\ninfo procs\nbackstep\ninfo procs\nstep\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: bad.pasm, 8 instructions in 2 procedures; stopped before pc 3 in main (bad.pasm:7). Type help for the commands.
The program trapped; it is stopped at the faulting instruction.
trap: division-by-zero in proc 'bad' (procedure #1, spawned by #0 at bad.pasm:9, on the home) at pc 1 (bad.pasm:3:9): div r3, r1, r2
  3          div     r3, r1, r2
Registers (the others are 0):
r1 = 7
  #0  main  waiting  pc 6 in main (bad.pasm:10): join    r1, f1, r8; waits for procedure #1 (bad) to end
* #1  bad   trapped  pc 1 in bad (bad.pasm:3): div     r3, r1, r2
Undid 1 step.
pc 0 in bad (bad.pasm:2): li      r2, 0
  #0  main  waiting  pc 6 in main (bad.pasm:10): join    r1, f1, r8; waits for procedure #1 (bad) to end
* #1  bad   running  pc 0 in bad (bad.pasm:2): li      r2, 0
pc 1 in bad (bad.pasm:3): div     r3, r1, r2
)--");
}

TEST_F(DebuggerProcedures, AProgramWithoutProcedures) {
    Session s = run("--debug plain.pasm", "info procs\nproc 1\nproc\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: plain.pasm, 2 instructions in 1 procedure; stopped before pc 0 in main (plain.pasm:2). Type help for the commands.
This program has no procedure instructions (spawn, join, send, recv, barrier): only #0 runs.
error: this program has no procedures to select: it has no spawn, join, send, recv or barrier
error: this program has no procedures to select: it has no spawn, join, send, recv or barrier
)--");
}

// After the end: who ended, who was joined, who never got to run (a note as
// a plain run's), and a procedure picked out by number.
TEST_F(DebuggerProcedures, TheEndOfTheProgram) {
    Session s = run("--debug w.pasm", "continue\nproc 2\ninfo procs\nbackstep\nstep\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_TRUE(s.out.ends_with(R"--(10
17
The program halted after 24 instructions (by its 3 procedures).
[procedure #2 worker, joined]
pc 5 in worker (w.pasm:9): ret
  #0  main    ended    pc 17 in main (w.pasm:23): halt
  #1  worker  joined   pc 5 in worker (w.pasm:9): ret
* #2  worker  joined   pc 5 in worker (w.pasm:9): ret
(* the selected procedure; the program ended in #0 main: proc 0 selects it)
error: no more history: it starts at the end of the program (backstep does not undo the end of procedure #0, which stops the others)
error: the program has halted (run starts it again)
)--")) << s.out;
    Session e = run("--debug early.pasm", "continue\ninfo procs\nproc 1\nproc 3\nproc x\n");
    EXPECT_EQ(e.status, 0);
    EXPECT_EQ(e.out, R"--(Polymer debugger: early.pasm, 5 instructions in 2 procedures; stopped before pc 2 in main (early.pasm:6). Type help for the commands.
The program halted after 3 instructions (by its 2 procedures).
Note: the program ended with procedure #1 (idle) still running; it was stopped at early.pasm:2 (li)
* #0  main  ended    pc 4 in main (early.pasm:8): halt
  #1  idle  ready    pc 0 in idle (early.pasm:2): li      r1, 1
[procedure #1 idle, ready]
pc 0 in idle (early.pasm:2): li      r1, 1
error: no procedure #3 (this run has #0 to #1; info procs lists them)
error: proc needs a procedure number, e.g. proc 1 (info procs lists them)
)--");
}

}  // namespace
