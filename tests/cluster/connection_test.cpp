// Connection's reading and writing without the io thread (read_frame_now,
// leave_io), which the home's NodeClient uses: frames that arrive in pieces
// or together,
// landing, a corrupt landed frame, close() waking a reader, and a send bigger
// than the socket buffer written from the sender's own thread.
#include <gtest/gtest.h>
#include <poll.h>

#include <asio.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "cluster/connection.h"
#include "cluster/messages.h"

using namespace polymer::cluster;
using namespace std::chrono_literals;

namespace {

// A Connection on one end of a loopback TCP pair; the test writes and reads
// raw bytes on the other end.
struct Pair {
    asio::io_context io;
    asio::ip::tcp::socket raw{io};
    std::shared_ptr<Connection> conn;

    Pair() {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        raw.connect(acceptor.local_endpoint());
        conn = std::make_shared<Connection>(acceptor.accept());
        conn->leave_io();
    }
    void write(std::span<const std::uint8_t> bytes) { asio::write(raw, asio::buffer(bytes.data(), bytes.size())); }
    // Until what was written can be read: a look (no wait) then finds it
    // even when the kernel delivers loopback bytes a moment later.
    void until_readable() {
        pollfd ready{conn->native_fd(), POLLIN, 0};
        ASSERT_EQ(::poll(&ready, 1, 5000), 1);
    }
};

Bytes slice_bytes(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + (i >> 12));
    return b;
}

}  // namespace

TEST(ConnectionNow, AFrameArrivingInPiecesIsReadAcrossCalls) {
    Pair p;
    const Bytes payload = slice_bytes(200000);  // bigger than the read buffer: read straight into place
    const auto bytes = encode_frame(Frame{MsgType::ChunkResult, 77, payload});
    const std::size_t cuts[] = {0, 10, kFrameHeaderSize + 5, 100000, bytes.size()};
    for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
        ReadOutcome r = p.conn->read_frame_now(0ms);
        EXPECT_TRUE(r.idle) << "piece " << i;
        EXPECT_FALSE(r.frame);
        p.write(std::span<const std::uint8_t>(bytes).subspan(cuts[i], cuts[i + 1] - cuts[i]));
    }
    ReadOutcome r = p.conn->read_frame_now(1000ms);
    ASSERT_TRUE(r.frame) << r.message;
    EXPECT_EQ(r.frame->type, MsgType::ChunkResult);
    EXPECT_EQ(r.frame->request_id, 77u);
    EXPECT_TRUE(r.frame->payload == payload);
    EXPECT_TRUE(p.conn->read_frame_now(0ms).idle);
}

TEST(ConnectionNow, FramesThatCameTogetherAreHandedOutFromTheBuffer) {
    Pair p;
    auto both = encode_frame(Frame{MsgType::ChanFrame, 1, Bytes(40, 1)});
    const auto second = encode_frame(Frame{MsgType::ChanFrame, 2, Bytes(40, 2)});
    both.insert(both.end(), second.begin(), second.end());
    p.write(both);  // one write: one read takes in both
    EXPECT_FALSE(p.conn->has_buffered());
    ReadOutcome first = p.conn->read_frame_now(1000ms);
    ASSERT_TRUE(first.frame) << first.message;
    EXPECT_EQ(first.frame->request_id, 1u);
    EXPECT_TRUE(p.conn->has_buffered());  // the second is in already: the next call needs no system call
    EXPECT_TRUE(first.more_buffered);     // and the read says so itself
    // The second takes the storage handed back from the first's payload.
    std::vector<std::uint8_t> room = std::move(first.frame->payload);
    const std::uint8_t* storage = room.data();
    ReadOutcome next = p.conn->read_frame_now(0ms, nullptr, nullptr, &room);
    ASSERT_TRUE(next.frame) << next.message;
    EXPECT_EQ(next.frame->request_id, 2u);
    EXPECT_EQ(next.frame->payload, Bytes(40, 2));
    EXPECT_EQ(next.frame->payload.data(), storage);
    EXPECT_FALSE(next.more_buffered);
    EXPECT_FALSE(p.conn->has_buffered());
    EXPECT_TRUE(p.conn->read_frame_now(0ms).idle);
}

