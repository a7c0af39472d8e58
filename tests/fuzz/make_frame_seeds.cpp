// Writes one well-formed frame of each message type, and a handshake as one
// stream: the seed corpus for fuzz_frame_decoder. Usage: make_frame_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cluster/frame.h"
#include "cluster/messages.h"

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
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    Welcome welcome;
    welcome.caps.name = "node-1";
    welcome.caps.backend = "cpu";
    welcome.caps.cores = 4;
    welcome.caps.devices.push_back({"llvmpipe", "cpu", 1 << 30});
    LaunchChunk launch;
    launch.count = launch.end = 1024;
    launch.args.push_back({});
    ChunkResult result;
    result.outputs.push_back({0, 1, 0, {1, 2, 3, 4}});
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
        {"chunk-result", frame(MsgType::ChunkResult, encode(result))},
        {"cancel", frame(MsgType::Cancel, encode(Cancel{7}))},
        {"error", frame(MsgType::Error, encode(ErrorMsg{ErrorCode::BadPayload, "bad payload"}))},
    };
    std::vector<std::uint8_t> stream;
    for (const auto& [name, bytes] : seeds) {
        if (!write(std::string(argv[1]) + "/" + name, bytes)) {
            std::fprintf(stderr, "cannot write %s/%s\n", argv[1], name);
            return 1;
        }
        stream.insert(stream.end(), bytes.begin(), bytes.end());
    }
    return write(std::string(argv[1]) + "/stream", stream) ? 0 : 1;
}
