// polymer-as end to end: exit status, default output name, no output written
// (or clobbered) on failure, diagnostics on stderr, --listing, --disassemble.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// Runs polymer-as with `args` (a shell string); stdout and stderr go to files.
int run_as(const std::string& args, const fs::path& dir) {
    std::string command = std::string(POLYMER_AS) + " " + args + " >" + (dir / "out.txt").string() + " 2>" +
                          (dir / "err.txt").string();
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class PolymerAs : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("polymer_as_test_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

const char* kGood = ".module good\n.proc main\n        li r1, 42\n        print r1\n        halt\n.end\n";

TEST_F(PolymerAs, AssemblesToTheDefaultOutputName) {
    spit(dir_ / "prog.pasm", kGood);
    EXPECT_EQ(run_as((dir_ / "prog.pasm").string(), dir_), 0) << slurp(dir_ / "err.txt");
    EXPECT_TRUE(fs::exists(dir_ / "prog.pbc"));
    EXPECT_GT(fs::file_size(dir_ / "prog.pbc"), 0u);
    EXPECT_EQ(slurp(dir_ / "err.txt"), "");
}

TEST_F(PolymerAs, FailureKeepsTheOldOutputAndReportsEveryError) {
    spit(dir_ / "bad.pasm", ".proc main\n        add r1, r2\n        li r40, 1\n        halt\n.end\n");
    spit(dir_ / "bad.pbc", "previous contents");
    EXPECT_EQ(run_as((dir_ / "bad.pasm").string() + " -o " + (dir_ / "bad.pbc").string(), dir_), 1);
    EXPECT_EQ(slurp(dir_ / "bad.pbc"), "previous contents");
    std::string err = slurp(dir_ / "err.txt");
    EXPECT_NE(err.find("bad.pasm:2:9: error: 'add' takes 3 operands"), std::string::npos) << err;
    EXPECT_NE(err.find("bad.pasm:3:12: error: unknown register 'r40'"), std::string::npos) << err;
    EXPECT_EQ(slurp(dir_ / "out.txt"), "");
    for (const auto& entry : fs::directory_iterator(dir_))
        EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(PolymerAs, ListingAndDisassembly) {
    spit(dir_ / "prog.pasm", kGood);
    ASSERT_EQ(run_as((dir_ / "prog.pasm").string() + " --listing -o " + (dir_ / "p.pbc").string(), dir_), 0);
    std::string listing = slurp(dir_ / "out.txt");
    EXPECT_NE(listing.find("print"), std::string::npos) << listing;
    EXPECT_NE(listing.find("; 3: li r1, 42"), std::string::npos) << listing;
    ASSERT_EQ(run_as("--disassemble " + (dir_ / "p.pbc").string(), dir_), 0) << slurp(dir_ / "err.txt");
    std::string text = slurp(dir_ / "out.txt");
    EXPECT_NE(text.find(".module good"), std::string::npos) << text;
    EXPECT_NE(text.find("li      r1, 42"), std::string::npos) << text;
}

TEST_F(PolymerAs, StdinNeedsAnOutputAndVersionPrints) {
    spit(dir_ / "prog.pasm", kGood);
    EXPECT_EQ(run_as("- -o " + (dir_ / "s.pbc").string() + " < " + (dir_ / "prog.pasm").string(), dir_), 0);
    EXPECT_TRUE(fs::exists(dir_ / "s.pbc"));
    EXPECT_EQ(run_as("- < " + (dir_ / "prog.pasm").string(), dir_), 64);  // reading stdin needs -o: a usage error
    EXPECT_EQ(run_as("--version", dir_), 0);
    EXPECT_NE(slurp(dir_ / "out.txt").find("polymer-as "), std::string::npos);
    EXPECT_EQ(run_as((dir_ / "missing.pasm").string(), dir_), 1);
}

}  // namespace

TEST_F(PolymerAs, FramesPrintsEachBlockAndWhyEachInstructionWaits) {
    spit(dir_ / "prog.pasm", kGood);
    EXPECT_EQ(run_as("--frames " + (dir_ / "prog.pasm").string(), dir_), 0) << slurp(dir_ / "err.txt");
    EXPECT_EQ(slurp(dir_ / "out.txt"),
              "proc main, block at word 0, words 0..2: 3 instructions in 3 frames\n"
              "  frame 0  #0    li      r1, 42\n"
              "  frame 1  #1    print   r1                   ; waits for #0 (writes r1)\n"
              "  frame 2  #2    halt                         ; waits for #1 (block end)\n");
    EXPECT_TRUE(fs::exists(dir_ / "prog.pbc"));
    EXPECT_EQ(run_as("--frames -o - " + (dir_ / "prog.pasm").string(), dir_), 64);
    EXPECT_EQ(slurp(dir_ / "err.txt"), "polymer-as: error: --frames and -o - would both write to standard output\n"
                                       "Run 'polymer-as --help' for the options.\n");
}

namespace {

// `-I DIR`: a library found in another folder; without it, the error names
// the file, the line of the `.include` and where it looked.
TEST_F(PolymerAs, IncludeDirsAreSearchedAfterTheIncludingFilesFolder) {
    fs::create_directories(dir_ / "lib");
    spit(dir_ / "lib" / "greet.pasm", ".proc greet\n        prints \"hi\\n\"\n        ret\n.end\n");
    spit(dir_ / "prog.pasm", ".include \"greet.pasm\"\n.proc main\n        call greet\n        halt\n.end\n");
    const std::string prog = (dir_ / "prog.pasm").string();
    EXPECT_EQ(run_as(prog, dir_), 1);
    EXPECT_EQ(slurp(dir_ / "err.txt"),
              prog + ":1:10: error: cannot include 'greet.pasm': no such file (looked in " + dir_.string() +
                  ")\n.include \"greet.pasm\"\n         ^\n1 error generated; '" + (dir_ / "prog.pbc").string() +
                  "' was not written\n");
    EXPECT_EQ(run_as("-I " + (dir_ / "lib").string() + " " + prog, dir_), 0) << slurp(dir_ / "err.txt");
    EXPECT_TRUE(fs::exists(dir_ / "prog.pbc"));
}

}  // namespace