// A look (no wait) at a small frame that came whole takes it straight from
// its one read (no frame in progress): still checked like any other frame,
// counted against the limits, and handed out with what it reserved.
TEST(ConnectionNow, ASmallFrameThatCameWholeIsTakenAtOneLookAndCheckedAsAnyOther) {
    Pair p;
    std::size_t asked = 0;
    bool refuse = false;
    ReadLimits limits;
    limits.reserve = [&](std::size_t bytes) -> std::optional<Refusal> {
        asked += bytes;
        if (refuse) return Refusal{ErrorCode::OutOfMemory, "the test's budget is spent"};
        return std::nullopt;
    };
    p.write(encode_frame(Frame{MsgType::ChanFrame, 3, Bytes(60, 3)}));
    p.until_readable();
    ReadOutcome r = p.conn->read_frame_now(0ms, nullptr, &limits);
    ASSERT_TRUE(r.frame) << r.message;
    EXPECT_EQ(r.frame->request_id, 3u);
    EXPECT_EQ(r.frame->payload, Bytes(60, 3));
    EXPECT_EQ(r.reserved, 60u);
    EXPECT_EQ(asked, 60u);
    EXPECT_EQ(p.conn->bytes_in(), kFrameHeaderSize + 60);

    auto bad = encode_frame(Frame{MsgType::ChanFrame, 4, Bytes(60, 4)});
    bad.back() ^= 0x01;
    p.write(bad);
    p.until_readable();
    r = p.conn->read_frame_now(0ms, nullptr, &limits);
    EXPECT_FALSE(r.frame);
    EXPECT_EQ(r.code, ErrorCode::BadChecksum) << r.message;
    EXPECT_EQ(r.reserved, 60u) << "what it reserved comes back, to be released";

    refuse = true;
    p.write(encode_frame(Frame{MsgType::ChanFrame, 5, Bytes(60, 5)}));
    p.until_readable();
    r = p.conn->read_frame_now(0ms, nullptr, &limits);
    EXPECT_FALSE(r.frame);
    EXPECT_EQ(r.code, ErrorCode::OutOfMemory);
    EXPECT_EQ(r.message, "the test's budget is spent");
}

TEST(ConnectionNow, ALandingFrameGoesStraightWherePlaceSays) {
    Pair p;
    const Bytes data = slice_bytes(300000);
    Bytes target(data.size());
    std::uint64_t asked_for = 0;
    Landing landing{MsgType::RegionData, kRegionDataHeadBytes, [&](const Frame& head, std::size_t rest) {
                        asked_for = head.request_id;
                        return rest == target.size() ? std::span<std::uint8_t>(target) : std::span<std::uint8_t>();
                    }};
    const auto bytes = encode_frame(Frame{MsgType::RegionData, 5, encode_region_data(3, 4, 0, data)});
    p.write(std::span<const std::uint8_t>(bytes).first(kFrameHeaderSize + 40));  // the head and a little more
    EXPECT_TRUE(p.conn->read_frame_now(0ms, &landing).idle);
    EXPECT_EQ(asked_for, 5u);
    p.write(std::span<const std::uint8_t>(bytes).subspan(kFrameHeaderSize + 40));
    ReadOutcome r = p.conn->read_frame_now(1000ms, &landing);
    ASSERT_TRUE(r.frame) << r.message;
    EXPECT_EQ(r.frame->payload.size(), kRegionDataHeadBytes);
    EXPECT_EQ(r.frame->landed.data(), target.data());
    EXPECT_TRUE(target == data);
    auto head = decode_region_data_head(r.frame->payload);
    ASSERT_TRUE(head) << head.error();
    EXPECT_EQ(head.value().region, 3u);
    EXPECT_EQ(head.value().length, data.size());

    // Nowhere to land (the size does not fit): read whole, as usual.
    const Bytes other = slice_bytes(1000);
    p.write(encode_frame(Frame{MsgType::RegionData, 6, encode_region_data(3, 4, 0, other)}));
    r = p.conn->read_frame_now(1000ms, &landing);
    ASSERT_TRUE(r.frame) << r.message;
    EXPECT_TRUE(r.frame->landed.empty());
    auto whole = decode_region_data(r.frame->payload);
    ASSERT_TRUE(whole) << whole.error();
    EXPECT_TRUE(whole.value().data == other);
}

