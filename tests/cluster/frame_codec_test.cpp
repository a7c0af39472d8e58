#include <gtest/gtest.h>

#include <cmath>

#include "cluster/frame.h"
#include "cluster/messages.h"

using namespace polymer::cluster;

namespace {
std::span<const std::uint8_t, kFrameHeaderSize> header_of(const std::vector<std::uint8_t>& b) {
    return std::span<const std::uint8_t, kFrameHeaderSize>(b.data(), kFrameHeaderSize);
}
}  // namespace

TEST(FrameCodec, RoundTripsHeaderAndPayload) {
    Frame f{MsgType::RegionPut, 0x1122334455667788ull, {1, 2, 3, 4, 5}};
    auto bytes = encode_frame(f);
    ASSERT_EQ(bytes.size(), kFrameHeaderSize + 5);
    // Fixed little-endian layout: magic "PLYN", the version, type 10.
    EXPECT_EQ(bytes[0], 'P');
    EXPECT_EQ(bytes[3], 'N');
    EXPECT_EQ(bytes[4], kProtocolVersion);
    EXPECT_EQ(bytes[6], 10);
    EXPECT_EQ(bytes[12], 0x88);
    HeaderCheck c = decode_header(header_of(bytes));
    ASSERT_EQ(c.fault, FrameFault::None) << c.message;
    EXPECT_EQ(c.header.type, MsgType::RegionPut);
    EXPECT_EQ(c.header.request_id, 0x1122334455667788ull);
    EXPECT_EQ(c.header.payload_length, 5u);
    std::span<const std::uint8_t> payload(bytes.data() + kFrameHeaderSize, 5);
    EXPECT_TRUE(checksum_matches(header_of(bytes), payload, c.header.checksum));
}

// Small pieces and bulk ones take different versions of ISA-L's CRC-32
// (frame.cpp): both must give zlib's crc32, whatever the pieces.
TEST(FrameCodec, TheChecksumIsTheSameHoweverTheBytesArriveInPieces) {
    const std::string check = "123456789";  // CRC-32's check value: 0xCBF43926
    EXPECT_EQ(FrameCrc(std::span(reinterpret_cast<const std::uint8_t*>(check.data()), check.size())).value(), 0xCBF43926u);
    std::vector<std::uint8_t> bytes(70000);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 131 + (i >> 9));
    const std::uint32_t whole = FrameCrc(bytes).value();
    for (std::size_t piece : {1u, 28u, 100u, 1023u, 1024u, 4096u, 65536u}) {
        const std::span<const std::uint8_t> all(bytes);
        FrameCrc crc(all.first(std::min(piece, all.size())));
        for (std::size_t at = std::min(piece, all.size()); at < all.size(); at += piece)
            crc.add(all.subspan(at, std::min(piece, all.size() - at)));
        EXPECT_EQ(crc.value(), whole) << "pieces of " << piece;
    }
}

TEST(FrameCodec, EveryFlippedBitIsCaught) {
    auto bytes = encode_frame(Frame{MsgType::Heartbeat, 9, {10, 20, 30}});
    for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
        auto b = bytes;
        b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        HeaderCheck c = decode_header(header_of(b));
        if (c.fault != FrameFault::None) continue;  // refused by a header check
        std::span<const std::uint8_t> payload(b.data() + kFrameHeaderSize, b.size() - kFrameHeaderSize);
        if (c.header.payload_length != payload.size()) continue;  // length changed: framing differs
        EXPECT_FALSE(checksum_matches(header_of(b), payload, c.header.checksum)) << "bit " << bit;
    }
}

