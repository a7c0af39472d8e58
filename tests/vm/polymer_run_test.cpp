// polymer-run as a process: exit status 0/1/2/3, the trap message on stderr,
// output flushed before it, --entry, --max-steps, --max-memory, --stats,
// --dump-region.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Process {
    int status = -1;
    std::string out;
    std::string err;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class PolymerRun : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("polymer_run_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }

    Process run(const std::string& args) {
        const std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
        std::string command = std::string(POLYMER_RUN_PATH) + " " + args + " >" + out + " 2>" + err;
        Process p;
        int raw = std::system(command.c_str());
        p.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        p.out = slurp(out);
        p.err = slurp(err);
        return p;
    }

    std::filesystem::path dir_;
};

TEST_F(PolymerRun, HaltsWithStatusZero) {
    std::string prog = write("ok.pasm", ".proc main\n        li r1, 42\n        print r1\n        println\n        halt\n.end\n");
    Process p = run(prog);
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out, "42\n");
    EXPECT_EQ(p.err, "");
}

TEST_F(PolymerRun, TrapPrintsOneLineAndExitsTwo) {
    std::string prog = write("trap.pasm", R"(.proc main
        prints "before\n"
        li r1, 7
        li r2, 0
        div r3, r1, r2
        halt
.end
)");
    Process p = run(prog);
    EXPECT_EQ(p.status, 2);
    EXPECT_EQ(p.out, "before\n");
    EXPECT_EQ(p.err, "polymer-run: trap: division-by-zero in proc 'main' at pc 3 (" + prog + ":5:9): div r3, r1, r2\n");
}

TEST_F(PolymerRun, BadInputExitsOne) {
    Process missing = run((dir_ / "nope.pasm").string());
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;

    std::string bad = write("bad.pasm", ".proc main\n        add r32, r1, r2\n        halt\n.end\n");
    Process syntax = run(bad);
    EXPECT_EQ(syntax.status, 1);
    EXPECT_NE(syntax.err.find("bad.pasm:2:"), std::string::npos) << syntax.err;

    std::string ok = write("ok.pasm", ".proc main\n        halt\n.end\n");
    Process entry = run(ok + " --entry nosuch");
    EXPECT_EQ(entry.status, 1);
    EXPECT_NE(entry.err.find("no procedure named 'nosuch'"), std::string::npos) << entry.err;

    Process usage = run("--no-such-flag " + ok);
    EXPECT_EQ(usage.status, 64);
    Process no_program = run("");
    EXPECT_EQ(no_program.status, 64);

    std::string garbage = write("garbage.pbc", "this is not a module");
    Process pbc = run(garbage);
    EXPECT_EQ(pbc.status, 1);
    EXPECT_NE(pbc.err.find("garbage.pbc: error:"), std::string::npos) << pbc.err;
}

TEST_F(PolymerRun, EntryAndMaxSteps) {
    std::string prog = write("loop.pasm", R"(.proc main
loop:   jmp loop
.end
.proc other
        li r1, 5
        print r1
        halt
.end
)");
    Process other = run(prog + " --entry other");
    EXPECT_EQ(other.status, 0) << other.err;
    EXPECT_EQ(other.out, "5");
    Process limited = run(prog + " --max-steps 1000");
    EXPECT_EQ(limited.status, 3) << "a step-limit stop has its own exit status";
    EXPECT_NE(limited.err.find("trap: step-limit in proc 'main' at pc 0"), std::string::npos) << limited.err;
}

