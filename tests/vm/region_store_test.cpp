// The home's storage of distributed regions (vm/region_store.h): with a
// backend that places regions (a cluster with nodes) a distributed region is
// reserved address space, not counted against the memory limit, so one
// larger than this machine's memory can be created; on one machine it is
// stored and counted as any region. alloc and free keep the kind and unmap
// the whole mapping.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "vm/backend.h"
#include "vm/machine.h"
#include "vm/region_store.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kHugeF32 = 16 * kGiB;  // elements: 64 GiB of f32, more than this machine has

RegionDecl decl(std::string name, ElemType type, std::uint64_t length, bool distributed) {
    RegionDecl d;
    d.name = std::move(name);
    d.type = type;
    d.length = length;
    d.distributed = distributed;
    return d;
}

// Whether the first, middle or last page of [p, p + bytes) is still mapped
// (mincore fails with ENOMEM on an unmapped page), leaving out the page of
// `now`: the storage that replaced it may have been put in the hole it left.
bool mapped(const void* p, std::size_t bytes, const void* now = nullptr) {
    const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t skip = reinterpret_cast<std::uintptr_t>(now) / page * page;
    unsigned char v = 0;
    for (std::uintptr_t at : {begin, begin + bytes / 2, begin + bytes - 1}) {
        at = at / page * page;
        if (now != nullptr && at == skip) continue;
        if (::mincore(reinterpret_cast<void*>(at), page, &v) == 0) return true;
    }
    return false;
}

// MAP_NORESERVE is ignored under strict overcommit (vm.overcommit_memory = 2),
// where no region larger than the commit limit can be reserved.
bool strict_overcommit() {
    std::ifstream f("/proc/sys/vm/overcommit_memory");
    int mode = 0;
    return f >> mode && mode == 2;
}

TEST(DistributedRegions, PlacedElsewhereAreReservedNotCounted) {
    if (strict_overcommit()) GTEST_SKIP() << "vm.overcommit_memory = 2: MAP_NORESERVE is ignored";
    const std::vector<RegionDecl> decls = {decl("big", ElemType::F32, kHugeF32, true),
                                           decl("small", ElemType::I64, 16, false)};
    Result<RegionStore> made = RegionStore::create(decls, kGiB, /*placed_elsewhere=*/true);
    ASSERT_TRUE(made.ok()) << made.error();
    RegionStore& store = made.value();
    EXPECT_EQ(store.bytes_in_use(), 16u * 8);  // `small` only
    Region& big = store[0];
    EXPECT_TRUE(big.distributed);
    EXPECT_FALSE(store[1].distributed);
    ASSERT_EQ(big.length, kHugeF32);
    ASSERT_NE(big.data, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(big.data) % 8, 0u);
    EXPECT_EQ(big.as<float>()[0], 0.0f);  // zero pages
    EXPECT_EQ(big.as<float>()[kHugeF32 - 1], 0.0f);
    big.as<float>()[0] = 1.5f;
    big.as<float>()[kHugeF32 - 1] = -2.5f;
    EXPECT_EQ(big.as<float>()[0], 1.5f);
    EXPECT_EQ(big.as<float>()[kHugeF32 - 1], -2.5f);
    EXPECT_EQ(big.as<float>()[kHugeF32 / 2], 0.0f);
}

// On one machine (or a backend that does not place regions) a distributed
// region is an ordinary one: counted, and refused past the limit.
TEST(DistributedRegions, NotPlacedElsewhereAreCountedAsAnyRegion) {
    Result<RegionStore> refused = RegionStore::create({decl("big", ElemType::F32, kHugeF32, true)}, kGiB);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "region 'big': 17179869184 f32 elements would pass the memory limit of 1073741824 bytes");
    Result<RegionStore> made = RegionStore::create({decl("d", ElemType::F64, 1000, true)}, kGiB);
    ASSERT_TRUE(made.ok()) << made.error();
    EXPECT_EQ(made.value().bytes_in_use(), 8000u);
    EXPECT_TRUE(made.value()[0].distributed);
}

