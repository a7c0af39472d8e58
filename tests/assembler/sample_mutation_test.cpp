// Corruption is always caught: every single-bit flip of every sample's module
// is refused by the reader, with a message that says what changed (the
// magic, the version, or, for any other byte, the checksum). Every bit here,
// in-process; sample_mutation_run_test.cpp sends a few flips per sample
// through polymer-run on both backends.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "assembler/assembler.h"
#include "isa/module_io.h"

namespace polymer {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> samples() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(fs::path(POLYMER_SOURCE_DIR) / "samples"))
        if (e.path().extension() == ".pasm") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::uint8_t> assembled(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    AssembleResult r = assemble(text.str(), {.filename = path.string()});
    EXPECT_TRUE(r.ok()) << path;
    return r.ok() ? write_module(*r.module) : std::vector<std::uint8_t>{};
}

// What the reader must say about `flipped`, whose byte `at` had a bit flipped.
// A flipped version is refused, unless it is an older minor version of the
// reader's major (3.1 -> 3.0), which the reader reads: then the checksum fails.
std::string expected_start(const std::vector<std::uint8_t>& flipped, std::size_t at) {
    if (at < 4) return "not a Polymer module: the first 4 bytes are not the magic 'PLMR'";
    const unsigned major = flipped[4] | flipped[5] << 8, minor = flipped[6] | flipped[7] << 8;
    if (at < 8 && !(major == kModuleVersionMajor && minor <= kModuleVersionMinor)) return "module format version ";
    return "checksum mismatch (stored 0x";
}

TEST(SampleMutation, EveryBitFlipOfEverySampleIsRefused) {
    const std::vector<fs::path> files = samples();
    ASSERT_GE(files.size(), 16u);
    std::uint64_t flips = 0;
    for (const fs::path& path : files) {
        std::vector<std::uint8_t> bytes = assembled(path);
        ASSERT_TRUE(load_module(bytes).ok()) << path;
        for (std::size_t at = 0; at < bytes.size(); ++at)
            for (int bit = 0; bit < 8; ++bit) {
                bytes[at] ^= static_cast<std::uint8_t>(1u << bit);
                Result<Module> r = load_module(bytes);
                const std::string expected = expected_start(bytes, at);
                bytes[at] ^= static_cast<std::uint8_t>(1u << bit);
                ++flips;
                ASSERT_FALSE(r.ok()) << path << ": byte " << at << " bit " << bit << " loaded";
                ASSERT_EQ(r.error().rfind(expected, 0), 0u)
                    << path << ": byte " << at << " bit " << bit << ": " << r.error();
                ASSERT_EQ(r.error().find('\n'), std::string::npos) << r.error();
            }
    }
    RecordProperty("flips", static_cast<int>(flips));
}

}  // namespace
}  // namespace polymer