// --max-memory: the home's limit on region storage, all regions together
// (default 4G). A distributed region counts as any other on one machine.
TEST_F(PolymerRun, MaxMemoryLimitsTheRegions) {
    const std::string body = "        li r1, 0\n        ld.u8 r2, buf[r1]\n        print r2\n        println\n        halt\n.end\n";
    const std::string prog = write("big.pasm", ".region buf u8[2097152]\n.proc main\n" + body);
    Process over = run("--max-memory 1M " + prog);
    EXPECT_EQ(over.status, 1) << over.err;
    EXPECT_EQ(over.out, "");
    EXPECT_EQ(over.err, prog + ": error: region 'buf': 2097152 u8 elements would pass the memory limit of 1048576 bytes\n"
                               "polymer-run: note: --max-memory sets the limit (now 1048576 bytes)\n");
    Process under = run("--max-memory 3M " + prog);
    EXPECT_EQ(under.status, 0) << under.err;
    EXPECT_EQ(under.out, "0\n");
    EXPECT_EQ(run(prog).status, 0) << "4G by default";

    const std::string distributed = write("distributed.pasm", ".region buf u8[2097152] distributed\n.proc main\n" + body);
    Process alone = run("--max-memory 1M " + distributed);
    EXPECT_EQ(alone.status, 1) << alone.err;
    EXPECT_NE(alone.err.find("would pass the memory limit of 1048576 bytes"), std::string::npos) << alone.err;
    EXPECT_EQ(run("--max-memory 2M " + distributed).status, 0);

    // alloc past the limit traps.
    const std::string grows = write("grows.pasm", ".region buf u8[16]\n.proc main\n        li r1, 2097152\n"
                                                  "        alloc buf, r1\n        halt\n.end\n");
    Process trapped = run("--max-memory 1M " + grows);
    EXPECT_EQ(trapped.status, 2) << trapped.err;
    EXPECT_NE(trapped.err.find("bad-allocation"), std::string::npos) << trapped.err;
    EXPECT_EQ(run("--max-memory 2M " + grows).status, 0);
}

TEST_F(PolymerRun, StatsGoToStderr) {
    std::string prog = write("ok.pasm", ".proc main\n        li r1, 1\n        halt\n.end\n");
    Process p = run(prog + " --stats --dump-registers");
    EXPECT_EQ(p.status, 0);
    EXPECT_NE(p.err.find("2 instructions"), std::string::npos) << p.err;
    EXPECT_NE(p.out.find("r1 = 1"), std::string::npos) << p.out;
}

TEST_F(PolymerRun, DumpRegionAtExit) {
    std::string prog = write("r.pasm", ".region xs i32[] = 1, 2, 3\n.region ys f64[2]\n.proc main\n"
                                       "        li r1, 1\n        li r2, 7\n        st.i32 xs[r1], r2\n        len r3, ys\n        halt\n.end\n");
    Process p = run(prog + " --dump-region xs --dump-region ys");
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out, "xs: i32[3], elements 0..2\n  [0] 1 7 3\nys: f64[2], elements 0..1\n  [0] 0.0 0.0\n");
    Process bad = run(prog + " --dump-region nope");
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.err, "polymer-run: error: --dump-region: no region named 'nope' in " + prog + "\n");
}

TEST_F(PolymerRun, HelpAndVersion) {
    Process help = run("--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("--max-steps"), std::string::npos);
    EXPECT_NE(help.out.find("--max-memory SIZE"), std::string::npos) << help.out;
    for (const char* status : {"0   halted", "1   bad input", "2   the program trapped", "3   the step limit", "64  a usage error",
                               "130 Ctrl-C"})
        EXPECT_NE(help.out.find(status), std::string::npos) << "every exit status is in the footer: " << status;
    Process version = run("--version");
    EXPECT_EQ(version.status, 0);
    EXPECT_NE(version.out.find("polymer-run"), std::string::npos);
}


// A program with a vector op (so that `auto` has to look for Vulkan); prints 7.
constexpr const char* kSumProgram =
    ".region xs i32[] = 3, 4\n.proc main\n        vsumi r1, xs\n        print r1\n        halt\n.end\n";

// Without Vulkan (VK_ICD_FILENAMES=/dev/null hides the drivers): --backend
// vulkan is a clear one-line error, --backend auto runs on the CPU.
TEST_F(PolymerRun, BackendChoiceWithoutVulkan) {
    std::string prog = write("ok.pasm", kSumProgram);
    ::setenv("VK_ICD_FILENAMES", "/dev/null", 1);
    Process vk = run("--backend vulkan " + prog);
    Process automatic = run("--backend auto --stats " + prog);
    ::unsetenv("VK_ICD_FILENAMES");
    EXPECT_EQ(vk.status, 1);
    EXPECT_EQ(vk.out, "");
    EXPECT_NE(vk.err.find("polymer-run: error: cannot use the Vulkan backend: no Vulkan device"), std::string::npos)
        << vk.err;
    EXPECT_EQ(automatic.status, 0) << automatic.err;
    EXPECT_EQ(automatic.out, "7");
    EXPECT_NE(automatic.err.find("backend cpu (no usable Vulkan device)"), std::string::npos) << automatic.err;
}

// The fallback is said once, in one line, even without --stats.
TEST_F(PolymerRun, AutoWithoutVulkanPrintsOneNotice) {
    std::string prog = write("ok.pasm", kSumProgram);
    ::setenv("VK_ICD_FILENAMES", "/dev/null", 1);
    Process p = run(prog);
    ::unsetenv("VK_ICD_FILENAMES");
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out, "7");
    EXPECT_EQ(p.err.rfind("polymer-run: note: no usable Vulkan device", 0), 0u) << p.err;
    EXPECT_NE(p.err.find("running on the CPU backend\n"), std::string::npos) << p.err;
    EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << p.err;
}

