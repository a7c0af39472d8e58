#include "cluster/frame.h"

#include <isa-l/crc.h>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

const char* msg_type_name(MsgType t) {
    switch (t) {
    case MsgType::Hello: return "hello";
    case MsgType::Challenge: return "challenge";
    case MsgType::Response: return "response";
    case MsgType::Welcome: return "welcome";
    case MsgType::Heartbeat: return "heartbeat";
    case MsgType::HaveModule: return "have-module";
    case MsgType::HaveModuleReply: return "have-module-reply";
    case MsgType::ModuleUpload: return "module-upload";
    case MsgType::Ack: return "ack";
    case MsgType::RegionPut: return "region-put";
    case MsgType::RegionGet: return "region-get";
    case MsgType::RegionData: return "region-data";
    case MsgType::Launch: return "launch";
    case MsgType::ChunkResult: return "chunk-result";
    case MsgType::Cancel: return "cancel";
    case MsgType::Error: return "error";
    case MsgType::Goodbye: return "goodbye";
    case MsgType::PeerTicket: return "peer-ticket";
    case MsgType::PeerAccess: return "peer-access";
    case MsgType::VectorChunk: return "vector-chunk";
    case MsgType::VectorChunkResult: return "vector-chunk-result";
    case MsgType::ProcStart: return "proc-start";
    case MsgType::ProcEvent: return "proc-event";
    case MsgType::ProcAnswer: return "proc-answer";
    case MsgType::RegionDrop: return "region-drop";
    case MsgType::ChanKeep: return "chan-keep";
    case MsgType::ChanKeeper: return "chan-keeper";
    case MsgType::ChanFrame: return "chan-frame";
    case MsgType::ChanSnapshot: return "chan-snapshot";
    case MsgType::ChanSnapshotReply: return "chan-snapshot-reply";
    case MsgType::ChanInbox: return "chan-inbox";
    }
    return "unknown";
}

bool is_known_msg_type(std::uint16_t t) {
    return t >= static_cast<std::uint16_t>(MsgType::Hello) && t <= static_cast<std::uint16_t>(MsgType::ChanInbox);
}

namespace {

// The header's little-endian fields, at fixed offsets.
template <class T>
void put_le(std::array<std::uint8_t, kFrameHeaderSize>& out, std::size_t at, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
template <class T>
T get_le(std::span<const std::uint8_t, kFrameHeaderSize> in, std::size_t at) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(in[at + i]) << (8 * i));
    return v;
}

std::uint32_t crc_of(std::span<const std::uint8_t> header28, std::span<const std::uint8_t> payload,
                     std::span<const std::uint8_t> tail = {}) {
    FrameCrc crc(header28);
    crc.add(payload);
    crc.add(tail);
    return crc.value();
}

}  // namespace

FrameCrc::FrameCrc(std::span<const std::uint8_t> header28) { add(header28); }

// ISA-L's 128-bit PCLMUL version, which its dispatcher (crc32_gzip_refl)
// passes over on CPUs with AVX-512 for its 512-bit one. Not in its header:
// declared weak, so a library without it leaves it null (the dispatcher then).
extern "C" [[gnu::weak]] unsigned int crc32_gzip_refl_by8(unsigned int crc, const unsigned char* bytes, std::uint64_t length);

namespace {
// Small pieces (a chan-frame, a header) go to the 128-bit version: on a CPU
// with AVX-512 the dispatcher's 512-bit version stalls the core ~0.2 us
// around its first 512-bit instruction after a pause (the code right after
// it measured 0.23 us instead of 0.02), more than such a piece's whole
// checksum costs; a message between procedures met it twice a hop (a
// node-to-node round trip 15.8 -> 13.7 us; docs/benchmarks.md, "Procedures
// on nodes"). Bulk data keeps the widest version.
constexpr std::size_t kSmallPiece = 1024;
using CrcFunction = unsigned int (*)(unsigned int, const unsigned char*, std::uint64_t);
CrcFunction small_piece_crc() {
    static const CrcFunction chosen = [] {
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (crc32_gzip_refl_by8 != nullptr && __builtin_cpu_supports("pclmul")) return CrcFunction{crc32_gzip_refl_by8};
#endif
        return CrcFunction{crc32_gzip_refl};
    }();
    return chosen;
}
}  // namespace

