// The .pbc reader and writer: round trips, and one test per way a file can be
// malformed at the byte level, each checking the message.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>

#include "isa/module_io.h"
#include "isa/verifier.h"
#include "pbc_bytes.h"
#include "sample_modules.h"

namespace polymer {
namespace {

using namespace polymer::testing;

// The reader's message for a file edited in place, sealed first so that the
// check under test is reached (the checksum has tests of its own below).
std::string read_error(const Bytes& b) {
    Result<Module> r = read_module(sealed(b));
    return r ? std::string("<no error>") : r.error();
}

TEST(ModuleIo, SampleModulesAreValid) {
    for (const Module& m :
         {tiny_module(), full_module(), loop_kernel_module(), procs_module(), placed_procs_module(), Module{}}) {
        Result<Verified> v = verify_module(m);
        EXPECT_TRUE(v.ok()) << m.name << ": " << (v ? "" : v.error());
    }
}

TEST(ModuleIo, RoundTripKeepsEveryField) {
    for (const Module& m :
         {tiny_module(), full_module(), several_files_module(), loop_kernel_module(), procs_module(),
          placed_procs_module(), Module{}}) {
        Bytes bytes = write_module(m);
        Result<Module> back = load_module(bytes);
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back.value(), m);
        EXPECT_EQ(write_module(back.value()), bytes);
    }
}

// A window buffer (format 3.4) stores its two offsets, i64 each, after the
// indexing byte; no other parameter has them.
TEST(ModuleIo, RoundTripKeepsWindows) {
    const Module m = window_module();
    const Bytes bytes = write_module(m);
    Result<Module> back = load_module(bytes);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back.value(), m);
    EXPECT_EQ(write_module(back.value()), bytes);
    EXPECT_EQ(bytes.size(), write_module(full_module()).size() + 16);
    // Kernel 0's entry: name, 4 flag bytes, u64 memory, u32 parameter count;
    // then x (name, 4 bytes), then y's name and its kind, access, type, indexing.
    const std::size_t params = section_offset(bytes, kKernelsSection) + 4 + (4 + 5) + 4 + 8 + 4;
    const std::size_t y_indexing = params + (4 + 1 + 4) + (4 + 1) + 3;
    ASSERT_EQ(bytes[y_indexing], static_cast<std::uint8_t>(Indexing::Window));
    EXPECT_EQ(static_cast<std::int64_t>(get_le(bytes, y_indexing + 1, 8)), -1);
    EXPECT_EQ(static_cast<std::int64_t>(get_le(bytes, y_indexing + 9, 8)), 4096);
    Bytes bad = bytes;
    put_le(bad, y_indexing + 1, 4097, 8);  // the start after the end: the verifier refuses it
    EXPECT_TRUE(read_module(sealed(bad)).ok());  // the bytes are well formed...
    Result<Module> refused = load_module(sealed(bad));  // ...the verifier refuses them
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find("kernel 'saxpy' parameter 'y': window [i+4097..i+4096] is empty (its start is after "
                                   "its end)"),
              std::string::npos)
        << refused.error();
    bad = bytes;
    bad[y_indexing] = 3;
    EXPECT_NE(read_error(bad).find("indexing 3 is not valid (0..2)"), std::string::npos) << read_error(bad);
}

// The distributed flag (format 3.5) is the byte after the initializer kind,
// reserved (0) before: a 3.4 file reads with every region not distributed.
TEST(ModuleIo, RoundTripKeepsTheDistributedFlag) {
    const Module m = full_module();
    ASSERT_TRUE(m.regions[6].distributed);
    const Bytes bytes = write_module(m);
    Result<Module> back = load_module(bytes);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back.value(), m);
    EXPECT_TRUE(back.value().regions[6].distributed);
    EXPECT_FALSE(back.value().regions[2].distributed);
    // Region 6's entry: after regions 0..5, its name "ds", type and kind.
    std::size_t at = section_offset(bytes, kRegionsSection) + 4;
    for (std::size_t i = 0; i < 6; ++i) at += 4 + m.regions[i].name.size() + 4 + 8 * 5 + 8 + m.regions[i].data.size();
    const std::size_t flag = at + 4 + 2 + 2;
    ASSERT_EQ(bytes[flag - 2], static_cast<std::uint8_t>(ElemType::F64));
    EXPECT_EQ(bytes[flag], 1u);
    EXPECT_EQ(bytes[flag + 1], 0u);

    Module with_regions = full_module();  // written as a 3.4 file: no flag set
    for (RegionDecl& r : with_regions.regions) r.distributed = false;
    Bytes old = write_module(with_regions);
    put_le(old, 6, 4, 2);
    Result<Module> read = load_module(sealed(old));
    ASSERT_TRUE(read.ok()) << read.error();
    EXPECT_EQ(read.value(), with_regions);
    for (const RegionDecl& r : read.value().regions) EXPECT_FALSE(r.distributed) << r.name;
}