// alloc and free of a distributed region placed elsewhere: its new storage
// is reserved and uncounted too, an ordinary region beside it is still
// counted and limited, and the old mapping goes whole.
TEST(DistributedRegions, AllocAndFreeKeepTheKind) {
    if (strict_overcommit()) GTEST_SKIP() << "vm.overcommit_memory = 2: MAP_NORESERVE is ignored";
    Result<RegionStore> made = RegionStore::create(
        {decl("far", ElemType::F32, 1024, true), decl("near", ElemType::U8, 1000, false)}, kGiB, true);
    ASSERT_TRUE(made.ok()) << made.error();
    RegionStore& store = made.value();
    Region& far = store[0];
    Region& near = store[1];
    EXPECT_EQ(store.bytes_in_use(), 1000u);

    ASSERT_EQ(store.allocate(far, static_cast<std::int64_t>(kHugeF32), nullptr), "");
    EXPECT_EQ(store.bytes_in_use(), 1000u);
    ASSERT_EQ(far.length, kHugeF32);
    far.as<float>()[kHugeF32 - 1] = 3.0f;
    EXPECT_EQ(far.as<float>()[kHugeF32 - 1], 3.0f);
    const void* huge = far.data;
    const std::size_t huge_bytes = kHugeF32 * 4;
    ASSERT_TRUE(mapped(huge, huge_bytes));

    ASSERT_EQ(store.allocate(far, 10, nullptr), "");  // the huge mapping goes, all of it
    EXPECT_FALSE(mapped(huge, huge_bytes, far.data));
    EXPECT_EQ(far.as<float>()[9], 0.0f);
    EXPECT_EQ(store.bytes_in_use(), 1000u);

    EXPECT_EQ(store.allocate(near, static_cast<std::int64_t>(2 * kGiB), nullptr),
              "2147483648 u8 elements would pass the memory limit of 1073741824 bytes");
    ASSERT_EQ(store.allocate(near, 4096, nullptr), "");
    EXPECT_EQ(store.bytes_in_use(), 4096u);

    ASSERT_EQ(store.allocate(far, static_cast<std::int64_t>(kHugeF32), nullptr), "");
    huge = far.data;
    store.release(far, nullptr);
    EXPECT_EQ(far.data, nullptr);
    EXPECT_EQ(far.length, 0u);
    EXPECT_FALSE(mapped(huge, huge_bytes));
    EXPECT_EQ(store.bytes_in_use(), 4096u);
    store.release(near, nullptr);
    EXPECT_EQ(store.bytes_in_use(), 0u);
}

TEST(DistributedRegions, TheStoreUnmapsThemWhenItGoes) {
    if (strict_overcommit()) GTEST_SKIP() << "vm.overcommit_memory = 2: MAP_NORESERVE is ignored";
    const void* huge = nullptr;
    {
        Result<RegionStore> made = RegionStore::create({decl("big", ElemType::F32, kHugeF32, true)}, kGiB, true);
        ASSERT_TRUE(made.ok()) << made.error();
        huge = made.value()[0].data;
        ASSERT_TRUE(mapped(huge, kHugeF32 * 4));
    }
    EXPECT_FALSE(mapped(huge, kHugeF32 * 4));
}

// A backend that keeps distributed regions elsewhere (as a cluster with
// nodes does); it runs everything on this machine's CPU backend.
class PlacingBackend final : public Backend {
public:
    std::string_view name() const override { return "placing"; }
    Ticket submit(const VectorOpArgs& args) override { return cpu_.submit(args); }
    Ticket submit(const KernelLaunch& l) override { return cpu_.submit(l); }
    VectorOpResult wait(Ticket t) override { return cpu_.wait(t); }
    void wait_all() override { cpu_.wait_all(); }
    bool places_regions() const override { return true; }

private:
    CpuBackend cpu_;
};

constexpr std::string_view kHugeProgram = R"(
.region big f32[17179869184] distributed
.region small i32[4]
.proc main
        liw     r2, 17179869183
        lif     f1, 2.5
        st.f32  big[r2], f1
        ld.f32  f2, big[r2]
        printf  f2
        println
        halt
.end
)";

// Machine::create asks the backend: the same program, the same limit.
TEST(DistributedRegions, TheMachineAsksTheBackend) {
    if (strict_overcommit()) GTEST_SKIP() << "vm.overcommit_memory = 2: MAP_NORESERVE is ignored";
    PlacingBackend placing;
    MachineOptions options;
    options.memory_limit = kGiB;
    options.backend = &placing;
    ProgramRun run = run_source(kHugeProgram, options);
    ASSERT_TRUE(run.machine);
    EXPECT_TRUE(run.halted());
    EXPECT_EQ(*run.output, "2.5\n");
    EXPECT_EQ(run.machine->regions().bytes_in_use(), 16u);

    AssembleResult assembled = assemble(kHugeProgram, {.filename = "huge.pasm"});
    ASSERT_TRUE(assembled.ok());
    std::string sink;
    OutputBuffer out(&sink);
    CpuBackend cpu;
    options.backend = &cpu;
    auto refused = Machine::create(*assembled.module, out, options);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "region 'big': 17179869184 f32 elements would pass the memory limit of 1073741824 bytes");
}

}  // namespace
}  // namespace polymer::test
