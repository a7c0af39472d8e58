#include "cluster/node_client.h"

#include <asio.hpp>
#include <atomic>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

#include "cluster/client_handshake.h"
#include "cluster/connection.h"
#include "cluster/tls_tunnel.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {
using Clock = std::chrono::steady_clock;
// A reply to a small request comes within tens of microseconds: the waiting
// caller polls for it awake that long before it sleeps in poll(), since being
// woken costs about as much again as the whole round trip.
constexpr auto kSpin = std::chrono::microseconds(50);
// How often a caller waiting for a reply looks at stop_waiting.
constexpr auto kStopWaitingPoll = std::chrono::milliseconds(10);
// Region transfers go in slices this big (well under kMaxSliceBytes), with
// this much in flight so the stream never waits for an ack.
constexpr std::size_t kSliceBytes = 1u << 20;
constexpr std::size_t kInFlightBytes = 16u << 20;
}  // namespace

// Replies are read by the callers waiting for them, not by the io thread
// (leader/follower): one waiting caller at a time holds the reader role and
// reads frames off the socket, keeping its own reply and handing the others
// to their waiters. A round trip then wakes only the caller, as a plain
// blocking read would. Between calls nobody reads; the io thread's watchdog
// takes the role once per heartbeat interval to take in what came meanwhile
// (heartbeats, replies not yet waited for) without blocking.
struct NodeClient::State {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread;
    std::shared_ptr<Connection> conn;  // set on the io thread before any request
    ClientOptions options;
    std::vector<std::uint8_t> secret;
    std::string host;
    std::uint16_t port = 0;
    std::string where;  // "node host:port"
    Dialler dialler = Dialler::Home;
    int joined_fd = -1;  // accept_joined: the socket to adopt instead of dialling
    Capabilities caps;
    bool authenticated = false;

    std::mutex mutex;  // guards what callers and the io thread share
    std::condition_variable changed;  // a reply is in, the connection failed, or the reader role is free
    struct Waiting {
        std::optional<Result<Frame>> reply;  // empty until the reply (or the failure) is in
        std::span<std::uint8_t> land;        // a get's slice lands here (landing)
    };
    std::map<std::uint64_t, Waiting> pending;  // requests sent and not yet collected
    // A region-data's bytes land straight in the place its get named.
    Landing landing{MsgType::RegionData, kRegionDataHeadBytes,
                    [this](const Frame& head, std::size_t rest) -> std::span<std::uint8_t> {
                        std::lock_guard lock(mutex);
                        auto it = pending.find(head.request_id);
                        if (it == pending.end() || it->second.reply || it->second.land.size() != rest) return {};
                        return it->second.land;
                    }};
    std::set<std::uint64_t> launches;  // started by start_launch, not yet waited for or abandoned
    // Streamed replies (open_stream): the open streams, and the frames that
    // came for them, in arrival order, until next_streamed takes them.
    std::set<std::uint64_t> streams;
    std::deque<std::pair<std::uint64_t, Result<Frame>>> streamed;
    std::function<void()> on_streamed;  // set before the first stream opens
    // read_for's `id` meaning "until a streamed frame is kept" (request ids
    // count up from 1 and never reach it).
    static constexpr std::uint64_t kAnyStream = ~std::uint64_t{0};
    std::string failure;
    std::uint64_t next_id = 1;
    bool reading = false;  // a thread holds the reader role
    std::atomic<bool> stop_waiting{false};

    void fail_all(const std::string& reason) {
        std::lock_guard lock(mutex);
        if (failure.empty()) failure = reason;
        for (auto& [id, w] : pending)
            if (!w.reply) w.reply = Result<Frame>{Error{failure}};
        const bool streams_end = !streams.empty();
        for (std::uint64_t id : streams) streamed.emplace_back(id, Result<Frame>{Error{failure}});
        streams.clear();
        changed.notify_all();
        if (streams_end && on_streamed) on_streamed();
    }

