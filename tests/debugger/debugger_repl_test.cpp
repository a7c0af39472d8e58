// The debugger's REPL through polymer-run, commands piped on stdin (batch
// mode: no prompt), with the exact output of every command: breakpoints,
// stepping, finish/until/watch/run, registers/print/x, list/disas/info
// frames, set/backstep/history, bad commands, traps, exit statuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "polymer_run_session.h"

namespace {

constexpr const char* kCalls = R"--(.region xs i32[4]
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
        println
        halt
.end
)--";

constexpr const char* kSpin = R"--(.proc main
loop:
        addi    r1, r1, 1
        jmp     loop
.end
)--";

using polymer::test::kTrap;
using polymer::test::Session;

class DebuggerRepl : public polymer::test::PolymerRunSession {
protected:
    void SetUp() override {
        PolymerRunSession::SetUp();
        write("t.pasm", kCalls);
        write("trap.pasm", kTrap);
        write("spin.pasm", kSpin);
    }
    Session debug(const std::string& program, const std::string& script) { return run("--debug " + program, script); }
};

TEST_F(DebuggerRepl, Breakpoints) {
    Session s = debug("t.pasm", "b loop\nb 9\nb t.pasm:17\nb *2\nb nowhere\nb other.pasm:3\nb 99\nb *99\ninfo breakpoints\ndisable 2\nenable 2\ndelete 3\ndelete 9\ninfo b\ndelete\ninfo b\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
Breakpoint 1 at pc 7 in main (t.pasm:13): addi    r3, r3, 1
Breakpoint 2 at pc 4 in main (t.pasm:9): li      r2, 2
Breakpoint 3 at pc 10 in main (t.pasm:17): print   r3
Breakpoint 4 at pc 2 in main (t.pasm:7): li      r1, 3
error: unknown label or procedure 'nowhere'
error: no source file named 'other.pasm' (this program is t.pasm)
error: no code at or after line 99 of t.pasm
error: bad pc '99' (the code has words 0..12)
Num  Type        Enb  What
1    breakpoint  y    loop at pc 7 in main (t.pasm:13)
2    breakpoint  y    9 at pc 4 in main (t.pasm:9)
3    breakpoint  y    t.pasm:17 at pc 10 in main (t.pasm:17)
4    breakpoint  y    *2 at pc 2 in main (t.pasm:7)
Disabled 2.
Enabled 2.
Deleted 3.
error: no breakpoint or watchpoint number '9'
Num  Type        Enb  What
1    breakpoint  y    loop at pc 7 in main (t.pasm:13)
2    breakpoint  y    9 at pc 4 in main (t.pasm:9)
4    breakpoint  y    *2 at pc 2 in main (t.pasm:7)
Deleted all breakpoints and watchpoints.
No breakpoints or watchpoints.
)--");
}

TEST_F(DebuggerRepl, StepNextFinishContinueAndEnterRepeats) {
    Session s = debug("t.pasm", "s\nstep 2\n\nn\nfinish\nbt\nc\nc\nstep\nbackstep\nrestart\nnext 2\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
pc 3 in main (t.pasm:8): call    twice
pc 1 in twice (t.pasm:4): ret
pc 5 in main (t.pasm:10): st.i32  xs[r2], r1
pc 6 in main (t.pasm:11): li      r3, 0
error: finish: the entry procedure has no caller (continue runs to the end)
#0  pc 6 in main (t.pasm:11)
5
The program halted after 25 instructions.
error: the program has halted (run starts it again, backstep goes back)
error: the program has halted (run starts it again, backstep goes back)
Undid 1 step.
Note: the output those instructions printed stays printed.
pc 11 in main (t.pasm:18): println
Starting again from the beginning (output already printed stays printed).
pc 2 in main (t.pasm:7): li      r1, 3
pc 4 in main (t.pasm:9): li      r2, 2
)--");
}

