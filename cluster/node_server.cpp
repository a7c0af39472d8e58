#include "cluster/node_server.h"

#include <cerrno>
#include <map>

#include "cluster/away_host.h"
#include "cluster/chunk_runner.h"
#include "cluster/connection.h"
#include "cluster/log.h"
#include "cluster/peer_link.h"
#include "cluster/tls_tunnel.h"
#include "cluster/vector_runner.h"
#include "vm/interrupt.h"

namespace polymer::cluster {

using namespace std::chrono_literals;
using pbc::cat;

// An unauthenticated peer's read buffer: a hello or response frame fits.
constexpr std::size_t kHandshakeReadBuffer = 4096;

class Session : public std::enable_shared_from_this<Session> {
public:
    // With --tls, `socket` is the plaintext end of `tunnel` (cluster/tls_tunnel.h).
    // `dialler`: Node for the connection polymer-node --join opened to a home.
    Session(NodeServer& server, asio::ip::tcp::socket socket, std::shared_ptr<TlsTunnel> tunnel, std::string peer,
            Dialler dialler = Dialler::Home)
        : server_(server),
          dialler_(dialler),
          tunnel_(std::move(tunnel)),
          conn_(std::make_shared<Connection>(std::move(socket), kHandshakeReadBuffer, std::move(peer))),
          peer_id_(server.next_peer_id_++),
          handshake_timer_(server.io_) {
        // Before the handshake a frame may be no larger than the handshake
        // needs; after it, each payload buffer counts against the budgets.
        handshake_limits_.max_payload = kMaxHandshakePayload;
        limits_.reserve = [this](std::size_t bytes) {
            return server_.store_.budget().reserve(peer_id_, bytes, "a frame's payload");
        };
        // A region-put's bytes land straight in the region (a slice that fails
        // its checksum closes the connection, and run() drops the peer's regions).
        landing_.type = MsgType::RegionPut;
        landing_.head = kRegionPutHeadBytes;
        landing_.place = [this](const Frame& head, std::size_t rest) -> std::span<std::uint8_t> {
            auto h = decode_region_put_head(head.payload);
            std::span<std::uint8_t> into;
            if (!authenticated_ || !h || h.value().length != rest) return {};
            if (server_.store_.prepare_put(peer_id_, h.value(), into)) return {};  // the whole frame is read, then refused
            return into;
        };
    }

    void start() {
        conn_->start();
        auto self = shared_from_this();
        asio::co_spawn(server_.io_, [self] { return self->run(); }, asio::detached);
        asio::co_spawn(server_.io_, [self] { return self->pulse(); }, asio::detached);
        asio::co_spawn(server_.io_, [self] { return self->handshake_deadline(); }, asio::detached);
    }

    bool authenticated() const { return authenticated_; }
    Connection::Clock::time_point accepted_at() const { return accepted_at_; }
    void evict(const std::string& why) {
        log(LogLevel::Info, "peer ", who(), ": ", why);
        close(why);
    }

    // Shutdown: refuse queued chunks, say goodbye once running ones are done.
    void cancel_queued() {
        for (auto& [id, launch] : launches_) launch.cancelled->store(true);
    }
    // Stops (and joins) the procedures this home started here.
    void stop_procedures(const std::string& why) {
        if (away_) away_->stop_all(why);
    }
    void goodbye() {
        conn_->send(MsgType::Goodbye, 0, {});
        conn_->close_after_flush();
    }
    bool is_open() const { return conn_->is_open(); }
    // Whether this home gave the node `ticket` (constant time: a peer that
    // guesses learns nothing from how long a miss takes).
    bool holds_ticket(const Nonce& ticket) const { return peer_ticket_ && macs_equal(*peer_ticket_, ticket); }

private:
    std::string who() const { return client_name_.empty() ? conn_->peer() : cat(conn_->peer(), " (", client_name_, ")"); }

    // Closes the connection and, with --tls, the TCP socket under it now
    // (the tunnel would otherwise wait out the handshake or the linger).
    void close(const std::string& why) {
        conn_->close(why);
        if (tunnel_) tunnel_->close();
    }

    // --tls: the TLS handshake, within what is left of the handshake deadline.
    asio::awaitable<bool> secure() {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            accepted_at_ + server_.config_.limits.handshake_timeout - Connection::Clock::now());
        const std::string why = co_await tunnel_->handshake(std::max(left, std::chrono::milliseconds(1)));
        if (why.empty()) {
            tunnel_->start();
            co_return true;
        }
        server_.tls_log_.log(LogLevel::Warn, cat("peer ", who(), ": ", why));
        close(why);
        co_return false;
    }

    // Logs why, tells the peer when the stream can still carry it, and hangs up.
    void refuse_and_close(std::uint64_t request, ErrorCode code, const std::string& why) {
        log(LogLevel::Warn, "peer ", who(), ": ", error_code_name(code), ": ", why, "; closing the connection");
        conn_->send_error(request, code, why);
        conn_->close_after_flush();
    }

    // Reads one frame; on a framing fault logs, answers and closes. A frame
    // whose payload the budgets cannot take is answered with out-of-memory
    // and skipped. The payload bytes reserved for the frame are in held_.
    asio::awaitable<std::optional<Frame>> next_frame() {
        ReadOutcome r = co_await conn_->read_frame(&landing_, authenticated_ ? &limits_ : &handshake_limits_);
        while (r.frame && r.dropped) {
            log(LogLevel::Warn, "peer ", who(), ": ", msg_type_name(r.frame->type), " refused: out-of-memory: ", r.dropped->message);
            conn_->send_error(r.frame->request_id, r.dropped->code, r.dropped->message);
            r = co_await conn_->read_frame(&landing_, &limits_);
        }
        held_ = r.reserved;
        if (r.frame) co_return std::move(r.frame);
        if (r.closed) {
            if (conn_->is_open()) log(LogLevel::Info, "peer ", who(), ": ", r.message);
            conn_->close();
        } else {
            refuse_and_close(0, r.code, r.message);
        }
        co_return std::nullopt;
    }