TEST(ModuleIo, RoundTripKeepsFloatBits) {
    Module m = tiny_module();
    m.float_consts = {-0.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                      std::numeric_limits<double>::denorm_min()};
    Result<Module> back = read_module(write_module(m));
    ASSERT_TRUE(back.ok()) << back.error();
    ASSERT_EQ(back.value().float_consts.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ(std::memcmp(&back.value().float_consts[i], &m.float_consts[i], 8), 0) << i;
}

TEST(ModuleIo, WriteIsDeterministic) {
    EXPECT_EQ(write_module(full_module()), write_module(full_module()));
    Module a = full_module();
    Module b = full_module();
    b.strings[0] = "hellp\n";
    EXPECT_NE(write_module(a), write_module(b));
}

TEST(ModuleIo, HeaderLayout) {
    Bytes b = write_module(tiny_module());
    EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "PLMR");
    EXPECT_EQ(get_le(b, 4, 2), kModuleVersionMajor);
    EXPECT_EQ(get_le(b, 6, 2), kModuleVersionMinor);
    EXPECT_EQ(get_le(b, 8, 4), 12u);
    EXPECT_EQ(section_size(b, kCodeSection), 3u * 8);
    EXPECT_EQ(get_le(b, section_offset(b, kCodeSection), 8), tiny_module().code[0]);
    EXPECT_EQ(section_offset(b, kCodeSection) % 8, 0u);
}

TEST(ModuleIo, EveryTruncationIsRejected) {
    const Bytes full = write_module(full_module());
    for (std::size_t n = 0; n < full.size(); ++n) {
        Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        Result<Module> r = load_module(cut);
        ASSERT_FALSE(r.ok()) << "truncated to " << n << " bytes";
        ASSERT_FALSE(r.error().empty());
    }
    EXPECT_EQ(read_error(Bytes(full.begin(), full.begin() + 10)), "file is 10 bytes, shorter than the 16-byte header");
    EXPECT_EQ(read_error(Bytes(full.begin(), full.begin() + 40)),
              "header: the section table (12 entries of 24 bytes) runs past the end of the file (40 bytes)");
    const std::size_t labels = section_offset(full, kLabelsSection);
    EXPECT_EQ(read_error(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(labels) + 2)),
              "section 'labels' at offset 0x" + (std::stringstream() << std::hex << labels).str() + ": size " +
                  std::to_string(section_size(full, kLabelsSection)) + " runs past the end of the file (" +
                  std::to_string(labels + 2) + " bytes)");
}

TEST(ModuleIo, BadMagic) {
    Bytes bad = write_module(tiny_module());
    bad[0] = 'X';
    EXPECT_EQ(read_error(bad), "not a Polymer module: the first 4 bytes are not the magic 'PLMR'");
}

