// The harness of the REPL tests (debugger_repl_test, debugger_rob_test): a
// folder of its own per test, and polymer-run run in it with a script piped
// on stdin (batch mode), its exit status, stdout and stderr kept.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace polymer::test {

// trap.pasm in both suites: a division by zero at pc 2, line 4.
inline constexpr const char* kTrap = R"--(.proc main
        li      r1, 5
        li      r2, 0
        div     r3, r1, r2
        halt
.end
)--";

struct Session {
    int status = -1;
    std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class PolymerRunSession : public ::testing::Test {
protected:
    void SetUp() override {
        const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               (std::string(t->test_suite_name()) + "_" + std::to_string(::getpid()) + "_" + t->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

    // polymer-run ARGS in the test's folder (so file names print short), SCRIPT on stdin.
    Session run(const std::string& args, const std::string& script) {
        write("script", script);
        const std::string command = "cd '" + dir_.string() + "' && " + POLYMER_RUN_PATH + " " + args +
                                    " <script >stdout 2>stderr";
        const int raw = std::system(command.c_str());
        Session s;
        s.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        s.out = slurp(dir_ / "stdout");
        s.err = slurp(dir_ / "stderr");
        return s;
    }

    std::filesystem::path dir_;
};

}  // namespace polymer::test