    asio::awaitable<bool> handshake() {
        auto hello_frame = co_await next_frame();
        if (!hello_frame) co_return false;
        if (hello_frame->type != MsgType::Hello) {
            refuse_and_close(hello_frame->request_id, ErrorCode::NotAuthenticated,
                             cat(msg_type_name(hello_frame->type), " before the handshake; send hello first"));
            co_return false;
        }
        auto hello = decode_hello(hello_frame->payload);
        if (!hello) {
            refuse_and_close(hello_frame->request_id, ErrorCode::BadPayload, hello.error());
            co_return false;
        }
        client_name_ = hello.value().name;
        if (hello.value().version != kProtocolVersion) {
            refuse_and_close(hello_frame->request_id, ErrorCode::VersionMismatch,
                             cat("client speaks protocol version ", hello.value().version, ", this node speaks ", kProtocolVersion));
            co_return false;
        }
        auto nonce = random_nonce();
        if (!nonce) {
            refuse_and_close(hello_frame->request_id, ErrorCode::AuthFailed, nonce.error());
            co_return false;
        }
        conn_->send(MsgType::Challenge, hello_frame->request_id, encode(Challenge{nonce.value()}));
        auto resp_frame = co_await next_frame();
        if (!resp_frame) co_return false;
        if (resp_frame->type != MsgType::Response) {
            refuse_and_close(resp_frame->request_id, ErrorCode::NotAuthenticated,
                             cat(msg_type_name(resp_frame->type), " instead of the handshake response"));
            co_return false;
        }
        auto resp = decode_response(resp_frame->payload);
        if (!resp) {
            refuse_and_close(resp_frame->request_id, ErrorCode::BadPayload, resp.error());
            co_return false;
        }
        const Mac expected = client_proof(server_.config_.secret, nonce.value(), resp.value().client_nonce, dialler_);
        if (!macs_equal(expected, resp.value().mac)) {
            refuse_and_close(resp_frame->request_id, ErrorCode::AuthFailed, "handshake failed: wrong token (HMAC mismatch)");
            co_return false;
        }
        Welcome w;
        w.proof = node_proof(server_.config_.secret, nonce.value(), resp.value().client_nonce, dialler_);
        w.caps = server_.config_.caps;
        conn_->send(MsgType::Welcome, resp_frame->request_id, encode(w));
        log(LogLevel::Info, "peer ", who(), ": authenticated");
        co_return true;
    }

    asio::awaitable<void> run() {
        auto self = shared_from_this();
        bool welcomed = true;  // TLS first (with --tls), then the token handshake inside it
        if (tunnel_) welcomed = co_await secure();
        if (welcomed) welcomed = co_await handshake();
        handshake_timer_.cancel();
        if (dialler_ == Dialler::Home) server_.admission_.settled();  // no longer waiting to authenticate, either way
        if (!welcomed) co_return;
        authenticated_ = true;
        conn_->widen_read_buffer();
        while (conn_->is_open()) {
            co_await room_to_read();
            auto f = co_await next_frame();
            if (!f) break;
            handle(std::move(*f));
            server_.store_.budget().release(peer_id_, std::exchange(held_, 0));
            if (auto home = std::exchange(inbox_for_, nullptr)) {
                // No read is pending: the socket leaves asio, and the pulse
                // goes on sending heartbeats and watching the silence.
                conn_->leave_io();
                if (!home->away_ || !home->away_->adopt_inbox(conn_, inbox_from_.sender, inbox_from_.run))
                    conn_->close("the home runs no procedures here any more");
                else log(LogLevel::Info, "peer ", who(), ": carries chan-frames both ways, read by the procedures of home ", home->who());
                co_return;
            }
        }
        end_peer_transfers();
        stop_procedures("the home's connection closed");
        server_.store_.drop_peer(peer_id_);  // running chunks keep what they use
    }

    // A home's session ended: its ticket, its peer sessions and this node's
    // links to its other nodes go with it.
    void end_peer_transfers() {
        peer_ticket_.reset();
        if (links_) links_->close_all("the home's session ended");
        for (auto& weak : peer_sessions_)
            if (auto peer = weak.lock()) peer->close("the home whose peer ticket it presented has disconnected");
        peer_sessions_.clear();
    }

