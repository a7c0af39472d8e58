// polymer-run's execution-mode options as a process: --exec, --rob, --stats
// lines, --trace and --pipeview files, and their one-line errors.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class OooRun : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("ooo_run_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        program_ = (dir_ / "p.pasm").string();
        std::ofstream(program_) << ".region xs i32[] = 1, 2, 3\n.proc main\n        vsumi r1, xs\n"
                                   "        bz r1, skip\n        print r1\nskip:   println\n        halt\n.end\n";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    int run(const std::string& args) {
        const std::string command = std::string(POLYMER_RUN_PATH) + " --backend cpu " + args + " >" +
                                    (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
        const int raw = std::system(command.c_str());
        out_ = slurp((dir_ / "out").string());
        err_ = slurp((dir_ / "err").string());
        return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    }

    std::filesystem::path dir_;
    std::string program_, out_, err_;
};

TEST_F(OooRun, EveryModePrintsTheSameAndStatsSayWhichMode) {
    for (const char* mode : {"in-order", "frames", "ooo", "spec"}) {
        EXPECT_EQ(run(std::string("--exec ") + mode + " --stats " + program_), 0) << err_;
        EXPECT_EQ(out_, "6\n") << mode;
        const bool engine = std::string(mode) != "in-order";
        EXPECT_EQ(err_.find(std::string("exec ") + mode + ", ROB") != std::string::npos, engine) << err_;
        EXPECT_EQ(err_.find("branch predictions") != std::string::npos, engine) << err_;
    }
}

TEST_F(OooRun, BadModeAndRobSizeAreUsageErrors) {
    EXPECT_EQ(run("--exec sideways " + program_), 64);
    EXPECT_NE(err_.find("--exec"), std::string::npos) << err_;
    EXPECT_EQ(run("--rob 0 " + program_), 64);
    EXPECT_NE(err_.find("--rob"), std::string::npos) << err_;
}

TEST_F(OooRun, TraceNeedsAnEngineMode) {
    EXPECT_EQ(run("--exec in-order --trace " + (dir_ / "t.json").string() + " " + program_), 64);
    EXPECT_EQ(err_, "polymer-run: error: --trace and --pipeview need --exec frames, ooo or spec\n"
                    "Run 'polymer-run --help' for the options.\n");
}

TEST_F(OooRun, TraceAndPipeviewFilesAreWritten) {
    const std::string json = (dir_ / "t.json").string(), kanata = (dir_ / "p.log").string();
    ASSERT_EQ(run("--exec spec --trace " + json + " --pipeview " + kanata + " " + program_), 0) << err_;
    EXPECT_EQ(out_, "6\n");
    const std::string trace = slurp(json);
    EXPECT_EQ(trace.rfind("{\"displayTimeUnit\"", 0), 0u);
    EXPECT_NE(trace.find("\"name\":\"vsumi @0\""), std::string::npos);
    EXPECT_NE(trace.find("\"backend cpu\""), std::string::npos);
    EXPECT_EQ(slurp(kanata).rfind("Kanata\t0004\nC=\t0\n", 0), 0u);
    // python3's parser as a second opinion, where it exists (ooo_engine_test
    // parses the same writer's output itself).
    if (std::system("python3 -c '' 2>/dev/null") == 0) {
        EXPECT_EQ(std::system(("python3 -m json.tool " + json + " >/dev/null").c_str()), 0);
    }
}

TEST_F(OooRun, AnUnwritableTraceFileIsAnError) {
    EXPECT_EQ(run("--exec ooo --trace " + (dir_ / "no/such/dir/t.json").string() + " " + program_), 1);
    EXPECT_NE(err_.find("cannot write"), std::string::npos) << err_;
    EXPECT_EQ(out_, "6\n");
}

}  // namespace
