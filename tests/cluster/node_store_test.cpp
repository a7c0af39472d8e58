// The node's store: recycled storage still reads as the version that was put
// (zeros wherever nothing was), peers never see each other's regions, and a
// peer's regions go with it.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "cluster/held_bytes.h"
#include "cluster/node_store.h"

using namespace polymer::cluster;

namespace {

std::vector<std::uint8_t> get_all(NodeStore& store, PeerId peer, std::uint64_t id, std::uint64_t version, std::uint64_t n) {
    std::span<const std::uint8_t> out;
    auto refusal = store.get(peer, RegionGet{id, version, 0, n}, out);
    EXPECT_FALSE(refusal) << refusal->message;
    return {out.begin(), out.end()};
}

}  // namespace

TEST(HeldBytes, HoldsWholePagesAndCountsOnlyWhatIsNew) {
    HeldBytes h(4096);
    EXPECT_EQ(h.missing(10, 20), 4096u);
    EXPECT_EQ(h.hold(10, 20), 4096u);
    EXPECT_EQ(h.hold(4000, 4100), 4096u);  // the second page: the first is held
    EXPECT_EQ(h.hold(0, 8192), 0u);
    EXPECT_EQ(h.bytes(), 8192u);
    EXPECT_EQ(h.missing(8191, 8193), 4096u);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> added;
    EXPECT_EQ(h.hold(0, 5 * 4096, &added), 3 * 4096u);
    EXPECT_EQ(added, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{8192, 5 * 4096}}));
    EXPECT_EQ(h.let_go(8192, 5 * 4096), 3 * 4096u);
    EXPECT_EQ(h.bytes(), 8192u);
    EXPECT_EQ(h.hold(7, 7), 0u);
}

TEST(HeldBytes, RecycledBytesAreZeroedWhereThisVersionHasNotWritten) {
    HeldBytes h(16);
    h.hold(0, 48);
    h.recycle();
    h.overwritten(10, 20);
    std::vector<std::uint8_t> bytes(64, 0xEE);
    EXPECT_EQ(h.zero_stale(bytes.data(), 0, 64), 48u - 10u);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const bool kept = (i >= 10 && i < 20) || i >= 48;  // this version's, or never held (never touched)
        EXPECT_EQ(bytes[i], kept ? 0xEE : 0) << i;
    }
    EXPECT_EQ(h.zero_stale(bytes.data(), 0, 64), 0u);
    EXPECT_EQ(h.bytes(), 48u);  // still held: the pages are mapped
}

TEST(HeldBytes, StalePagesAreWholePagesThisVersionDidNotTouch) {
    HeldBytes h(16);
    h.hold(0, 80);
    h.recycle();
    h.overwritten(20, 25);  // page 1 is partly this version's
    std::vector<std::uint8_t> bytes(80, 0xEE);
    h.zero_stale(bytes.data(), 60, 70);  // page 3 partly settled: still stale past 70
    // Pages 0 and 2 only: page 1 has this version's bytes, pages 3 and 4 settled ones.
    EXPECT_EQ(h.stale_pages(), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 16}, {32, 48}}));
}

// Random holds, recycles, writes and settles against a byte model.
TEST(HeldBytes, RandomUseMatchesAByteModel) {
    std::mt19937 rng(7);
    constexpr std::uint64_t kPage = 8, kSize = 304;
    for (int round = 0; round < 200; ++round) {
        HeldBytes h(kPage);
        std::vector<bool> held(kSize, false), current(kSize, true);  // current: reads as this version
        std::vector<std::uint8_t> bytes(kSize, 0), expect(kSize, 0);
        std::uint8_t version = 1;
        for (int k = 0; k < 16; ++k) {
            const std::uint64_t a = rng() % kSize, b = a + rng() % (kSize - a + 1);
            switch (rng() % 4) {
            case 0: {  // a put of version bytes
                const std::uint64_t more = h.missing(a, b);
                EXPECT_EQ(h.hold(a, b), more);
                h.overwritten(a, b);
                for (std::uint64_t i = a; i < b; ++i) bytes[i] = expect[i] = version, current[i] = true;
                for (std::uint64_t i = a / kPage * kPage; i < std::min(kSize, (b + kPage - 1) / kPage * kPage) && a < b; ++i) held[i] = true;
                break;
            }
            case 1:  // a chunk settles what it touches, and reads it
                h.zero_stale(bytes.data(), a, b);
                for (std::uint64_t i = a; i < b; ++i) {
                    if (!current[i]) expect[i] = 0, current[i] = true;
                    EXPECT_EQ(bytes[i], expect[i]) << i;
                }
                break;
            case 2:  // the next version on this storage
                h.recycle();
                ++version;
                for (std::uint64_t i = 0; i < kSize; ++i) current[i] = !held[i];  // never held: zero pages
                break;
            default: {  // pressure: stale pages go back (they read as zeros)
                for (auto [x, y] : h.stale_pages()) {
                    h.let_go(x, y);
                    for (std::uint64_t i = x; i < y && i < kSize; ++i) {
                        EXPECT_FALSE(current[i]) << i;
                        bytes[i] = 0, held[i] = false, current[i] = true, expect[i] = 0;
                    }
                }
                break;
            }
            }
        }
        std::uint64_t n = 0;
        for (bool b : held) n += b;
        EXPECT_EQ(h.bytes(), n);
        h.zero_stale(bytes.data(), 0, kSize);
        for (std::uint64_t i = 0; i < kSize; ++i) EXPECT_EQ(bytes[i], current[i] ? expect[i] : 0) << i;
    }
}