// A scalar program never starts Vulkan under auto: no notice even without
// Vulkan, and --stats says why it runs on the CPU.
TEST_F(PolymerRun, AutoLeavesVulkanAloneForAScalarProgram) {
    std::string prog = write("scalar.pasm", ".proc main\n        li r1, 7\n        print r1\n        halt\n.end\n");
    ::setenv("VK_ICD_FILENAMES", "/dev/null", 1);
    Process p = run("--stats " + prog);
    ::unsetenv("VK_ICD_FILENAMES");
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out, "7");
    EXPECT_EQ(p.err.find("note:"), std::string::npos) << p.err;
    EXPECT_NE(p.err.find("backend cpu (auto: the program has no vector ops or kernels)"), std::string::npos) << p.err;
    Process vk = run("--backend vulkan --stats " + prog);  // asked for: started even so
    if (vk.status == 1) GTEST_SKIP() << "no Vulkan device: " << vk.err;
    EXPECT_NE(vk.err.find("backend vulkan ("), std::string::npos) << vk.err;
}

// A device that fails an op stops the run with its message and exit 2, the
// output so far flushed: never zeros and exit 0. The failure is the one a
// lost device gives (POLYMER_VK_FAIL_SUBMIT: vm/vulkan/vulkan_backend.h),
// in the second op sent to the device, in every execution mode.
TEST_F(PolymerRun, ADeviceFailureStopsTheRun) {
    std::string prog = write("fail.pasm", R"(.region xs f32[] = 1, 2, 3, 4
.region ys f32[4]
.kernel twice (in x: f32[i], out y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        fadd    f0, f0, f0
        stf     y[r0], f0
.end
.proc main
        li      r1, 4
        launch  twice, r1, xs, ys
        vsum    f1, ys
        printf  f1
        println
        launch  twice, r1, ys, xs
        vsum    f2, xs
        printf  f2
        println
        halt
.end
)");
    Process ok = run("--backend vulkan " + prog);
    if (ok.status == 1) GTEST_SKIP() << "no Vulkan device: " << ok.err;
    ASSERT_EQ(ok.status, 0) << ok.err;
    ASSERT_EQ(ok.out, "20\n40\n");
    for (const char* exec : {"in-order", "ooo", "spec"}) {
        ::setenv("POLYMER_VK_FAIL_SUBMIT", "2", 1);
        Process p = run(std::string("--backend vulkan --exec ") + exec + " " + prog);
        ::unsetenv("POLYMER_VK_FAIL_SUBMIT");
        EXPECT_EQ(p.status, 2) << exec << ": " << p.err;
        EXPECT_EQ(p.out, "") << exec;  // the first print waits for the op that failed
        EXPECT_EQ(p.err.rfind("polymer-run: error: Vulkan device '", 0), 0u) << exec << ": " << p.err;
        EXPECT_NE(p.err.find("vkQueueSubmit failed: VK_ERROR_DEVICE_LOST\n"), std::string::npos) << exec << ": " << p.err;
    }
}

// A .pbc holds no SPIR-V: its first run on Vulkan lowers its kernels and
// keeps the result under the cache dir, later runs read it back.
TEST_F(PolymerRun, KernelSpirvIsCachedAcrossRuns) {
    std::string src = write("k.pasm", R"(.region xs f32[] = 1, 2, 3, 4
.region ys f32[4]
.kernel cached (in x: f32[i], out y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        fmul    f0, f0, f0
        stf     y[r0], f0
.end
.proc main
        li      r1, 4
        launch  cached, r1, xs, ys
        vsum    f1, ys
        printf  f1
        halt
.end
)");
    const std::string pbc = (dir_ / "k.pbc").string();
    ASSERT_EQ(std::system((std::string(POLYMER_AS) + " " + src + " -o " + pbc).c_str()), 0);
    ::setenv("XDG_CACHE_HOME", (dir_ / "cache").c_str(), 1);
    Process first = run("--backend vulkan --stats " + pbc);
    Process second = run("--backend vulkan --stats " + pbc);
    Process from_source = run("--backend vulkan --stats " + src);
    ::unsetenv("XDG_CACHE_HOME");
    if (first.status == 1) GTEST_SKIP() << "no Vulkan device: " << first.err;
    EXPECT_EQ(first.status, 0) << first.err;
    EXPECT_EQ(first.out, "30");
    EXPECT_NE(first.err.find("kernels lowered to SPIR-V: 1 compiled, 0 read from the cache dir"), std::string::npos)
        << first.err;
    EXPECT_EQ(second.out, "30");
    EXPECT_NE(second.err.find("kernels lowered to SPIR-V: 0 compiled, 1 read from the cache dir"), std::string::npos)
        << second.err;
    // Assembling lowers the kernel (to report one that does not compile),
    // from the same cache dir; the backend then finds it in the process.
    EXPECT_EQ(from_source.out, "30");
    EXPECT_NE(from_source.err.find("0 compiled, 1 read from the cache dir, 1 found in this process"), std::string::npos)
        << from_source.err;
    EXPECT_TRUE(std::filesystem::is_directory(dir_ / "cache" / "polymer" / "spirv"));
}

// --stats: where the ops ran and the bytes each backend moved.
TEST_F(PolymerRun, StatsShowWhereOpsRanAndBytesMoved) {
    std::string prog = write("v.pasm", ".region xs f32[] = 1, 2, 3, 4\n.region ys f32[4]\n.proc main\n"
                                       "        vadd ys, xs, xs\n        vsum f1, ys\n        halt\n.end\n");
    Process cpu = run("--backend cpu --stats " + prog);
    EXPECT_EQ(cpu.status, 0) << cpu.err;
    EXPECT_NE(cpu.err.find("vector ops: 0 on vulkan, 2 on cpu; kernels: 0 on vulkan, 0 on cpu"), std::string::npos)
        << cpu.err;
    EXPECT_NE(cpu.err.find("bytes moved: cpu 0 B (works on the regions in place)"), std::string::npos) << cpu.err;
    Process vk = run("--backend vulkan --stats " + prog);
    if (vk.status == 1) GTEST_SKIP() << "no Vulkan device: " << vk.err;
    EXPECT_EQ(vk.status, 0) << vk.err;
    EXPECT_NE(vk.err.find("vector ops: 2 on vulkan, 0 on cpu"), std::string::npos) << vk.err;
    // vadd: xs twice in, ys out; vsum: ys in, one binary32 out.
    EXPECT_NE(vk.err.find("bytes moved: vulkan 48 B up, 20 B down"), std::string::npos) << vk.err;
}

TEST_F(PolymerRun, ListDevicesNamesTheCpuBackend) {
    Process p = run("--list-devices");
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_NE(p.out.find("cpu: the CPU backend, "), std::string::npos) << p.out;
    Process bad = run("--backend gpu x.pasm");
    EXPECT_EQ(bad.status, 64);  // a usage error
}

}  // namespace

// --- program arguments and input (docs/language.md, "Arguments and input") ---

constexpr const char* kEchoProgram = R"(.region word u8[0]
.proc main
        argc    r1
        print   r1
        li      r2, 0
        argi    r3, r2
        prints  " "
        print   r3
        li      r2, 1
        argf    f1, r2
        prints  " "
        printfd f1, 2
        li      r2, 2
        args    word, r2
        prints  " ["
        len     r4, word
        li      r5, 0
        printr  word, r5, r4
        prints  "]\n"
        prints  "number? "
        readi   r6, r7
        printw  r6, 4
        prints  " "
        print   r7
        println
        halt
.end
)";

