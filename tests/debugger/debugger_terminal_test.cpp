// The REPL in a real terminal: polymer-run --debug inside tmux, driven with
// send-keys and read back with capture-pane. Checks the prompt, history
// recall with the Up arrow, tab completion of commands, labels and regions,
// the highlighting of changed registers, and the history file. tmux is
// required: without it the test fails (scripts/setup.sh installs it).
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace {

std::string output_of(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 4096> buf;
    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
    ::pclose(p);
    return out;
}

class DebuggerTerminal : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("debugger_terminal_test_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "t.pasm") << ".region xs i32[4]\n.proc main\n        li      r1, 3\n"
                                          "loop:\n        addi    r1, r1, -1\n        st.i32  xs[r1], r1\n"
                                          "        bnz     r1, loop\n        halt\n.end\n";
        socket_ = "polymer_dbg_test_" + std::to_string(::getpid());
    }
    void TearDown() override {
        std::system(("tmux -L " + socket_ + " kill-server 2>/dev/null").c_str());
        std::filesystem::remove_all(dir_);
    }

    std::string tmux(const std::string& args) { return output_of("tmux -L " + socket_ + " " + args + " 2>&1"); }
    std::string screen(bool escapes = false) { return tmux(std::string("capture-pane -p ") + (escapes ? "-e " : "") + "-t dbg"); }
    void keys(const std::string& k) { tmux("send-keys -t dbg " + k); }

    // Waits (a bounded wait, not a timing check) until the screen shows `text`
    // (capture-pane drops the spaces at the end of a line).
    bool shows(const std::string& text) {
        for (int i = 0; i < 200; ++i) {
            if (screen().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

    std::filesystem::path dir_;
    std::string socket_;
};

TEST_F(DebuggerTerminal, PromptHistoryCompletionAndHighlighting) {
    ASSERT_EQ(std::system("command -v tmux >/dev/null"), 0) << "tmux is not installed: run scripts/setup.sh";
    const std::string d = dir_.string();
    tmux("new-session -d -x 160 -y 50 -s dbg \"cd '" + d + "' && env -u XDG_STATE_HOME HOME='" + d +
         "' TERM=xterm " + POLYMER_RUN_PATH + " --debug t.pasm\"");
    ASSERT_TRUE(shows("Type help for the commands.\n(polymer)")) << screen();

    keys("step Enter");
    ASSERT_TRUE(shows("pc 1 in main (t.pasm:5): addi    r1, r1, -1\n(polymer)")) << screen();

    // Registers changed by the last command are in reverse video at a terminal, and only there.
    keys("regs Enter");
    ASSERT_TRUE(shows("r28 = 0")) << screen();
    const std::string coloured = screen(true);
    EXPECT_NE(coloured.find("\033[1;7mr1 = 3\033[0m"), std::string::npos) << coloured;
    EXPECT_EQ(coloured.find("7mr2 = 0"), std::string::npos) << coloured;

    // Up recalls the last line; Enter runs it again.
    keys("Up");
    ASSERT_TRUE(shows("(polymer) regs")) << screen();
    keys("C-u step Enter");
    ASSERT_TRUE(shows("pc 2 in main (t.pasm:6): st.i32  xs[r1], r1")) << screen();
    keys("Up");
    ASSERT_TRUE(shows("xs[r1], r1\n(polymer) step")) << screen();
    keys("Enter");
    ASSERT_TRUE(shows("pc 3 in main (t.pasm:7): bnz     r1, loop")) << screen();

    // Tab completes commands, labels and regions.
    keys("backt Tab Enter");
    ASSERT_TRUE(shows("(polymer) backtrace\n#0  pc 3 in main (t.pasm:7)")) << screen();
    keys("'b lo' Tab Enter");
    ASSERT_TRUE(shows("(polymer) b loop\nBreakpoint 1 at pc 1 in main (t.pasm:5)")) << screen();
    keys("'x x' Tab Enter");
    ASSERT_TRUE(shows("(polymer) x xs\nxs: i32[4], elements 0..3\n  [0] 0 0 2 0")) << screen();

    keys("quit Enter");
    std::string history;
    for (int i = 0; i < 200 && history.find("quit") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::ifstream in(dir_ / ".polymer_history");
        history.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    EXPECT_NE(history.find("backtrace"), std::string::npos) << "the history file keeps the session's lines: " << history;
    EXPECT_NE(history.find("quit"), std::string::npos) << history;
}

TEST_F(DebuggerTerminal, CtrlCPausesARunningCommand) {
    ASSERT_EQ(std::system("command -v tmux >/dev/null"), 0) << "tmux is not installed: run scripts/setup.sh";
    const std::string d = dir_.string();
    std::ofstream(dir_ / "spin.pasm") << ".proc main\nloop:\n        addi    r1, r1, 1\n        jmp     loop\n.end\n";
    tmux("new-session -d -x 160 -y 50 -s dbg \"cd '" + d + "' && env -u XDG_STATE_HOME HOME='" + d + "' TERM=xterm " +
         POLYMER_RUN_PATH + " --debug spin.pasm\"");
    ASSERT_TRUE(shows("Type help for the commands.\n(polymer)")) << screen();
    keys("continue Enter");
    ASSERT_TRUE(shows("(polymer) continue\n")) << screen();
    // A Ctrl-C that lands between the echoed line and the command's start is
    // dropped on purpose (a stale one must not stop the next command), so
    // press it again until the run stops, as a user would.
    bool interrupted = false;
    for (int i = 0; i < 20 && !interrupted; ++i) {
        keys("C-c");
        for (int j = 0; j < 10 && !interrupted; ++j) {
            interrupted = screen().find("Interrupted at pc ") != std::string::npos;
            if (!interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ASSERT_TRUE(interrupted) << screen();
    keys("'p r1 > 0' Enter");
    ASSERT_TRUE(shows("r1 > 0 = 1\n(polymer)")) << "the session goes on after the interrupt: " << screen();
    keys("quit Enter");
}

}  // namespace