TEST_F(DebuggerRepl, FinishUntilWatchRun) {
    Session s = debug("t.pasm", "b twice\nc\nbt\nfinish\nuntil r3 == 3\np r3\nuntil pc == done\nuntil\nuntil r9 +\nwatch xs[2]\nwatch r3\ndelete 3\nrun\nc\ninfo b\nquit\np 1\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
Breakpoint 1 at pc 0 in twice (t.pasm:3): add     r1, r1, r1
Breakpoint 1, pc 0 in twice (t.pasm:3): add     r1, r1, r1
#0  pc 0 in twice (t.pasm:3)
#1  pc 3 in main (t.pasm:8)
Returned to pc 4 in main (t.pasm:9): li      r2, 2
Until: the condition is true at pc 8 in main (t.pasm:14): li      r4, 5
r3 = 3
Until: the condition is true at pc 10 in main (t.pasm:17): print   r3
error: until needs a condition, e.g. until r1 == 10 or until pc == done
error: expression expected at the end of 'r9 +'
Watchpoint 2: xs[2] (now 6)
Watchpoint 3: r3 (now 5)
Deleted 3.
Starting again from the beginning (output already printed stays printed).
Breakpoint 1, pc 0 in twice (t.pasm:3): add     r1, r1, r1
Watchpoint 2: xs[2]
Old value = 0
New value = 6
pc 6 in main (t.pasm:11): li      r3, 0
Num  Type        Enb  What
1    breakpoint  y    twice at pc 0 in twice (t.pasm:3), hit 2 times
2    watchpoint  y    xs[2] (now 6), hit 1 time
)--");
}

TEST_F(DebuggerRepl, RegistersPrintAndRegionDumps) {
    Session s = debug("t.pasm", "next 3\nregs\ninfo registers r1 r2 f0\nregs r99\np r1 * 2 + 1\np/x r1 + 250\np/d r1\np/q r1\nprint xs[r2] + len(xs)\np xs[9]\np 1 +\np (1\np r1 / 0\np nosuch\nstep\nx xs\nx xs 1 2\nx xs[2] 1\nx/2 xs[1]\nx nope\nx xs 9\nx xs 1.5\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
pc 5 in main (t.pasm:10): st.i32  xs[r2], r1
r0 = 0                r1 = 6                r2 = 2                r3 = 0
r4 = 0                r5 = 0                r6 = 0                r7 = 0
r8 = 0                r9 = 0                r10 = 0               r11 = 0
r12 = 0               r13 = 0               r14 = 0               r15 = 0
r16 = 0               r17 = 0               r18 = 0               r19 = 0
r20 = 0               r21 = 0               r22 = 0               r23 = 0
r24 = 0               r25 = 0               r26 = 0               r27 = 0
r28 = 0               r29 = 0               r30 = 0               r31 = 0
f0 = 0.0              f1 = 0.0              f2 = 0.0              f3 = 0.0
f4 = 0.0              f5 = 0.0              f6 = 0.0              f7 = 0.0
f8 = 0.0              f9 = 0.0              f10 = 0.0             f11 = 0.0
f12 = 0.0             f13 = 0.0             f14 = 0.0             f15 = 0.0
f16 = 0.0             f17 = 0.0             f18 = 0.0             f19 = 0.0
f20 = 0.0             f21 = 0.0             f22 = 0.0             f23 = 0.0
f24 = 0.0             f25 = 0.0             f26 = 0.0             f27 = 0.0
f28 = 0.0             f29 = 0.0             f30 = 0.0             f31 = 0.0
r1 = 6
r2 = 2
f0 = 0.0
error: 'r99' is not a register (r0..r31, f0..f31)
r1 * 2 + 1 = 13
r1 + 250 = 0x100
r1 = 6
error: unknown print format '/q' (/x hex, /d decimal)
xs[r2] + len(xs) = 4
error: index 9 is outside 'xs' (length 4)
error: expression expected at the end of '1 +'
error: ')' expected in '(1'
error: division by zero in 'r1 / 0'
error: unknown name 'nosuch' (not a register, region, label or procedure)
pc 6 in main (t.pasm:11): li      r3, 0
xs: i32[4], elements 0..3
  [0] 0 0 6 0
xs: i32[4], elements 1..2
  [1] 0 6
xs: i32[4], elements 2..2
  [2] 6
xs: i32[4], elements 1..2
  [1] 0 6
error: no region named 'nope'
error: start 9 is past the end of 'xs' (length 4)
error: '1.5' is not an element index or count (a whole number >= 0)
)--");
}