    // The whole handshake has a deadline: a peer that trickles its bytes in
    // does not extend it (the heartbeat timeout alone would be reset by every
    // byte).
    asio::awaitable<void> handshake_deadline() {
        auto self = shared_from_this();
        const auto timeout = server_.config_.limits.handshake_timeout;
        handshake_timer_.expires_after(timeout);
        std::error_code ec;
        co_await handshake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || authenticated_ || !conn_->is_open()) co_return;
        server_.deadline_log_.log(LogLevel::Warn, cat("peer ", who(), ": handshake not finished within ", timeout.count(),
                                                    " ms (--handshake-timeout-ms); closing"));
        close("handshake deadline passed");
    }

    // Back-pressure: while the home leaves too many replies unread or has too
    // many launches queued, the node reads nothing more from it (its own
    // sends then wait in its socket), so what it can make the node hold stays
    // bounded.
    asio::awaitable<void> room_to_read() {
        const NodeLimits& limits = server_.config_.limits;
        auto full = [&] {
            return conn_->queued_bytes() > limits.max_queued_bytes || launches_.size() >= limits.max_launches_in_flight ||
                   parked_gets_.size() >= limits.max_launches_in_flight;
        };
        if (!full()) co_return;
        asio::steady_timer wait(server_.io_);
        while (conn_->is_open() && full()) {
            wait.expires_after(1ms);
            std::error_code ec;
            co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }

    asio::awaitable<void> pulse() {
        auto self = shared_from_this();
        asio::steady_timer timer(server_.io_);
        const auto& cfg = server_.config_;
        while (conn_->is_open()) {
            timer.expires_after(cfg.heartbeat_interval);
            std::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (!conn_->is_open()) break;
            const auto silent = Connection::Clock::now() - conn_->last_received();
            if (silent > cfg.heartbeat_timeout) {
                log(LogLevel::Warn, "peer ", who(), ": nothing received for ",
                    std::chrono::duration_cast<std::chrono::milliseconds>(silent).count(), " ms (heartbeat timeout ",
                    cfg.heartbeat_timeout.count(), " ms", authenticated_ ? "" : ", handshake unfinished", "); closing");
                conn_->close();
                break;
            }
            if (authenticated_) conn_->send(MsgType::Heartbeat, 0, {});
        }
    }

    template <class T>
    bool decoded(const Result<T>& r, const Frame& f) {
        if (r) return true;
        log(LogLevel::Warn, "peer ", who(), ": bad-payload: ", r.error());
        conn_->send_error(f.request_id, ErrorCode::BadPayload, r.error());
        return false;
    }
    void answer(const Frame& f, const std::optional<Refusal>& refusal, MsgType ok_type, Bytes ok_payload) {
        if (refusal) {
            log(LogLevel::Warn, "peer ", who(), ": ", msg_type_name(f.type), " refused: ", error_code_name(refusal->code), ": ",
                refusal->message);
            conn_->send_error(f.request_id, refusal->code, refusal->message);
        } else {
            conn_->send(ok_type, f.request_id, std::move(ok_payload));
        }
    }

    void handle(Frame f) {
        if (is_peer_) {
            handle_as_peer(std::move(f));
            return;
        }
        NodeStore& store = server_.store_;
        const bool first_request = !requested_;
        if (f.type != MsgType::Heartbeat && f.type != MsgType::Error) requested_ = true;
        switch (f.type) {
        case MsgType::Heartbeat: return;
        case MsgType::PeerTicket: {
            auto m = decode_peer_ticket(f.payload);
            if (!decoded(m, f)) return;
            if (auto other = server_.session_with_ticket(m.value().ticket); other && other.get() != this) {
                answer(f, Refusal{ErrorCode::BadPayload, "this peer ticket is another home's; make a fresh random one"}, MsgType::Ack, {});
                return;
            }
            peer_ticket_ = m.value().ticket;
            if (links_) links_->set_ticket(m.value().ticket);
            conn_->send(MsgType::Ack, f.request_id, {});
            return;
        }
        case MsgType::PeerAccess: {
            auto m = decode_peer_access(f.payload);
            if (!decoded(m, f)) return;
            if (!first_request) {
                answer(f, Refusal{ErrorCode::BadPayload, "peer-access must be the connection's first request after the handshake"},
                       MsgType::Ack, {});
                return;
            }
            auto home = server_.session_with_ticket(m.value().ticket);
            if (!home) {
                refuse_and_close(f.request_id, ErrorCode::AuthFailed, "unknown peer ticket");
                return;
            }
            is_peer_ = true;
            home_ = home;
            std::erase_if(home->peer_sessions_, [](const std::weak_ptr<Session>& p) { return p.expired(); });
            home->peer_sessions_.push_back(weak_from_this());
            log(LogLevel::Info, "peer ", who(), ": reads the regions of home ", home->who(), " (peer ticket)");
            conn_->send(MsgType::Ack, f.request_id, {});
            return;
        }
        case MsgType::HaveModule: {
            auto m = decode_module_hash(f.payload);
            if (decoded(m, f))
                answer(f, std::nullopt, MsgType::HaveModuleReply, encode(HaveModuleReply{store.has_module(peer_id_, m.value().hash)}));
            return;
        }
        case MsgType::ModuleUpload: {
            auto m = decode_module_upload(f.payload);
            if (decoded(m, f)) answer(f, store.add_module(peer_id_, m.value()), MsgType::Ack, {});
            return;
        }
        case MsgType::RegionPut: {
            if (!f.landed.empty()) {  // already in the region (landing_)
                conn_->send(MsgType::Ack, f.request_id, {});
                return;
            }
            auto m = decode_region_put_view(f.payload);  // one copy: frame -> region
            if (decoded(m, f)) answer(f, store.put(peer_id_, m.value()), MsgType::Ack, {});
            return;
        }
        case MsgType::RegionGet: {
            auto m = decode_region_get(f.payload);
            if (!decoded(m, f)) return;
            if (written_by_running_chunk(m.value())) {  // answered when that chunk is done
                parked_gets_.push_back(std::move(f));
                return;
            }
            std::span<const std::uint8_t> slice;
            auto refusal = store.get(peer_id_, m.value(), slice);
            answer(f, refusal, MsgType::RegionData,
                   refusal ? Bytes{} : encode_region_data(m.value().region, m.value().version, m.value().offset, slice));
            return;
        }
        case MsgType::Launch: {
            auto m = decode_launch(f.payload);
            if (!decoded(m, f)) return;
            if (server_.shutting_down_) {
                answer(f, Refusal{ErrorCode::ShuttingDown, "the node is shutting down"}, MsgType::Ack, {});
                return;
            }
            if (auto refusal = check_fetches(m.value().fetches)) {
                answer(f, *refusal, MsgType::Ack, {});
                return;
            }
            auto prepared = prepare_chunk(m.value(), store, peer_id_);
            if (auto* refusal = std::get_if<Refusal>(&prepared)) {
                answer(f, *refusal, MsgType::Ack, {});
                return;
            }
            if (!m.value().fetches.empty()) {
                fetch_then_run(f, std::move(m.value().fetches), std::move(std::get<PreparedChunk>(prepared)));
                return;
            }
            const PreparedChunk& chunk = std::get<PreparedChunk>(prepared);
            log_launch(chunk);
            if (server_.config_.runs_inline && server_.config_.runs_inline(chunk)) {
                send_result(f.request_id, server_.config_.execute(chunk));
                return;
            }
            auto flag = std::make_shared<std::atomic<bool>>(false);
            InFlight& in_flight = launches_[f.request_id];
            in_flight.cancelled = flag;
            for (const OutputSpan& w : chunk.writes)
                in_flight.writes.push_back({chunk.launch.args[w.param].data, w.offset, w.offset + w.length});
            start_chunk(f.request_id, std::make_shared<PreparedChunk>(std::move(std::get<PreparedChunk>(prepared))), flag);
            return;
        }
        case MsgType::VectorChunk: {
            auto m = decode_vector_chunk(f.payload);
            if (!decoded(m, f)) return;
            if (server_.shutting_down_) {
                answer(f, Refusal{ErrorCode::ShuttingDown, "the node is shutting down"}, MsgType::Ack, {});
                return;
            }
            auto prepared = prepare_vector_chunk(m.value(), store, peer_id_);
            if (auto* refusal = std::get_if<Refusal>(&prepared)) {
                answer(f, *refusal, MsgType::Ack, {});
                return;
            }
            auto& piece = std::get<PreparedVector>(prepared);
            log(LogLevel::Debug, "peer ", who(), ": vector-chunk ", op_info(piece.args.op).mnemonic, " [", piece.begin, ", ", piece.end, ")");
            // The same waits as a get: never read or write bytes a chunk
            // still running (or queued) may write; handled again when it is done.
            for (const auto* spans : {&piece.reads, &piece.writes})
                for (const ByteSpan& b : *spans)
                    if (written_by_running_chunk(b.base, b.lo, b.hi)) {
                        parked_gets_.push_back(std::move(f));
                        return;
                    }
            if (piece.end - piece.begin <= kInlineVectorElements) {
                conn_->send(MsgType::VectorChunkResult, f.request_id, encode(run_vector_chunk(piece)));
                return;
            }
            auto flag = std::make_shared<std::atomic<bool>>(false);
            InFlight& in_flight = launches_[f.request_id];
            in_flight.cancelled = flag;
            for (const ByteSpan& w : piece.writes) in_flight.writes.push_back({w.base, w.lo, w.hi});
            start_vector(f.request_id, std::make_shared<PreparedVector>(std::move(piece)), flag);
            return;
        }
        case MsgType::Cancel: {
            auto m = decode_cancel(f.payload);
            if (!decoded(m, f)) return;
            const std::uint64_t request = m.value().request;
            if (auto it = launches_.find(request); it != launches_.end()) it->second.cancelled->store(true);
            else if (!away_ || !away_->stop(request, "cancelled by the home"))
                log(LogLevel::Debug, "peer ", who(), ": cancel of request ", request, ", which runs nothing here (it may have just ended); ignored");
            conn_->send(MsgType::Ack, f.request_id, {});
            return;
        }
        case MsgType::ProcStart: {
            auto m = decode_proc_start(f.payload);
            if (!decoded(m, f)) return;
            if (server_.shutting_down_) {
                answer(f, Refusal{ErrorCode::ShuttingDown, "the node is shutting down"}, MsgType::Ack, {});
                return;
            }
            auto module = store.module(peer_id_, m.value().module);
            if (!module) {
                answer(f, Refusal{ErrorCode::UnknownModule, cat("module ", to_hex(m.value().module).substr(0, 16), " is not on this node; upload it first")},
                       MsgType::Ack, {});
                return;
            }
            if (!away_) {
                AwayHost::Budget budget{
                    [this](std::uint64_t bytes, std::string_view what) { return server_.store_.budget().reserve(peer_id_, bytes, what); },
                    [this](std::uint64_t bytes) { server_.store_.budget().release(peer_id_, bytes); }};
                const NodeConfig& config = server_.config_;
                away_ = std::make_unique<AwayHost>(
                    conn_, who(), config.limits.max_queued_bytes, std::move(budget),
                    ProcedureBackends{config.procedure_backend, config.secret, config.tls, cat("procedure on ", config.caps.name)},
                    &server_.io_, [this] { return peer_links(); });
            }
            if (auto refusal = away_->start(f.request_id, std::move(module), std::move(m.value().start), std::move(m.value().cluster),
                                            m.value().self, std::move(m.value().nodes), m.value().run))
                answer(f, refusal, MsgType::Ack, {});
            return;
        }
        case MsgType::ProcAnswer: {
            auto m = decode_proc_answer(f.payload);
            if (!decoded(m, f)) {
                // The procedure would wait for this answer for ever.
                if (away_) away_->stop(f.request_id, "its home sent a malformed proc-answer");
                return;
            }
            if (!away_ || !away_->answer(f.request_id, std::move(m.value())))
                log(LogLevel::Debug, "peer ", who(), ": proc-answer for request ", f.request_id,
                    ", which runs no procedure here (it may have just ended); ignored");
            return;
        }
        case MsgType::ChanKeep: {
            auto m = decode_chan_keep(f.payload);
            if (!decoded(m, f)) return;
            if (auto refusal = away_ ? away_->keep(f.request_id, m.value()) : Refusal{ErrorCode::BadPayload, "chan-keep before any proc-start"})
                answer(f, refusal, MsgType::Ack, {});
            return;
        }
        case MsgType::ChanKeeper: {
            auto m = decode_chan_keeper(f.payload);
            if (!decoded(m, f)) return;
            if (auto refusal = away_ ? away_->keeper_is(m.value()) : Refusal{ErrorCode::BadPayload, "chan-keeper before any proc-start"})
                answer(f, refusal, MsgType::Ack, {});
            return;
        }
        case MsgType::ChanFrame: {
            auto m = decode_chan_frame(f.payload);
            if (!decoded(m, f)) return;
            if (m.value().sender != 0) {
                answer(f, Refusal{ErrorCode::BadPayload, "a chan-frame from the home says it comes from a node"}, MsgType::Ack, {});
                return;
            }
            if (auto refusal = away_ ? away_->channel_frame(std::move(m).value()) : Refusal{ErrorCode::BadPayload, "chan-frame before any proc-start"})
                answer(f, refusal, MsgType::Ack, {});
            return;
        }
        case MsgType::ChanSnapshot:
            conn_->send(MsgType::ChanSnapshotReply, f.request_id, encode(away_ ? away_->channel_snapshot() : ChannelSnapshot{}));
            return;
        case MsgType::RegionDrop: {
            auto m = decode_region_drop(f.payload);
            if (!decoded(m, f)) return;
            const std::size_t dropped = store.drop_regions(peer_id_, m.value().regions);
            log(LogLevel::Debug, "peer ", who(), ": dropped ", dropped, " of ", m.value().regions.size(), " regions it freed");
            return;
        }
        case MsgType::Error: {
            auto m = decode_error(f.payload);
            if (m) log(LogLevel::Warn, "peer ", who(), " reports ", error_code_name(m.value().code), ": ", m.value().message);
            return;
        }
        default:
            log(LogLevel::Warn, "peer ", who(), ": unexpected ", msg_type_name(f.type), " message");
            conn_->send_error(f.request_id, ErrorCode::BadPayload, cat("a node does not accept ", msg_type_name(f.type), " messages"));
            return;
        }
    }

    // A peer session (it presented a home's ticket) reads that home's
    // regions, waiting as the home's own gets do, and does nothing else.
    void handle_as_peer(Frame f) {
        switch (f.type) {
        case MsgType::Heartbeat: return;
        case MsgType::ChanFrame: {  // from a procedure on the peer node, or the keeper there
            auto home = home_.lock();
            auto m = decode_chan_frame(f.payload);
            if (!decoded(m, f)) return;
            if (!home || !home->away_) {
                refuse_and_close(f.request_id, ErrorCode::BadPayload, "the home whose peer ticket this connection presented runs no procedures here");
                return;
            }
            if (m.value().sender == 0) {
                answer(f, Refusal{ErrorCode::BadPayload, "a chan-frame from a peer node says it comes from the home"}, MsgType::Ack, {});
                return;
            }
            if (auto refusal = home->away_->channel_frame(std::move(m).value())) answer(f, refusal, MsgType::Ack, {});
            return;
        }
        case MsgType::ChanInbox: {  // from now on chan-frames only, both ways, read by the procedures here (cluster/channel_inbox.h)
            auto m = decode_chan_inbox(f.payload);
            if (!decoded(m, f)) return;
            auto home = home_.lock();
            if (!home || !home->away_) {
                refuse_and_close(f.request_id, ErrorCode::BadPayload, "the home whose peer ticket this connection presented runs no procedures here");
                return;
            }
            inbox_for_ = home;
            inbox_from_ = m.value();
            return;
        }
        case MsgType::Error: {
            auto m = decode_error(f.payload);
            if (m) log(LogLevel::Warn, "peer ", who(), " reports ", error_code_name(m.value().code), ": ", m.value().message);
            return;
        }
        case MsgType::RegionGet: {
            auto home = home_.lock();
            if (!home || !home->is_open()) {
                refuse_and_close(f.request_id, ErrorCode::UnknownRegion, "the home whose peer ticket this connection presented has disconnected");
                return;
            }
            auto m = decode_region_get(f.payload);
            if (!decoded(m, f)) return;
            if (home->written_by_running_chunk(m.value())) {  // answered when that chunk is done (the home tells us)
                parked_gets_.push_back(std::move(f));
                return;
            }
            std::span<const std::uint8_t> slice;
            auto refusal = server_.store_.get(home->peer_id_, m.value(), slice);
            answer(f, refusal, MsgType::RegionData,
                   refusal ? Bytes{} : encode_region_data(m.value().region, m.value().version, m.value().offset, slice));
            return;
        }
        default:
            answer(f, Refusal{ErrorCode::NotAuthenticated, cat("a peer session (this connection presented a peer ticket) may only region-get; ",
                                                             msg_type_name(f.type), " refused")},
                   MsgType::Ack, {});
            return;
        }
    }

    // What prepare_chunk leaves to the session: a launch's halo fetches name
    // real addresses, and this home gave the node its peer ticket.
    std::optional<Refusal> check_fetches(const std::vector<HaloFetch>& fetches) const {
        if (fetches.empty()) return std::nullopt;
        if (fetches.size() > kMaxFetchesPerLaunch)
            return Refusal{ErrorCode::BadLaunch, cat("the launch has ", fetches.size(), " halo fetches, over the limit of ", kMaxFetchesPerLaunch)};
        if (!peer_ticket_) return Refusal{ErrorCode::BadLaunch, "the launch has halo fetches but this home sent no peer-ticket"};
        for (std::size_t i = 0; i < fetches.size(); ++i) {
            const HaloFetch& h = fetches[i];
            if (h.host.empty() || h.host.size() > kMaxFetchHostBytes || h.port == 0)
                return Refusal{ErrorCode::BadLaunch, cat("fetch ", i, ": '", h.host.substr(0, 64), "' port ", h.port, " is not a node's address")};
        }
        return std::nullopt;
    }

    // A launch with halo fetches (already checked and prepared: its targets
    // are found and the bytes they will receive held): registers what the
    // launch writes (the fetched ranges too: gets of them wait), fetches,
    // then runs it as any launch; a failed fetch answers it with
    // peer-fetch-failed.
    void fetch_then_run(const Frame& f, std::vector<HaloFetch> fetches, PreparedChunk chunk) {
        std::vector<std::shared_ptr<StoredRegion>> targets = chunk.fetch_targets;
        auto flag = std::make_shared<std::atomic<bool>>(false);
        InFlight& in_flight = launches_[f.request_id];
        in_flight.cancelled = flag;
        for (const OutputSpan& w : chunk.writes)
            in_flight.writes.push_back({chunk.launch.args[w.param].data, w.offset, w.offset + w.length});
        for (std::size_t i = 0; i < fetches.size(); ++i)
            in_flight.writes.push_back({targets[i]->bytes.data(), fetches[i].offset, fetches[i].offset + fetches[i].length});
        peer_links();
        ++server_.in_flight_;  // shutdown waits for it (cancel_queued stops it)
        auto prepared = std::make_shared<PreparedChunk>(std::move(chunk));
        fetch_halos(server_.io_, links_, std::move(fetches), std::move(targets), flag,
                    [self = shared_from_this(), id = f.request_id, prepared, flag](std::string why) {
                        self->fetched(id, prepared, flag, why);
                    });
    }

    void log_launch(const PreparedChunk& chunk) {
        log(LogLevel::Debug, "peer ", who(), ": launch ", chunk.launch.kernel->name, " [", chunk.launch.begin, ", ", chunk.launch.end, ")");
    }

    // The fetches of launch `id` are over (io thread).
    void fetched(std::uint64_t id, const std::shared_ptr<PreparedChunk>& chunk, const std::shared_ptr<std::atomic<bool>>& cancelled,
                 const std::string& why) {
        --server_.in_flight_;
        if (why.empty() && !cancelled->load()) {
            log_launch(*chunk);
            if (server_.config_.runs_inline && server_.config_.runs_inline(*chunk)) {
                send_result(id, server_.config_.execute(*chunk));
            } else {
                start_chunk(id, chunk, cancelled);
                return;
            }
        } else if (!why.empty()) {
            log(LogLevel::Warn, "peer ", who(), ": launch failed: ", error_code_name(ErrorCode::PeerFetchFailed), ": ", why);
            conn_->send_error(id, ErrorCode::PeerFetchFailed, why);
        } else {
            conn_->send_error(id, ErrorCode::Cancelled, "chunk cancelled before it started");
        }
        launches_.erase(id);
        answer_parked_gets();
    }

    // How this node dials the home's other nodes: as a home would, on the
    // node's own token and TLS setting; what their replies hold counts
    // against this home's budget.
    std::shared_ptr<PeerLinks> peer_links() {
        if (!links_) links_ = std::make_shared<PeerLinks>(server_.io_, link_config());
        return links_;
    }
    PeerLinkConfig link_config() {
        const NodeConfig& config = server_.config_;
        PeerLinkConfig c;
        c.secret = config.secret;
        c.tls = config.tls;
        c.name = config.caps.name;
        c.ticket = *peer_ticket_;
        c.heartbeat_interval = config.heartbeat_interval;
        c.heartbeat_timeout = config.heartbeat_timeout;
        MemoryBudget& budget = server_.store_.budget();
        const PeerId home = peer_id_;
        c.reserve = [&budget, home](std::size_t bytes) { return budget.reserve(home, bytes, "a region-data frame from another node"); };
        c.release = [&budget, home](std::size_t bytes) { budget.release(home, bytes); };
        return c;
    }

    // The chunk runs as a plain job on the pool, which sends its result
    // itself (Connection::send works from any thread) and then posts the
    // bookkeeping back to the io thread. (Not a coroutine hop: GCC 12 destroys
    // by-value shared_ptr parameters of a co_spawned coroutine twice, found by
    // ASan here.)
    void start_chunk(std::uint64_t id, std::shared_ptr<PreparedChunk> chunk, std::shared_ptr<std::atomic<bool>> cancelled) {
        ++server_.in_flight_;
        asio::post(server_.pool_, [self = shared_from_this(), id, chunk, cancelled] {
            std::optional<Result<ChunkResult>> result;
            // A Cancel while it runs (its home gave up on it) stops it at the
            // kernel's next poll, as Ctrl-C would.
            chunk->launch.cancel = cancelled.get();
            if (!cancelled->load()) result = self->server_.config_.execute(*chunk);
            self->send_result(id, result);
            asio::post(self->server_.io_, [self, id] {
                self->launches_.erase(id);
                --self->server_.in_flight_;  // after the result is on its way: shutdown's goodbye comes later
                self->answer_parked_gets();
            });
        });
    }

    // A vector piece runs as a plain job on the pool, as a chunk does.
    void start_vector(std::uint64_t id, std::shared_ptr<PreparedVector> piece, std::shared_ptr<std::atomic<bool>> cancelled) {
        ++server_.in_flight_;
        asio::post(server_.pool_, [self = shared_from_this(), id, piece, cancelled] {
            if (cancelled->load()) self->conn_->send_error(id, ErrorCode::Cancelled, "vector chunk cancelled before it started");
            else self->conn_->send(MsgType::VectorChunkResult, id, encode(run_vector_chunk(*piece)));
            asio::post(self->server_.io_, [self, id] {
                self->launches_.erase(id);
                --self->server_.in_flight_;
                self->answer_parked_gets();
            });
        });
    }

    // Whether a chunk still running (or queued) may write bytes this get
    // reads: the same storage, overlapping ranges. Such a get waits for it,
    // so it never sees half a chunk's writes (a get of other bytes of a
    // region a chunk is bound to is answered at once: a chunk writes only
    // its lanes' elements and the broadcast buffers it binds).
    bool written_by_running_chunk(const RegionGet& g) const {
        if (launches_.empty() || g.length == 0) return false;
        auto region = server_.store_.region(peer_id_, g.region, g.version);
        if (!region || g.offset > region->bytes.size() || g.length > region->bytes.size() - g.offset) return false;  // refused below
        return written_by_running_chunk(region->bytes.data(), g.offset, g.offset + g.length);
    }
    // The same for bytes [lo, hi) of the storage at `base` (a vector piece's).
    bool written_by_running_chunk(const void* base, std::uint64_t lo, std::uint64_t hi) const {
        if (lo >= hi) return false;
        for (const auto& [id, launch] : launches_)
            for (const InFlight::Write& w : launch.writes)
                if (w.base == base && w.lo < hi && lo < w.hi) return true;
        return false;
    }
    // After a chunk finished (io thread): the gets (and vector chunks) that waited for it.
    // A home's chunk also tells its peer sessions, whose gets read its regions.
    void answer_parked_gets() {
        if (!parked_gets_.empty()) {
            std::vector<Frame> parked = std::move(parked_gets_);
            parked_gets_.clear();
            for (Frame& g : parked) handle(std::move(g));  // one still overlapping another chunk parks again
        }
        for (auto& weak : peer_sessions_)
            if (auto peer = weak.lock()) peer->answer_parked_gets();
    }

    // On a pool thread, or the io thread for a chunk run inline.
    void send_result(std::uint64_t id, const std::optional<Result<ChunkResult>>& result) {
        if (!result) {
            conn_->send_error(id, ErrorCode::Cancelled, "chunk cancelled before it started");
        } else if (!*result) {
            log(LogLevel::Warn, "peer ", who(), ": launch refused: unsupported: ", result->error());
            conn_->send_error(id, ErrorCode::Unsupported, result->error());
        } else {
            conn_->send(MsgType::ChunkResult, id, encode(result->value()));
        }
    }

    NodeServer& server_;
    Dialler dialler_;
    std::shared_ptr<TlsTunnel> tunnel_;  // --tls only
    std::shared_ptr<Connection> conn_;
    const PeerId peer_id_;  // owns the regions this peer puts
    Landing landing_;
    ReadLimits handshake_limits_, limits_;  // before and after authentication
    std::size_t held_ = 0;                  // payload bytes reserved for the frame being handled
    asio::steady_timer handshake_timer_;
    const Connection::Clock::time_point accepted_at_ = Connection::Clock::now();
    std::string client_name_;
    bool authenticated_ = false;
    struct InFlight {
        std::shared_ptr<std::atomic<bool>> cancelled;
        // Where it may write (gets of those bytes wait). Not owning: the
        // chunk's job holds its regions, and must not hold them longer than
        // it runs, so the next version can recycle their storage.
        struct Write {
            const void* base;
            std::uint64_t lo, hi;
        };
        std::vector<Write> writes;
    };
    std::map<std::uint64_t, InFlight> launches_;  // running or queued
    std::vector<Frame> parked_gets_;              // region-gets and vector-chunks waiting for a chunk in launches_; bounded by room_to_read
    // Node-to-node transfers (docs/protocol.md). As a home's session: the
    // ticket it gave the node, the peer sessions that presented it (closed
    // with this one), and this node's links to the nodes its launches fetch
    // from. As a peer session: the home whose regions it reads.
    std::optional<Nonce> peer_ticket_;
    std::vector<std::weak_ptr<Session>> peer_sessions_;
    std::shared_ptr<PeerLinks> links_;
    std::weak_ptr<Session> home_;
    // Set by chan-inbox: the loop hands the connection to that home's
    // procedures once the frame is handled.
    std::shared_ptr<Session> inbox_for_;
    ChanInbox inbox_from_;
    // The procedures this home spawned onto the node (proc-start), made at the first.
    std::unique_ptr<AwayHost> away_;
    bool is_peer_ = false;
    bool requested_ = false;  // a request other than a heartbeat came: peer-access may no longer
};

