#include "cluster/connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "isa/byte_io.h"

namespace polymer::cluster {

namespace {

// What read_frame and read_frame_now report for a refused header.
ReadOutcome refused(const HeaderCheck& check) {
    ReadOutcome out;
    out.code = check.fault == FrameFault::BadVersion ? ErrorCode::VersionMismatch
               : check.fault == FrameFault::TooLarge ? ErrorCode::FrameTooLarge
                                                     : ErrorCode::BadFrame;
    out.message = check.message;
    return out;
}

ReadOutcome corrupt(const Frame& f) {
    ReadOutcome out;
    out.code = ErrorCode::BadChecksum;
    out.message = pbc::cat(msg_type_name(f.type), " frame, request ", f.request_id, ": checksum mismatch (corrupt frame)");
    return out;
}

// Whether a frame of `length` payload bytes may land (read its head first).
bool may_land(const Landing* landing, MsgType type, std::size_t length) {
    return landing && landing->type == type && length >= landing->head;
}

// Once a landing frame's head is in: where the rest of its payload goes, and
// `f` marked landed; or, when `place` declines, the rest of `f.payload`.
std::span<std::uint8_t> place_rest(const Landing& landing, Frame& f, std::size_t length) {
    const std::size_t rest = length - landing.head;
    std::span<std::uint8_t> place = landing.place(f, rest);
    if (place.size() == rest) {
        f.landed = place;
        return place;
    }
    f.payload.resize(length);  // not landing after all: the rest joins the payload
    return std::span<std::uint8_t>(f.payload).subspan(landing.head);
}

// A header announcing more than ReadLimits::max_payload, refused before anything is allocated.
ReadOutcome over_limit(MsgType type, std::size_t length, std::size_t max) {
    ReadOutcome out;
    out.code = ErrorCode::FrameTooLarge;
    out.message = pbc::cat("a ", msg_type_name(type), " frame of ", length, " bytes is over the limit of ", max,
                           " bytes here (nothing was allocated for it)");
    return out;
}

// A byte count only the reading thread adds to (the stats read it): no
// locked read-modify-write at every frame.
void count_in(std::atomic<std::uint64_t>& counter, std::size_t bytes) {
    counter.store(counter.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
}

ReadOutcome ended_inside(const Frame& f, std::size_t length) {
    ReadOutcome out;
    out.closed = true;
    out.message = pbc::cat("stream ended inside a ", msg_type_name(f.type), " frame's payload (", length, " bytes announced)");
    return out;
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, std::size_t read_buffer, std::string peer)
    : socket_(std::move(socket)), wake_(socket_.get_executor()), read_buffer_(read_buffer), fd_(socket_.native_handle()),
      peer_(std::move(peer)) {
    wake_.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    if (peer_.empty()) {
        auto ep = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("unknown peer") : pbc::cat(ep.address().to_string(), ":", ep.port());
    }
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Connection::start() {
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->writer(); }, asio::detached);
}

asio::awaitable<ReadOutcome> Connection::read_frame(const Landing* landing, const ReadLimits* limits) {
    ReadOutcome out;
    std::array<std::uint8_t, kFrameHeaderSize> header{};
    if (std::error_code ec = co_await read_exact(header)) {
        out.closed = true;
        out.message = !open_ ? close_reason_
                      : ec == asio::error::eof ? "peer closed the connection" : "read failed: " + ec.message();
        co_return out;
    }
    HeaderCheck check = decode_header(header);
    if (check.fault != FrameFault::None) co_return refused(check);
    Frame f;
    f.type = check.header.type;
    f.request_id = check.header.request_id;
    const std::size_t length = check.header.payload_length;
    FrameCrc crc(std::span<const std::uint8_t>(header).first(28));
    if (limits && length > limits->max_payload) co_return over_limit(f.type, length, limits->max_payload);

    // The head first when the frame may land; the whole payload otherwise.
    const bool lands = may_land(landing, f.type, length);
    const std::size_t buffer = lands ? landing->head : length;
    if (limits && limits->reserve) {
        if (auto refusal = limits->reserve(buffer)) {
            if (co_await read_dropped(length, crc)) co_return ended_inside(f, length);
            if (crc.value() != check.header.checksum) co_return corrupt(f);
            out.dropped = std::move(refusal);
            out.frame = std::move(f);
            co_return out;
        }
        out.reserved = buffer;
    }
    if (co_await read_growing(f.payload, buffer, crc)) co_return ended_inside(f, length);
    if (lands && co_await read_checksummed(place_rest(*landing, f, length), crc)) co_return ended_inside(f, length);
    if (crc.value() != check.header.checksum) co_return corrupt(f);
    out.frame = std::move(f);
    co_return out;
}

ReadOutcome Connection::read_frame_now(std::chrono::milliseconds wait, const Landing* landing, const ReadLimits* limits,
                                       std::vector<std::uint8_t>* payload_room) {
    std::lock_guard lock(read_mutex_);
    ReadOutcome out = read_frame_locked(wait, landing, limits, payload_room);
    out.more_buffered = read_pos_ < read_end_;
    return out;
}

ReadOutcome Connection::read_frame_locked(std::chrono::milliseconds wait, const Landing* landing, const ReadLimits* limits,
                                          std::vector<std::uint8_t>* payload_room) {
    // No wait: min() stands for "now" without asking the clock (take_now
    // gives up at the first empty read); most looks find nothing.
    const auto until = wait.count() < 0 ? Clock::time_point::max() : wait.count() == 0 ? Clock::time_point::min() : Clock::now() + wait;
    ReadOutcome out;
    auto lost = [&](std::error_code ec) {
        out.closed = true;
        std::lock_guard out_lock(out_mutex_);  // close() sets the reason there before it wakes us
        out.message = send_closed_ ? close_reason_
                      : ec == asio::error::eof ? "peer closed the connection" : "read failed: " + ec.message();
        return out;
    };
    auto idle = [&] {
        out.idle = true;
        return out;
    };
    if (fd_closed_) return lost(asio::error::eof);
    PartialFrame& p = partial_;
    if (!p.crc && p.header_got == 0) {
        // A look (no wait) at an empty buffer: one read, and most often
        // nothing; the general path below reports an end or a failure.
        if (read_pos_ == read_end_ && until == Clock::time_point::min()) {
            const ssize_t n = ::recv(fd_, read_buffer_.data(), read_buffer_.size(), MSG_DONTWAIT);
            if (n > 0) {
                mark_received();
                read_pos_ = 0;
                read_end_ = static_cast<std::size_t>(n);
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return idle();
            }
        }
        if (whole_buffered_frame(out, landing, limits, payload_room)) return out;
    }
    // A read that fails inside a frame hands back what was reserved for it.
    auto give_back = [&](ReadOutcome failed) {
        failed.reserved = std::exchange(p.reserved, 0);
        return failed;
    };
    if (!p.crc) {  // the header first
        const std::error_code ec = take_now(p.header, p.header_got, until);
        if (ec == std::errc::timed_out) return idle();
        if (ec) return lost(ec);
        const HeaderCheck check = decode_header(p.header);
        if (check.fault != FrameFault::None) return refused(check);
        const std::size_t length = check.header.payload_length;
        if (limits && length > limits->max_payload) return over_limit(check.header.type, length, limits->max_payload);
        if (limits && limits->reserve) {
            if (auto refusal = limits->reserve(length)) {
                out.code = refusal->code;
                out.message = refusal->message;
                return out;
            }
            p.reserved = length;
        }
        p.frame.type = check.header.type;
        p.frame.request_id = check.header.request_id;
        p.length = length;
        p.checksum = check.header.checksum;
        p.crc.emplace(std::span<const std::uint8_t>(p.header).first(28));
        // The head first when the frame may land; the whole payload otherwise.
        p.may_land = may_land(landing, p.frame.type, p.length);
        p.frame.payload.resize(p.may_land ? landing->head : p.length);
    }
    if (const std::error_code ec = take_checksummed(p.frame.payload, p.payload_got, *p.crc, until)) {
        if (ec == std::errc::timed_out) return idle();
        return give_back(ended_inside(p.frame, p.length));
    }
    if (p.may_land) {
        if (!p.placed) {
            p.rest = place_rest(*landing, p.frame, p.length);
            p.placed = true;
        }
        if (const std::error_code ec = take_checksummed(p.rest, p.rest_got, *p.crc, until)) {
            if (ec == std::errc::timed_out) return idle();
            return give_back(ended_inside(p.frame, p.length));
        }
    }
    PartialFrame done = std::exchange(p, PartialFrame{});
    if (done.crc->value() != done.checksum) {
        ReadOutcome bad = corrupt(done.frame);
        bad.reserved = done.reserved;
        return bad;
    }
    count_in(bytes_in_, done.header.size() + done.length);
    out.frame = std::move(done.frame);
    out.reserved = done.reserved;
    return out;
}

bool Connection::whole_buffered_frame(ReadOutcome& out, const Landing* landing, const ReadLimits* limits,
                                      std::vector<std::uint8_t>* payload_room) {
    const std::size_t have = read_end_ - read_pos_;
    if (have < kFrameHeaderSize) return false;
    const std::uint8_t* at = read_buffer_.data() + read_pos_;
    const std::span<const std::uint8_t, kFrameHeaderSize> header(at, kFrameHeaderSize);
    const HeaderCheck check = decode_header(header);
    const std::size_t length = check.header.payload_length;
    if (check.fault != FrameFault::None || have - kFrameHeaderSize < length || (limits && length > limits->max_payload))
        return false;
    if (may_land(landing, check.header.type, length)) return false;
    const std::span<const std::uint8_t> payload(at + kFrameHeaderSize, length);
    FrameCrc crc(header.first(28));
    crc.add(payload);
    if (crc.value() != check.header.checksum) return false;
    // Reserved last: every way out above reserved nothing.
    if (limits && limits->reserve && limits->reserve_buffered) {
        if (limits->reserve(length)) return false;
        out.reserved = length;
    }
    Frame& f = out.frame.emplace();
    f.type = check.header.type;
    f.request_id = check.header.request_id;
    if (payload_room != nullptr) f.payload = std::move(*payload_room);
    f.payload.assign(payload.begin(), payload.end());
    read_pos_ += kFrameHeaderSize + length;
    count_in(bytes_in_, kFrameHeaderSize + length);
    return true;
}

bool Connection::has_buffered() const {
    std::lock_guard lock(read_mutex_);
    return read_pos_ < read_end_;
}

std::error_code Connection::take_checksummed(std::span<std::uint8_t> into, std::size_t& got, FrameCrc& crc,
                                             Clock::time_point until) {
    while (got < into.size()) {
        const std::size_t before = got;
        const std::error_code ec = take_now(into.first(std::min(into.size(), got + kChecksumPiece)), got, until);
        crc.add(into.subspan(before, got - before));  // while it is still in cache
        if (ec) return ec;
    }
    return {};
}

std::size_t Connection::take_buffered(std::span<std::uint8_t> into) {
    const std::size_t n = std::min(read_end_ - read_pos_, into.size());
    std::memcpy(into.data(), read_buffer_.data() + read_pos_, n);
    read_pos_ += n;
    return n;
}

// Relaxed: only the reading thread writes it, and the watchdog only looks (a
// full barrier at every read held the reader up while its stores drained).
void Connection::mark_received() { last_received_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed); }

std::error_code Connection::take_now(std::span<std::uint8_t> into, std::size_t& got, Clock::time_point until) {
    while (got < into.size()) {
        if (read_pos_ < read_end_) {
            got += take_buffered(into.subspan(got));
            continue;
        }
        // Big: straight into place. Small: whatever has arrived, into the buffer.
        const bool big = into.size() - got >= read_buffer_.size() / 2;
        const ssize_t n = big ? ::recv(fd_, into.data() + got, into.size() - got, MSG_DONTWAIT)
                              : ::recv(fd_, read_buffer_.data(), read_buffer_.size(), MSG_DONTWAIT);
        if (n > 0) {
            mark_received();
            if (big) {
                got += static_cast<std::size_t>(n);
            } else {
                read_pos_ = 0;
                read_end_ = static_cast<std::size_t>(n);
            }
            continue;
        }
        if (n == 0) return asio::error::eof;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return {errno, std::system_category()};
        if (until == Clock::time_point::min()) return std::make_error_code(std::errc::timed_out);
        const auto now = Clock::now();
        if (now >= until) return std::make_error_code(std::errc::timed_out);
        const auto left = until == Clock::time_point::max()
                              ? -1
                              : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count());
        pollfd ready{fd_, POLLIN, 0};
        if (::poll(&ready, 1, left) < 0 && errno != EINTR) return {errno, std::system_category()};
    }
    return {};
}

