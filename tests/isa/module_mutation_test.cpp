// Random corruption of valid modules. With the checksum on (every tool), no
// mutant loads. With it off (the fuzz target's way in), each mutant must
// either load (and then survive a write/load round trip) or be rejected with
// a message; never crash, hang or allocate hugely. Runs under ASan/UBSan in
// the sanitizer build. Every single-bit flip of every sample program:
// tests/vm/sample_mutation_test.cpp.
#include <gtest/gtest.h>

#include <random>

#include "isa/module_io.h"
#include "pbc_bytes.h"
#include "sample_modules.h"

namespace polymer {
namespace {

using namespace polymer::testing;

constexpr ReadOptions kUnchecked{.check_checksum = false};

// Returns whether the mutant loaded, read without the checksum.
bool check_mutant(const Bytes& bytes) {
    Result<Module> r = load_module(bytes, kUnchecked);
    if (!r) {
        EXPECT_FALSE(r.error().empty());
        EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
        return false;
    }
    Result<Module> again = load_module(write_module(r.value()));
    EXPECT_TRUE(again.ok()) << again.error();
    return true;
}

Bytes mutate(Bytes b, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits && !b.empty(); ++e) {
        switch (pick(6)) {
        case 0: b[pick(b.size())] ^= static_cast<std::uint8_t>(1u << pick(8)); break;
        case 1: b[pick(b.size())] = static_cast<std::uint8_t>(rng()); break;
        case 2: b[pick(b.size())] = pick(2) ? 0xFF : 0x00; break;
        case 3: b.resize(pick(b.size())); break;
        case 4: b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), static_cast<std::uint8_t>(rng()));
            break;
        case 5: {  // a 32-bit little-endian field set to an extreme value
            if (b.size() < 4) break;
            const std::uint32_t values[] = {0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x10000};
            put_le(b, pick(b.size() - 3), values[pick(std::size(values))], 4);
            break;
        }
        }
    }
    return b;
}

TEST(ModuleMutation, EveryBitFlipIsHandledUnchecked) {
    const Bytes base = write_module(full_module());
    for (std::size_t i = 0; i < base.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            Bytes b = base;
            b[i] ^= static_cast<std::uint8_t>(1u << bit);
            check_mutant(b);
            if (::testing::Test::HasFailure()) FAIL() << "byte " << i << " bit " << bit;
        }
}

TEST(ModuleMutation, EveryBitFlipOfAModuleWithProcRequirementsIsHandledUnchecked) {
    const Bytes base = write_module(placed_procs_module());
    for (std::size_t i = 0; i < base.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            Bytes b = base;
            b[i] ^= static_cast<std::uint8_t>(1u << bit);
            check_mutant(b);
            if (::testing::Test::HasFailure()) FAIL() << "byte " << i << " bit " << bit;
        }
}

TEST(ModuleMutation, RandomMutationsAreHandled) {
    const Bytes seeds[] = {write_module(tiny_module()), write_module(full_module()),
                           write_module(several_files_module()), write_module(loop_kernel_module())};
    std::mt19937_64 rng(20240601);
    int loaded = 0, changed = 0;
    const int kMutants = 20000;
    for (int i = 0; i < kMutants; ++i) {
        const Bytes& seed = seeds[i % std::size(seeds)];
        const Bytes mutant = mutate(seed, rng);
        loaded += check_mutant(mutant);
        if (mutant != seed) {  // an edit may write the byte that was there
            ++changed;
            Result<Module> checked = load_module(mutant);
            EXPECT_FALSE(checked.ok()) << "mutant " << i << " loaded with the checksum on";
        }
        if (::testing::Test::HasFailure()) FAIL() << "mutant " << i;
    }
    // Unchecked, most mutants are rejected by the reader or the verifier; a
    // few (a flipped line number, a string byte) still load.
    EXPECT_GT(loaded, 0);
    EXPECT_LT(loaded, kMutants);
    EXPECT_GT(changed, kMutants / 2);
}

}  // namespace
}  // namespace polymer