NodeServer::NodeServer(asio::io_context& io, NodeConfig config)
    : io_(io),
      config_(std::move(config)),
      acceptor_(io),
      signals_(io, SIGINT, SIGTERM),
      pool_(config_.threads == 0 ? 1 : config_.threads),
      store_(config_.caps.max_memory, config_.limits.max_peer_memory),
      admission_(config_.limits) {
    // Advertised: what one home may plan within here (--max-peer-memory
    // when it is below --max-memory).
    config_.caps.max_memory = store_.budget().peer_limit();
}

NodeServer::~NodeServer() { pool_.join(); }

Result<std::uint16_t> NodeServer::listen() {
    std::error_code ec;
    auto address = asio::ip::make_address(config_.address, ec);
    if (ec) return Error{cat("--listen: '", config_.address, "' is not an IP address")};
    asio::ip::tcp::endpoint ep(address, config_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{cat("cannot listen on ", config_.address, ":", config_.port, ": ", ec.message())};
    // Where the home's other nodes reach this one.
    config_.caps.peer_port = config_.advertised_peer_port != 0 ? config_.advertised_peer_port : acceptor_.local_endpoint().port();
    if (config_.tls) {
        auto context = make_tls_context(config_.secret, TlsSide::Server);
        if (!context) return Error{context.error()};
        tls_ = std::move(context).value();
    }
    return acceptor_.local_endpoint().port();
}

void NodeServer::start() {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    signals_.async_wait([this](std::error_code ec, int signal) {
        if (!ec) asio::co_spawn(io_, shutdown(signal), asio::detached);
    });
}

asio::awaitable<void> NodeServer::accept_loop() {
    // After a failed accept the loop waits before the next (a failure that
    // repeats, like a full descriptor table, would otherwise spin).
    constexpr auto kFirstPause = 1ms, kLongestPause = 500ms;
    auto pause = std::chrono::milliseconds(kFirstPause);
    asio::steady_timer backoff(io_);
    while (acceptor_.is_open()) {
        std::error_code ec;
        asio::ip::tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (!acceptor_.is_open()) break;
            accept_log_.log(LogLevel::Warn, cat("accept failed: ", ec.message()));
            // asio's own system category: std::errc does not compare equal to it.
            const int e = ec.category() == asio::error::get_system_category() ? ec.value() : 0;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                out_of_descriptors();
                backoff.expires_after(pause);
                pause = std::min(pause * 2, std::chrono::milliseconds(kLongestPause));
                co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            continue;
        }
        pause = kFirstPause;
        std::error_code peer_ec;
        const auto remote = socket.remote_endpoint(peer_ec);
        if (peer_ec) continue;  // gone already
        if (auto why = admission_.admit(remote.address().to_string(), Admission::Clock::now())) {
            (why->crowded ? crowd_log_ : rate_log_)
                .log(LogLevel::Warn, cat("refused a connection from ", remote.address().to_string(), ": ", why->message));
            socket.close(peer_ec);
            continue;
        }
        std::erase_if(sessions_, [](const std::weak_ptr<Session>& s) { return s.expired(); });
        const std::string peer = cat(remote.address().to_string(), ":", remote.port());
        std::shared_ptr<TlsTunnel> tunnel;
        if (tls_) {
            auto made = TlsTunnel::make(std::move(socket), tls_);
            if (!made) {  // no descriptors for the socket pair: as when accept fails for it
                accept_log_.log(LogLevel::Warn, cat("refused a connection from ", peer, ": ", made.error()));
                admission_.settled();
                out_of_descriptors();
                continue;
            }
            tunnel = std::move(made).value();
            socket = tunnel->take_plain();
        }
        auto session = std::make_shared<Session>(*this, std::move(socket), std::move(tunnel), peer);
        sessions_.push_back(session);
        session->start();
    }
}