TEST_F(PolymerRun, ArgumentsAfterDoubleDashReachTheProgram) {
    std::string prog = write("echo.pasm", kEchoProgram);
    // Words that look like options or are empty are the program's after `--`.
    Process p = run(prog + " -- -12 2.675 '--stats x' </dev/null");
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out, "3 -12 2.67 [--stats x]\nnumber?    0 0\n");
    EXPECT_EQ(p.err, "");
    Process none = run(prog + " </dev/null");
    EXPECT_EQ(none.status, 2);
    EXPECT_EQ(none.out, "0");
    EXPECT_NE(none.err.find("argi r3, r2: argument 0 is missing: the program got 0 arguments"), std::string::npos)
        << none.err;
}

TEST_F(PolymerRun, AModuleTakesArgumentsToo) {
    std::string src = write("echo.pasm", kEchoProgram);
    std::string pbc = (dir_ / "echo.pbc").string();
    ASSERT_EQ(std::system((std::string(POLYMER_AS) + " " + src + " -o " + pbc).c_str()), 0);
    Process p = run(pbc + " --exec spec -- 5 0.125 abc </dev/null");
    EXPECT_EQ(p.status, 0) << p.err;
    EXPECT_EQ(p.out, "3 5 0.12 [abc]\nnumber?    0 0\n");
}