asio::awaitable<std::error_code> Connection::read_checksummed(std::span<std::uint8_t> into, FrameCrc& crc) {
    for (std::size_t done = 0; done < into.size();) {
        const std::size_t n = std::min(kChecksumPiece, into.size() - done);
        if (std::error_code ec = co_await read_exact(into.subspan(done, n))) co_return ec;
        crc.add(into.subspan(done, n));
        done += n;
    }
    co_return std::error_code{};
}

asio::awaitable<std::error_code> Connection::read_growing(std::vector<std::uint8_t>& into, std::size_t n, FrameCrc& crc) {
    // Reserved, not resized: the pages are touched (zeroed, then written) one
    // piece at a time as bytes arrive, so a length announced and never sent
    // costs no memory, and nothing is zero-filled up front.
    into.reserve(into.size() + n);
    for (const std::size_t end = into.size() + n; into.size() < end;) {
        const std::size_t at = into.size(), piece = std::min(kChecksumPiece, end - at);
        into.resize(at + piece);
        const std::span<std::uint8_t> part = std::span<std::uint8_t>(into).subspan(at, piece);
        if (std::error_code ec = co_await read_exact(part)) co_return ec;
        crc.add(part);
    }
    co_return std::error_code{};
}

asio::awaitable<std::error_code> Connection::read_dropped(std::size_t n, FrameCrc& crc) {
    std::vector<std::uint8_t> scratch(std::min<std::size_t>(n, 16u << 10));
    for (std::size_t done = 0; done < n;) {
        const std::span<std::uint8_t> part = std::span<std::uint8_t>(scratch).first(std::min(scratch.size(), n - done));
        if (std::error_code ec = co_await read_exact(part)) co_return ec;
        crc.add(part);
        done += part.size();
    }
    co_return std::error_code{};
}