std::shared_ptr<Session> NodeServer::session_with_ticket(const Nonce& ticket) const {
    for (const auto& weak : sessions_)
        if (auto s = weak.lock(); s && s->is_open() && s->holds_ticket(ticket)) return s;
    return nullptr;
}

void NodeServer::join(const std::string& host, std::uint16_t port) {
    asio::co_spawn(io_, join_loop(host, port), asio::detached);
}

asio::awaitable<void> NodeServer::join_loop(std::string host, std::uint16_t port) {
    // The home may not be up yet (both started at boot), or gone between
    // runs: dial again after 100 ms, twice as long each time, 5 s at most.
    constexpr auto kFirstPause = 100ms, kLongestPause = 5000ms;
    const std::string home = cat(host, ":", port);
    auto pause = std::chrono::milliseconds(kFirstPause);
    bool said = false;  // "not up" is logged once per outage
    asio::steady_timer timer(io_);
    while (!shutting_down_) {
        std::error_code ec;
        asio::ip::tcp::resolver resolver(io_);
        auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
        asio::ip::tcp::socket socket(io_);
        if (!ec) co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (shutting_down_) break;
        if (ec) {
            if (!said) log(LogLevel::Info, "home ", home, " is not up (", ec.message(), "); dialling it again until it is");
            said = true;
        } else {
            log(LogLevel::Info, "dialled home ", home);
            // --tls: this side dialled, so it is the TLS client (Session::secure shakes hands).
            std::shared_ptr<TlsTunnel> tunnel;
            std::string peer;
            if (config_.tls) {
                auto context = make_tls_context(config_.secret, TlsSide::Client);
                auto made = context ? TlsTunnel::make(std::move(socket), std::move(context).value())
                                    : Result<std::shared_ptr<TlsTunnel>>{Error{context.error()}};
                if (!made) {
                    log(LogLevel::Error, "--tls: ", made.error());
                    break;
                }
                tunnel = std::move(made).value();
                peer = home;
                socket = tunnel->take_plain();
            }
            auto session = std::make_shared<Session>(*this, std::move(socket), std::move(tunnel), peer, Dialler::Node);
            std::erase_if(sessions_, [](const std::weak_ptr<Session>& s) { return s.expired(); });
            sessions_.push_back(session);
            session->start();
            while (session->is_open() && !shutting_down_) {
                timer.expires_after(20ms);
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            if (shutting_down_) break;
            log(LogLevel::Info, "home ", home, " hung up; dialling it again");
            // A home that authenticated and went (its run ended) is redialled
            // soon; one that keeps refusing (another token) ever more slowly.
            if (session->authenticated()) pause = kFirstPause;
            said = false;
        }
        timer.expires_after(pause);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        pause = std::min(pause * 2, std::chrono::milliseconds(kLongestPause));
    }
}

void NodeServer::out_of_descriptors() {
    std::shared_ptr<Session> oldest;
    for (auto& weak : sessions_) {
        auto s = weak.lock();
        if (s && s->is_open() && !s->authenticated() && (!oldest || s->accepted_at() < oldest->accepted_at())) oldest = s;
    }
    if (oldest) {
        oldest->evict("closed unauthenticated to make room: the node is at its descriptor limit");
        return;
    }
    if (spare_.accept_and_close(acceptor_.native_handle()))
        full_log_.log(LogLevel::Warn, "refused a connection: the node is at its descriptor limit, all of it in use by authenticated homes");
}

asio::awaitable<void> NodeServer::shutdown(int signal) {
    log(LogLevel::Info, "shutting down (", signal == SIGINT ? "SIGINT" : "SIGTERM", ")");
    shutting_down_ = true;
    if (config_.on_shutdown) config_.on_shutdown();
    // A running kernel chunk stops at its next poll (vm/interrupt.h) and
    // reports `interrupted`, rather than hold the exit up for as long as it runs.
    request_interrupt();
    std::error_code ec;
    acceptor_.close(ec);
    for (auto& weak : sessions_)
        if (auto s = weak.lock()) {
            s->cancel_queued();
            s->stop_procedures("the node is shutting down");
        }
    asio::steady_timer timer(io_);
    // Running chunks end (interrupted) and send their results; queued ones report cancelled.
    while (in_flight_.load() > 0) {
        timer.expires_after(5ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    for (auto& weak : sessions_)
        if (auto s = weak.lock()) s->goodbye();
    // Give the goodbyes time to leave and the peers time to hang up (a close
    // with their unread frames still here would reset the stream and lose
    // the goodbye); a stuck peer holds up the exit for the linger time at most.
    const int polls = static_cast<int>(Connection::kLinger / 5ms) + 1;
    for (int i = 0; i < polls; ++i) {
        bool any_open = false;
        for (auto& weak : sessions_)
            if (auto s = weak.lock(); s && s->is_open()) any_open = true;
        if (!any_open) break;
        timer.expires_after(5ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    log(LogLevel::Info, "stopped");
    io_.stop();
}

}  // namespace polymer::cluster
