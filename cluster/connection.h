// One peer's framed byte stream over standalone Asio, in the C++20 coroutine
// style used throughout cluster/ (asio::awaitable, co_spawn). Reads are a
// header-then-payload chain checked by frame.h. Everything but send() runs on
// the connection's executor (one io thread). send() may be called from any
// thread: a frame with nothing queued ahead of it goes straight out with one
// non-blocking sendmsg from the sender's own thread (no hop to the io thread:
// on a round trip that hop costs as much as the network); what the socket
// cannot take at once waits in a queue for the writer coroutine.
//
// The home's side of a node connection goes further (leave_io): after the
// handshake the socket leaves asio, callers read their replies themselves
// (read_frame_now) and write what the socket cannot take at once themselves,
// so a round trip wakes only the thread that waits for it.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cluster/frame.h"
#include "cluster/memory_budget.h"
#include "cluster/messages.h"

namespace polymer::cluster {

struct ReadOutcome {
    std::optional<Frame> frame;  // set on success
    bool closed = false;         // the peer closed the stream, or we did
    bool idle = false;           // read_frame_now only: no whole frame by the end of the wait
    ErrorCode code = ErrorCode::BadFrame;  // otherwise: why the frame was refused
    std::string message;
    // read_frame with ReadLimits::reserve: the payload bytes reserved for
    // this frame (the reader releases them once done with it); or, when the
    // reservation was refused, why: the frame (type and id only) was read
    // and its payload dropped, and the stream is still in step.
    std::size_t reserved = 0;
    std::optional<Refusal> dropped;
    // read_frame_now: bytes of the next frame are in already (has_buffered()).
    bool more_buffered = false;
};

// What one read_frame may make this side hold. A header announcing more
// than `max_payload` is refused before anything is allocated (before a
// handshake, `max_payload` is the handshake's own bound). `reserve`, when
// set, is asked for the bytes of each payload buffer before it is made; the
// buffer then grows piece by piece as the bytes arrive, so an announced
// length costs nothing until it is sent.
struct ReadLimits {
    std::size_t max_payload = kMaxPayload;
    std::function<std::optional<Refusal>(std::size_t bytes)> reserve;
    // Whether a frame read whole out of the read buffer is reserved too.
    // Its bytes are held already: a reader that takes one frame at a time in
    // holds at most the buffer's size again (a chan-inbox's leader, at every
    // message: two locks and four calls less).
    bool reserve_buffered = true;
};

// Lets a frame's bulk bytes (a region slice) land straight in their final
// storage instead of a payload buffer that is copied again: once `head`
// payload bytes of a `type` frame are in, `place` says where the other `rest`
// bytes go (an empty span: nowhere special, the frame is read whole as usual).
// It gets the frame so far: type, request id and the head as its payload.
// The bytes are checksummed as they land. Bytes that fail, or a stream that
// ends among them, fail the read and the connection: the node then drops all
// of that peer's regions, and the home fails the request, so storage written
// by a bad frame is never used.
struct Landing {
    MsgType type = MsgType::RegionPut;
    std::size_t head = 0;
    std::function<std::span<std::uint8_t>(const Frame& head, std::size_t rest)> place;
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    using Clock = std::chrono::steady_clock;

    // Small frames are read through a buffer of `read_buffer` bytes; a node
    // starts its peers on a small one (an unauthenticated connection costs
    // only a few KiB) and widens it once they authenticate.
    static constexpr std::size_t kReadBuffer = 64u << 10;
    // `peer` names the other end in messages; empty: the socket's remote
    // address (a TLS tunnel's socketpair end has none worth naming).
    explicit Connection(asio::ip::tcp::socket socket, std::size_t read_buffer = kReadBuffer, std::string peer = {});
    // Grows the read buffer to kReadBuffer; between reads only.
    void widen_read_buffer() {
        if (read_buffer_.size() < kReadBuffer) read_buffer_.resize(kReadBuffer);
    }
    ~Connection();