TEST_F(DebuggerRepl, ListDisasAndFrames) {
    Session s = debug("t.pasm", "list\nlist\n\nlist twice\nlist 30\ndisas\ndisas twice\ndisas nowhere\ninfo frames\nnext 3\ninfo frames\ninfo history\ninfo\ninfo rob\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
      2  .proc twice
      3          add     r1, r1, r1
      4          ret
      5  .end
      6  .proc main
=>    7          li      r1, 3
      8          call    twice
      9          li      r2, 2
     10          st.i32  xs[r2], r1
     11          li      r3, 0
     12  loop:
     13          addi    r3, r3, 1
     14          li      r4, 5
     15          blt     r3, r4, loop
     16  done:
     17          print   r3
     18          println
     19          halt
     20  .end
error: line 21 is past the end of t.pasm (20 lines)
      1  .region xs i32[4]
      2  .proc twice
      3          add     r1, r1, r1
      4          ret
      5  .end
      6  .proc main
=>    7          li      r1, 3
      8          call    twice
      9          li      r2, 2
     10          st.i32  xs[r2], r1
error: no code at or after line 30 of t.pasm
proc main, words 2..12:
=>    2    li      r1, 3
      3    call    twice
      4    li      r2, 2
      5    st.i32  xs[r2], r1
      6    li      r3, 0
         loop:
      7    addi    r3, r3, 1
      8    li      r4, 5
      9    blt     r3, r4, loop
         done:
     10    print   r3
     11    println
     12    halt
proc twice, words 0..1:
      0    add     r1, r1, r1
      1    ret
error: unknown label or procedure 'nowhere'
Block at words 2..3 in main: 2 instructions in 2 frames
=> frame 0  #2    li      r1, 3
   frame 1  #3    call    twice               ; waits for #2 (block end)
pc 5 in main (t.pasm:10): st.i32  xs[r2], r1
Block at words 4..6 in main: 3 instructions in 2 frames
   frame 0  #4    li      r2, 2
   frame 0  #6    li      r3, 0
=> frame 1  #5    st.i32  xs[r2], r1          ; waits for #4 (writes r2)
backstep can undo 5 steps (keeps up to 10000 steps and 67108864 bytes of region snapshots; 0 bytes in use).
error: info what? (breakpoints, registers, frames, history, procs, rob, nodes, loops, regions)
error: info rob needs an out-of-order session (--exec ooo or spec); this one steps the in-order machine
)--");
}

TEST_F(DebuggerRepl, SetBackstepAndHistory) {
    Session s = debug("t.pasm", "set r1 = 10\nset f2 = r1 / 4\nset var xs[1] = 7\nset xs[1] = 0.5\nset r1 = 1.5\nset xs[7] = 1\nset r1 == 2\nset 3 = 4\nset history 5\nset history x\nx xs 0 2\nbackstep 2\nx xs 0 2\np r1\nbackstep\nbackstep\ninfo history\nstep 10\nbackstep 100\nbackstep\nstep x\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
r1 = 10
f2 = 2.0
xs[1] = 7
error: 'xs' holds i32; 0.5 is a float
error: r1 is an integer register; 1.5 is a float
error: index 7 is outside 'xs' (length 4)
error: set needs PLACE = VALUE, e.g. set r1 = 5 or set xs[2] = 1.5
error: cannot assign to '3' (set takes a register or a region element)
backstep can now undo up to 5 steps.
error: set history needs a number of steps, e.g. set history 5000
xs: i32[4], elements 0..1
  [0] 0 7
Undid 2 steps (2 of them set commands).
pc 2 in main (t.pasm:7): li      r1, 3
xs: i32[4], elements 0..1
  [0] 0 0
r1 = 10
Undid 1 step (1 of them set commands).
pc 2 in main (t.pasm:7): li      r1, 3
error: no more history: this is the start of the program
backstep can undo 0 steps (keeps up to 5 steps and 67108864 bytes of region snapshots; 0 bytes in use).
pc 7 in main (t.pasm:13): addi    r3, r3, 1
Undid 5 steps.
Note: the history ends here (it keeps the last 5 steps).
pc 5 in main (t.pasm:10): st.i32  xs[r2], r1
error: no more history: backstep keeps the last 5 steps (set history N keeps more)
error: bad count 'x' (a whole number is expected)
)--");
}