// The header's checksum is the CRC-32 of every other byte of the file, the
// same as zlib's crc32() over them, computed here independently.
TEST(ModuleIo, ChecksumIsTheCrc32OfTheRestOfTheFile) {
    const Bytes b = write_module(full_module());
    Bytes rest(b.begin(), b.begin() + kChecksumAt);
    rest.insert(rest.end(), b.begin() + kChecksumAt + 4, b.end());
    std::uint32_t crc = 0xFFFFFFFF;  // bitwise CRC-32, reflected polynomial 0xEDB88320
    for (std::uint8_t byte : rest) {
        crc ^= byte;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    EXPECT_EQ(get_le(b, kChecksumAt, 4), ~crc);
    EXPECT_EQ(module_checksum(b), ~crc);
}

TEST(ModuleIo, ChecksumMismatchIsRefusedBeforeAnythingElse) {
    const Bytes b = write_module(tiny_module());
    const std::string size = std::to_string(b.size());
    Bytes bad = b;
    put_le(bad, kChecksumAt, 7, 4);
    EXPECT_EQ(read_module(bad).error(), "checksum mismatch (stored 0x7, computed 0x" +
                                            (std::stringstream() << std::hex << module_checksum(b)).str() +
                                            " over the file's " + size +
                                            " bytes): the file was changed or cut short after it was written");
    // A section table entry that runs past the file: the checksum speaks first.
    bad = b;
    put_le(bad, entry_at(b, kCodeSection) + 16, 4096, 8);
    EXPECT_EQ(read_module(bad).error().rfind("checksum mismatch (stored 0x", 0), 0u) << read_module(bad).error();
    // Unchecked, the same bytes reach the section checks (what the fuzz target does).
    EXPECT_NE(read_module(bad, ReadOptions{.check_checksum = false}).error().find("runs past the end of the file"),
              std::string::npos);
    EXPECT_TRUE(read_module(sealed(b)).ok());
}

// A reader reads its own major version, up to its own minor version. The
// messages name the file's version and the reader's (3.0 to 3.8 here: update
// these lines when the version changes).
TEST(ModuleIo, OtherMajorVersionsAreRefused) {
    ASSERT_EQ(kModuleVersionMajor, 3);
    ASSERT_EQ(kModuleVersionMinor, 8);
    const Bytes b = write_module(tiny_module());
    Bytes bad = b;
    put_le(bad, 4, 2, 2);  // a 2.1 module: no checksum, and stored SPIR-V no one checked
    put_le(bad, 6, 1, 2);
    put_le(bad, kChecksumAt, 0, 4);
    EXPECT_EQ(read_module(bad).error(), "module format version 2.1 is not supported: this reader reads 3.0 to 3.8 (an "
                                        "older major version: reassemble the module from its source)");
    put_le(bad, 4, 1, 2);  // a 1.1 module: its opcode numbers were not yet pinned
    EXPECT_EQ(read_error(bad), "module format version 1.1 is not supported: this reader reads 3.0 to 3.8 (an older "
                               "major version: reassemble the module from its source)");
    put_le(bad, 4, 4, 2);
    put_le(bad, 6, 0, 2);
    EXPECT_EQ(read_error(bad),
              "module format version 4.0 is not supported: this reader reads 3.0 to 3.8 (a newer major version: it "
              "needs a newer reader)");
}

TEST(ModuleIo, NewerMinorVersionsAreRefused) {
    Bytes bad = write_module(tiny_module());
    put_le(bad, 6, kModuleVersionMinor + 1, 2);
    EXPECT_EQ(read_error(bad),
              "module format version 3.9 is not supported: this reader reads 3.0 to 3.8 (a newer minor version: it "
              "needs a newer reader)");
}

// A 3.0 file (written before the 3.1 kernel opcodes) is still read.
TEST(ModuleIo, OlderMinorVersionsAreRead) {
    Bytes old = write_module(tiny_module());
    put_le(old, 6, 0, 2);
    EXPECT_TRUE(read_module(sealed(old)).ok());
}

// A 3.5 file (before procedures talked) has no channels or barriers
// sections and reads as before.
TEST(ModuleIo, A35ModuleIsRead) {
    for (const Module& m : {tiny_module(), full_module(), loop_kernel_module()}) {
        Bytes old = write_module(m);
        ASSERT_EQ(entry_at(old, kChannelsSection), 0u);  // absent
        ASSERT_EQ(entry_at(old, kBarriersSection), 0u);
        put_le(old, 6, 5, 2);
        Result<Module> back = load_module(sealed(old));
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back.value(), m);
        EXPECT_TRUE(back.value().channels.empty() && back.value().barriers.empty());
    }
}