void FrameCrc::add(std::span<const std::uint8_t> bytes) {
    // Same polynomial, reflection and chaining as zlib's crc32().
    if (bytes.empty()) return;
    crc_ = bytes.size() < kSmallPiece ? small_piece_crc()(crc_, bytes.data(), bytes.size())
                                      : crc32_gzip_refl(crc_, bytes.data(), bytes.size());
}

std::array<std::uint8_t, kFrameHeaderSize> encode_header(MsgType type, std::uint64_t request_id,
                                                         std::span<const std::uint8_t> payload,
                                                         std::span<const std::uint8_t> tail, std::uint16_t version) {
    // Field by field into the array: this runs twice per round trip, where a
    // growing ByteWriter's allocations showed up next to the system calls.
    std::array<std::uint8_t, kFrameHeaderSize> out{};
    put_le(out, 0, kFrameMagic);
    put_le(out, 4, version);
    put_le(out, 6, static_cast<std::uint16_t>(type));
    put_le(out, 8, std::uint32_t{0});  // flags
    put_le(out, 12, request_id);
    put_le(out, 20, static_cast<std::uint32_t>(payload.size() + tail.size()));
    put_le(out, 24, std::uint32_t{0});  // reserved
    put_le(out, 28, crc_of(std::span<const std::uint8_t>(out).first(28), payload, tail));
    return out;
}

std::vector<std::uint8_t> encode_frame(const Frame& f, std::uint16_t version) {
    const auto header = encode_header(f.type, f.request_id, f.payload, {}, version);
    std::vector<std::uint8_t> out(kFrameHeaderSize + f.payload.size());
    std::copy(header.begin(), header.end(), out.begin());
    std::copy(f.payload.begin(), f.payload.end(), out.begin() + kFrameHeaderSize);
    return out;
}

HeaderCheck decode_header(std::span<const std::uint8_t, kFrameHeaderSize> bytes) {
    HeaderCheck c;
    const auto magic = get_le<std::uint32_t>(bytes, 0);
    c.header.version = get_le<std::uint16_t>(bytes, 4);
    const auto type = get_le<std::uint16_t>(bytes, 6);
    c.header.flags = get_le<std::uint32_t>(bytes, 8);
    c.header.request_id = get_le<std::uint64_t>(bytes, 12);
    c.header.payload_length = get_le<std::uint32_t>(bytes, 20);
    const auto reserved = get_le<std::uint32_t>(bytes, 24);
    c.header.checksum = get_le<std::uint32_t>(bytes, 28);
    c.header.type = static_cast<MsgType>(type);
    auto refuse = [&](FrameFault f, std::string m) {
        c.fault = f;
        c.message = std::move(m);
        return c;
    };
    // A TLS record (type 0x16 handshake, version 0x03..): a --tls peer meeting a plain one.
    if (bytes[0] == 0x16 && bytes[1] == 0x03)
        return refuse(FrameFault::BadMagic, "frame header: this is a TLS handshake, not a polymer frame: the peer uses --tls and this side does not (give both sides --tls, or neither)");
    if (magic != kFrameMagic) return refuse(FrameFault::BadMagic, cat("frame header: magic is ", pbc::Hex{magic}, ", not ", pbc::Hex{kFrameMagic}, " (not a polymer peer?)"));
    if (c.header.version != kProtocolVersion)
        return refuse(FrameFault::BadVersion, cat("frame header: protocol version ", c.header.version, " is not supported (this node speaks version ", kProtocolVersion, ")"));
    if (c.header.flags != 0) return refuse(FrameFault::BadFlags, cat("frame header: flags are ", pbc::Hex{c.header.flags}, ", must be 0 in version 1"));
    if (reserved != 0) return refuse(FrameFault::BadReserved, cat("frame header: reserved field is ", pbc::Hex{reserved}, ", must be 0"));
    if (!is_known_msg_type(type)) return refuse(FrameFault::UnknownType, cat("frame header: unknown message type ", type));
    if (c.header.payload_length > kMaxPayload)
        return refuse(FrameFault::TooLarge, cat("frame header: payload of ", c.header.payload_length, " bytes is over the limit of ", kMaxPayload, " bytes"));
    return c;
}

bool checksum_matches(std::span<const std::uint8_t, kFrameHeaderSize> header, std::span<const std::uint8_t> payload,
                      std::uint32_t expected) {
    return crc_of(header.first(28), payload) == expected;
}

}  // namespace polymer::cluster