TEST(SizeText, ReadsAsPeopleWriteSizes) {
    EXPECT_EQ(size_text(0), "0 bytes");
    EXPECT_EQ(size_text(1), "1 byte");
    EXPECT_EQ(size_text(1023), "1023 bytes");
    EXPECT_EQ(size_text(4096), "4 KiB");
    EXPECT_EQ(size_text(64ull << 20), "64 MiB");
    EXPECT_EQ(size_text(3ull << 29), "1.5 GiB");
    EXPECT_EQ(size_text((1ull << 40) + 1), "1.0 TiB");
}

const std::uint64_t P = page_bytes();

TEST(NodeStore, RecycledStorageReadsAsTheNewVersion) {
    NodeStore store(1 << 20);
    std::vector<std::uint8_t> full(4 * P, 0xAA), part(100, 0xBB);
    ASSERT_FALSE(store.put(1, RegionPutView{5, 1, 4 * P, 0, full}));
    const std::uint8_t* first_storage = store.region(1, 5, 1)->bytes.data();
    ASSERT_FALSE(store.put(1, RegionPutView{5, 2, 4 * P, P + 1000, part}));
    EXPECT_EQ(store.region(1, 5, 2)->bytes.data(), first_storage);  // recycled, not reallocated
    EXPECT_EQ(store.used(), 4 * P);  // its pages are still there
    std::vector<std::uint8_t> expect(4 * P, 0);
    std::fill(expect.begin() + P + 1000, expect.begin() + P + 1100, 0xBB);
    EXPECT_EQ(get_all(store, 1, 5, 2, 4 * P), expect);
    EXPECT_FALSE(store.region(1, 5, 1));  // the old version is gone
}

TEST(NodeStore, StorageInUseIsNotRecycled) {
    NodeStore store(1 << 20);
    std::vector<std::uint8_t> full(4096, 0xAA);
    ASSERT_FALSE(store.put(1, RegionPutView{5, 1, 4096, 0, full}));
    auto held = store.region(1, 5, 1);  // as a running chunk holds it
    ASSERT_FALSE(store.put(1, RegionPutView{5, 2, 4096, 0, {}}));
    EXPECT_NE(store.region(1, 5, 2)->bytes.data(), held->bytes.data());
    EXPECT_EQ(held->bytes.data()[0], 0xAA);  // untouched under the chunk
    EXPECT_EQ(get_all(store, 1, 5, 2, 4096), std::vector<std::uint8_t>(4096, 0));
    EXPECT_EQ(store.used(), 0u);  // the new version holds nothing yet
}

TEST(NodeStore, PeersHaveTheirOwnRegionsAndLoseThemWhenTheyGo) {
    NodeStore store(3 * P);
    std::vector<std::uint8_t> a(2 * P - 100, 1), b(P - 100, 2);
    ASSERT_FALSE(store.put(1, RegionPutView{7, 1, a.size(), 0, a}));
    ASSERT_FALSE(store.put(2, RegionPutView{7, 1, b.size(), 0, b}));  // same id and version, other peer
    EXPECT_EQ(get_all(store, 1, 7, 1, a.size()), a);
    EXPECT_EQ(get_all(store, 2, 7, 1, b.size()), b);
    auto refusal = store.put(2, RegionPutView{8, 1, a.size(), 0, a});
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, ErrorCode::OutOfMemory);
    store.drop_peer(1);
    EXPECT_FALSE(store.region(1, 7, 1));
    EXPECT_TRUE(store.region(2, 7, 1));
    EXPECT_EQ(store.used(), P);
    EXPECT_FALSE(store.put(2, RegionPutView{8, 1, a.size(), 0, a}));  // the memory is back
}