// Channels (section 15) and barriers (16), format 3.6: a u32 count, then
// per entry its name and a u32 (capacity, parties); written only when the
// module declares some.
TEST(ModuleIo, ChannelsAndBarriersLayout) {
    const Bytes b = write_module(procs_module());
    EXPECT_EQ(get_le(b, 6, 2), kModuleVersionMinor);
    const std::size_t ch = section_offset(b, kChannelsSection);
    EXPECT_EQ(get_le(b, ch, 4), 2u);
    EXPECT_EQ(get_le(b, ch + 4, 4), 5u);
    EXPECT_EQ(std::string(b.begin() + static_cast<std::ptrdiff_t>(ch) + 8, b.begin() + static_cast<std::ptrdiff_t>(ch) + 13),
              "pings");
    EXPECT_EQ(get_le(b, ch + 13, 4), 4u);
    EXPECT_EQ(get_le(b, ch + 17 + 4 + 7, 4), kMaxChannelCapacity);  // "results"
    EXPECT_EQ(section_size(b, kChannelsSection), 4u + (4 + 5 + 4) + (4 + 7 + 4));
    const std::size_t bar = section_offset(b, kBarriersSection);
    EXPECT_EQ(get_le(b, bar, 4), 1u);
    EXPECT_EQ(get_le(b, bar + 4 + 4 + 4, 4), 2u);  // "step": 2 parties
    EXPECT_EQ(section_size(b, kBarriersSection), 4u + (4 + 4 + 4));
    // Not optional: a reader that does not know them must refuse the file.
    EXPECT_EQ(get_le(b, entry_at(b, kChannelsSection) + 2, 2), 0u);
    EXPECT_EQ(get_le(b, entry_at(b, kBarriersSection) + 2, 2), 0u);
}

TEST(ModuleIo, ChannelsAndBarriersAreLengthChecked) {
    const Bytes b = write_module(procs_module());
    for (std::size_t n = 0; n < b.size(); ++n) {
        Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
        ASSERT_FALSE(load_module(cut).ok()) << "truncated to " << n << " bytes";
    }
    for (std::uint16_t id : {kChannelsSection, kBarriersSection}) {
        Bytes bad = b;
        put_le(bad, section_offset(b, id), 0xFFFFFFFF, 4);
        EXPECT_NE(read_error(bad).find("4294967295 entries need at least 34359738360 bytes"), std::string::npos)
            << read_error(bad);
        bad = b;
        put_le(bad, section_offset(b, id) + 4, 1000, 4);  // the first name's length
        EXPECT_NE(read_error(bad).find(id == kChannelsSection ? "channel 0: name: 1000 bytes run past the end"
                                                              : "barrier 0: name: 1000 bytes run past the end"),
                  std::string::npos)
            << read_error(bad);
        bad = b;  // one entry fewer than the bytes hold
        put_le(bad, section_offset(b, id), id == kChannelsSection ? 1 : 0, 4);
        EXPECT_NE(read_error(bad).find("unexpected bytes after the last field of the section"), std::string::npos)
            << read_error(bad);
    }
    // The bytes are fine, the value is not: the verifier says so.
    Bytes zero = b;
    put_le(zero, section_offset(b, kChannelsSection) + 13, 0, 4);
    ASSERT_TRUE(read_module(sealed(zero)).ok());
    Result<Module> refused = load_module(sealed(zero));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "channel 'pings': capacity 0 is out of range (1..1048576)");
}

// A 3.6 file (before procedures said where they may run) has no
// proc-requirements section and reads with none.
TEST(ModuleIo, A36ModuleIsRead) {
    for (const Module& m : {tiny_module(), full_module(), procs_module()}) {
        Bytes old = write_module(m);
        ASSERT_EQ(entry_at(old, kProcRequirementsSection), 0u);  // absent
        put_le(old, 6, 6, 2);
        Result<Module> back = load_module(sealed(old));
        ASSERT_TRUE(back.ok()) << back.error();
        EXPECT_EQ(back.value(), m);
    }
}