TEST(FrameCodec, RefusesBadHeaders) {
    auto good = encode_frame(Frame{MsgType::Hello, 1, {}});
    auto with = [&](std::size_t at, std::uint8_t v) {
        auto b = good;
        b[at] = v;
        return decode_header(header_of(b));
    };
    EXPECT_EQ(with(0, 'X').fault, FrameFault::BadMagic);
    HeaderCheck v = with(4, kProtocolVersion + 1);
    EXPECT_EQ(v.fault, FrameFault::BadVersion);
    EXPECT_NE(v.message.find("version " + std::to_string(kProtocolVersion + 1) + " is not supported"), std::string::npos)
        << v.message;
    EXPECT_EQ(with(6, 99).fault, FrameFault::UnknownType);
    EXPECT_EQ(with(6, 0).fault, FrameFault::UnknownType);
    EXPECT_EQ(with(8, 1).fault, FrameFault::BadFlags);
    EXPECT_EQ(with(24, 1).fault, FrameFault::BadReserved);
    // Payload length kMaxPayload + 1 (0x04000001).
    auto b = good;
    b[20] = 1;
    b[21] = 0;
    b[22] = 0;
    b[23] = 4;
    HeaderCheck big = decode_header(header_of(b));
    EXPECT_EQ(big.fault, FrameFault::TooLarge);
    EXPECT_NE(big.message.find("over the limit"), std::string::npos);
    b[20] = 0;  // exactly the limit is fine
    EXPECT_EQ(decode_header(header_of(b)).fault, FrameFault::None);
}

TEST(Messages, RoundTripLaunchAndResult) {
    LaunchChunk l;
    l.module[3] = 0xAB;
    l.kernel = 2;
    l.count = 1000;
    l.begin = 100;
    l.end = 200;
    l.args = {Binding{Binding::Kind::Region, 7, 3, 0}, Binding{Binding::Kind::Uniform, 0, 0, 0x3F800000}};
    auto back = decode_launch(encode(l));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().module, l.module);
    EXPECT_EQ(back.value().end, 200u);
    ASSERT_EQ(back.value().args.size(), 2u);
    EXPECT_EQ(back.value().args[0].region, 7u);
    EXPECT_EQ(back.value().args[0].version, 3u);
    EXPECT_EQ(back.value().args[1].uniform, 0x3F800000u);

    ChunkResult r{123, {OutputSlice{2, 7, 400, {1, 2, 3, 4}}}};
    auto rb = decode_chunk_result(encode(r));
    ASSERT_TRUE(rb) << rb.error();
    EXPECT_EQ(rb.value().outputs[0].data, (Bytes{1, 2, 3, 4}));
    EXPECT_EQ(rb.value().outputs[0].offset, 400u);
    EXPECT_FALSE(rb.value().fault);
    // A chunk's kernel fault and the launch's step budget travel whole.
    r.fault = {polymer::KernelFault::Kind::BadIndex, 70000, 12, 3, -5, 1ull << 33};
    rb = decode_chunk_result(encode(r));
    ASSERT_TRUE(rb) << rb.error();
    EXPECT_EQ(rb.value().fault, r.fault);
    l.max_iterations = 12345;
    EXPECT_EQ(decode_launch(encode(l)).value().max_iterations, 12345u);
    EXPECT_FALSE(decode_launch(encode(l)).value().keep_outputs);
    Bytes bad_kind = encode(r);
    bad_kind[bad_kind.size() - 33] = 9;  // the fault's kind, before lane, pc, param, index, length and round
    auto refused = decode_chunk_result(bad_kind);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("fault kind is 9"), std::string::npos) << refused.error();
}