// A home's freed regions (region-drop) give their pages back at once; a
// running chunk's hold keeps the storage readable until it lets go.
TEST(NodeStore, DroppedRegionsGiveTheirPagesBack) {
    NodeStore store(4 * P);
    std::vector<std::uint8_t> two(2 * P, 3), one(P, 4);
    ASSERT_FALSE(store.put(1, RegionPutView{7, 1, 2 * P, 0, two}));
    ASSERT_FALSE(store.put(1, RegionPutView{8, 1, P, 0, one}));
    ASSERT_FALSE(store.put(2, RegionPutView{7, 1, P, 0, one}));  // another home's region 7
    EXPECT_EQ(store.used(), 4 * P);
    auto running = store.region(1, 7, 1);  // as a running chunk holds it
    const std::uint64_t ids[] = {7, 99};   // 99: never put (skipped)
    EXPECT_EQ(store.drop_regions(1, ids), 1u);
    EXPECT_FALSE(store.region(1, 7, 1));
    EXPECT_TRUE(store.region(1, 8, 1));
    EXPECT_TRUE(store.region(2, 7, 1));
    EXPECT_EQ(store.used(), 2 * P);
    EXPECT_EQ(running->bytes.data()[2 * P - 1], 3);  // still there under the chunk
    EXPECT_FALSE(store.put(1, RegionPutView{9, 1, 2 * P, 0, two}));  // the memory is back
    EXPECT_EQ(store.drop_regions(1, ids), 0u);  // twice: nothing
}

// A region counts the pages its puts wrote, never its size.
TEST(NodeStore, ARegionCountsThePagesItHolds) {
    NodeStore store(8 * P);
    const std::uint64_t huge = std::uint64_t{1} << 36;  // 64 GiB
    std::vector<std::uint8_t> two(2, 7), page(P, 8), five(5 * P, 9);
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, huge, P - 1, two}));  // straddles two pages
    EXPECT_EQ(store.used(), 2 * P);
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, huge, P - 1, two}));  // held already: free
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, huge, 0, two}));
    EXPECT_EQ(store.used(), 2 * P);
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, huge, huge - P, page}));  // the last page
    ASSERT_FALSE(store.put(1, RegionPutView{2, 1, huge, 100 * P, five}));
    EXPECT_EQ(store.used(), 8 * P);
    auto refusal = store.put(1, RegionPutView{2, 1, huge, 0, two});
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, ErrorCode::OutOfMemory);
    EXPECT_EQ(refusal->message, "region 2 version 1 (holds " + size_text(5 * P) + " of its 64 GiB here), bytes [0, 2): " +
                                    size_text(P) + " more would pass this node's memory limit of " + size_text(8 * P) +
                                    " (--max-memory; its homes hold " + size_text(8 * P) + ")");
    EXPECT_EQ(store.used(), 8 * P);
    EXPECT_EQ(get_all(store, 1, 2, 1, 4)[0], 0);  // nothing landed
    store.drop_peer(1);
    EXPECT_EQ(store.used(), 0u);
}

// The VmFlags of the mapping of this process that holds `at` (proc(5)).
std::string vm_flags_at(const void* at) {
    std::ifstream smaps("/proc/self/smaps");
    const auto address = reinterpret_cast<std::uintptr_t>(at);
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        std::uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
            inside = lo <= address && address < hi;
        } else if (inside && line.rfind("VmFlags:", 0) == 0) {
            return line + " ";
        }
    }
    return "";
}

// A large region's storage asks the kernel for huge pages only where it is
// held whole, so what the node holds is still what its pages count.
TEST(NodeStore, HugePagesOnlyWhereTheRegionIsHeldWhole) {
    NodeStore store(1 << 30);
    const std::uint64_t size = 8 << 20;
    std::vector<std::uint8_t> half(4 << 20, 1), two(2, 2);
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, size, 0, half}));
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, size, 6 << 20, two}));
    auto region = store.region(1, 1, 1);
    const std::uint64_t huge = region->bytes.huge_page();
    std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
    const std::string modes((std::istreambuf_iterator<char>(enabled)), std::istreambuf_iterator<char>());
    if (modes.empty() || modes.find("[never]") != std::string::npos) {
        EXPECT_EQ(huge, 0u) << "this kernel has no transparent huge pages";
        return;
    }
    ASSERT_GT(huge, P);
    ASSERT_LE(huge, std::uint64_t{2} << 20) << "the test's sizes assume 2 MiB huge pages";
    std::uint8_t* base = region->bytes.data();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(base) % huge, 0u);  // its offsets' huge pages are the kernel's
    EXPECT_NE(vm_flags_at(base).find(" hg "), std::string::npos) << vm_flags_at(base);              // held whole
    EXPECT_EQ(vm_flags_at(base + (6 << 20)).find(" hg "), std::string::npos) << vm_flags_at(base + (6 << 20));  // 1 page held
    EXPECT_EQ(store.used(), (4 << 20) + P);
    region->bytes.release(0, P);  // a page given back: the huge page is pages again
    EXPECT_NE(vm_flags_at(base).find(" nh "), std::string::npos) << vm_flags_at(base);
    EXPECT_NE(vm_flags_at(base + huge).find(" hg "), std::string::npos) << vm_flags_at(base + huge);
}