// Procedure requirements (section 17), format 3.7: a u32 count, then per
// procedure that has some (or, 3.8, `.launches cluster`), in procedure
// order: u32 index, u8 gpu, u8 launches-cluster (3.8; reserved before),
// two reserved bytes, u64 memory, the node's name; written only when a
// procedure has some, and not optional.
TEST(ModuleIo, ProcRequirementsLayout) {
    const Bytes b = write_module(placed_procs_module());
    EXPECT_EQ(get_le(b, 6, 2), 8u);
    ASSERT_NE(entry_at(b, kProcRequirementsSection), 0u);
    EXPECT_EQ(get_le(b, entry_at(b, kProcRequirementsSection) + 2, 2), 0u);  // not optional
    const std::size_t at = section_offset(b, kProcRequirementsSection);
    EXPECT_EQ(get_le(b, at, 4), 1u);       // one entry
    EXPECT_EQ(get_le(b, at + 4, 4), 0u);   // procedure 0, worker
    EXPECT_EQ(get_le(b, at + 8, 1), 1u);   // gpu
    EXPECT_EQ(get_le(b, at + 9, 3), 0u);   // reserved
    EXPECT_EQ(get_le(b, at + 12, 8), std::uint64_t{4} << 30);
    EXPECT_EQ(get_le(b, at + 20, 4), 4u);  // "box3"
    EXPECT_EQ(std::string(b.begin() + static_cast<std::ptrdiff_t>(at) + 24, b.begin() + static_cast<std::ptrdiff_t>(at) + 28),
              "box3");
    EXPECT_EQ(section_size(b, kProcRequirementsSection), 4u + 20 + 4);
    // The same module without them has no such section: its other bytes are as in 3.6.
    EXPECT_EQ(entry_at(write_module(procs_module()), kProcRequirementsSection), 0u);
}

// `.launches cluster` alone is an entry too (3.8): its flag byte set, no requirement.
TEST(ModuleIo, LaunchesClusterIsAnEntryOfItsOwn) {
    Module m = procs_module();
    m.procs[0].launches_cluster = true;
    const Bytes b = write_module(m);
    const std::size_t at = section_offset(b, kProcRequirementsSection);
    ASSERT_NE(entry_at(b, kProcRequirementsSection), 0u);
    EXPECT_EQ(get_le(b, at, 4), 1u);
    EXPECT_EQ(get_le(b, at + 4, 4), 0u);
    EXPECT_EQ(get_le(b, at + 8, 1), 0u);  // no gpu
    EXPECT_EQ(get_le(b, at + 9, 1), 1u);  // launches over the cluster
    EXPECT_EQ(get_le(b, at + 10, 2), 0u);
    auto back = load_module(b);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_TRUE(back.value().procs[0].launches_cluster);
    EXPECT_FALSE(back.value().procs[0].requirements.any());
    EXPECT_FALSE(back.value().procs[1].launches_cluster);
    EXPECT_EQ(back.value(), m);
    Bytes bad = b;
    put_le(bad, at + 9, 2, 1);
    EXPECT_NE(read_error(bad).find("entry 0: launches-cluster flag is 2, not 0 or 1"), std::string::npos) << read_error(bad);
    put_le(bad, at + 9, 0, 1);  // then nothing is left in the entry
    EXPECT_NE(read_error(bad).find("entry 0: procedure 0 has an entry with no requirement and no .launches (leave it out)"), std::string::npos)
        << read_error(bad);
}

TEST(ModuleIo, ProcRequirementsAreChecked) {
    Module two = placed_procs_module();
    two.procs[1].requirements.min_memory = 1;  // main too: a second entry, for the order checks
    const Bytes b = write_module(two);
    ASSERT_TRUE(load_module(b).ok()) << load_module(b).error();
    for (std::size_t n = 0; n < b.size(); ++n) {
        Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
        ASSERT_FALSE(load_module(cut).ok()) << "truncated to " << n << " bytes";
    }
    const std::size_t at = section_offset(b, kProcRequirementsSection);
    const std::size_t second = at + 4 + 20 + 4;  // entry 1
    auto error_after = [&](std::size_t offset, std::uint64_t value, int bytes) {
        Bytes bad = b;
        put_le(bad, offset, value, bytes);
        return read_error(bad);
    };
    EXPECT_NE(error_after(at, 0xFFFFFFFF, 4).find("4294967295 entries need at least 85899345900 bytes"),
              std::string::npos);
    EXPECT_NE(error_after(at + 4, 2, 4).find("entry 0: procedure index 2 names no procedure (there are 2)"),
              std::string::npos)
        << error_after(at + 4, 2, 4);
    EXPECT_NE(error_after(second, 0, 4).find("entry 1: procedure index 0 does not follow the previous entry's (0): "
                                             "entries are in procedure order, one per procedure"),
              std::string::npos)
        << error_after(second, 0, 4);
    EXPECT_NE(error_after(at + 8, 2, 1).find("entry 0: requires-gpu flag is 2, not 0 or 1"), std::string::npos);
    EXPECT_NE(error_after(at + 9, 2, 1).find("entry 0: launches-cluster flag is 2, not 0 or 1"), std::string::npos);
    EXPECT_NE(error_after(at + 10, 1, 2).find("entry 0: reserved field is 0x1, must be 0"), std::string::npos);
    EXPECT_NE(error_after(at + 20, 1000, 4).find("entry 0: node name: 1000 bytes run past the end"), std::string::npos);
    EXPECT_NE(error_after(second + 8, 0, 8).find("entry 1: procedure 1 has an entry with no requirement and no .launches (leave it out)"),
              std::string::npos)
        << error_after(second + 8, 0, 8);
    EXPECT_NE(error_after(at, 1, 4).find("unexpected bytes after the last field of the section"), std::string::npos);
    // The bytes are fine, the value is not: the verifier says so.
    Module long_name = placed_procs_module();
    long_name.procs[0].requirements.node = std::string(kMaxNodeNameBytes + 1, 'n');
    const Bytes named = write_module(long_name);
    ASSERT_TRUE(read_module(named).ok());
    Result<Module> refused = load_module(named);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), "proc 'worker': .requires node: the name has 256 bytes, more than 255");
}