TEST(ConnectionNow, ALandedFrameThatFailsItsChecksumIsRefused) {
    Pair p;
    Bytes target(100000);
    Landing landing{MsgType::RegionData, kRegionDataHeadBytes,
                    [&](const Frame&, std::size_t) { return std::span<std::uint8_t>(target); }};
    auto bytes = encode_frame(Frame{MsgType::RegionData, 1, encode_region_data(1, 1, 0, slice_bytes(target.size()))});
    bytes[bytes.size() - 500] ^= 0x10;  // among the bulk bytes
    p.write(bytes);
    ReadOutcome r = p.conn->read_frame_now(1000ms, &landing);
    EXPECT_FALSE(r.frame);
    EXPECT_FALSE(r.idle);
    EXPECT_EQ(r.code, ErrorCode::BadChecksum);
    EXPECT_NE(r.message.find("checksum mismatch"), std::string::npos) << r.message;
}

TEST(ConnectionNow, CloseWakesAReaderThatWaitsWithoutLimit) {
    Pair p;
    auto reader = std::async(std::launch::async, [&] { return p.conn->read_frame_now(-1ms); });
    EXPECT_EQ(reader.wait_for(100ms), std::future_status::timeout);  // nothing came: it waits
    p.conn->close("closed by the test");
    ASSERT_EQ(reader.wait_for(5s), std::future_status::ready);
    ReadOutcome r = reader.get();
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.message, "closed by the test");
    EXPECT_TRUE(p.conn->read_frame_now(0ms).closed);  // and stays closed
}

TEST(ConnectionNow, ASendBiggerThanTheSocketBufferIsWrittenByTheSender) {
    Pair p;
    const Bytes tail = slice_bytes(48u << 20);  // far more than loopback buffers hold
    Bytes received;
    std::thread slow_reader([&] {
        std::array<std::uint8_t, 64 << 10> chunk;
        const std::size_t want = kFrameHeaderSize + 8 + tail.size();
        while (received.size() < want) {
            std::this_thread::sleep_for(received.size() < (1u << 20) ? 20ms : 0ms);  // let the sender block first
            const std::size_t n = p.raw.read_some(asio::buffer(chunk));
            received.insert(received.end(), chunk.begin(), chunk.begin() + n);
        }
    });
    p.conn->send(MsgType::RegionPut, 9, Bytes(8, 0xAB), tail);  // returns once all of it is out
    EXPECT_EQ(p.conn->bytes_out(), kFrameHeaderSize + 8 + tail.size());
    slow_reader.join();
    HeaderCheck c = decode_header(std::span<const std::uint8_t, kFrameHeaderSize>(received.data(), kFrameHeaderSize));
    ASSERT_EQ(c.fault, FrameFault::None) << c.message;
    EXPECT_EQ(c.header.request_id, 9u);
    std::span<const std::uint8_t> payload(received.data() + kFrameHeaderSize, received.size() - kFrameHeaderSize);
    EXPECT_TRUE(checksum_matches(std::span<const std::uint8_t, kFrameHeaderSize>(received.data(), kFrameHeaderSize), payload,
                                 c.header.checksum));
    EXPECT_TRUE(std::equal(tail.begin(), tail.end(), payload.begin() + 8));
}