    // Stream frames: the next one kept, or (`wait`) the next to come by
    // `deadline`, reading the socket for it as wait() does. Without `wait`,
    // or with the deadline passed, what has arrived is taken in first.
    std::optional<std::pair<std::uint64_t, Result<Frame>>> next_streamed(Clock::time_point deadline, bool wait) {
        const auto spin_until = Clock::now() + kSpin;
        bool drained = false;
        std::unique_lock lock(mutex);
        for (;;) {
            if (!streamed.empty()) {
                auto next = std::move(streamed.front());
                streamed.pop_front();
                return next;
            }
            if (!wait || Clock::now() >= deadline) {
                if (drained || reading || !failure.empty()) return std::nullopt;
                drained = true;
                reading = true;
                lock.unlock();
                read_for(0, Clock::time_point::max(), Clock::time_point{}, /*wake_streams=*/false);
                lock.lock();
                reading = false;
                changed.notify_all();
                continue;
            }
            if (reading || !failure.empty()) {  // another thread reads for us (or the streams have ended)
                changed.wait_until(lock, deadline);
                continue;
            }
            reading = true;
            lock.unlock();
            read_for(kAnyStream, deadline, spin_until);
            lock.lock();
            reading = false;
            changed.notify_all();
        }
    }

    // Sends a request; wait() collects its reply (or the connection's
    // failure). `tail` is sent from where it lies (Connection::send): it must
    // stay valid until the reply is in. So must `land`, where a region-data
    // reply's bytes go.
    std::uint64_t start(MsgType type, Bytes payload, std::span<const std::uint8_t> tail = {},
                        std::span<std::uint8_t> land = {}) {
        std::uint64_t id = 0;
        {
            std::lock_guard lock(mutex);
            id = next_id++;
            Waiting& w = pending[id];
            w.land = land;
            if (!failure.empty()) {
                w.reply = Result<Frame>{Error{failure}};
                return id;
            }
        }
        conn->send(type, id, std::move(payload), tail);  // from this thread (Connection::send)
        return id;
    }

    Result<Frame> request(MsgType type, Bytes payload) { return finish(start(type, std::move(payload))); }

    // Request `id`'s reply. While `stop_waiting` is on, gives up once what
    // was sent is out of the queue (nothing borrowed is still to be written):
    // the reply is then dropped when it comes.
    Result<Frame> finish(std::uint64_t id) {
        for (;;) {
            if (auto r = wait(id, Clock::now() + kStopWaitingPoll)) return checked(std::move(*r));
            if (stop_waiting.load() && conn->queued_bytes() == 0) {
                std::lock_guard lock(mutex);
                pending.erase(id);
                return Error{cat(where, ": ", kStoppedWaiting)};
            }
        }
    }

    // An error reply becomes the call's error; its code goes to `code` when given.
    Result<Frame> checked(Result<Frame> r, std::optional<ErrorCode>* code = nullptr) {
        if (r && r.value().type == MsgType::Error) {
            auto e = decode_error(r.value().payload);
            if (!e) return Error{cat(where, ": unreadable error reply: ", e.error())};
            if (code) *code = e.value().code;
            return Error{cat(where, ": ", error_code_name(e.value().code), ": ", e.value().message)};
        }
        return r;
    }

    // Request `id`'s reply, collected; nullopt when it is not in by `deadline`
    // (it stays waitable).
    std::optional<Result<Frame>> wait(std::uint64_t id, Clock::time_point deadline) {
        const auto spin_until = Clock::now() + kSpin;
        std::unique_lock lock(mutex);
        for (;;) {
            auto it = pending.find(id);
            if (it == pending.end()) return Result<Frame>{Error{cat(where, ": no request ", id, " is waiting")}};
            if (it->second.reply) {
                Result<Frame> r = std::move(*it->second.reply);
                pending.erase(it);
                return r;
            }
            if (Clock::now() >= deadline) return std::nullopt;
            if (reading || !failure.empty()) {  // another thread reads for us (or failure is on its way)
                changed.wait_until(lock, deadline);
                continue;
            }
            reading = true;
            lock.unlock();
            read_for(id, deadline, spin_until);
            lock.lock();
            reading = false;
            changed.notify_all();  // a waiter whose reply has not come takes the role
        }
    }