std::size_t Connection::queued_bytes() const {
    std::lock_guard lock(out_mutex_);
    std::size_t n = 0;
    for (const Outgoing& o : queue_) n += o.size() - o.sent;
    return n;
}

// Not asio::buffered_read_stream: that copies every byte through its buffer,
// and a region's bulk bytes must go straight to their place.
asio::awaitable<std::error_code> Connection::read_exact(std::span<std::uint8_t> into) {
    std::error_code ec;
    auto ok = asio::redirect_error(asio::use_awaitable, ec);
    std::size_t done = 0;
    while (done < into.size()) {
        if (read_pos_ < read_end_) {
            done += take_buffered(into.subspan(done));
            continue;
        }
        const std::size_t left = into.size() - done;
        if (left >= read_buffer_.size() / 2) {  // big: straight into place, no copy
            co_await asio::async_read(socket_, asio::buffer(into.data() + done, left), ok);
            if (ec) co_return ec;
            mark_received();
            done += left;
            continue;
        }
        // Small: one read takes whatever has arrived (usually the whole frame,
        // often the next ones too) instead of a system call per field.
        read_pos_ = 0;
        read_end_ = co_await socket_.async_read_some(asio::buffer(read_buffer_), ok);
        if (ec) co_return ec;
        mark_received();
    }
    count_in(bytes_in_, into.size());
    co_return ec;
}

