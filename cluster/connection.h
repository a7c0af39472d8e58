// One peer's framed byte stream over standalone Asio, in the C++20 coroutine
// style used throughout cluster/ (asio::awaitable, co_spawn). Reads are a
// header-then-payload chain checked by frame.h; writes go through a queue with
// one write in flight. Every member is used from the connection's executor
// (one io thread), so nothing here locks.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "cluster/frame.h"
#include "cluster/messages.h"

namespace polymer::cluster {

struct ReadOutcome {
    std::optional<Frame> frame;  // set on success
    bool closed = false;         // the peer closed the stream, or we did
    ErrorCode code = ErrorCode::BadFrame;  // otherwise: why the frame was refused
    std::string message;
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    using Clock = std::chrono::steady_clock;

    explicit Connection(asio::ip::tcp::socket socket);

    // Starts the writer coroutine; call once.
    void start();
    asio::awaitable<ReadOutcome> read_frame();
    // Queues a frame; returns at once.
    void send(MsgType type, std::uint64_t request_id, Bytes payload);
    void send_error(std::uint64_t request_id, ErrorCode code, const std::string& message);
    // Sends what is queued, then half-closes (FIN) and closes once the peer
    // has closed too or kLinger has passed. Closing at once with unread bytes
    // in our receive buffer would make the kernel send RST, and the peer
    // would lose the frames still queued on its side (the goodbye among them).
    void close_after_flush();
    void close(const std::string& reason = "closed by this side");
    bool is_open() const { return open_; }
    // Why the connection was closed from this side (a write failure, ...).
    const std::string& close_reason() const { return close_reason_; }
    static constexpr std::chrono::milliseconds kLinger{2000};

    Clock::time_point last_received() const { return last_received_; }
    const std::string& peer() const { return peer_; }
    std::uint64_t bytes_in() const { return bytes_in_; }
    std::uint64_t bytes_out() const { return bytes_out_; }

private:
    asio::awaitable<void> writer();

    asio::ip::tcp::socket socket_;
    asio::steady_timer wake_;  // never expires by itself: cancelled to wake the writer
    struct Outgoing {
        std::array<std::uint8_t, kFrameHeaderSize> header;
        Bytes payload;
    };
    std::deque<Outgoing> queue_;  // header and payload go out in one gather write, no concatenation
    bool open_ = true;
    bool close_when_drained_ = false;
    std::string close_reason_;
    std::string peer_;
    Clock::time_point last_received_ = Clock::now();
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
};

}  // namespace polymer::cluster
