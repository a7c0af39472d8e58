// The node's store: recycled storage still reads as the version that was put
// (zeros wherever nothing was), peers never see each other's regions, and a
// peer's regions go with it.
#include <gtest/gtest.h>

#include <random>

#include "cluster/defined_ranges.h"
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

TEST(DefinedRanges, MergesAndZeroesOnlyTheGaps) {
    DefinedRanges d;
    d.add(10, 20);
    d.add(30, 40);
    d.add(20, 25);  // touches: merges
    EXPECT_EQ(d.pieces(), 2u);
    EXPECT_TRUE(d.covers(10, 25));
    EXPECT_FALSE(d.covers(10, 26));
    std::vector<std::uint8_t> bytes(50, 0xEE);
    EXPECT_EQ(d.zero_gaps(bytes.data(), 0, 50), 10u + 5u + 10u);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const bool was_defined = (i >= 10 && i < 25) || (i >= 30 && i < 40);
        EXPECT_EQ(bytes[i], was_defined ? 0xEE : 0) << i;
    }
    EXPECT_EQ(d.pieces(), 1u);
    EXPECT_EQ(d.zero_gaps(bytes.data(), 0, 50), 0u);
}

TEST(DefinedRanges, RandomAddsMatchABitmap) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        DefinedRanges d;
        std::vector<bool> defined(300, false);
        std::vector<std::uint8_t> bytes(300, 0xEE);
        for (int k = 0; k < 12; ++k) {
            const std::uint64_t a = rng() % 300, b = a + rng() % (300 - a + 1);
            if (rng() % 3 == 0) {
                d.zero_gaps(bytes.data(), a, b);
                for (std::uint64_t i = a; i < b; ++i)
                    if (!defined[i]) bytes[i] = 0, defined[i] = true;
            } else {
                d.add(a, b);
                for (std::uint64_t i = a; i < b; ++i) defined[i] = true;
            }
        }
        for (std::uint64_t a = 0; a < 300; a += 37)
            for (std::uint64_t b = a; b <= 300; b += 41) {
                bool all = true;
                for (std::uint64_t i = a; i < b; ++i) all = all && defined[i];
                EXPECT_EQ(d.covers(a, b), all) << a << ".." << b;
            }
        std::vector<std::uint8_t> expect = bytes;
        for (std::size_t i = 0; i < 300; ++i)
            if (!defined[i]) expect[i] = 0;
        d.zero_gaps(bytes.data(), 0, 300);
        EXPECT_EQ(bytes, expect);
    }
}

TEST(NodeStore, RecycledStorageReadsAsTheNewVersion) {
    NodeStore store(1 << 20);
    std::vector<std::uint8_t> full(4096, 0xAA), part(100, 0xBB);
    ASSERT_FALSE(store.put(1, RegionPutView{5, 1, 4096, 0, full}));
    const std::uint8_t* first_storage = store.region(1, 5, 1)->bytes.data();
    ASSERT_FALSE(store.put(1, RegionPutView{5, 2, 4096, 1000, part}));
    EXPECT_EQ(store.region(1, 5, 2)->bytes.data(), first_storage);  // recycled, not reallocated
    EXPECT_EQ(store.used(), 4096u);
    std::vector<std::uint8_t> expect(4096, 0);
    std::fill(expect.begin() + 1000, expect.begin() + 1100, 0xBB);
    EXPECT_EQ(get_all(store, 1, 5, 2, 4096), expect);
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
}

TEST(NodeStore, PeersHaveTheirOwnRegionsAndLoseThemWhenTheyGo) {
    NodeStore store(10000);
    std::vector<std::uint8_t> a(6000, 1), b(3000, 2);
    ASSERT_FALSE(store.put(1, RegionPutView{7, 1, 6000, 0, a}));
    ASSERT_FALSE(store.put(2, RegionPutView{7, 1, 3000, 0, b}));  // same id and version, other peer
    EXPECT_EQ(get_all(store, 1, 7, 1, 6000), a);
    EXPECT_EQ(get_all(store, 2, 7, 1, 3000), b);
    auto refusal = store.put(2, RegionPutView{8, 1, 6000, 0, a});
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, ErrorCode::OutOfMemory);
    store.drop_peer(1);
    EXPECT_FALSE(store.region(1, 7, 1));
    EXPECT_TRUE(store.region(2, 7, 1));
    EXPECT_EQ(store.used(), 3000u);
    EXPECT_FALSE(store.put(2, RegionPutView{8, 1, 6000, 0, a}));  // the memory is back
}