void Connection::send(MsgType type, std::uint64_t request_id, Bytes payload) { send(type, request_id, std::move(payload), {}); }

void Connection::send(MsgType type, std::uint64_t request_id, Bytes head, std::span<const std::uint8_t> tail) {
    const auto header = encode_header(type, request_id, head, tail);  // the checksum, on the sender's thread
    std::unique_lock lock(out_mutex_);
    if (send_closed_ || close_when_drained_) return;
    Outgoing out{header, std::move(head), tail, 0};
    if (queue_.empty() && !writing_) {
        // Nothing ahead of it: straight out, no hop to the io thread.
        out.sent = send_now(out);
        bytes_out_ += out.sent;
        if (out.sent == out.size()) return;
    }
    queue_.push_back(std::move(out));
    if (own_threads_) {
        if (writing_) return;  // the thread writing now sends it too
        writing_ = true;
        lock.unlock();
        write_queue_now();
        return;
    }
    lock.unlock();
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->wake_.cancel(); });
}

bool Connection::send_if_idle(MsgType type, std::uint64_t request_id) {
    const auto header = encode_header(type, request_id, {});
    std::lock_guard lock(out_mutex_);
    if (send_closed_ || close_when_drained_ || !queue_.empty() || writing_) return false;
    Outgoing out{header, {}, {}, 0};
    out.sent = send_now(out);
    bytes_out_ += out.sent;
    if (out.sent < out.size()) {  // a full socket: the rest waits for the next sender (or the writer)
        queue_.push_back(std::move(out));
        if (!own_threads_) asio::post(socket_.get_executor(), [self = shared_from_this()] { self->wake_.cancel(); });
    }
    return true;
}