    // Holding the reader role: reads until request `id`'s reply is in (0:
    // until nothing more has arrived; kAnyStream: until a stream's frame is
    // kept), the connection fails or `deadline`. A stream's frame kept for
    // another thread calls on_streamed, unless `wake_streams` is off (the
    // caller is the one that takes them).
    void read_for(std::uint64_t id, Clock::time_point deadline, Clock::time_point spin_until, bool wake_streams = true) {
        for (;;) {
            const auto now = Clock::now();
            const bool spinning = id != 0 && now < spin_until && now < deadline;
            if (id != 0 && !spinning && now >= deadline) return;
            const auto wait = id == 0 || spinning ? std::chrono::milliseconds(0)
                              : deadline == Clock::time_point::max()
                                  ? std::chrono::milliseconds(-1)  // no limit
                                  : std::chrono::ceil<std::chrono::milliseconds>(deadline - now);  // > 0
            ReadOutcome r = conn->read_frame_now(wait, &landing);
            if (r.idle) {
                if (id == 0) return;
                if (spinning) std::this_thread::yield();
                continue;
            }
            if (!r.frame) {
                fail_all(cat(where, ": connection lost: ", r.message));
                asio::post(io, [keep = conn] { keep->close(); });
                return;
            }
            Frame& f = *r.frame;
            if (f.type == MsgType::Heartbeat) continue;
            if (f.type == MsgType::Goodbye) {
                fail_all(cat(where, ": the node is shutting down"));
                asio::post(io, [keep = conn] { keep->close(); });
                return;
            }
            const bool mine = f.request_id == id;
            bool kept = false;
            {
                std::lock_guard lock(mutex);
                if (streams.contains(f.request_id)) {
                    streamed.emplace_back(f.request_id, Result<Frame>{std::move(f)});
                    if (id == kAnyStream) return;
                    changed.notify_all();
                    kept = true;
                }
            }
            if (kept) {
                if (wake_streams && on_streamed) on_streamed();
                continue;
            }
            {
                std::lock_guard lock(mutex);
                auto it = pending.find(f.request_id);
                if (it == pending.end() || it->second.reply) continue;  // a reply to a request already failed or abandoned
                it->second.reply = Result<Frame>{std::move(f)};
                if (!mine) changed.notify_all();
            }
            if (mine) return;
        }
    }

    // After the connection failed: returns once the io thread has closed it,
    // so no thread still writes a borrowed tail or lands a slice in memory
    // that the caller frees next (close() waits for both to let go).
    void close_and_wait() {
        std::promise<void> closed;
        asio::post(io, [&] {
            conn->close();
            closed.set_value();
        });
        closed.get_future().wait();
    }

    // Takes in what has come, without waiting, unless another thread is
    // reading (false then): the watchdog's call between callers, and a
    // sender's while it waits for room to write (Connection::leave_io).
    bool drain() {
        {
            std::lock_guard lock(mutex);
            if (reading) return false;
            if (!failure.empty()) return true;
            reading = true;
        }
        read_for(0, Clock::time_point::max(), Clock::time_point{});
        std::lock_guard lock(mutex);
        reading = false;
        changed.notify_all();
        return true;
    }