TEST_F(PolymerRun, ReadsStdinOrStdinFile) {
    std::string prog = write("echo.pasm", kEchoProgram);
    std::string input = write("in.txt", "  77\n");
    Process piped = run("--exec in-order " + prog + " -- 1 2 x <" + input);
    EXPECT_EQ(piped.status, 0) << piped.err;
    EXPECT_EQ(piped.out, "3 1 2.00 [x]\nnumber?   77 1\n");
    Process file = run("--exec frames --stdin " + input + " " + prog + " -- 1 2 x </dev/null");
    EXPECT_EQ(file.out, piped.out) << file.err;
    Process bad = run(prog + " -- 1 2 x <" + write("bad.txt", "\n\n7up\n"));
    EXPECT_EQ(bad.status, 2);
    EXPECT_EQ(bad.out, "3 1 2.00 [x]\nnumber? ");
    EXPECT_EQ(bad.err, "polymer-run: trap: bad-input in proc 'main' at pc 18 (" + prog +
                           ":21:9): readi r6, r7: stdin line 3: the word is '7up', not an integer\n");
    Process missing = run("--stdin " + (dir_ / "nope.txt").string() + " " + prog + " -- 1 2 x");
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.err, "polymer-run: error: --stdin: cannot open '" + (dir_ / "nope.txt").string() +
                               "': No such file or directory\n");
}

// The prompt is flushed before the program waits for input: a reader that
// answers only after seeing it gets its answer read.
TEST_F(PolymerRun, APromptIsWrittenBeforeTheReadWaits) {
    std::string prog = write("echo.pasm", kEchoProgram);
    std::string fifo_in = (dir_ / "in").string(), fifo_out = (dir_ / "out").string();
    ASSERT_EQ(::mkfifo(fifo_in.c_str(), 0600), 0);
    ASSERT_EQ(::mkfifo(fifo_out.c_str(), 0600), 0);
    // The shell waits for "number? " on the program's stdout before it writes
    // 9; fd 4 keeps the output pipe open for reading throughout.
    const std::string script = "(" + std::string(POLYMER_RUN_PATH) + " " + prog + " -- 1 2 x <" + fifo_in + " >" +
                               fifo_out + " &) ; exec 3>" + fifo_in + " 4<" + fifo_out +
                               "; head -c 21 <&4; echo 9 >&3; exec 3>&-; cat <&4";
    const std::string out = (dir_ / "stdout").string();
    ASSERT_EQ(std::system(("timeout 20 sh -c '" + script + "' >" + out).c_str()), 0);
    EXPECT_EQ(slurp(out), "3 1 2.00 [x]\nnumber?    9 1\n");
}

// Under --debug the REPL reads its commands from stdin; the program reads
// --stdin FILE, or stdin when --batch gives the commands.
TEST_F(PolymerRun, TheDebuggerPassesArgumentsAndInput) {
    std::string prog = write("echo.pasm", kEchoProgram);
    std::string input = write("in.txt", "31\n");
    std::string cmds = write("cmds.gdb", "continue\n");
    Process batch = run("--batch " + cmds + " " + prog + " -- 4 0.5 y <" + input);
    EXPECT_EQ(batch.status, 0) << batch.err;
    EXPECT_NE(batch.out.find("3 4 0.50 [y]\nnumber?   31 1\n"), std::string::npos) << batch.out;
    Process piped = run("--debug --stdin " + input + " " + prog + " -- 4 0.5 y <" + cmds);
    EXPECT_EQ(piped.status, 0) << piped.err;
    EXPECT_NE(piped.out.find("3 4 0.50 [y]\nnumber?   31 1\n"), std::string::npos) << piped.out;
    Process no_input = run("--debug " + prog + " -- 4 0.5 y <" + cmds);
    EXPECT_NE(no_input.out.find("number?    0 0\n"), std::string::npos) << no_input.out;
}
