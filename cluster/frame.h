// The wire frame (docs/protocol.md): a fixed 32-byte little-endian header
// followed by the payload.
//
//   0      4        6      8       12            20            24         28        32
//   +------+--------+------+-------+-------------+-------------+----------+---------+
//   | magic| version| type | flags | request id  | payload len | reserved | crc32   |
//   | PLYN |  u16   | u16  |  u32  |    u64      |    u32      |  u32 =0  |  u32    |
//   +------+--------+------+-------+-------------+-------------+----------+---------+
//
// crc32 (the CRC-32 of zlib and gzip, computed with ISA-L's folding code at
// tens of GB/s so it never limits a transfer) covers header bytes [0, 28) and
// then the payload, so a flipped bit anywhere in a frame is caught before the
// payload is used.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace polymer::cluster {

inline constexpr std::uint32_t kFrameMagic = 0x4E594C50;  // "PLYN" on the wire
inline constexpr std::uint16_t kProtocolVersion = 14;  // 2: kernel faults and the step budget in launch / chunk-result; 3: nodes that dial the home (handshake labels); 4: 64-bit uniforms in launch (wide kernels); 5: keep_outputs in launch (outputs stay on the node); 6: node-to-node transfers (peer_port in welcome, halo fetches in launch, peer-ticket and peer-access; vector-chunk: vector ops on the nodes); 7: procedures on the nodes (proc-start, proc-event, proc-answer); 8: vscan pieces in vector-chunk (a carry in and out) and vmatmul pieces of rows; 9: region lengths in proc-event and proc-answer (alloc and free in procedures on the nodes); 10: region-drop (a node frees what its home forgot) and the other nodes in proc-start (.launches cluster); 11: rounds in launch and the fault's round in chunk-result (a loop of launches run as rounds); 12: channels kept on nodes (chan-keep, chan-keeper, chan-frame, chan-snapshot; the node's number, the nodes and the keepers in proc-start; clocks in proc-event and proc-answer); 13: credits for channels kept on nodes (chan-frame kinds send-on-credit, credit, revoke, return, accepted-on-credit); 14: chan-inbox (a node's chan-frames to another on a connection of their own)
inline constexpr std::size_t kFrameHeaderSize = 32;
// The largest payload a peer accepts; bigger region transfers are split.
inline constexpr std::uint32_t kMaxPayload = 64u << 20;
// The largest region slice one frame carries (leaves room for the fields around it).
inline constexpr std::uint32_t kMaxSliceBytes = 16u << 20;

enum class MsgType : std::uint16_t {
    Hello = 1,           // client -> node: version, name
    Challenge = 2,       // node -> client: node nonce
    Response = 3,        // client -> node: HMAC, client nonce
    Welcome = 4,         // node -> client: node proof, capabilities
    Heartbeat = 5,       // both ways, empty
    HaveModule = 6,      // module hash -> HaveModuleReply
    HaveModuleReply = 7, // flag
    ModuleUpload = 8,    // hash, .pbc bytes -> Ack
    Ack = 9,             // empty: the request succeeded
    RegionPut = 10,      // id, version, total bytes, offset, bytes -> Ack
    RegionGet = 11,      // id, version, offset, length -> RegionData
    RegionData = 12,     // id, version, offset, bytes
    Launch = 13,         // module hash, kernel, range, bindings -> ChunkResult
    ChunkResult = 14,    // output slices
    Cancel = 15,         // request id of a launch -> Ack
    Error = 16,          // code, message
    Goodbye = 17,        // node -> client: the node is shutting down
    PeerTicket = 18,     // home -> node: ticket that lets the home's other nodes read its regions here -> Ack
    PeerAccess = 19,     // node -> node, after the handshake: a home's ticket -> Ack (the connection may then region-get that home's regions)
    VectorChunk = 20,    // op, range, operand regions, scalars -> VectorChunkResult (vector ops where their regions are)
    VectorChunkResult = 21,  // a reduction's partials (nothing for an element-wise op: dst stays on the node)
    ProcStart = 22,      // home -> node: module hash, AwayStart -> a stream of ProcEvent with its request id (vm/procs/away.h)
    ProcEvent = 23,      // node -> home: one AwayEvent of the procedure that request started
    ProcAnswer = 24,     // home -> node, with the proc-start's request id: one AwayAnswer; no reply
    RegionDrop = 25,     // home -> node: region ids the home will not use again (freed, reallocated); no reply
    ChanKeep = 26,       // home -> node: keep this channel from now on; opens the node's channel stream (chan-frames to the home)
    ChanKeeper = 27,     // home -> node: a channel is kept by that node; no reply
    ChanFrame = 28,      // a channel's send, want, accepted or deliver, between a keeper and its users (node to node, home and node)
    ChanSnapshot = 29,   // home -> node -> ChanSnapshotReply: who waits at keepers here, channel frames sent and taken
    ChanSnapshotReply = 30,
    ChanInbox = 31,      // node -> node, after peer-access: from now on this connection carries only chan-frames (and heartbeats), read by the procedures' own threads
};
const char* msg_type_name(MsgType t);
bool is_known_msg_type(std::uint16_t t);

struct FrameHeader {
    std::uint16_t version = kProtocolVersion;
    MsgType type = MsgType::Heartbeat;
    std::uint32_t flags = 0;  // no flags are defined in version 1: must be 0
    std::uint64_t request_id = 0;
    std::uint32_t payload_length = 0;
    std::uint32_t checksum = 0;
};

struct Frame {
    MsgType type = MsgType::Heartbeat;
    std::uint64_t request_id = 0;
    std::vector<std::uint8_t> payload;
    // A landed frame (connection.h, Landing): `payload` holds only the head,
    // the rest of the payload is already in its final storage, here.
    std::span<const std::uint8_t> landed;
};

// The running checksum of one frame: header bytes [0, 28), then the payload
// in as many pieces as it arrives or leaves in.
class FrameCrc {
public:
    explicit FrameCrc(std::span<const std::uint8_t> header28);
    void add(std::span<const std::uint8_t> bytes);
    std::uint32_t value() const { return crc_; }

private:
    std::uint32_t crc_ = 0;
};

// Why a header or frame was refused; the node answers each with an error code.
enum class FrameFault { None, BadMagic, BadVersion, BadFlags, BadReserved, UnknownType, TooLarge, BadChecksum };

struct HeaderCheck {
    FrameFault fault = FrameFault::None;
    std::string message;  // one line naming what and where
    FrameHeader header;
};

// Encodes the 32 header bytes of a frame whose payload is `payload` followed
// by `tail` (a region slice sent from where it lies), checksum included.
std::array<std::uint8_t, kFrameHeaderSize> encode_header(MsgType type, std::uint64_t request_id,
                                                         std::span<const std::uint8_t> payload,
                                                         std::span<const std::uint8_t> tail = {},
                                                         std::uint16_t version = kProtocolVersion);

// Encodes a whole frame (header + payload) with its checksum. `version` is
// only overridden by tests that send a wrong one.
std::vector<std::uint8_t> encode_frame(const Frame& f, std::uint16_t version = kProtocolVersion);

// Decodes and checks the 32 header bytes (magic, version, flags, reserved,
// type, size limit). The checksum needs the payload: see check_payload.
HeaderCheck decode_header(std::span<const std::uint8_t, kFrameHeaderSize> bytes);

// Verifies the checksum of a header + payload pair.
bool checksum_matches(std::span<const std::uint8_t, kFrameHeaderSize> header, std::span<const std::uint8_t> payload,
                      std::uint32_t expected);

}  // namespace polymer::cluster