    // The connection: dialled, or the one a joining node opened (adopted).
    asio::awaitable<std::string> connect_socket(asio::ip::tcp::socket& socket) {
        std::error_code ec;
        if (joined_fd >= 0) {
            sockaddr_storage addr{};
            socklen_t len = sizeof addr;
            getsockname(joined_fd, reinterpret_cast<sockaddr*>(&addr), &len);
            socket.assign(addr.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), std::exchange(joined_fd, -1), ec);
            co_return ec ? cat(where, ": cannot adopt the connection: ", ec.message()) : std::string();
        }
        asio::ip::tcp::resolver resolver(io);
        auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return cat(where, ": cannot resolve: ", ec.message());
        co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return cat(where, ": cannot connect: ", ec.message());
        co_return std::string();
    }

    // Returns why it failed, or an empty string once authenticated.
    asio::awaitable<std::string> open() {
        asio::ip::tcp::socket socket(io);
        const bool joined = joined_fd >= 0;
        if (std::string why = co_await connect_socket(socket); !why.empty()) co_return why;
        std::string peer;
        if (options.tls) {  // the TLS handshake first; the frames then go through the tunnel
            // The side that dialled is the TLS client (the node, for a connection it opened with --join).
            const std::string why =
                co_await secure_socket(socket, secret, joined ? TlsSide::Server : TlsSide::Client, options.heartbeat_timeout, peer);
            if (!why.empty()) co_return cat(where, ": ", why);
        }
        conn = std::make_shared<Connection>(std::move(socket), Connection::kReadBuffer, peer);
        conn->start();
        asio::co_spawn(io, watchdog(), asio::detached);

        const std::uint16_t version = options.version == 0 ? kProtocolVersion : options.version;
        const Hello hello{version, options.name};
        const std::function<std::string()> why_closed = [this] {
            std::lock_guard lock(mutex);
            return failure;  // the watchdog's reason, when it closed the connection
        };
        auto welcome = co_await client_handshake(*conn, secret, hello, dialler, where, &why_closed);
        if (!welcome) co_return welcome.error();
        caps = std::move(welcome).value();
        authenticated = true;
        conn->leave_io([this] { return drain(); });  // from now on callers write their requests and read their replies (wait)
        co_return std::string();
    }

    asio::awaitable<void> watchdog() {
        auto keep = conn;
        asio::steady_timer timer(io);
        while (keep->is_open()) {
            timer.expires_after(options.heartbeat_interval);
            std::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (!keep->is_open()) {
                if (authenticated) fail_all(cat(where, ": connection lost: ", keep->close_reason()));
                break;
            }
            if (authenticated) drain();
            const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(Connection::Clock::now() - keep->last_received());
            if (silent > options.heartbeat_timeout) {
                fail_all(cat(where, ": nothing received for ", silent.count(), " ms (heartbeat timeout ",
                             options.heartbeat_timeout.count(), " ms): the node is hung or unreachable"));
                keep->close();
                break;
            }
            if (authenticated) keep->send_if_idle(MsgType::Heartbeat, 0);  // a frame being written says as much
        }
    }
};

NodeClient::NodeClient(std::shared_ptr<State> state) : state_(std::move(state)) {}

NodeClient::~NodeClient() {
    asio::post(state_->io, [s = state_.get()] {
        if (s->conn) s->conn->close();
    });
    state_->work.reset();
    state_->io.stop();
    if (state_->thread.joinable()) state_->thread.join();
}

Result<std::unique_ptr<NodeClient>> NodeClient::connect(const std::string& host, std::uint16_t port,
                                                        std::span<const std::uint8_t> secret, const ClientOptions& options) {
    auto state = std::make_shared<State>();
    state->host = host;
    state->port = port;
    state->where = cat("node ", host, ":", port);
    return open(std::move(state), secret, options);
}

Result<std::unique_ptr<NodeClient>> NodeClient::accept_joined(int fd, const std::string& where,
                                                              std::span<const std::uint8_t> secret, const ClientOptions& options) {
    auto state = std::make_shared<State>();
    state->where = where;
    state->dialler = Dialler::Node;
    state->joined_fd = fd;
    return open(std::move(state), secret, options);
}