// keep_outputs (version 5) is the byte before the fetch count (version 6,
// four bytes) and the rounds (version 11, the last eight when there are no
// fetches): 0 or 1, nothing else.
TEST(Messages, LaunchKeepOutputsIsAFlagByte) {
    LaunchChunk l;
    l.args = {Binding{Binding::Kind::Region, 7, 3, 0}};
    l.keep_outputs = true;
    Bytes b = encode(l);
    auto back = decode_launch(b);
    ASSERT_TRUE(back) << back.error();
    EXPECT_TRUE(back.value().keep_outputs);
    EXPECT_EQ(back.value().args[0].region, 7u);
    const std::size_t keep_at = b.size() - 13;
    ASSERT_EQ(b[keep_at], 1);
    for (std::uint8_t v : {std::uint8_t{2}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
        b[keep_at] = v;
        auto bad = decode_launch(b);
        ASSERT_FALSE(bad) << "keep_outputs " << unsigned{v} << " accepted";
        EXPECT_NE(bad.error().find("keep outputs is " + std::to_string(v) + ", not 0 or 1"), std::string::npos) << bad.error();
    }
    // A version 5 launch (no fetch count) is truncated in version 6.
    b[keep_at] = 1;
    b.resize(b.size() - 12);
    auto short_one = decode_launch(b);
    ASSERT_FALSE(short_one);
    EXPECT_NE(short_one.error().find("fetches"), std::string::npos) << short_one.error();
}

// rounds (version 11): the launch's last eight bytes, at least 1; the
// chunk-result's fault round its last eight.
TEST(Messages, LaunchRoundsAndTheFaultsRoundTravel) {
    LaunchChunk l;
    l.args = {Binding{Binding::Kind::Region, 7, 3, 0}};
    EXPECT_EQ(decode_launch(encode(l)).value().rounds, 1u);
    l.rounds = 50;
    Bytes b = encode(l);
    auto back = decode_launch(b);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().rounds, 50u);
    for (std::size_t i = b.size() - 8; i < b.size(); ++i) b[i] = 0;
    auto zero = decode_launch(b);
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().find("rounds is 0"), std::string::npos) << zero.error();
    b.resize(b.size() - 8);  // a version 10 launch
    auto old = decode_launch(b);
    ASSERT_FALSE(old);
    EXPECT_NE(old.error().find("rounds"), std::string::npos) << old.error();

    ChunkResult r;
    r.fault = polymer::KernelFault{polymer::KernelFault::Kind::BadIndex, 5, 2, 0, 9, 4};
    r.fault_round = 41;
    auto rb = decode_chunk_result(encode(r));
    ASSERT_TRUE(rb) << rb.error();
    EXPECT_EQ(rb.value().fault, r.fault);
    EXPECT_EQ(rb.value().fault_round, 41u);
}

TEST(Messages, EveryTruncationIsRefusedWithItsField) {
    Welcome w;
    w.caps.name = "node";
    w.caps.backend = "cpu";
    w.caps.devices = {DeviceDesc{"llvmpipe", "cpu", 1 << 20}};
    const Bytes full = encode(w);
    ASSERT_TRUE(decode_welcome(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = decode_welcome(std::span<const std::uint8_t>(full.data(), n));
        ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
        EXPECT_NE(r.error().find("welcome payload"), std::string::npos) << r.error();
    }
    Bytes longer = full;
    longer.push_back(0);
    auto r = decode_welcome(longer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("unexpected bytes"), std::string::npos) << r.error();
}

TEST(Messages, HugeCountsDoNotAllocate) {
    // A region-put claiming a 2^64-1 byte slice in a 40-byte payload.
    RegionPut p{1, 1, 8, 0, {}};
    Bytes b = encode(p);
    for (int i = 32; i < 40; ++i) b[i] = 0xFF;
    auto r = decode_region_put(b);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("run past the end"), std::string::npos) << r.error();
    // A launch claiming 4 billion bindings (the binding count, then the u32
    // step budget, the u8 keep_outputs, the u32 fetch count and the u64 rounds).
    LaunchChunk l;
    Bytes lb = encode(l);
    for (std::size_t i = lb.size() - 21; i < lb.size() - 17; ++i) lb[i] = 0xFF;
    auto huge = decode_launch(lb);
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().find("bindings"), std::string::npos) << huge.error();
    // An unknown binding kind.
    l.args = {Binding{}};
    lb = encode(l);
    lb[lb.size() - 34] = 9;
    auto bad = decode_launch(lb);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("binding 0"), std::string::npos) << bad.error();
}

