// libFuzzer target: the cluster's frame decoder and handshake messages on
// arbitrary bytes. The input is read as a stream of frames the way a node
// reads a peer: header (decode_header), payload of the announced length,
// checksum, then the payload decoder for its type. Nothing may crash, hang
// or allocate hugely; every refusal must carry a message; the handshake's
// constant-time proof comparison must agree with plain equality.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "cluster/auth.h"
#include "cluster/frame.h"
#include "cluster/messages.h"

using namespace polymer;
using namespace polymer::cluster;

namespace {

template <class T>
void round_trip(const Result<T>& r, std::span<const std::uint8_t>) {
    if (!r && r.error().empty()) std::abort();  // every refusal says why
}
// For messages with one encoding of each value: what decodes encodes back
// to the same bytes (no field read past, skipped or misplaced).
template <class T>
void exact_round_trip(const Result<T>& r, std::span<const std::uint8_t> p) {
    round_trip(r, p);
    if (r && encode(r.value()) != std::vector<std::uint8_t>(p.begin(), p.end())) std::abort();
}

void decode_payload(MsgType type, std::span<const std::uint8_t> p) {
    static const std::vector<std::uint8_t> secret(32, 0x5a);
    switch (type) {
    case MsgType::Hello: round_trip(decode_hello(p), p); break;
    case MsgType::Challenge: round_trip(decode_challenge(p), p); break;
    case MsgType::Response: {
        auto r = decode_response(p);
        round_trip(r, p);
        // A node's check of the response, as in the handshake.
        if (r) {
            const Mac expected = client_proof(secret, Nonce{}, r.value().client_nonce);
            if (macs_equal(expected, r.value().mac) != (expected == r.value().mac)) std::abort();
        }
        break;
    }
    case MsgType::Welcome: round_trip(decode_welcome(p), p); break;
    case MsgType::HaveModule: round_trip(decode_module_hash(p), p); break;
    case MsgType::ModuleUpload: round_trip(decode_module_upload(p), p); break;
    case MsgType::RegionPut: round_trip(decode_region_put(p), p); break;
    case MsgType::RegionGet: round_trip(decode_region_get(p), p); break;
    case MsgType::RegionData: round_trip(decode_region_data(p), p); break;
    case MsgType::Launch: exact_round_trip(decode_launch(p), p); break;
    case MsgType::ChunkResult: round_trip(decode_chunk_result(p), p); break;
    case MsgType::VectorChunk: round_trip(decode_vector_chunk(p), p); break;
    case MsgType::VectorChunkResult: round_trip(decode_vector_chunk_result(p), p); break;
    case MsgType::Cancel: round_trip(decode_cancel(p), p); break;
    case MsgType::Error: round_trip(decode_error(p), p); break;
    case MsgType::PeerTicket: exact_round_trip(decode_peer_ticket(p), p); break;
    case MsgType::PeerAccess: exact_round_trip(decode_peer_access(p), p); break;
    case MsgType::ProcStart: exact_round_trip(decode_proc_start(p), p); break;
    case MsgType::ProcEvent: exact_round_trip(decode_proc_event(p), p); break;
    case MsgType::ProcAnswer: exact_round_trip(decode_proc_answer(p), p); break;
    case MsgType::RegionDrop: exact_round_trip(decode_region_drop(p), p); break;
    default: break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    while (in.size() >= kFrameHeaderSize) {
        const auto header = in.first<kFrameHeaderSize>();
        const HeaderCheck check = decode_header(header);
        if (check.fault != FrameFault::None) {
            if (check.message.empty()) std::abort();
            return 0;
        }
        in = in.subspan(kFrameHeaderSize);
        if (check.header.payload_length > in.size()) return 0;  // truncated: a live node waits for the rest
        const auto payload = in.first(check.header.payload_length);
        in = in.subspan(check.header.payload_length);
        // Fuzzed checksums rarely match: decode the payload either way, as
        // the decoders must be safe on anything.
        (void)checksum_matches(header, payload, check.header.checksum);
        decode_payload(check.header.type, payload);
    }
    // The rest as a bare payload of each handshake message.
    decode_payload(MsgType::Hello, in);
    decode_payload(MsgType::Response, in);
    decode_payload(MsgType::Welcome, in);
    return 0;
}