TEST_F(DebuggerRepl, BadCommandsNeverEndTheSession) {
    Session s = debug("t.pasm", "frobnicate\nb nowhere\np 1 +\np nosuch\nx\nfinish now\ncontinue 3\ndelete x\nenable\nhelp nosuch\ni\nd 42\nuntil 1 / 0\np 6 * 7\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.
error: unknown command 'frobnicate' (type help for the list)
error: unknown label or procedure 'nowhere'
error: expression expected at the end of '1 +'
error: unknown name 'nosuch' (not a register, region, label or procedure)
error: x needs a region name, e.g. x xs or x xs 8 4
error: finish takes no arguments
error: continue takes no arguments
error: no breakpoint or watchpoint number 'x'
error: enable needs breakpoint numbers
error: no command named 'nosuch'
error: info what? (breakpoints, registers, frames, history, procs, rob, nodes, loops, regions)
error: no breakpoint or watchpoint number '42'
error: division by zero in '1 / 0'
6 * 7 = 42
)--");
}

TEST_F(DebuggerRepl, TrapStopsAtTheFaultingInstruction) {
    Session s = debug("trap.pasm", "c\nbt\nstep\nbackstep\nstep\nset r2 = 1\nc\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.out, R"--(Polymer debugger: trap.pasm, 4 instructions in 1 procedure; stopped before pc 0 in main (trap.pasm:2). Type help for the commands.
The program trapped; it is stopped at the faulting instruction.
trap: division-by-zero in proc 'main' at pc 2 (trap.pasm:4:9): div r3, r1, r2
  4          div     r3, r1, r2
Registers (the others are 0):
r1 = 5
#0  pc 2 in main (trap.pasm:4)
error: the program has trapped (run starts it again, backstep goes back)
Undid 1 step.
pc 1 in main (trap.pasm:3): li      r2, 0
pc 2 in main (trap.pasm:4): div     r3, r1, r2
r2 = 1
The program halted after 4 instructions.
)--");
}

TEST_F(DebuggerRepl, BatchFileGivesTheSameSessionAsAPipe) {
    const std::string script = "b loop\nc\n\n\ninfo b\ndelete\nc\n";
    write("session.gdb", script);
    Session piped = debug("t.pasm", script);
    Session batch = run("--batch session.gdb t.pasm", "");
    EXPECT_EQ(batch.status, 0);
    EXPECT_EQ(batch.out, piped.out);
    EXPECT_NE(batch.out.find("loop at pc 7 in main (t.pasm:13), hit 3 times"), std::string::npos) << batch.out;
    EXPECT_NE(batch.out.find("5\nThe program halted after 25 instructions.\n"), std::string::npos)
        << "the program's output is flushed before the debugger's lines";
    Session missing = run("--batch nosuch.gdb t.pasm", "");
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.out, "");
    EXPECT_NE(missing.err.find("polymer-run: error: cannot read the batch file 'nosuch.gdb'\n"), std::string::npos);
}