void Connection::leave_io(std::function<bool()> read_while_writing) {
    read_while_writing_ = std::move(read_while_writing);
    std::error_code ec;
    socket_.release(ec);  // out of asio's epoll set: it would wake the io thread at every arrival
    own_threads_ = true;
    wake_.cancel();  // the writer coroutine ends
}

void Connection::write_queue_now() {
    bool reader_busy = false;
    for (;;) {
        std::unique_lock lock(out_mutex_);
        if (queue_.empty() || send_closed_) {
            if (send_closed_) queue_.clear();
            writing_ = false;
            return;
        }
        Outgoing& out = queue_.front();  // stays put: a deque's push_back keeps references, and only we pop
        if (out.sent == out.size()) {
            queue_.pop_front();
            continue;
        }
        const std::size_t n = send_now(out);
        out.sent += n;
        bytes_out_ += n;
        if (n > 0) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            write_failed(lock, pbc::cat("write failed: ", std::strerror(errno)));
            continue;
        }
        lock.unlock();
        // No room: wait for some, and take in what comes meanwhile, so the
        // other direction keeps moving while a long frame goes out (a
        // chunk's results come back while the next chunk's inputs go).
        // close() shuts the socket down first, which ends this wait, and
        // closes the descriptor only once we let go of it.
        pollfd ready{fd_, static_cast<short>(POLLOUT | (read_while_writing_ && !reader_busy ? POLLIN : 0)), 0};
        {
            std::lock_guard fd_lock(write_mutex_);
            if (fd_closed_for_writes_) continue;
            if (::poll(&ready, 1, -1) < 0 && errno != EINTR) continue;
        }
        if (ready.revents & (POLLERR | POLLHUP)) {
            std::unique_lock again(out_mutex_);
            write_failed(again, "write failed: the connection is gone");
            continue;
        }
        // Another thread reading already: wait for room alone until it is out.
        if (ready.revents & POLLIN) reader_busy = !read_while_writing_();
    }
}