TEST(NodeStore, AHoldIsAllOrNothing) {
    NodeStore store(4 * P);
    std::vector<std::uint8_t> none;
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, 64 * P, 0, none}));
    ASSERT_FALSE(store.put(1, RegionPutView{2, 1, 64 * P, 0, none}));
    StoredRegion* a = store.region(1, 1, 1).get();
    StoredRegion* b = store.region(1, 2, 1).get();
    const HoldRange ranges[] = {{a, 0, 2 * P}, {b, 0, 3 * P}};
    auto refusal = store.hold(1, ranges);
    ASSERT_TRUE(refusal);
    EXPECT_NE(refusal->message.find("region 2 version 1"), std::string::npos) << refusal->message;
    EXPECT_EQ(store.used(), 0u);
    EXPECT_EQ(a->held.bytes(), 0u);
    const HoldRange fits[] = {{a, 0, 2 * P}, {b, P, 3 * P}, {a, P, 2 * P}};
    EXPECT_FALSE(store.hold(1, fits));
    EXPECT_EQ(store.used(), 4 * P);
}

// Recycled storage keeps the old version's pages (and their count) until a
// put would not fit: then the pages only the old version used go back.
TEST(NodeStore, StalePagesGoBackWhenMemoryIsShort) {
    NodeStore store(4 * P);
    std::vector<std::uint8_t> full(4 * P, 0xAA), first(P, 0xBB), two(2 * P, 0xCC);
    ASSERT_FALSE(store.put(1, RegionPutView{1, 1, 4 * P, 0, full}));
    ASSERT_FALSE(store.put(1, RegionPutView{1, 2, 4 * P, 0, first}));  // recycled: 3 stale pages
    EXPECT_EQ(store.used(), 4 * P);
    {
        auto in_use = store.region(1, 1, 2);  // as a running chunk holds it: its pages stay
        EXPECT_TRUE(store.put(1, RegionPutView{2, 1, 2 * P, 0, two}));
        EXPECT_EQ(store.used(), 4 * P);
    }
    ASSERT_FALSE(store.put(1, RegionPutView{2, 1, 2 * P, 0, two}));
    EXPECT_EQ(store.used(), 3 * P);
    std::vector<std::uint8_t> expect(4 * P, 0);
    std::fill(expect.begin(), expect.begin() + P, 0xBB);
    EXPECT_EQ(get_all(store, 1, 1, 2, 4 * P), expect);
    EXPECT_EQ(get_all(store, 1, 2, 1, 2 * P), two);
}

TEST(NodeStore, RegionsAreBoundedInNumberAndSize) {
    NodeStore store(1 << 30);
    std::vector<std::uint8_t> none;
    for (std::uint64_t id = 0; id < kMaxRegionsPerHome; ++id) ASSERT_FALSE(store.put(1, RegionPutView{id, 1, P, 0, none})) << id;
    auto refusal = store.put(1, RegionPutView{kMaxRegionsPerHome, 1, P, 0, none});
    ASSERT_TRUE(refusal);
    EXPECT_NE(refusal->message.find("the most a node keeps for one home"), std::string::npos) << refusal->message;
    EXPECT_FALSE(store.put(1, RegionPutView{0, 2, P, 0, none}));  // a new version of one it has: fine
    EXPECT_FALSE(store.put(2, RegionPutView{0, 1, P, 0, none}));  // another home: fine
    refusal = store.put(2, RegionPutView{1, 1, kMaxRegionBytes + 1, 0, none});
    ASSERT_TRUE(refusal);
    EXPECT_NE(refusal->message.find("over the largest region a node maps (1 TiB)"), std::string::npos) << refusal->message;
}
