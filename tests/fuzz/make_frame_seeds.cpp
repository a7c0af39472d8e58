// Writes one well-formed frame of each message type, and all of them as one
// stream: the seed corpus for fuzz_frame_decoder. With a second directory,
// the same for fuzz_node_session, each after a first byte that says whether
// the connection authenticates first (1: every message but the handshake's)
// or not (0: the handshake's own). Usage: make_frame_seeds DIR [SESSION_DIR]
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cluster/frame.h"
#include "cluster/messages.h"
#include "isa/opcodes.h"

using namespace polymer::cluster;

namespace {

std::vector<std::uint8_t> frame(MsgType type, std::vector<std::uint8_t> payload) {
    Frame f;
    f.type = type;
    f.request_id = 7;
    f.payload = std::move(payload);
    return encode_frame(f);
}

bool write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: %s DIR [SESSION_DIR]\n", argv[0]);
        return 2;
    }
    Welcome welcome;
    welcome.caps.name = "node-1";
    welcome.caps.backend = "cpu";
    welcome.caps.cores = 4;
    welcome.caps.devices.push_back({"llvmpipe", "cpu", 1 << 30});
    welcome.caps.peer_port = 7447;  // version 6
    LaunchChunk launch;
    launch.count = launch.end = 1024;
    launch.args.push_back({});
    LaunchChunk kept = launch;  // outputs kept on the node (version 5)
    kept.keep_outputs = true;
    LaunchChunk fetching = kept;  // halos from two other nodes (version 6)
    fetching.fetches.push_back({"127.0.0.1", 7447, 1, 1, 1, 1, 0, 64});
    fetching.fetches.push_back({"node-b", 7448, 2, 3, 2, 1ull << 62, 4096, 1u << 20});
    Nonce ticket{};
    ticket[0] = 0x42;
    ChunkResult result;
    result.outputs.push_back({0, 1, 0, {1, 2, 3, 4}});
    VectorChunk vadd;  // version 6: vadd over [0, 512) of three regions
    vadd.op = 95;
    vadd.length = 1024;
    vadd.end = 512;
    vadd.operands = {{0, 4, 1, 1}, {1, 4, 2, 1}, {2, 4, 3, 1}};
    VectorChunk vsum;  // vsum's partial over one block
    vsum.op = 110;
    vsum.length = 1024;
    vsum.end = 1024;
    vsum.operands = {{1, 5, 2, 1}};
    VectorChunk vscan;  // version 8: a vscan piece from a carry
    vscan.op = static_cast<std::uint8_t>(polymer::Op::Vscan);
    vscan.length = 1024;
    vscan.begin = 100;
    vscan.end = 600;
    vscan.float_scalar = 2.5;
    vscan.operands = {{0, 4, 1, 1}, {1, 4, 2, 1}};
    VectorChunk vmatmul;  // version 8: rows [2, 5) of an 8 x 16 C from an 8 x 32 A and a 32 x 16 B
    vmatmul.op = static_cast<std::uint8_t>(polymer::Op::Vmatmul);
    vmatmul.length = 8;
    vmatmul.begin = 2;
    vmatmul.end = 5;
    vmatmul.int_scalar = 32;
    vmatmul.operands = {{0, 5, 1, 1}, {1, 5, 2, 1}, {2, 5, 3, 1}};
    // Procedures on the nodes (version 7): a start, a send of a slice with
    // writes before it, a trap, and a recv's answer.
    ProcStart start;
    start.start.id = 2;
    start.start.entry_pc = 10;
    start.start.int_regs.assign(32, 1);
    start.start.float_regs.assign(32, 0.5);
    start.start.region_lengths = {16, 4};
    start.start.args = {"x"};
    ProcStart clustered = start;
    clustered.cluster = {NodeAddress{"10.0.0.2", 7447}, NodeAddress{"box3", 7448}};
    polymer::AwayEvent send;
    send.kind = polymer::AwayEvent::Kind::Send;
    send.message.kind = polymer::MessageKind::Slice;
    send.message.type = polymer::ElemType::I32;
    send.message.elements.assign(8, std::byte{7});
    send.writes.push_back({0, 4, std::vector<std::byte>(4, std::byte{1})});
    polymer::AwayEvent trap;
    trap.kind = polymer::AwayEvent::Kind::Trap;
    trap.trap = polymer::TrapKind::DivisionByZero;
    trap.text = "r2 is 0";
    polymer::AwayAnswer done;
    done.message.bits = 42;
    done.writes.push_back({1, 0, std::vector<std::byte>(16, std::byte{2})});
    polymer::AwayEvent reshaped;  // version 9: a region allocated anew, then its bytes
    reshaped.kind = polymer::AwayEvent::Kind::Writes;
    reshaped.lengths.push_back({1, 100});
    reshaped.writes.push_back({1, 792, std::vector<std::byte>(8, std::byte{7})});
    polymer::AwayAnswer reshapes;
    reshapes.kind = polymer::AwayAnswer::Kind::Writes;
    reshapes.lengths.push_back({0, 16});
    const std::pair<const char*, std::vector<std::uint8_t>> seeds[] = {
        {"hello", frame(MsgType::Hello, encode(Hello{1, "home"}))},
        {"challenge", frame(MsgType::Challenge, encode(Challenge{}))},
        {"response", frame(MsgType::Response, encode(Response{}))},
        {"welcome", frame(MsgType::Welcome, encode(welcome))},
        {"heartbeat", frame(MsgType::Heartbeat, {})},
        {"have-module", frame(MsgType::HaveModule, encode(ModuleHash{}))},
        {"module-upload", frame(MsgType::ModuleUpload, encode(ModuleUpload{{}, {1, 2, 3}}))},
        {"region-put", frame(MsgType::RegionPut, encode(RegionPut{1, 1, 8, 0, {1, 2, 3, 4, 5, 6, 7, 8}}))},
        {"region-get", frame(MsgType::RegionGet, encode(RegionGet{1, 1, 0, 8}))},
        {"region-data", frame(MsgType::RegionData, encode(RegionData{1, 1, 0, {1, 2, 3, 4}}))},
        {"launch", frame(MsgType::Launch, encode(launch))},
        {"launch-keep", frame(MsgType::Launch, encode(kept))},
        {"launch-fetches", frame(MsgType::Launch, encode(fetching))},
        {"peer-ticket", frame(MsgType::PeerTicket, encode(PeerTicket{ticket}))},
        {"peer-access", frame(MsgType::PeerAccess, encode(PeerAccess{ticket}))},
        {"chunk-result", frame(MsgType::ChunkResult, encode(result))},
        {"vector-chunk", frame(MsgType::VectorChunk, encode(vadd))},
        {"vector-chunk-sum", frame(MsgType::VectorChunk, encode(vsum))},
        {"vector-chunk-scan", frame(MsgType::VectorChunk, encode(vscan))},
        {"vector-chunk-matmul", frame(MsgType::VectorChunk, encode(vmatmul))},
        {"vector-chunk-result", frame(MsgType::VectorChunkResult, encode(VectorChunkResult{1000, 0, {1.5, 2.5}}))},
        {"cancel", frame(MsgType::Cancel, encode(Cancel{7}))},
        {"region-drop", frame(MsgType::RegionDrop, encode(RegionDrop{{1, 2, 0xFFFF'0000'0000'0003}}))},
        {"proc-start", frame(MsgType::ProcStart, encode(start))},
        {"proc-start-cluster", frame(MsgType::ProcStart, encode(clustered))},
        {"proc-event-send", frame(MsgType::ProcEvent, encode(send))},
        {"proc-event-trap", frame(MsgType::ProcEvent, encode(trap))},
        {"proc-answer", frame(MsgType::ProcAnswer, encode(done))},
        {"proc-event-lengths", frame(MsgType::ProcEvent, encode(reshaped))},
        {"proc-answer-lengths", frame(MsgType::ProcAnswer, encode(reshapes))},
        {"error", frame(MsgType::Error, encode(ErrorMsg{ErrorCode::BadPayload, "bad payload"}))},
    };
    std::vector<std::uint8_t> stream, session_stream = {1};
    for (const auto& [name, bytes] : seeds) {
        const bool handshake = std::string(name) == "hello" || std::string(name) == "response";
        bool ok = write(std::string(argv[1]) + "/" + name, bytes);
        if (argc == 3) {
            std::vector<std::uint8_t> session = {static_cast<std::uint8_t>(handshake ? 0 : 1)};
            session.insert(session.end(), bytes.begin(), bytes.end());
            ok = ok && write(std::string(argv[2]) + "/" + name, session);
            if (!handshake) session_stream.insert(session_stream.end(), bytes.begin(), bytes.end());
        }
        if (!ok) {
            std::fprintf(stderr, "cannot write the seed %s\n", name);
            return 1;
        }
        stream.insert(stream.end(), bytes.begin(), bytes.end());
    }
    bool ok = write(std::string(argv[1]) + "/stream", stream);
    if (argc == 3) ok = ok && write(std::string(argv[2]) + "/stream", session_stream);
    return ok ? 0 : 1;
}