Result<std::unique_ptr<NodeClient>> NodeClient::open(std::shared_ptr<State> state, std::span<const std::uint8_t> secret,
                                                     const ClientOptions& options) {
    state->options = options;
    state->secret.assign(secret.begin(), secret.end());
    const int fd = state->joined_fd;
    std::unique_ptr<NodeClient> client(new NodeClient(state));
    std::promise<std::string> opened;
    auto done = opened.get_future();
    asio::co_spawn(state->io, state->open(), [&opened](std::exception_ptr e, std::string why) {
        opened.set_value(e ? std::string("handshake failed: internal error") : std::move(why));
    });
    state->thread = std::thread([s = state.get()] { s->io.run(); });
    const auto deadline = Clock::now() + options.connect_timeout;
    bool ready = false, cancelled = false;
    while (!ready && !cancelled && Clock::now() < deadline) {
        ready = done.wait_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(20))) == std::future_status::ready;
        cancelled = options.cancel != nullptr && options.cancel->load();
    }
    if (!ready) {
        client.reset();  // joins the io thread before `opened` goes
        if (fd >= 0 && state->joined_fd == fd) ::close(fd);  // never adopted
        if (cancelled) return Error{cat(state->where, ": connect cancelled")};
        return Error{cat(state->where, ": no answer within ", options.connect_timeout.count(), " ms (connect and handshake)")};
    }
    const std::string why = done.get();
    if (!why.empty()) {
        if (state->joined_fd >= 0) ::close(std::exchange(state->joined_fd, -1));
        return Error{why};
    }
    return client;
}

const Capabilities& NodeClient::capabilities() const { return state_->caps; }

std::chrono::milliseconds NodeClient::silence() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Connection::Clock::now() - state_->conn->last_received());
}

void NodeClient::stop_waiting(bool on) { state_->stop_waiting = on; }

void NodeClient::give_up(const std::string& why) {
    state_->fail_all(cat(state_->where, ": ", why));
    asio::post(state_->io, [keep = state_->conn] { keep->close(); });
}

std::string NodeClient::failure() const {
    std::lock_guard lock(state_->mutex);
    return state_->failure;
}

namespace {
template <class T>
Result<T> expect(Result<Frame> r, MsgType want, const std::string& where, Result<T> (*decode)(Payload)) {
    if (!r) return Error{r.error()};
    if (r.value().type != want)
        return Error{cat(where, ": got ", msg_type_name(r.value().type), ", expected ", msg_type_name(want))};
    auto m = decode(r.value().payload);
    if (!m) return Error{cat(where, ": ", m.error())};
    return m;
}
Result<Done> expect_ack(Result<Frame> r, const std::string& where) {
    if (!r) return Error{r.error()};
    if (r.value().type != MsgType::Ack) return Error{cat(where, ": got ", msg_type_name(r.value().type), ", expected ack")};
    return Done{};
}
}  // namespace

Result<bool> NodeClient::have_module(const Sha256& hash) {
    auto r = expect(state_->request(MsgType::HaveModule, encode(ModuleHash{hash})), MsgType::HaveModuleReply,
                    state_->where, &decode_have_module_reply);
    if (!r) return Error{r.error()};
    return r.value().present;
}

Result<Sha256> NodeClient::upload_module(std::span<const std::uint8_t> pbc) {
    const Sha256 hash = sha256(pbc);
    auto have = have_module(hash);
    if (!have) return Error{have.error()};
    if (have.value()) return hash;
    auto ack = expect_ack(state_->request(MsgType::ModuleUpload, encode(ModuleUpload{hash, Bytes(pbc.begin(), pbc.end())})),
                          state_->where);
    if (!ack) return Error{ack.error()};
    return hash;
}

Result<Done> NodeClient::put_region(std::uint64_t id, std::uint64_t version, std::uint64_t total_bytes,
                                    std::uint64_t offset, std::span<const std::uint8_t> bytes) {
    // Slices of kSliceBytes: computing a slice's checksum (before the frame
    // goes out, since the header carries it) brings the slice into L2, and
    // the send copies it from there. With 16 MiB slices each was read from
    // memory twice, and the checksum took as long as the send. kWindow slices
    // in flight, so the stream never waits for an ack. Each goes out from
    // `bytes` itself, not a copy: every frame is answered, or the connection
    // is closed, before this returns.
    constexpr std::size_t kWindow = kInFlightBytes / kSliceBytes;
    std::deque<std::uint64_t> in_flight;
    Result<Done> result = Done{};
    auto settle_one = [&] {
        auto ack = expect_ack(state_->finish(in_flight.front()), state_->where);
        in_flight.pop_front();
        if (!ack && result) result = ack;
    };
    std::size_t done = 0;
    do {  // an empty put still creates the region
        const std::size_t n = std::min<std::size_t>(kSliceBytes, bytes.size() - done);
        in_flight.push_back(
            state_->start(MsgType::RegionPut, encode(RegionPutHead{id, version, total_bytes, offset + done, n}), bytes.subspan(done, n)));
        done += n;
        if (in_flight.size() == kWindow) settle_one();
    } while (done < bytes.size() && result);
    while (!in_flight.empty()) settle_one();
    if (!result && !failure().empty()) state_->close_and_wait();
    return result;
}