TEST(ModuleIo, SectionBoundsAreChecked) {
    const Bytes b = write_module(tiny_module());
    const std::size_t code = entry_at(b, kCodeSection);
    const std::uint64_t offset = section_offset(b, kCodeSection);
    const std::string where = "section 'code' at offset 0x" + (std::stringstream() << std::hex << offset).str();

    Bytes bad = b;
    put_le(bad, code + 16, 4096, 8);
    EXPECT_EQ(read_error(bad), where + ": size 4096 runs past the end of the file (" + std::to_string(b.size()) +
                                   " bytes)");
    bad = b;  // an offset + size that wraps around 2^64
    put_le(bad, code + 16, ~std::uint64_t{0} - 3, 8);
    EXPECT_NE(read_error(bad).find("runs past the end of the file"), std::string::npos);
    bad = b;
    put_le(bad, code + 8, ~std::uint64_t{0}, 8);
    EXPECT_NE(read_error(bad).find("runs past the end of the file"), std::string::npos);
    bad = b;  // into the section table
    put_le(bad, code + 8, 20, 8);
    EXPECT_EQ(read_error(bad), "section 'code' at offset 0x14: starts before the end of the previous section (" +
                                   ("0x" + (std::stringstream() << std::hex << section_offset(b, kModuleSection) +
                                                                          section_size(b, kModuleSection))
                                               .str()) +
                                   ")");
    bad = b;  // not a whole number of words
    put_le(bad, code + 16, 20, 8);
    EXPECT_EQ(read_error(bad), where + ", byte 0x" + (std::stringstream() << std::hex << offset).str() +
                                   ": size 20 is not a multiple of 8 (the size of one instruction word)");
    bad = b;
    put_le(bad, code + 2, 6, 2);
    EXPECT_EQ(read_error(bad), where + ": unknown flags 0x6 (only bit 0, optional, is defined)");
    bad = b;  // two code sections
    put_le(bad, entry_at(b, kLinesSection), kCodeSection, 2);
    EXPECT_NE(read_error(bad).find(": a second 'code' section"), std::string::npos);
}

TEST(ModuleIo, UnknownSectionsAreSkippedOnlyWhenOptional) {
    Bytes b = write_module(tiny_module());
    const std::size_t labels = entry_at(b, kLabelsSection);
    put_le(b, labels, 99, 2);  // pretend the labels section is a future section
    put_le(b, labels + 2, 1, 2);
    Result<Module> r = load_module(sealed(b));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r.value().labels.empty());
    EXPECT_EQ(r.value().code, tiny_module().code);
    put_le(b, labels + 2, 0, 2);
    EXPECT_NE(read_error(b).find("unknown section id 99 is not marked optional"), std::string::npos) << read_error(b);
}

