// The frame table section (id 12, added in format 1.1): round trip, optional
// flag, modules without it, and bytes that break the table.
#include <gtest/gtest.h>

#include <string>

#include "isa/frame_analysis.h"
#include "isa/module_io.h"
#include "isa/verifier.h"
#include "pbc_bytes.h"
#include "sample_modules.h"

namespace polymer {
namespace {

using namespace polymer::testing;

Module with_frames(Module m) {
    m.frames = compute_frames(m);
    return m;
}

std::string load_error(const Bytes& b) {
    Result<Module> r = load_module(sealed(b));  // edited bytes: reach the frame checks
    return r ? std::string("<no error>") : r.error();
}

TEST(FrameSection, RoundTripKeepsTheTable) {
    for (const Module& m : {with_frames(tiny_module()), with_frames(full_module())}) {
        ASSERT_FALSE(m.frames.empty());
        Result<Module> back = load_module(write_module(m));
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back.value().frames, m.frames);
        EXPECT_EQ(back.value(), m);
    }
    EXPECT_EQ(with_frames(tiny_module()).frames, (std::vector<BlockFrames>{{0, {0, 1, 2}}}));
}

TEST(FrameSection, IsWrittenOptionalWithItsLayout) {
    const Bytes b = write_module(with_frames(tiny_module()));
    EXPECT_EQ(get_le(b, entry_at(b, kFramesSection), 2), kFramesSection);
    EXPECT_EQ(get_le(b, entry_at(b, kFramesSection) + 2, 2), 1u);  // optional: a module may leave it out
    const std::size_t at = section_offset(b, kFramesSection);
    EXPECT_EQ(get_le(b, at, 4), 1u);       // one block
    EXPECT_EQ(get_le(b, at + 4, 4), 0u);   // starting at word 0
    EXPECT_EQ(get_le(b, at + 8, 4), 3u);   // three words
    EXPECT_EQ(get_le(b, at + 12, 1), 1u);  // one byte per frame index
    EXPECT_EQ(get_le(b, at + 13, 1), 0u);  // li
    EXPECT_EQ(get_le(b, at + 14, 1), 1u);  // print r1 waits for li
    EXPECT_EQ(get_le(b, at + 15, 1), 2u);  // halt ends the block
    EXPECT_EQ(section_size(b, kFramesSection), 16u);
}

// One block whose dependency chain is longer than 255: frame indexes need two bytes.
Module long_chain() {
    Module m;
    m.name = "chain";
    for (int i = 0; i < 300; ++i) m.code.push_back(op(Op::Addi, 1, 1, 0, 1));
    m.code.push_back(op(Op::Halt));
    m.procs = {{"main", 0, 301}};
    return with_frames(m);
}

TEST(FrameSection, BlocksWithFramesPast255UseTwoBytes) {
    const Module m = long_chain();
    ASSERT_EQ(m.frames.size(), 1u);
    EXPECT_EQ(m.frames[0].frame.back(), 300u);
    const Bytes b = write_module(m);
    const std::size_t at = section_offset(b, kFramesSection);
    EXPECT_EQ(get_le(b, at + 12, 1), 2u);
    EXPECT_EQ(get_le(b, at + 13 + 2 * 300, 2), 300u);
    Result<Module> back = load_module(b);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back.value(), m);
}

TEST(FrameSection, TheIndexWidthIsCheckedAndCanonical) {
    const Bytes good = write_module(with_frames(tiny_module()));
    const std::size_t at = section_offset(good, kFramesSection);
    Bytes bad = good;
    bad[at + 12] = 3;
    EXPECT_NE(load_error(bad).find("block 0: index width 3 is not 1 or 2"), std::string::npos) << load_error(bad);
    // Width 2 for indexes that fit one byte: rewrite the block as 2-byte entries.
    bad = Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(at + 12));
    for (std::uint8_t v : {2, 0, 0, 1, 0, 2, 0}) bad.push_back(v);
    put_le(bad, entry_at(bad, kFramesSection) + 16, 19, 8);
    EXPECT_NE(load_error(bad).find("index width 2, but every frame index fits one byte (width 1)"), std::string::npos)
        << load_error(bad);
}

TEST(FrameSection, AModuleWithoutTheSectionLoadsWithFramesAbsent) {
    Bytes b = write_module(with_frames(full_module()));
    // The frame table is the last entry: drop it.
    ASSERT_EQ(entry_at(b, kFramesSection), kHeaderBytes + 11 * kEntryBytes);
    put_le(b, 8, 11, 4);
    Result<Module> r = load_module(sealed(b));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r.value().frames.empty());
    EXPECT_EQ(compute_frames(r.value()), with_frames(full_module()).frames);
}

TEST(FrameSection, CorruptedFramesAreRejected) {
    const Bytes good = write_module(with_frames(tiny_module()));
    const std::size_t at = section_offset(good, kFramesSection);
    Bytes bad = good;
    put_le(bad, at + 14, 0, 1);  // print r1 in the frame of the li it reads
    EXPECT_EQ(load_error(bad),
              "frames: block 0 (proc 'main') word 1 (print) is in frame 0 but waits for word 0 (li) (writes r1) in "
              "frame 0");
    bad = good;
    put_le(bad, at + 4, 1, 4);  // the block starts at word 1
    EXPECT_EQ(load_error(bad),
              "frames: block 0 (proc 'main') starts at word 1, expected 0 (blocks start at procedure starts, jump "
              "targets and after control transfers)");
    bad = good;
    put_le(bad, at + 8, 1000, 4);  // more words than the section holds
    EXPECT_NE(load_error(bad).find("section 'frames'"), std::string::npos) << load_error(bad);
    EXPECT_NE(load_error(bad).find("word count"), std::string::npos) << load_error(bad);
}

TEST(FrameSection, EveryByteOfTheTableChangedLoadsOrFailsCleanly) {
    const Module m = with_frames(full_module());
    const Bytes good = write_module(m);
    const std::size_t at = section_offset(good, kFramesSection);
    const std::size_t size = section_size(good, kFramesSection);
    int rejected = 0;
    for (std::size_t i = at; i < at + size; ++i) {
        for (std::uint8_t v : {std::uint8_t{0}, std::uint8_t{1}, std::uint8_t{0x7f}, std::uint8_t{0xff}}) {
            Bytes bad = good;
            if (bad[i] == v) continue;
            bad[i] = v;
            Result<Module> r = load_module(sealed(bad));
            if (!r.ok()) {
                ++rejected;
                EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
                continue;
            }
            // Accepted: then the table still respects every dependency.
            EXPECT_FALSE(check_frames(r.value()).has_value());
        }
    }
    EXPECT_GT(rejected, 0);
}

TEST(FrameSection, AnalysisOfABrokenLayoutDoesNotCrash) {
    Module m = tiny_module();
    m.procs = {{"main", 0, 0}, {"far", 2, 40}};
    EXPECT_TRUE(analyze_frames(m).empty());
    m.frames = {{0, {0}}};
    EXPECT_FALSE(verify_module(m).ok());
}

}  // namespace
}  // namespace polymer
