// The static frame analysis (isa/frame_analysis.h) on assembled programs:
// register and region hazards, output/trap/long-op ordering, the value stack,
// launch arguments by access, basic blocks, the --frames listing, every
// sample, and the verifier's check of a stored frame table.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "assembler/frame_listing.h"
#include "assembler_test_util.h"
#include "isa/frame_analysis.h"
#include "isa/verifier.h"

namespace polymer {
namespace {

using testing::assemble_ok;
using testing::in_proc;

constexpr const char* kRegions =
    ".region xs f32[4]\n.region ys f32[4]\n.region zs f32[4]\n.region ws f32[4]\n.region is i32[4]\n";

// The single block of `main` built from `lines` + halt.
BlockAnalysis only_block(const Module& m) {
    std::vector<BlockAnalysis> blocks = analyze_frames(m);
    EXPECT_EQ(blocks.size(), 1u);
    return blocks.empty() ? BlockAnalysis{} : blocks[0];
}

BlockAnalysis block_of(std::initializer_list<std::string_view> lines) {
    return only_block(assemble_ok(kRegions + in_proc(lines)));
}

std::vector<std::uint16_t> frames(std::initializer_list<std::string_view> lines) { return block_of(lines).frame; }

// The dependencies of word `pc` as "on:hazard:resource" strings, for compact asserts.
std::vector<std::string> deps_of(const Module& m, const BlockAnalysis& b, std::uint32_t pc) {
    std::vector<std::string> out;
    for (const Dependency& d : b.deps.at(pc - b.start))
        out.push_back("#" + std::to_string(d.on) + " " + dependency_reason(m, d));
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> deps(std::initializer_list<std::string_view> lines, std::uint32_t pc) {
    Module m = assemble_ok(kRegions + in_proc(lines));
    return deps_of(m, only_block(m), pc);
}

using Strings = std::vector<std::string>;
using Frames = std::vector<std::uint16_t>;

TEST(FrameAnalysis, RegisterReadAfterWrite) {
    EXPECT_EQ(frames({"li r1, 1", "li r2, 2", "add r3, r1, r2"}), (Frames{0, 0, 1, 2}));
    EXPECT_EQ(deps({"li r1, 1", "li r2, 2", "add r3, r1, r2"}, 2), (Strings{"#0 writes r1", "#1 writes r2"}));
    // Float registers are their own resources: f1 is not r1.
    EXPECT_EQ(frames({"li r1, 1", "lif f1, 2.0", "itof f2, r1", "fadd f3, f1, f2"}), (Frames{0, 0, 1, 2, 3}));
}

TEST(FrameAnalysis, RegisterWriteAfterReadAndWriteAfterWrite) {
    EXPECT_EQ(deps({"add r3, r1, r2", "li r1, 5"}, 1), (Strings{"#0 reads r1 first"}));
    EXPECT_EQ(frames({"add r3, r1, r2", "li r1, 5"}), (Frames{0, 1, 2}));
    EXPECT_EQ(deps({"li r1, 1", "li r1, 2"}, 1), (Strings{"#0 writes r1 earlier"}));
    // Independent writers of different registers share a frame.
    EXPECT_EQ(frames({"li r1, 1", "li r2, 1", "li r3, 1", "li r4, 1"}), (Frames{0, 0, 0, 0, 1}));
}

TEST(FrameAnalysis, RegionHazards) {
    // A store then a load of the same region: read after write.
    EXPECT_EQ(deps({"st.f32 xs[r0], f1", "ld.f32 f2, xs[r1]"}, 1), (Strings{"#0 writes region 'xs'"}));
    // Loads of one region, and of different regions, are independent.
    EXPECT_EQ(frames({"ld.f32 f1, xs[r0]", "ld.f32 f2, xs[r1]", "ld.f32 f3, ys[r1]"}), (Frames{0, 0, 0, 1}));
    // A store after a load of the region: write after read.
    EXPECT_EQ(deps({"ld.f32 f1, xs[r0]", "st.f32 xs[r1], f2"}, 1), (Strings{"#0 reads region 'xs' first"}));
    // len reads the region; alloc and free replace it.
    EXPECT_EQ(deps({"len r1, is", "alloc is, r2"}, 1), (Strings{"#0 reads region 'is' first"}));
    EXPECT_EQ(deps({"alloc is, r2", "len r1, is"}, 1), (Strings{"#0 writes region 'is'"}));
    EXPECT_EQ(deps({"alloc is, r2", "free is"}, 1), (Strings{"#0 writes region 'is' earlier"}));
    // The index register of region[rN] is read.
    EXPECT_EQ(deps({"li r2, 3", "ld.i32 r1, is[r2]"}, 1), (Strings{"#0 writes r2"}));
}

TEST(FrameAnalysis, OutputStaysInProgramOrder) {
    EXPECT_EQ(frames({"prints \"a\"", "li r1, 1", "prints \"b\"", "print r1", "println"}), (Frames{0, 0, 1, 2, 3, 4}));
    EXPECT_EQ(deps({"prints \"a\"", "prints \"b\""}, 1), (Strings{"#0 output before it"}));
}

TEST(FrameAnalysis, TrapCapableInstructionsStayOnTheirSideOfOutput) {
    // A division that may trap does not move before earlier output...
    EXPECT_EQ(deps({"prints \"a\"", "div r3, r1, r2"}, 1), (Strings{"#0 output before it"}));
    // ...and output does not move before an earlier possible trap.
    EXPECT_EQ(deps({"div r3, r1, r2", "prints \"a\""}, 1), (Strings{"#0 may trap before this output"}));
    // Trap-capable instructions between two outputs are not ordered among themselves.
    EXPECT_EQ(frames({"div r3, r1, r2", "rem r4, r1, r2", "ld.f32 f1, xs[r0]", "prints \"a\""}),
              (Frames{0, 0, 0, 1, 2}));
    // An instruction that cannot trap is free to move past output.
    EXPECT_EQ(frames({"prints \"a\"", "add r3, r1, r2"}), (Frames{0, 0, 1}));
}

TEST(FrameAnalysis, ValueStackIsOneResource) {
    EXPECT_EQ(frames({"push r1", "push r2", "pop r3", "pushf f1"}), (Frames{0, 1, 2, 3, 4}));
    EXPECT_EQ(deps({"push r1", "pop r3"}, 1), (Strings{"#0 writes the value stack"}));
}

TEST(FrameAnalysis, VectorOpsAndWaitFence) {
    // Independent vector ops share a frame; a reader of their result follows.
    EXPECT_EQ(frames({"vadd zs, xs, ys", "vmul ws, xs, ys", "vsum f1, zs", "vdot f2, zs, ws"}),
              (Frames{0, 0, 1, 1, 2}));
    EXPECT_EQ(deps({"vadd zs, xs, ys", "vcopy xs, ws"}, 1),
              (Strings{"#0 reads region 'xs' first"}));
    // vfma's fourth region (in imm) is read.
    EXPECT_EQ(deps({"vcopy ws, ys", "vfma zs, xs, ys, ws"}, 1), (Strings{"#0 writes region 'ws'"}));
    // wait orders every long op before it, and long ops after it wait for it.
    EXPECT_EQ(frames({"vadd zs, xs, ys", "vmul ws, xs, ys", "wait", "viota is"}), (Frames{0, 0, 1, 2, 3}));
    EXPECT_EQ(deps({"vadd zs, xs, ys", "fence", "vfill is, r1"}, 2), (Strings{"#1 long-op order around wait/fence"}));
    // Scalar code does not wait for wait/fence.
    EXPECT_EQ(frames({"vadd zs, xs, ys", "fence", "li r1, 1"}), (Frames{0, 1, 0, 2}));
}

TEST(FrameAnalysis, LaunchArgumentsFollowTheirAccess) {
    const std::string kernel =
        ".kernel k (in a: f32[i], out b: f32[i], inout c: f32[i], s: f32, n: i32)\n        exit\n.end\n";
    Module m = assemble_ok(kRegions + kernel +
                           in_proc({"li r1, 4",                            // 0
                                    "launch k, r1, xs, ys, zs, f1, r2",    // 1
                                    "ld.f32 f2, xs[r0]",                   // 2: reads an `in` region
                                    "ld.f32 f3, ys[r0]",                   // 3: reads an `out` region
                                    "st.f32 zs[r0], f4",                   // 4: writes an `inout` region
                                    "li r2, 0"}));                         // 5: overwrites a uniform
    BlockAnalysis b = only_block(m);
    EXPECT_EQ(deps_of(m, b, 1), (Strings{"#0 writes r1"}));
    EXPECT_EQ(deps_of(m, b, 2), Strings{});
    EXPECT_EQ(deps_of(m, b, 3), (Strings{"#1 writes region 'ys'"}));
    EXPECT_EQ(deps_of(m, b, 4), (Strings{"#1 writes region 'zs' earlier"}));
    EXPECT_EQ(deps_of(m, b, 5), (Strings{"#1 reads r2 first"}));
}

TEST(FrameAnalysis, BlocksSplitAtTargetsAndAfterControlTransfers) {
    Module m = assemble_ok(
        ".proc main\n"
        "        li r1, 3\n"       // 0  block 0
        "loop:\n"
        "        addi r1, r1, -1\n"  // 1  block 1 (jump target)
        "        call helper\n"      // 2
        "        print r1\n"         // 3  block 2 (after a call)
        "        bnz r1, loop\n"     // 4
        "        halt\n"             // 5  block 3 (after a branch)
        ".end\n"
        ".proc helper\n"
        "        ret\n"              // 6  block 4 (a procedure start)
        ".end\n");
    std::vector<std::uint32_t> starts, lengths;
    for (const BlockAnalysis& b : analyze_frames(m)) {
        starts.push_back(b.start);
        lengths.push_back(b.length);
    }
    EXPECT_EQ(starts, (std::vector<std::uint32_t>{0, 1, 3, 5, 6}));
    EXPECT_EQ(lengths, (std::vector<std::uint32_t>{1, 2, 2, 1, 1}));
    // The control transfer ends its block: it waits for every instruction no other one waits for.
    EXPECT_EQ(deps({"li r1, 1", "li r2, 2", "add r3, r1, r1"}, 3), (Strings{"#1 block end", "#2 block end"}));
}

TEST(FrameAnalysis, ListingSaysWhyEachInstructionWaits) {
    Module m = assemble_ok(in_proc({"li r1, 1", "li r2, 2", "add r3, r1, r2", "print r3"}));
    EXPECT_EQ(frame_listing(m),
              "proc main, block at word 0, words 0..4: 5 instructions in 4 frames\n"
              "  frame 0  #0    li      r1, 1\n"
              "  frame 0  #1    li      r2, 2\n"
              "  frame 1  #2    add     r3, r1, r2           ; waits for #0 (writes r1) and #1 (writes r2)\n"
              "  frame 2  #3    print   r3                   ; waits for #2 (writes r3)\n"
              "  frame 3  #4    halt                         ; waits for #3 (block end)\n");
}

TEST(FrameAnalysis, EverySampleHasFramesThatVerify) {
    namespace fs = std::filesystem;
    int count = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(fs::path(POLYMER_SOURCE_DIR) / "samples")) {
        if (e.path().extension() != ".pasm") continue;
        std::ifstream in(e.path());
        std::stringstream text;
        text << in.rdbuf();
        Module m = assemble_ok(text.str(), e.path().string());
        ASSERT_FALSE(m.frames.empty()) << e.path();
        // Every word is in exactly one block, blocks in code order.
        std::uint32_t next = 0;
        for (const BlockFrames& b : m.frames) {
            EXPECT_EQ(b.start, next) << e.path();
            next += static_cast<std::uint32_t>(b.frame.size());
        }
        EXPECT_EQ(next, m.code.size()) << e.path();
        // The listing shows every word once, under its frame.
        std::istringstream listing(frame_listing(m));
        std::size_t shown = 0;
        for (std::string line; std::getline(listing, line);) shown += line.starts_with("  frame ");
        EXPECT_EQ(shown, m.code.size()) << e.path();
        ++count;
    }
    EXPECT_GE(count, 8);
}

TEST(FrameCheck, AbsentFramesAreAccepted) {
    Module m = assemble_ok(in_proc({"li r1, 1"}));
    m.frames.clear();
    EXPECT_TRUE(verify_module(m).ok());
}

TEST(FrameCheck, WrongFramesAreRejectedWithWhatAndWhere) {
    const Module good = assemble_ok(in_proc({"li r1, 1", "li r2, 2", "add r3, r1, r2"}) +
                                    ".proc other\n        ret\n.end\n");
    ASSERT_EQ(good.frames.size(), 2u);
    auto error = [](const Module& m) {
        Result<Verified> r = verify_module(m);
        return r.ok() ? std::string("ok") : r.error();
    };
    Module m = good;
    m.frames[0].frame[2] = 0;  // add in the same frame as the li it reads
    EXPECT_EQ(error(m),
              "frames: block 0 (proc 'main') word 2 (add) is in frame 0 but waits for word 0 (li) (writes r1) in "
              "frame 0");
    m = good;
    m.frames[0].frame[3] = 1;  // halt no later than the add it must wait for
    EXPECT_EQ(error(m),
              "frames: block 0 (proc 'main') word 3 (halt) is in frame 1 but waits for word 2 (add) (block end) in "
              "frame 1");
    m = good;
    m.frames[0].frame[3] = 9;
    EXPECT_EQ(error(m), "frames: block 0 (proc 'main') word 3 (halt): frame 9 is not below the block's 4 words");
    m = good;
    m.frames[1].start = 3;
    EXPECT_EQ(error(m),
              "frames: block 1 (proc 'other') starts at word 3, expected 4 (blocks start at procedure starts, jump "
              "targets and after control transfers)");
    m = good;
    m.frames[0].frame.pop_back();
    EXPECT_EQ(error(m), "frames: block 0 (proc 'main') at word 0 has 3 frame entries for its 4 words");
    m = good;
    m.frames.pop_back();
    EXPECT_EQ(error(m), "frames: 1 blocks, but the code has 2 (the first missing block starts at word 4)");
    m = good;
    m.frames.push_back({5, {0}});
    EXPECT_EQ(error(m), "frames: 3 blocks, but the code has 2 (block 2 at word 5 is extra)");
    // Frames that are not the tightest levels but respect every dependency are valid.
    m = good;
    m.frames[0].frame = {0, 1, 2, 3};
    EXPECT_EQ(error(m), "ok");
}

}  // namespace
}  // namespace polymer