    // Starts the writer coroutine; call once.
    void start();
    // Reads the next frame, landing it when `landing` says so, within `limits`.
    asio::awaitable<ReadOutcome> read_frame(const Landing* landing = nullptr, const ReadLimits* limits = nullptr);
    // The same without the io thread, for a peer whose callers read their own
    // replies (node_client.cpp: a reply read by the thread that waits for it
    // saves waking a second thread on every round trip). Any thread, one at a
    // time, never mixed with a pending read_frame(). Waits up to `wait` for
    // bytes (zero: takes only what has arrived; negative: no limit); `idle`
    // when the frame is not complete by then. A frame read in part is kept
    // and the next call goes on with it. close() wakes a waiting reader.
    // `limits`: a header announcing more than `max_payload` is refused, and
    // `reserve` is asked for the payload's bytes once the header is in (a
    // refusal fails the read with its code: unlike read_frame, the stream is
    // then out of step and the caller hangs up); `reserved` says what it took.
    // `payload_room`: storage a frame read whole from the buffer takes for
    // its payload (a reader that hands each payload back there allocates
    // nothing for the next).
    ReadOutcome read_frame_now(std::chrono::milliseconds wait, const Landing* landing = nullptr,
                               const ReadLimits* limits = nullptr, std::vector<std::uint8_t>* payload_room = nullptr);
    // Whether read_frame_now holds bytes it read and has not handed out yet
    // (the next frame, or part of it): the next call finds them without a
    // system call.
    bool has_buffered() const;
    // Sends or queues a frame; returns at once (after leave_io(): once the
    // frame is out, unless another sender is writing and takes it along).
    // Any thread.
    void send(MsgType type, std::uint64_t request_id, Bytes payload);
    // Queues a frame whose payload is `head` followed by `tail`, sent from
    // where it lies: the caller keeps `tail` alive and unchanged until the
    // peer has answered the frame or the connection has closed.
    void send(MsgType type, std::uint64_t request_id, Bytes head, std::span<const std::uint8_t> tail);
    void send_error(std::uint64_t request_id, ErrorCode code, const std::string& message);
    // Sends a payload-less frame (a heartbeat) unless another is being
    // written; false when it did not. Never blocks, even after leave_io().
    bool send_if_idle(MsgType type, std::uint64_t request_id);

    // Takes the socket out of asio (on the io thread, with no read pending
    // and nothing queued): from then on it is read only by read_frame_now,
    // and send() writes what the socket cannot take at once from the
    // sender's own thread, waiting for room (other senders queue behind it),
    // so nothing on the io thread wakes when bytes come or go. For a peer
    // whose callers wait for their replies anyway (node_client.cpp). A sender
    // waiting for room calls `read_while_writing` when bytes have come in; it
    // reads what it can and returns false when another thread is reading.
    void leave_io(std::function<bool()> read_while_writing = {});
    // Sends what is queued, then half-closes (FIN) and closes once the peer
    // has closed too or kLinger has passed. Closing at once with unread bytes
    // in our receive buffer would make the kernel send RST, and the peer
    // would lose the frames still queued on its side (the goodbye among them).
    void close_after_flush();
    void close(const std::string& reason = "closed by this side");
    bool is_open() const { return open_; }
    // Why the connection was closed from this side (a write failure, ...). Any thread.
    std::string close_reason() const {
        std::lock_guard lock(out_mutex_);  // a sender that fails to write sets it too
        return close_reason_;
    }
    static constexpr std::chrono::milliseconds kLinger{2000};

    Clock::time_point last_received() const { return Clock::time_point(Clock::duration(last_received_.load())); }
    const std::string& peer() const { return peer_; }
    // The socket's descriptor, for a caller that waits on several
    // connections in one poll() (cluster/away_nodes.cpp) and then reads with
    // read_frame_now: never read, written or closed through it.
    int native_fd() const { return fd_; }
    std::uint64_t bytes_in() const { return bytes_in_; }
    std::uint64_t bytes_out() const {
        std::lock_guard lock(out_mutex_);
        return bytes_out_;
    }
    // Bytes queued for the peer and not yet written: what a peer that does
    // not read makes this side hold. Any thread.
    std::size_t queued_bytes() const;

private:
    asio::awaitable<void> writer();

    asio::ip::tcp::socket socket_;
    asio::steady_timer wake_;  // never expires by itself: cancelled to wake the writer
    // Reads `into` in cache-sized pieces, checksumming each while it is hot.
    asio::awaitable<std::error_code> read_checksummed(std::span<std::uint8_t> into, FrameCrc& crc);
    // Appends `n` bytes to `into` the same way, growing it a piece at a time.
    asio::awaitable<std::error_code> read_growing(std::vector<std::uint8_t>& into, std::size_t n, FrameCrc& crc);
    // Reads and checksums `n` bytes, keeping none.
    asio::awaitable<std::error_code> read_dropped(std::size_t n, FrameCrc& crc);
    // Fills `into`: from read_buffer_ first, then from the socket.
    asio::awaitable<std::error_code> read_exact(std::span<std::uint8_t> into);

