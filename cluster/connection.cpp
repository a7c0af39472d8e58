#include "cluster/connection.h"

#include "isa/byte_io.h"

namespace polymer::cluster {

Connection::Connection(asio::ip::tcp::socket socket) : socket_(std::move(socket)), wake_(socket_.get_executor()) {
    wake_.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown peer") : pbc::cat(ep.address().to_string(), ":", ep.port());
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void Connection::start() {
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->writer(); }, asio::detached);
}

asio::awaitable<ReadOutcome> Connection::read_frame(const Landing* landing) {
    ReadOutcome out;
    std::array<std::uint8_t, kFrameHeaderSize> header{};
    std::error_code ec;
    co_await asio::async_read(socket_, asio::buffer(header), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.closed = true;
        out.message = !open_ ? close_reason_
                      : ec == asio::error::eof ? "peer closed the connection" : "read failed: " + ec.message();
        co_return out;
    }
    last_received_ = Clock::now();
    bytes_in_ += kFrameHeaderSize;
    HeaderCheck check = decode_header(header);
    if (check.fault != FrameFault::None) {
        out.code = check.fault == FrameFault::BadVersion ? ErrorCode::VersionMismatch
                   : check.fault == FrameFault::TooLarge ? ErrorCode::FrameTooLarge
                                                         : ErrorCode::BadFrame;
        out.message = check.message;
        co_return out;
    }
    Frame f;
    f.type = check.header.type;
    f.request_id = check.header.request_id;
    const std::size_t length = check.header.payload_length;
    FrameCrc crc(std::span<const std::uint8_t>(header).first(28));
    auto ended_inside = [&] {
        out.closed = true;
        out.message = pbc::cat("stream ended inside a ", msg_type_name(f.type), " frame's payload (", length,
                               " bytes announced)");
    };

    // The head first when the frame may land; the whole payload otherwise.
    const bool may_land = landing && landing->type == f.type && length >= landing->head;
    f.payload.resize(may_land ? landing->head : length);
    if (co_await read_checksummed(f.payload, crc)) {
        ended_inside();
        co_return out;
    }
    if (may_land) {
        const std::size_t rest = length - landing->head;
        std::span<std::uint8_t> place = landing->place(f.payload, rest);
        if (place.size() == rest) {
            f.landed = place;
        } else {  // not landing after all: the rest joins the payload
            f.payload.resize(length);
            place = std::span<std::uint8_t>(f.payload).subspan(landing->head);
        }
        if (co_await read_checksummed(place, crc)) {
            ended_inside();
            co_return out;
        }
    }
    if (crc.value() != check.header.checksum) {
        out.code = ErrorCode::BadChecksum;
        out.message = pbc::cat(msg_type_name(f.type), " frame, request ", f.request_id,
                               ": checksum mismatch (corrupt frame)");
        co_return out;
    }
    out.frame = std::move(f);
    co_return out;
}

asio::awaitable<std::error_code> Connection::read_checksummed(std::span<std::uint8_t> into, FrameCrc& crc) {
    constexpr std::size_t kPiece = 256u << 10;  // stays in L2 until the checksum has read it
    std::error_code ec;
    for (std::size_t done = 0; done < into.size();) {
        const std::size_t n = std::min(kPiece, into.size() - done);
        co_await asio::async_read(socket_, asio::buffer(into.data() + done, n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return ec;
        crc.add(into.subspan(done, n));
        done += n;
        last_received_ = Clock::now();
        bytes_in_ += n;
    }
    co_return ec;
}

void Connection::send(MsgType type, std::uint64_t request_id, Bytes payload) { send(type, request_id, std::move(payload), {}); }

void Connection::send(MsgType type, std::uint64_t request_id, Bytes head, std::span<const std::uint8_t> tail) {
    if (!open_ || close_when_drained_) return;
    auto header = encode_header(type, request_id, head, tail);
    queue_.push_back(Outgoing{header, std::move(head), tail});
    wake_.cancel();
}

void Connection::send_error(std::uint64_t request_id, ErrorCode code, const std::string& message) {
    send(MsgType::Error, request_id, encode(ErrorMsg{code, message}));
}

void Connection::close_after_flush() {
    if (close_when_drained_) return;
    close_when_drained_ = true;
    wake_.cancel();
}

void Connection::close(const std::string& reason) {
    if (!open_) return;
    open_ = false;
    close_reason_ = reason;
    std::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    wake_.cancel();
}

asio::awaitable<void> Connection::writer() {
    auto self = shared_from_this();
    std::string why = "closed by this side";
    while (open_) {
        if (queue_.empty()) {
            if (close_when_drained_) break;
            std::error_code ec;
            co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        std::error_code ec;
        const Outgoing& out = queue_.front();
        const std::array<asio::const_buffer, 3> buffers{asio::buffer(out.header), asio::buffer(out.payload),
                                                        asio::buffer(out.tail.data(), out.tail.size())};
        co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            why = "write failed: " + ec.message();
            close_when_drained_ = false;
            break;
        }
        bytes_out_ += out.header.size() + out.payload.size() + out.tail.size();
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
