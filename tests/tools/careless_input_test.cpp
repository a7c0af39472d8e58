// Careless input to every tool, as processes: each ends with a clear error
// and its exit status; none aborts (an uncaught exception reaching main used
// to: a token file that is a directory), hangs, or floods the terminal.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Ran {
    int status = -1;  // exit status; -1 when killed by a signal (an abort)
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class CarelessInput : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("polymer_careless_" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "a-directory");
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Runs `tool args` (a shell string, under a 20 s timeout so a hang fails).
    Ran run(const std::string& tool, const std::string& args) {
        const std::string command = "timeout 20 " + tool + " " + args + " >" + (dir_ / "out").string() + " 2>" +
                                    (dir_ / "err").string() + " </dev/null";
        const int status = std::system(command.c_str());
        Ran r;
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        r.out = slurp(dir_ / "out");
        r.err = slurp(dir_ / "err");
        return r;
    }
    std::string write(const std::string& name, const std::string& bytes, mode_t mode = 0600) {
        const fs::path p = dir_ / name;
        std::ofstream(p, std::ios::binary) << bytes;
        chmod(p.c_str(), mode);
        return p.string();
    }
    std::string random_bytes(std::size_t n) {
        std::mt19937 rng(22);
        std::string s(n, '\0');
        for (char& c : s) c = static_cast<char>(rng());
        return s;
    }
    std::string dir() const { return (dir_ / "a-directory").string(); }

    fs::path dir_;
};

void expect_clean_failure(const Ran& r, int status, const std::string& says) {
    EXPECT_EQ(r.status, status) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

TEST_F(CarelessInput, PolymerAs) {
    expect_clean_failure(run(POLYMER_AS, dir() + " -o " + (dir_ / "x.pbc").string()), 1, "is a directory");
    expect_clean_failure(run(POLYMER_AS, (dir_ / "missing.pasm").string()), 1, "No such file");
    // 1 MB of random bytes: one "not a text file" error, not the bytes echoed back.
    const Ran binary = run(POLYMER_AS, write("random.pasm", random_bytes(1 << 20)));
    expect_clean_failure(binary, 1, "not a text file");
    EXPECT_LT(binary.err.size() + binary.out.size(), 2000u) << binary.err.size();
    // A text file of nothing but errors: a screenful, then a count.
    std::string garbage;
    for (int i = 0; i < 20000; ++i) garbage += "frobnicate r1, r2\n";
    const Ran many = run(POLYMER_AS, write("garbage.pasm", garbage));
    expect_clean_failure(many, 1, "more diagnostics not shown");
    EXPECT_LT(many.err.size(), 20000u);
    EXPECT_NE(many.err.find("20000 errors generated"), std::string::npos) << many.err.substr(many.err.size() - 300);
    // Kernel blocks nested past the limit: a positioned error, before glslang sees them.
    std::string deep = ".kernel deep (out z: i32[i])\n";
    for (int i = 0; i < 3000; ++i) deep += "        loop\n";
    for (int i = 0; i < 3000; ++i) deep += "        end\n";
    deep += ".end\n.proc main\n        halt\n.end\n";
    const std::string deep_path = write("deep.pasm", deep);
    expect_clean_failure(run(POLYMER_AS, deep_path), 1, deep_path + ":66:9: error: blocks nested more than 64 deep");
}

TEST_F(CarelessInput, PolymerDis) {
    expect_clean_failure(run(POLYMER_DIS, dir()), 1, "is a directory");
    expect_clean_failure(run(POLYMER_DIS, write("random.pbc", random_bytes(1 << 20))), 1, "error");
    expect_clean_failure(run(POLYMER_DIS, write("empty.pbc", "")), 1, "error");
}

TEST_F(CarelessInput, PolymerRun) {
    const std::string prog = write("prog.pasm", ".proc main\n        halt\n.end\n");
    expect_clean_failure(run(POLYMER_RUN, dir()), 1, "is a directory");
    expect_clean_failure(run(POLYMER_RUN, write("random.pasm", random_bytes(1 << 16))), 1, "not a text file");
    for (const std::string& bad : {dir(), write("empty", ""), write("short", "too short"),
                                   write("shared", "a secret long enough to pass", 0644)}) {
        const Ran r = run(POLYMER_RUN, "--nodes 127.0.0.1:9 --token-file " + bad + " " + prog);
        EXPECT_NE(r.status, 0) << bad;
        EXPECT_NE(r.err.find("token file '" + bad + "'"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    }
}

TEST_F(CarelessInput, PolymerNodeTokenFiles) {
    const std::string common = " --no-vulkan-probe --fake-throughput 1 --token-file ";
    expect_clean_failure(run(POLYMER_NODE, common + dir()), 1, "not a regular file (a directory)");
    expect_clean_failure(run(POLYMER_NODE, common + "/dev/null"), 1, "not a regular file");
    expect_clean_failure(run(POLYMER_NODE, common + write("empty", "")), 1, "is empty");
    expect_clean_failure(run(POLYMER_NODE, common + write("short", "too short\n")), 1, "at least 16 are needed");
    const std::string shared = write("shared", "a secret long enough to pass", 0644);
    expect_clean_failure(run(POLYMER_NODE, common + shared), 1, "readable by group or others");
    // Allowed explicitly: the node goes on (with a warning) until a bad address ends it.
    const Ran allowed = run(POLYMER_NODE, common + shared + " --allow-readable-token-file --listen nowhere:0");
    expect_clean_failure(allowed, 1, "is not an IP address");
    EXPECT_NE(allowed.err.find("readable by group or others; `chmod 600` it"), std::string::npos) << allowed.err;
}

TEST_F(CarelessInput, PolymerIsaDoc) {
    const Ran r = run(POLYMER_ISA_DOC, "--no-such-option");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.status, -1);
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
}

}  // namespace