    // read_frame_now's twin of read_exact: fills `into` from `got` on, waiting
    // for bytes until `until`; std::errc::timed_out when they did not all come.
    std::error_code take_now(std::span<std::uint8_t> into, std::size_t& got, Clock::time_point until);
    // The same, checksumming in cache-sized pieces as they come.
    std::error_code take_checksummed(std::span<std::uint8_t> into, std::size_t& got, FrameCrc& crc, Clock::time_point until);
    static constexpr std::size_t kChecksumPiece = 256u << 10;  // stays in L2 until the checksum has read it
    struct PartialFrame {  // read_frame_now's frame in progress
        std::array<std::uint8_t, kFrameHeaderSize> header{};
        std::size_t header_got = 0;
        std::optional<FrameCrc> crc;  // set once the header is in and checked
        std::uint32_t checksum = 0;   // what the header announced
        std::size_t length = 0;       // payload bytes announced
        bool may_land = false;        // `frame.payload` is sized to the landing's head
        Frame frame;                  // type, id, and the payload (or head) so far
        std::size_t payload_got = 0;
        bool placed = false;          // landing: `rest` is chosen
        std::span<std::uint8_t> rest;
        std::size_t rest_got = 0;
        std::size_t reserved = 0;     // of the payload, by the limits' reserve
    };
    PartialFrame partial_;  // under read_mutex_
    void mark_received();  // after every successful read: the heartbeat watchdogs look
    // Copies to `into` what an earlier read brought along; how many bytes.
    std::size_t take_buffered(std::span<std::uint8_t> into);
    // The common case of read_frame_now, a small frame that came whole in one
    // read: taken straight from the buffer into `out` (no PartialFrame, one
    // copy). False, `out` untouched, when the buffer holds no whole, sound,
    // acceptable frame that does not land: the general path then reads,
    // refuses or reports it.
    bool whole_buffered_frame(ReadOutcome& out, const Landing* landing, const ReadLimits* limits,
                              std::vector<std::uint8_t>* payload_room);
    ReadOutcome read_frame_locked(std::chrono::milliseconds wait, const Landing* landing, const ReadLimits* limits,
                                  std::vector<std::uint8_t>* payload_room);  // under read_mutex_

    std::vector<std::uint8_t> read_buffer_;
    std::size_t read_pos_ = 0, read_end_ = 0;  // unread bytes: [read_pos_, read_end_)
    // Held by read_frame_now while it uses the descriptor, and by close()
    // before it closes it (so a reader never touches a reused number).
    mutable std::mutex read_mutex_;
    bool fd_closed_ = false;  // under read_mutex_
    const int fd_;

    struct Outgoing {
        std::array<std::uint8_t, kFrameHeaderSize> header;
        Bytes payload;
        std::span<const std::uint8_t> tail;  // borrowed: see send()
        std::size_t sent = 0;                // bytes send() wrote before queueing the rest
        std::size_t size() const { return header.size() + payload.size() + tail.size(); }
    };
    // One non-blocking gather write; the bytes written. Under out_mutex_.
    std::size_t send_now(const Outgoing& out);
    // After leave_io(): the thread that set writing_ writes the queue out.
    void write_queue_now();
    void write_failed(std::unique_lock<std::mutex>& out_lock, const std::string& why);  // stops sending
    bool own_threads_ = false;  // leave_io() ran (before any other thread uses this)
    std::function<bool()> read_while_writing_;
    std::mutex write_mutex_;    // held by write_queue_now while it waits on the descriptor
    bool fd_closed_for_writes_ = false;  // under write_mutex_

    // Guards the sending side, which other threads share through send().
    mutable std::mutex out_mutex_;
    std::deque<Outgoing> queue_;  // header, payload and tail go out in one gather write, no concatenation
    bool writing_ = false;        // the writer has queue_.front() in flight
    bool send_closed_ = false;    // close() ran: nobody touches the descriptor again
    bool close_when_drained_ = false;
    bool open_ = true;            // io thread only
    std::string close_reason_;
    std::string peer_;
    // Atomic: the reading thread writes them, the watchdog and stats read them.
    std::atomic<Clock::rep> last_received_{Clock::now().time_since_epoch().count()};
    std::atomic<std::uint64_t> bytes_in_{0};
    std::uint64_t bytes_out_ = 0;
};

}  // namespace polymer::cluster