void Connection::write_failed(std::unique_lock<std::mutex>&, const std::string& why) {
    if (send_closed_) return;
    close_reason_ = why;
    send_closed_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // the reader sees it too, and fails the waiting calls
}

std::size_t Connection::send_now(const Outgoing& out) {
    iovec parts[3] = {{const_cast<std::uint8_t*>(out.header.data()), out.header.size()},
                      {const_cast<std::uint8_t*>(out.payload.data()), out.payload.size()},
                      {const_cast<std::uint8_t*>(out.tail.data()), out.tail.size()}};
    std::size_t skip = out.sent, first = 0;  // past what went out already
    while (first < 3 && skip >= parts[first].iov_len) skip -= parts[first++].iov_len;
    if (first < 3) {
        parts[first].iov_base = static_cast<std::uint8_t*>(parts[first].iov_base) + skip;
        parts[first].iov_len -= skip;
    }
    msghdr msg{};
    msg.msg_iov = parts + first;
    msg.msg_iovlen = 3 - first;
    // Non-blocking: what the socket buffer cannot take now, the writer sends.
    // A plain sendmsg on the descriptor, not the asio socket object, which is
    // the io thread's alone (asio sockets are not safe to share across threads).
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n > 0 ? static_cast<std::size_t>(n) : 0;  // errno says why not; the writer handles errors
}

void Connection::send_error(std::uint64_t request_id, ErrorCode code, const std::string& message) {
    send(MsgType::Error, request_id, encode(ErrorMsg{code, message}));
}

void Connection::close_after_flush() {
    {
        std::lock_guard lock(out_mutex_);
        if (close_when_drained_) return;
        close_when_drained_ = true;
    }
    wake_.cancel();
}

void Connection::close(const std::string& reason) {
    if (!open_) return;
    open_ = false;
    {
        // After this no thread sends on the descriptor (closing it under a
        // sender could hand its number to another socket).
        std::lock_guard lock(out_mutex_);
        close_reason_ = reason;
        send_closed_ = true;
    }
    // Shut down first: that wakes a read_frame_now or write_queue_now waiting
    // in poll(), which then lets go of the descriptor.
    ::shutdown(fd_, SHUT_RDWR);
    {
        std::scoped_lock lock(read_mutex_, write_mutex_);
        fd_closed_ = true;
        fd_closed_for_writes_ = true;
        std::error_code ec;
        if (own_threads_) ::close(fd_);
        else socket_.close(ec);
    }
    wake_.cancel();
}

Connection::~Connection() {
    if (own_threads_ && !fd_closed_) ::close(fd_);
}

asio::awaitable<void> Connection::writer() {
    auto self = shared_from_this();
    std::string why = "closed by this side";
    while (open_) {
        if (own_threads_) co_return;  // leave_io(): senders write for themselves
        std::unique_lock lock(out_mutex_);
        if (queue_.empty()) {
            if (close_when_drained_) break;
            lock.unlock();
            std::error_code ec;
            co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        writing_ = true;
        const Outgoing& out = queue_.front();  // stays put: a deque's push_back keeps references
        lock.unlock();
        std::array<asio::const_buffer, 3> buffers{asio::buffer(out.header), asio::buffer(out.payload),
                                                  asio::buffer(out.tail.data(), out.tail.size())};
        for (std::size_t skip = out.sent; asio::const_buffer& b : buffers) {  // what send() got out already
            const std::size_t n = std::min(skip, b.size());
            b += n;
            skip -= n;
        }
        std::error_code ec;
        co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
        lock.lock();
        writing_ = false;
        if (ec) {
            why = "write failed: " + ec.message();
            close_when_drained_ = false;
            break;
        }
        bytes_out_ += out.size() - out.sent;
        queue_.pop_front();
    }
    if (open_ && close_when_drained_) {
        // Lingering close: FIN now; the reader sees the peer's EOF and closes,
        // or the linger timer does. Nothing is written after this point.
        std::error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        wake_.expires_after(kLinger);
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    close(why);
}

}  // namespace polymer::cluster