// vector-chunk and its result (version 6): fields travel whole; every prefix,
// a trailing byte, a slot past c or bound twice, an unknown element type and
// a count the payload cannot hold are refused, naming the field.
TEST(Messages, VectorChunkRoundTripsAndRefusesBadOperands) {
    VectorChunk v;
    v.op = 110;  // vsum
    v.length = 5000;
    v.begin = 1024;
    v.end = 4096;
    v.int_scalar = -7;
    v.float_scalar = 0.25;
    v.operands = {VectorOperand{1, 4, 77, 1ull << 62}, VectorOperand{0, 1, 78, 9}};
    const Bytes full = encode(v);
    auto back = decode_vector_chunk(full);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().op, 110);
    EXPECT_EQ(back.value().length, 5000u);
    EXPECT_EQ(back.value().begin, 1024u);
    EXPECT_EQ(back.value().end, 4096u);
    EXPECT_EQ(back.value().int_scalar, -7);
    EXPECT_EQ(back.value().float_scalar, 0.25);
    ASSERT_EQ(back.value().operands.size(), 2u);
    EXPECT_EQ(back.value().operands[0].slot, 1);
    EXPECT_EQ(back.value().operands[0].type, 4);
    EXPECT_EQ(back.value().operands[0].region, 77u);
    EXPECT_EQ(back.value().operands[0].version, 1ull << 62);
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = decode_vector_chunk(std::span<const std::uint8_t>(full.data(), n));
        ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
        EXPECT_NE(r.error().find("vector-chunk payload"), std::string::npos) << r.error();
    }
    Bytes longer = full;
    longer.push_back(0);
    EXPECT_FALSE(decode_vector_chunk(longer));

    auto refused_with = [&](VectorChunk m, const std::string& text) {
        auto r = decode_vector_chunk(encode(m));
        ASSERT_FALSE(r) << text;
        EXPECT_NE(r.error().find(text), std::string::npos) << r.error();
    };
    VectorChunk bad = v;
    bad.operands[1].slot = 4;
    refused_with(bad, "slot is 4");
    bad = v;
    bad.operands[1].slot = 1;
    refused_with(bad, "slot 1 is bound twice");
    bad = v;
    bad.operands[0].type = 200;
    refused_with(bad, "element type is 200");
    bad = v;
    bad.operands.assign(5, VectorOperand{});
    refused_with(bad, "more than the 4 slots");
    // 4 billion operands in a short payload: refused before anything is allocated.
    Bytes huge = encode(VectorChunk{});
    for (std::size_t i = huge.size() - 4; i < huge.size(); ++i) huge[i] = 0xFF;
    auto h = decode_vector_chunk(huge);
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().find("operands"), std::string::npos) << h.error();

    VectorChunkResult res{99, -3, {1.5, -0.0, 1e300}};
    const Bytes rb = encode(res);
    auto rback = decode_vector_chunk_result(rb);
    ASSERT_TRUE(rback) << rback.error();
    EXPECT_EQ(rback.value().kernel_ns, 99u);
    EXPECT_EQ(rback.value().int_value, -3);
    ASSERT_EQ(rback.value().values.size(), 3u);
    EXPECT_TRUE(std::signbit(rback.value().values[1]));
    EXPECT_EQ(rback.value().values[2], 1e300);
    for (std::size_t n = 0; n < rb.size(); ++n)
        ASSERT_FALSE(decode_vector_chunk_result(std::span<const std::uint8_t>(rb.data(), n))) << "prefix of " << n << " bytes accepted";
    Bytes many = encode(VectorChunkResult{});
    for (std::size_t i = many.size() - 4; i < many.size(); ++i) many[i] = 0xFF;
    auto m = decode_vector_chunk_result(many);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().find("values"), std::string::npos) << m.error();
}