Result<Bytes> NodeClient::get_region(std::uint64_t id, std::uint64_t version, std::uint64_t offset, std::uint64_t length) {
    // Slices of kSliceBytes (for the node's checksum, as for a put), up to
    // kInFlightBytes of them asked for at once (bounds what the node queues
    // for us); replies are checked in order. Each lands straight in `out`.
    constexpr std::size_t kWindow = kInFlightBytes / kSliceBytes;
    struct Asked {
        std::uint64_t request, at, bytes;
    };
    std::deque<Asked> asked;
    Bytes out(static_cast<std::size_t>(length));
    Result<Bytes> failed = Bytes{};
    auto settle_one = [&] {
        const Asked a = asked.front();
        asked.pop_front();
        auto reply = state_->finish(a.request);
        if (!failed) return;  // drain the rest
        if (!reply) {
            failed = Error{reply.error()};
            return;
        }
        const Frame& f = reply.value();
        if (f.type != MsgType::RegionData) {
            failed = Error{cat(state_->where, ": got ", msg_type_name(f.type), ", expected region-data")};
            return;
        }
        if (!f.landed.empty()) {  // already in place; the head must agree
            auto head = decode_region_data_head(f.payload);
            if (!head) failed = Error{cat(state_->where, ": ", head.error())};
            return;
        }
        auto data = decode_region_data(f.payload);
        if (!data) failed = Error{cat(state_->where, ": ", data.error())};
        else if (data.value().data.size() != a.bytes)
            failed = Error{cat(state_->where, ": region-data carries ", data.value().data.size(), " bytes, asked for ", a.bytes)};
        else if (a.bytes != 0) std::memcpy(out.data() + a.at, data.value().data.data(), a.bytes);
    };
    std::uint64_t done = 0;
    do {
        const std::uint64_t n = std::min<std::uint64_t>(kSliceBytes, length - done);
        const std::span<std::uint8_t> land(out.data() + done, n);
        asked.push_back({state_->start(MsgType::RegionGet, encode(RegionGet{id, version, offset + done, n}), {}, land), done, n});
        done += n;
        if (asked.size() == kWindow) settle_one();
    } while (done < length && failed);
    while (!asked.empty()) settle_one();
    if (!failed) {
        // A reader may still be landing a slice in `out`: closing waits for it.
        if (!failure().empty()) state_->close_and_wait();
        return failed;
    }
    return out;
}

Result<ChunkResult> NodeClient::launch(const LaunchChunk& chunk) {
    return expect(state_->request(MsgType::Launch, encode(chunk)), MsgType::ChunkResult, state_->where, &decode_chunk_result);
}

std::uint64_t NodeClient::start_launch(const LaunchChunk& chunk) {
    const std::uint64_t id = state_->start(MsgType::Launch, encode(chunk));
    std::lock_guard lock(state_->mutex);
    state_->launches.insert(id);
    return id;
}

Result<ChunkResult> NodeClient::wait_launch(std::uint64_t request, std::optional<ErrorCode>* refused) {
    return *wait_launch_for(request, std::chrono::milliseconds::max(), refused);
}

std::optional<Result<ChunkResult>> NodeClient::wait_launch_for(std::uint64_t request, std::chrono::milliseconds timeout,
                                                               std::optional<ErrorCode>* refused) {
    {
        std::lock_guard lock(state_->mutex);
        if (!state_->launches.contains(request))
            return Result<ChunkResult>{Error{cat(state_->where, ": no launch ", request, " is waiting")}};
    }
    const auto now = Clock::now();
    const auto deadline = timeout >= std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now)
                              ? Clock::time_point::max()
                              : now + timeout;
    auto reply = state_->wait(request, deadline);
    if (!reply) return std::nullopt;
    {
        std::lock_guard lock(state_->mutex);
        state_->launches.erase(request);
    }
    return expect(state_->checked(std::move(*reply), refused), MsgType::ChunkResult, state_->where, &decode_chunk_result);
}

