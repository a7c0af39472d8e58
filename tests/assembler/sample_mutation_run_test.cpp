// Corruption is always caught, through the real tool: each sample assembled
// by polymer-as, a few single-bit flips of its module (at fixed random
// places, the header and the kernels included), and each flipped file run by
// polymer-run on the CPU backend and on Vulkan. Every run must exit 1 with
// the reader's checksum message and print nothing on stdout.
// sample_mutation_test.cpp checks every bit in-process.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run(const std::string& command) {
    const int raw = std::system(command.c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

class SampleMutationRun : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("polymer_mutation_run_" + std::to_string(::getpid()) + "_" + GetParam());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_P(SampleMutationRun, FlippedModulesAreRefusedOnBothBackends) {
    std::vector<fs::path> samples;
    for (const auto& e : fs::directory_iterator(fs::path(POLYMER_SOURCE_DIR) / "samples"))
        if (e.path().extension() == ".pasm") samples.push_back(e.path());
    std::sort(samples.begin(), samples.end());
    ASSERT_GE(samples.size(), 16u);
    std::mt19937_64 rng(164);
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    int runs = 0;
    for (const fs::path& sample : samples) {
        const fs::path good = dir_ / (sample.stem().string() + ".pbc");
        ASSERT_EQ(run(std::string(POLYMER_AS) + " " + sample.string() + " -o " + good.string()), 0) << sample;
        const std::string bytes = slurp(good);
        ASSERT_GT(bytes.size(), 16u);
        // The checksum field, the section table, and two places anywhere past the version.
        const std::size_t places[] = {12 + rng() % 4, 16 + rng() % 24, 8 + rng() % (bytes.size() - 8),
                                      8 + rng() % (bytes.size() - 8)};
        for (std::size_t at : places) {
            std::string flipped = bytes;
            flipped[at] = static_cast<char>(flipped[at] ^ (1 << (rng() % 8)));
            const fs::path bad = dir_ / "flipped.pbc";
            std::ofstream(bad, std::ios::binary) << flipped;
            const int status = run(std::string(POLYMER_RUN) + " --backend " + GetParam() + " " + bad.string() + " >" +
                                   out.string() + " 2>" + err.string());
            const std::string said = slurp(err);
            EXPECT_EQ(status, 1) << sample << " byte " << at << ": " << said;
            EXPECT_EQ(said.rfind(bad.string() + ": error: checksum mismatch (stored 0x", 0), 0u) << said;
            EXPECT_NE(said.find("the file was changed or cut short after it was written\n"), std::string::npos) << said;
            EXPECT_EQ(slurp(out), "");
            ++runs;
        }
    }
    EXPECT_EQ(runs, static_cast<int>(samples.size() * 4));
}

INSTANTIATE_TEST_SUITE_P(Backends, SampleMutationRun, ::testing::Values("cpu", "vulkan"),
                         [](const auto& info) { return info.param; });

}  // namespace