TEST_F(DebuggerRepl, ExitStatusFollowsHowTheProgramEnded) {
    EXPECT_EQ(debug("t.pasm", "c\n").status, 0);
    EXPECT_EQ(debug("t.pasm", "s\nquit\n").status, 0) << "quit while paused";
    EXPECT_EQ(debug("trap.pasm", "c\n").status, 2);
    Session limited = run("--debug --max-steps 50 spin.pasm", "c\nquit\n");
    EXPECT_EQ(limited.status, 3);
    EXPECT_NE(limited.out.find("trap: step-limit in proc 'main' at pc 1 (spin.pasm:4:9): jmp loop: the step limit of 50 "
                               "instructions is reached\n"),
              std::string::npos)
        << limited.out;
}

// frames has no session of its own; ooo and spec do (debugger_rob_test.cpp).
TEST_F(DebuggerRepl, SaysThatItStepsTheInOrderMachine) {
    Session s = run("--debug --exec frames t.pasm", "c\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_NE(s.err.find("polymer-run: note: --debug steps the in-order machine; --exec frames is not used\n"),
              std::string::npos)
        << s.err;
    EXPECT_EQ(run("--debug --exec in-order t.pasm", "c\n").err.find("note:"), std::string::npos);
    EXPECT_EQ(run("--debug t.pasm", "info rob\n").out,
              "Polymer debugger: t.pasm, 13 instructions in 2 procedures; stopped before pc 2 in main (t.pasm:7). Type help for the commands.\n"
              "error: info rob needs an out-of-order session (--exec ooo or spec); this one steps the in-order machine\n");
}

TEST_F(DebuggerRepl, DumpsAtExitAfterTheSession) {
    Session s = run("--debug --dump-region xs --dump-registers t.pasm", "next 4\nquit\n");
    EXPECT_EQ(s.status, 0);
    EXPECT_NE(s.out.find("pc 6 in main (t.pasm:11): li      r3, 0\n"
                         "r0 = 0\tr1 = 6\tr2 = 2\tr3 = 0\n"),
              std::string::npos)
        << s.out;
    EXPECT_TRUE(s.out.ends_with("xs: i32[4], elements 0..3\n  [0] 0 0 6 0\n")) << s.out;
}

TEST_F(DebuggerRepl, HelpListsEveryCommandAndExplainsOne) {
    Session s = debug("t.pasm", "help\nhelp s\nh backstep\n");
    for (const char* usage : {"break LOCATION", "delete [N...]", "disable N...", "enable N...", "watch EXPR", "step [N]",
                              "next [N]", "finish", "continue", "until EXPR", "backstep [N]", "run", "restart",
                              "info WHAT", "regs [REG...]", "print[/x] EXPR", "x REGION [START [COUNT]]",
                              "list [LOCATION]", "disas [LOCATION]", "backtrace", "set PLACE = EXPR", "help [COMMAND]",
                              "quit"})
        EXPECT_NE(s.out.find(std::string("\n  ") + usage), std::string::npos) << usage;
    EXPECT_NE(s.out.find("rob (the reorder buffer: --exec ooo/spec sessions)"), std::string::npos) << "says where info rob works";
    EXPECT_NE(s.out.find("step [N] (also s, stepi, si)\n  run one instruction (or N)\n"), std::string::npos);
    EXPECT_NE(s.out.find("backstep [N] (also reverse-step, rs, reverse-stepi, rsi, bs)\n"), std::string::npos);
}