// The source-files section: only a program of several files has one, and its
// file indices must name a file and match the line tables.
TEST(ModuleIo, SourceFilesNameEachLinesFile) {
    EXPECT_EQ(get_le(write_module(full_module()), 8, 4), 12u);
    const Module m = several_files_module();
    const Bytes b = write_module(m);
    ASSERT_EQ(get_le(b, 8, 4), 13u);
    Result<Module> back = load_module(b);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(source_file_of(back.value(), back.value().lines[0]), "lib/square.pasm");
    EXPECT_EQ(source_file_of(back.value(), back.value().kernels[0].lines[0]), "lib/kernels.pasm");
    EXPECT_EQ(source_file_of(back.value(), back.value().lines[2]), m.source_file);

    const std::size_t entry = entry_at(b, 13);
    const std::size_t offset = get_le(b, entry + 8, 8);
    // After the two names: the procedure line files' count, then index 0.
    const std::size_t names = 4 + (4 + 15) + (4 + 16);
    Bytes bad = b;
    put_le(bad, offset + names + 4, 3, 4);
    EXPECT_NE(read_error(bad).find("file index 3 names no file (there are 3)"), std::string::npos) << read_error(bad);
    bad = b;
    put_le(bad, offset + names, 1, 4);
    EXPECT_NE(read_error(bad).find("is neither 0 nor the size of the procedure line table"), std::string::npos)
        << read_error(bad);
}

TEST(ModuleIo, CountsCannotCauseHugeAllocations) {
    const Bytes b = write_module(full_module());
    for (std::uint16_t id : {kProcsSection, kStringsSection, kRegionsSection, kKernelsSection, kLaunchesSection,
                             kLabelsSection}) {
        Bytes bad = b;
        put_le(bad, section_offset(b, id), 0xFFFFFFFF, 4);
        std::string e = read_error(bad);
        EXPECT_NE(e.find("4294967295 entries need at least"), std::string::npos) << e;
    }
    // A region whose data size claims 2^63 bytes.
    Bytes bad = b;
    const std::size_t region0 = section_offset(b, kRegionsSection) + 4;
    const std::size_t data_size = region0 + 4 + 2 /* "xs" */ + 4 + 8 * 5;
    ASSERT_EQ(get_le(bad, data_size, 8), 0u);
    put_le(bad, data_size, std::uint64_t{1} << 63, 8);
    std::string e = read_error(bad);
    EXPECT_NE(e.find("region 0: data: 9223372036854775808 bytes run past the end of the section"), std::string::npos)
        << e;
    // A string length past the section.
    bad = b;
    put_le(bad, section_offset(b, kModuleSection), 1000000, 4);
    EXPECT_NE(read_error(bad).find("module name: 1000000 bytes run past the end of the section"), std::string::npos);
}

TEST(ModuleIo, FieldsAreCanonical) {
    const Bytes b = write_module(full_module());
    const std::size_t region0 = section_offset(b, kRegionsSection) + 4;
    Bytes bad = b;
    bad[region0 + 6] = 9;  // element type
    EXPECT_NE(read_error(bad).find("region 0: element type 9 is not valid (0..5)"), std::string::npos)
        << read_error(bad);
    bad = b;
    bad[region0 + 7] = 5;  // initializer kind
    EXPECT_NE(read_error(bad).find("region 0: initializer kind 5 is not valid"), std::string::npos);
    bad = b;
    bad[region0 + 8] = 2;  // the distributed flag
    EXPECT_NE(read_error(bad).find("region 0: distributed flag is 2, not 0 or 1"), std::string::npos)
        << read_error(bad);
    bad = b;
    bad[region0 + 9] = 1;  // reserved
    EXPECT_NE(read_error(bad).find("region 0: reserved field is 0x1, must be 0"), std::string::npos);
    bad = b;
    const std::size_t kernel0 = section_offset(b, kKernelsSection) + 4;
    bad[kernel0 + 4 + 5] = 2;  // requires-gpu flag of "saxpy"
    EXPECT_NE(read_error(bad).find("kernel 0: requires-gpu flag is 2, not 0 or 1"), std::string::npos)
        << read_error(bad);
    bad = b;  // a trailing byte inside a section
    Bytes grown = b;
    const std::size_t labels_entry = entry_at(b, kLabelsSection);
    grown.push_back(0);
    put_le(grown, labels_entry + 16, section_size(b, kLabelsSection) + 1, 8);
    EXPECT_NE(read_error(grown).find("1 unexpected bytes after the last field of the section"), std::string::npos);
}

}  // namespace
}  // namespace polymer