std::uint64_t NodeClient::start_vector(const VectorChunk& chunk) { return state_->start(MsgType::VectorChunk, encode(chunk)); }

Result<VectorChunkResult> NodeClient::wait_vector(std::uint64_t request) {
    return expect(state_->finish(request), MsgType::VectorChunkResult, state_->where, &decode_vector_chunk_result);
}

void NodeClient::abandon_launch(std::uint64_t request) {
    {
        std::lock_guard lock(state_->mutex);
        if (!state_->launches.erase(request)) return;
        state_->pending.erase(request);  // a late reply finds no slot and is dropped
    }
    // The node stops the chunk (or never starts it): nobody wants its result.
    // The cancel's own ack is dropped the same way.
    const std::uint64_t cancel = state_->start(MsgType::Cancel, encode(Cancel{request}));
    std::lock_guard lock(state_->mutex);
    state_->pending.erase(cancel);
}

Result<Done> NodeClient::cancel(std::uint64_t launch_request) {
    return expect_ack(state_->request(MsgType::Cancel, encode(Cancel{launch_request})), state_->where);
}

std::uint64_t NodeClient::open_stream(MsgType type, Bytes payload) {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(state_->mutex);
        id = state_->next_id++;
        if (!state_->failure.empty()) {
            state_->streamed.emplace_back(id, Result<Frame>{Error{state_->failure}});
            return id;
        }
        state_->streams.insert(id);
    }
    state_->conn->send(type, id, std::move(payload));
    return id;
}

std::optional<std::pair<std::uint64_t, Result<Frame>>> NodeClient::next_streamed(Clock::time_point deadline) {
    return state_->next_streamed(deadline, /*wait=*/true);
}

std::optional<std::pair<std::uint64_t, Result<Frame>>> NodeClient::poll_streamed() {
    return state_->next_streamed(Clock::time_point{}, /*wait=*/false);
}

void NodeClient::close_stream(std::uint64_t request) {
    std::lock_guard lock(state_->mutex);
    state_->streams.erase(request);
    std::erase_if(state_->streamed, [request](const auto& s) { return s.first == request; });
}

void NodeClient::abandon_stream(std::uint64_t request) {
    {
        std::lock_guard lock(state_->mutex);
        const bool open = state_->streams.contains(request);
        state_->streams.erase(request);
        std::erase_if(state_->streamed, [request](const auto& s) { return s.first == request; });
        if (!open || !state_->failure.empty()) return;  // it ended, or the connection did
    }
    const std::uint64_t cancel = state_->start(MsgType::Cancel, encode(Cancel{request}));
    std::lock_guard lock(state_->mutex);
    state_->pending.erase(cancel);  // its ack is dropped when it comes
}

void NodeClient::on_streamed(std::function<void()> wake) {
    std::lock_guard lock(state_->mutex);
    state_->on_streamed = std::move(wake);
}

int NodeClient::socket_fd() const { return state_->conn->native_fd(); }

void NodeClient::send_one_way(MsgType type, std::uint64_t request_id, Bytes payload) {
    {
        std::lock_guard lock(state_->mutex);
        if (!state_->failure.empty()) return;
    }
    state_->conn->send(type, request_id, std::move(payload));
}

void NodeClient::drop_regions(std::vector<std::uint64_t> ids) {
    if (!ids.empty()) send_one_way(MsgType::RegionDrop, 0, encode(RegionDrop{std::move(ids)}));
}

Result<Done> NodeClient::send_peer_ticket(const Nonce& ticket) {
    return expect_ack(state_->request(MsgType::PeerTicket, encode(PeerTicket{ticket})), state_->where);
}

}  // namespace polymer::cluster