// info nodes: the cluster's nodes and what each has run, from real
// polymer-node processes; without a cluster, or in an out-of-order session
// (figures still moving), one clear error line.
TEST_F(DebuggerRepl, InfoNodesShowsEachNodeAndWhatItRan) {
    write("k.pasm", ".region xs i32[65536]\n.kernel ids (out x: i32[i])\n        gid     r0\n        st      x[r0], r0\n"
                    ".end\n.proc main\n        li      r1, 65536\n        launch  ids, r1, xs\n        vsumi   r2, xs\n"
                    "        print   r2\n        println\n        halt\n.end\n");
    Session s = run("--debug --backend cpu --local-nodes 2 --chunk-lanes 4096 k.pasm", "info nodes\ncontinue\ninfo nodes\n");
    EXPECT_EQ(s.status, 0) << s.err;
    const std::string before = s.out.substr(0, s.out.find("2147450880\n"));
    const std::string after = s.out.substr(s.out.find("2147450880\n"));
    ASSERT_NE(after, "") << s.out;
    for (const std::string* part : {&before, &after}) {
        EXPECT_NE(part->find("Nodes:\nlocal-1 (127.0.0.1:"), std::string::npos) << *part;
        EXPECT_NE(part->find("\nlocal-2 (127.0.0.1:"), std::string::npos) << *part;
        EXPECT_NE(part->find("What each has run (the home too):\nhome: "), std::string::npos) << *part;
    }
    // Chunks per participant: none before the launch, some after it (how many
    // depends on how the queue balanced them).
    auto chunks = [](const std::string& text) {
        std::size_t total = 0;
        for (std::size_t at = text.find(" chunks, kernel "); at != std::string::npos; at = text.find(" chunks, kernel ", at + 1)) {
            std::size_t start = text.rfind(' ', at - 1) + 1;
            total += std::stoul(text.substr(start, at - start));
        }
        return total;
    };
    EXPECT_EQ(chunks(before), 0u) << before;
    EXPECT_GT(chunks(after), 0u) << after;

    Session none = debug("t.pasm", "info nodes\np 1\n");
    EXPECT_NE(none.out.find("error: no cluster nodes (start with --nodes or --local-nodes)\n1 = 1\n"), std::string::npos) << none.out;
    Session ooo = run("--debug --exec ooo --backend cpu --local-nodes 1 k.pasm", "info nodes\n");
    EXPECT_NE(ooo.out.find("error: info nodes works on the in-order machine only (start the debugger with --exec in-order)\n"),
              std::string::npos)
        << ooo.out;
}

// info regions: each region's type and current length; without a cluster
// nothing holds elements elsewhere, so no residency lines.
TEST_F(DebuggerRepl, InfoRegions) {
    write("r.pasm", ".region xs i32[4]\n.region buf u8[0]\n.proc main\n        li      r1, 3\n"
                    "        alloc   buf, r1\n        halt\n.end\n");
    Session s = debug("r.pasm", "info regions\nnext 2\ninfo regions\n");
    EXPECT_NE(s.out.find("xs: i32[4]\nbuf: u8[0]\n"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("xs: i32[4]\nbuf: u8[3]\n"), std::string::npos) << s.out;
    EXPECT_EQ(s.out.find("elements"), std::string::npos) << s.out;
}

// A program of two files: locations, `where` and `list` name the included
// file; a bare line number is in the current pc's file.
TEST_F(DebuggerRepl, IncludedFilesHaveTheirOwnLines) {
    std::filesystem::create_directories(dir_ / "lib");
    write("lib/sq.pasm", "; squares r1\n.proc square\n        mul     r1, r1, r1\n        ret\n.end\n");
    write("main.pasm", ".include \"lib/sq.pasm\"\n.proc main\n        li      r1, 7\n        call    square\n"
                       "        print   r1\n        halt\n.end\n");
    Session s = debug("main.pasm", "b sq.pasm:3\nc\nbt\nlist\nb 4\nb other.pasm:1\nc\n");
    EXPECT_EQ(s.status, 0) << s.err;
    EXPECT_EQ(s.out, R"--(Polymer debugger: main.pasm, 6 instructions in 2 procedures; stopped before pc 2 in main (main.pasm:3). Type help for the commands.
Breakpoint 1 at pc 0 in square (sq.pasm:3): mul     r1, r1, r1
Breakpoint 1, pc 0 in square (sq.pasm:3): mul     r1, r1, r1
#0  pc 0 in square (sq.pasm:3)
#1  pc 3 in main (main.pasm:4)
      1  ; squares r1
      2  .proc square
=>    3          mul     r1, r1, r1
      4          ret
      5  .end
Breakpoint 2 at pc 1 in square (sq.pasm:4): ret
error: no source file named 'other.pasm' (this program is main.pasm, sq.pasm)
Breakpoint 2, pc 1 in square (sq.pasm:4): ret
)--");
}

}  // namespace
