// Typed payloads of the protocol messages (docs/protocol.md, "Messages"):
// encode_* writes one, decode_* reads one with every length checked against
// the bytes present and refuses trailing bytes, naming the message and field.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cluster/auth.h"
#include "cluster/node_addresses.h"
#include "isa/result.h"
#include "vm/kernel_fault.h"
#include "vm/procs/away.h"

namespace polymer::cluster {

using Bytes = std::vector<std::uint8_t>;

enum class ErrorCode : std::uint32_t {
    BadFrame = 1,          // bad magic, flags, reserved field or message type
    VersionMismatch = 2,
    AuthFailed = 3,        // wrong HMAC: wrong token
    NotAuthenticated = 4,  // a request before the handshake finished
    BadPayload = 5,        // truncated or malformed payload
    BadModule = 6,         // module does not parse or fails verification, or hash mismatch
    UnknownModule = 7,
    UnknownRegion = 8,     // no such region id, or another version
    OutOfRange = 9,        // slice past the end of a region
    OutOfMemory = 10,      // over --max-memory
    BadLaunch = 11,        // bindings do not fit the kernel, bad range
    Cancelled = 12,
    ShuttingDown = 13,
    FrameTooLarge = 14,
    BadChecksum = 15,
    Unsupported = 16,      // the node's backend cannot run this
    PeerFetchFailed = 17,  // a launch's halo fetch from another node failed (the message names the node and why)
};
const char* error_code_name(ErrorCode c);

struct Hello {
    std::uint16_t version = 0;
    std::string name;
};
struct Challenge {
    Nonce node_nonce{};
};
struct Response {
    Mac mac{};
    Nonce client_nonce{};
};
struct DeviceDesc {
    std::string name;
    std::string type;  // "discrete", "integrated", "cpu", ...
    std::uint64_t memory_bytes = 0;
};
struct Capabilities {
    std::string name;
    std::string backend;               // "cpu"
    std::uint32_t cores = 0;
    std::uint64_t memory_bytes = 0;    // physical memory of the machine
    std::uint64_t max_memory = 0;      // what one home may hold there: min(--max-memory, --max-peer-memory)
    double throughput = 0;             // saxpy elements/second measured at start-up
    std::vector<DeviceDesc> devices;   // Vulkan devices, if any
    // Where the node accepts its peers (other nodes of a home) for
    // node-to-node transfers: its listening port, 0 when it listens nowhere
    // (--join only). The home pairs it with the address it knows the node by.
    // Version 6.
    std::uint16_t peer_port = 0;
};
// A GPU-class node: one with a discrete or integrated Vulkan device (what
// `.requires gpu` asks of a node, for kernels and procedures: docs/cluster.md).
bool gpu_class(const Capabilities& caps);

struct Welcome {
    Mac proof{};
    Capabilities caps;
};
struct ModuleHash {  // HaveModule
    Sha256 hash{};
};
struct HaveModuleReply {
    bool present = false;
};
struct ModuleUpload {
    Sha256 hash{};
    Bytes pbc;
};
struct RegionPut {
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t total_bytes = 0;  // size of the region at this version
    std::uint64_t offset = 0;       // bytes
    Bytes data;
};
// The fields in front of a region-put's bytes: what a node needs to land the
// bytes straight in the region (connection.h, Landing).
struct RegionPutHead {
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t total_bytes = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // bytes that follow
};
inline constexpr std::size_t kRegionPutHeadBytes = 40;
// A region-put as read from a frame, its bytes still in the frame's payload
// (the node copies them once, straight into the region).
struct RegionPutView {
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t total_bytes = 0;
    std::uint64_t offset = 0;
    std::span<const std::uint8_t> data;
};
struct RegionGet {
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // bytes, at most kMaxSliceBytes
};
struct RegionData {
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t offset = 0;
    Bytes data;
};
// The fields in front of a region-data's bytes: what the home needs to land
// them straight in the result of its get (connection.h, Landing).
struct RegionDataHead {
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // bytes that follow
};
inline constexpr std::size_t kRegionDataHeadBytes = 32;
// Bytes a node fetches from another node of the same home before it runs a
// launch chunk (a stencil's halo): [offset, offset + length) of the peer's
// region `from_region` at `from_version`, landed at the same offset of this
// node's region `to_region` at `to_version` (which the home made exist with
// a put). The node connects to host:port, authenticates as to any node and
// presents the home's peer ticket. Version 6.
struct HaloFetch {
    std::string host;
    std::uint16_t port = 0;
    std::uint64_t from_region = 0;
    std::uint64_t from_version = 0;
    std::uint64_t to_region = 0;
    std::uint64_t to_version = 0;
    std::uint64_t offset = 0;  // bytes
    std::uint64_t length = 0;  // bytes; any size (fetched kMaxSliceBytes at a time)
};
struct Binding {
    enum class Kind : std::uint8_t { Region = 0, Uniform = 1 };
    Kind kind = Kind::Region;
    std::uint64_t region = 0;
    std::uint64_t version = 0;
    std::uint64_t uniform = 0;  // KernelArg::uniform: an i64 value or f64 bits; i32/f32 in the low half
};
struct LaunchChunk {
    Sha256 module{};
    std::uint32_t kernel = 0;
    std::uint64_t count = 0;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::vector<Binding> args;  // one per kernel parameter
    std::uint32_t max_iterations = kDefaultKernelSteps;  // loop iterations a lane may start (--kernel-steps)
    // The chunk's element-indexed outputs stay in the node's regions (the
    // home fetches them with region-get when it needs them): the result then
    // carries only broadcast outputs (partial reductions). Version 5.
    bool keep_outputs = false;
    // Halos to fetch from other nodes before the chunk runs. Version 6.
    std::vector<HaloFetch> fetches;
    // The launch runs this many times over the chunk's lanes, each round on
    // what the one before wrote (Backend::run_rounds: a loop of launches,
    // vm/launch_rounds.h); at least 1. Version 11.
    std::uint64_t rounds = 1;
};
// A home's ticket for its nodes' transfers to each other: random, sent to
// each of its nodes over the authenticated connection; a node that presents
// it (peer-access) may read that home's regions, and nothing else. Version 6.
struct PeerTicket {
    Nonce ticket{};
};
struct PeerAccess {
    Nonce ticket{};
};
// Regions of this home the node may free: the home freed or reallocated them
// (alloc, free) or found its copies stale (a squash), and never names these
// ids again. Unknown ids are skipped. Version 10.
struct RegionDrop {
    std::vector<std::uint64_t> regions;
};
struct OutputSlice {
    std::uint32_t param = 0;
    std::uint64_t region = 0;
    std::uint64_t offset = 0;  // bytes
    Bytes data;
};
struct ChunkResult {
    std::uint64_t kernel_ns = 0;
    std::vector<OutputSlice> outputs;
    KernelFault fault;  // the chunk's lowest faulting lane, if any (vm/kernel_fault.h)
    std::uint64_t fault_round = 0;  // the round the fault was in (from 0; the rounds after it did not run). Version 11.
};
// A vector op over elements [begin, end) of regions the node holds (the
// home's copies, put and bound as for a launch). Version 6.
struct VectorOperand {
    std::uint8_t slot = 0;  // 0 dst, 1 a, 2 b, 3 c: vm/vector_op.h VectorOpArgs, the op's operands in order
    std::uint8_t type = 0;  // ElemType (isa/elem_type.h)
    std::uint64_t region = 0;
    std::uint64_t version = 0;
};
struct VectorChunk {
    std::uint8_t op = 0;           // opcode number: a row of isa/opcodes.def whose class is Vector
    std::uint64_t length = 0;      // elements of each operand (the whole op's)
    std::uint64_t begin = 0, end = 0;
    std::int64_t int_scalar = 0;   // vfill's value; vscan's carry in, on an integer region (vm/vector_op.h ScanCarry)
    double float_scalar = 0;       // vfillf's value, vscale's factor; vscan's carry in, on a float region
    std::vector<VectorOperand> operands;  // one per region slot of the op, each slot once
};
// What a vector chunk gives back: a reduction's partial (vm/vector_op.h
// VectorPartial); a vscan piece's carry out (int_value, and values[0] for a
// float region: version 8); an element-wise op's or a scan's dst stays in
// the node's region.
struct VectorChunkResult {
    std::uint64_t kernel_ns = 0;
    std::int64_t int_value = 0;
    std::vector<double> values;
};
// Procedures on the nodes (version 7; vm/procs/away.h is the contract):
// proc-start names the module (uploaded on this connection, as for a launch)
// and carries the AwayStart; the node answers with a stream of proc-event
// frames (one AwayEvent each) under the proc-start's request id, and the
// home sends proc-answer frames (one AwayAnswer each) under that id too.
struct ProcStart {
    Sha256 module{};
    AwayStart start;
    // Version 10: the home's other nodes, for a procedure whose launches go
    // over the cluster (`.launches cluster`); empty: it launches on this node.
    std::vector<NodeAddress> cluster;
    // Version 12: this node's number among the home's procedure nodes, and
    // every one of them (node n is nodes[n - 1]), for channels kept on nodes.
    std::uint32_t self = 0;
    std::vector<NodeAddress> nodes;
    std::uint64_t run = 0;  // which of the home's program runs: a new one forgets the channels of the one before
};
// Channels kept on nodes (version 12; vm/procs/node_channels.h). chan-keep
// hands a channel to the node (the first opens its channel stream: the
// chan-frames the node sends the home go under that request id);
// chan-keeper tells a node where one is kept; chan-frame carries one
// ChannelFrame and the participant that sent it (0: the home); chan-snapshot
// asks for the node's ChannelSnapshot.
struct ChanKeep {
    std::uint32_t channel = 0;
    std::uint64_t capacity = 0;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> expects;
    std::vector<KeptMessage> queued;  // the messages in it at the home, oldest first
    bool lend = true;  // version 13: the keeper lends credits (KeptChannel, "Credits")
};
struct ChanKeeper {
    std::uint32_t channel = 0;
    std::uint32_t node = 0;
};
// Version 14: the first frame on a node's connection for chan-frames to
// another: from now on it carries only chan-frames and heartbeats, both
// ways, read by the procedures' own threads (cluster/channel_inbox.h).
struct ChanInbox {
    std::uint32_t sender = 0;  // the dialling node's number
    std::uint64_t run = 0;     // the program run its frames belong to (ProcStart::run)
};
struct ChanFrameMsg {
    std::uint32_t sender = 0;
    std::uint64_t run = 0;  // the program run it belongs to (ProcStart::run); one of another run is dropped
    ChannelFrame frame;
};
// The most entries a clock, an expects list or a snapshot list may have.
inline constexpr std::uint32_t kMaxChannelEntries = 1u << 16;
// The most nodes a proc-start may name (the node dials each).
inline constexpr std::uint32_t kMaxProcClusterNodes = 1024;
struct Cancel {
    std::uint64_t request = 0;  // a launch's, a vector chunk's or a proc-start's
};
struct ErrorMsg {
    ErrorCode code = ErrorCode::BadPayload;
    std::string message;
};

Bytes encode(const Hello& m);
Bytes encode(const Challenge& m);
Bytes encode(const Response& m);
Bytes encode(const Welcome& m);
Bytes encode(const ModuleHash& m);
Bytes encode(const HaveModuleReply& m);
Bytes encode(const ModuleUpload& m);
Bytes encode(const RegionPut& m);
Bytes encode(const RegionPutHead& m);  // a region-put's payload is this, then `length` bytes
// The same payloads written straight from a slice of the caller's data.
Bytes encode_region_put(std::uint64_t region, std::uint64_t version, std::uint64_t total_bytes, std::uint64_t offset,
                        std::span<const std::uint8_t> data);
Bytes encode_region_data(std::uint64_t region, std::uint64_t version, std::uint64_t offset,
                         std::span<const std::uint8_t> data);
Bytes encode(const RegionGet& m);
Bytes encode(const RegionData& m);
Bytes encode(const LaunchChunk& m);
Bytes encode(const ChunkResult& m);
Bytes encode(const VectorChunk& m);
Bytes encode(const VectorChunkResult& m);
Bytes encode(const ProcStart& m);
Bytes encode(const AwayEvent& m);   // proc-event
Bytes encode(const AwayAnswer& m);  // proc-answer
Bytes encode(const Cancel& m);
Bytes encode(const ErrorMsg& m);
Bytes encode(const PeerTicket& m);
Bytes encode(const PeerAccess& m);
Bytes encode(const RegionDrop& m);
Bytes encode(const ChanKeep& m);
Bytes encode(const ChanKeeper& m);
Bytes encode(const ChanInbox& m);
Bytes encode(const ChanFrameMsg& m);
// The same, for a frame the caller keeps (a node's wire: no copy of the frame).
Bytes encode_chan_frame(std::uint32_t sender, std::uint64_t run, const ChannelFrame& f);
Bytes encode(const ChannelSnapshot& m);  // chan-snapshot-reply

using Payload = std::span<const std::uint8_t>;
Result<Hello> decode_hello(Payload p);
Result<Challenge> decode_challenge(Payload p);
Result<Response> decode_response(Payload p);
Result<Welcome> decode_welcome(Payload p);
Result<ModuleHash> decode_module_hash(Payload p);
Result<HaveModuleReply> decode_have_module_reply(Payload p);
Result<ModuleUpload> decode_module_upload(Payload p);
Result<RegionPut> decode_region_put(Payload p);
Result<RegionPutView> decode_region_put_view(Payload p);  // valid while `p` is
Result<RegionPutHead> decode_region_put_head(Payload p);  // exactly kRegionPutHeadBytes
Result<RegionGet> decode_region_get(Payload p);
Result<RegionData> decode_region_data(Payload p);
Result<RegionDataHead> decode_region_data_head(Payload p);  // exactly kRegionDataHeadBytes
Result<LaunchChunk> decode_launch(Payload p);
Result<ChunkResult> decode_chunk_result(Payload p);
Result<VectorChunk> decode_vector_chunk(Payload p);
Result<VectorChunkResult> decode_vector_chunk_result(Payload p);
Result<ProcStart> decode_proc_start(Payload p);
// Refuses a Lost event: only the home's carrier makes those.
Result<AwayEvent> decode_proc_event(Payload p);
Result<AwayAnswer> decode_proc_answer(Payload p);
Result<Cancel> decode_cancel(Payload p);
Result<ErrorMsg> decode_error(Payload p);
Result<PeerTicket> decode_peer_ticket(Payload p);
Result<PeerAccess> decode_peer_access(Payload p);
Result<RegionDrop> decode_region_drop(Payload p);
Result<ChanKeep> decode_chan_keep(Payload p);
Result<ChanKeeper> decode_chan_keeper(Payload p);
// Refuses a Failed frame: only the participant where it arrives makes those.
Result<ChanInbox> decode_chan_inbox(Payload p);
Result<ChanFrameMsg> decode_chan_frame(Payload p);
// The same into `m`, whose room (its credits) is reused: a node's chan-inbox
// decodes one frame after another into one. Why it is refused, or "".
std::string decode_chan_frame_into(Payload p, ChanFrameMsg& m);
Result<ChannelSnapshot> decode_chan_snapshot_reply(Payload p);

}  // namespace polymer::cluster
