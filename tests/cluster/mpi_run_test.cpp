// polymer-run --mpi under a real mpirun on this machine (docs/deploy.md): rank
// 0 runs the program, ranks 1 and 2 serve it as nodes over the usual TCP
// protocol; mpirun's exit status is the program's.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "cluster_test_options.h"

namespace {

struct Outcome {
    int status = -1;
    std::string out, err;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Three ranks on this host. As root (CI) mpirun needs --allow-run-as-root;
// the TCP transport avoids shared-memory segments a container may not have.
Outcome mpirun(const std::string& args) {
    const std::string err_path = std::string(::testing::TempDir()) + "/mpi_run_test.err";
    const std::string command = std::string(POLYMER_MPIEXEC) +
                                " --allow-run-as-root --oversubscribe --mca btl self,tcp -np 3 " + POLYMER_RUN_PATH +
                                " --mpi " + args + " 2>" + err_path;
    const polymer::cluster::testing::RunOutcome run = polymer::cluster::testing::run_command(command);
    return Outcome{run.status, run.out, read_file(err_path)};
}

// The cluster lesson: the single-machine output once (only rank 0 prints),
// and --stats names two remote nodes, ranks 1 and 2, that each ran chunks.
TEST(MpiRun, LessonSixteenOnTwoNodeRanks) {
    const Outcome o = mpirun("--stats --no-local-work --chunk-lanes 16 " + std::string(POLYMER_SAMPLES_DIR) +
                             "/16-cluster.pasm");
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, read_file(std::string(POLYMER_SAMPLES_DIR) + "/16-cluster.expected")) << o.err;
    const std::regex row(R"(polymer-run: node rank-([0-9]+)@\S+ \(127\.0\.0\.1:[0-9]+\): ([0-9]+) chunks)");
    std::string ranks;
    for (auto it = std::sregex_iterator(o.err.begin(), o.err.end(), row); it != std::sregex_iterator(); ++it) {
        EXPECT_GT(std::stoull((*it)[2]), 0u) << it->str();
        ranks += (*it)[1].str();
    }
    EXPECT_EQ(ranks, "12") << o.err;
}

// A trap after the nodes took part: mpirun exits with the program's status
// (2), the trap reported once, every rank gone.
TEST(MpiRun, ExitStatusIsTheProgramsStatus) {
    const std::string src = std::string(::testing::TempDir()) + "/mpi_trap.pasm";
    std::ofstream(src) << ".module t\n.region z f32[4096]\n.kernel k (out z: f32[i])\n gid r0\n itof f0, r0\n"
                          " stf z[r0], f0\n.end\n.proc main\n li r1, 4096\n launch k, r1, z\n vsum f1, z\n"
                          " printf f1\n prints \"\\n\"\n li r2, 0\n div r3, r1, r2\n halt\n.end\n";
    const Outcome o = mpirun("--no-local-work --chunk-lanes 256 " + src);
    EXPECT_EQ(o.status, 2) << o.err;
    EXPECT_EQ(o.out, "8386560\n") << o.err;
    std::size_t traps = 0;
    for (std::size_t at = o.err.find("division-by-zero"); at != std::string::npos; at = o.err.find("division-by-zero", at + 1))
        ++traps;
    EXPECT_EQ(traps, 1u) << o.err;
}

}  // namespace
