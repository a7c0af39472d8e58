#include "cluster/node_client.h"

#include <asio.hpp>

#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "cluster/connection.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {
constexpr int kSpinMicroseconds = 50;
}

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
    Capabilities caps;
    bool authenticated = false;

    std::mutex mutex;  // guards what callers and the io thread share
    std::map<std::uint64_t, std::promise<Result<Frame>>> pending;
    std::string failure;
    std::uint64_t next_id = 1;
    std::map<std::uint64_t, std::future<Result<Frame>>> launches;  // started, not yet waited for

    void fail_all(const std::string& reason) {
        std::lock_guard lock(mutex);
        if (failure.empty()) failure = reason;
        for (auto& [id, p] : pending) p.set_value(Error{failure});
        pending.clear();
    }

    // Sends a request; the future yields its reply (or the connection's
    // failure). `tail` is sent from where it lies (Connection::send): it must
    // stay valid until that future is ready.
    std::pair<std::uint64_t, std::future<Result<Frame>>> start(MsgType type, Bytes payload,
                                                               std::span<const std::uint8_t> tail = {}) {
        std::promise<Result<Frame>> failed;
        std::future<Result<Frame>> reply;
        std::uint64_t id = 0;
        {
            std::lock_guard lock(mutex);
            id = next_id++;
            if (!failure.empty()) {
                failed.set_value(Error{failure});
                return {id, failed.get_future()};
            }
            reply = pending[id].get_future();
        }
        conn->send(type, id, std::move(payload), tail);  // from this thread (Connection::send)
        return {id, std::move(reply)};
    }

    Result<Frame> request(MsgType type, Bytes payload) { return finish(start(type, std::move(payload)).second); }

    Result<Frame> finish(std::future<Result<Frame>> reply) {
        // A reply to a small request comes within tens of microseconds: wait
        // for it awake a little before sleeping, since being woken costs about
        // as much again as the whole round trip.
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicroseconds);
        while (reply.wait_for(std::chrono::seconds(0)) != std::future_status::ready && std::chrono::steady_clock::now() < until)
            std::this_thread::yield();
        Result<Frame> r = reply.get();
        if (r && r.value().type == MsgType::Error) {
            auto e = decode_error(r.value().payload);
            if (!e) return Error{cat(where, ": unreadable error reply: ", e.error())};
            return Error{cat(where, ": ", error_code_name(e.value().code), ": ", e.value().message)};
        }
        return r;
    }

    // Reads the next frame during the handshake; an error frame becomes its message.
    asio::awaitable<Result<Frame>> handshake_frame(MsgType want) {
        ReadOutcome r = co_await conn->read_frame();
        if (!r.frame) co_return Error{cat(where, ": handshake failed: ", failure.empty() ? r.message : failure)};
        if (r.frame->type == MsgType::Error) {
            auto e = decode_error(r.frame->payload);
            co_return Error{cat(where, ": handshake refused: ",
                                e ? cat(error_code_name(e.value().code), ": ", e.value().message) : e.error())};
        }
        if (r.frame->type != want)
            co_return Error{cat(where, ": handshake failed: got ", msg_type_name(r.frame->type), ", expected ", msg_type_name(want))};
        co_return std::move(*r.frame);
    }

    // Returns why it failed, or an empty string once authenticated.
    asio::awaitable<std::string> open() {
        std::error_code ec;
        asio::ip::tcp::resolver resolver(io);
        auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return cat(where, ": cannot resolve: ", ec.message());
        asio::ip::tcp::socket socket(io);
        co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return cat(where, ": cannot connect: ", ec.message());
        conn = std::make_shared<Connection>(std::move(socket));
        conn->start();
        asio::co_spawn(io, watchdog(), asio::detached);

        const std::uint16_t version = options.version == 0 ? kProtocolVersion : options.version;
        conn->send(MsgType::Hello, 0, encode(Hello{version, options.name}));
        auto challenge_frame = co_await handshake_frame(MsgType::Challenge);
        if (!challenge_frame) co_return challenge_frame.error();
        auto challenge = decode_challenge(challenge_frame.value().payload);
        if (!challenge) co_return cat(where, ": ", challenge.error());
        auto nonce = random_nonce();
        if (!nonce) co_return nonce.error();
        conn->send(MsgType::Response, 0,
                   encode(Response{client_proof(secret, challenge.value().node_nonce, nonce.value()), nonce.value()}));
        auto welcome_frame = co_await handshake_frame(MsgType::Welcome);
        if (!welcome_frame) co_return welcome_frame.error();
        auto welcome = decode_welcome(welcome_frame.value().payload);
        if (!welcome) co_return cat(where, ": ", welcome.error());
        if (!macs_equal(welcome.value().proof, node_proof(secret, challenge.value().node_nonce, nonce.value())))
            co_return cat(where, ": the node could not prove it knows the token; not trusting it");
        caps = welcome.value().caps;
        authenticated = true;
        asio::co_spawn(io, reader(), asio::detached);
        co_return std::string();
    }

    // Reads until the stream fails. Not `while (is_open())`: the writer may
    // close the connection (a failed write) while a read that already
    // succeeded waits to resume, and leaving then would strand every
    // pending request. A read on a closed socket fails at once.
    asio::awaitable<void> reader() {
        auto keep = conn;
        for (;;) {
            ReadOutcome r = co_await keep->read_frame();
            if (!r.frame) {
                fail_all(cat(where, ": connection lost: ", r.message));
                keep->close();
                break;
            }
            Frame& f = *r.frame;
            if (f.type == MsgType::Heartbeat) continue;
            if (f.type == MsgType::Goodbye) {
                fail_all(cat(where, ": the node is shutting down"));
                keep->close();
                break;
            }
            std::lock_guard lock(mutex);
            auto it = pending.find(f.request_id);
            if (it == pending.end()) continue;  // a reply to a request already failed
            it->second.set_value(std::move(f));
            pending.erase(it);
        }
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
            const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(Connection::Clock::now() - keep->last_received());
            if (silent > options.heartbeat_timeout) {
                fail_all(cat(where, ": nothing received for ", silent.count(), " ms (heartbeat timeout ",
                             options.heartbeat_timeout.count(), " ms): the node is hung or unreachable"));
                keep->close();
                break;
            }
            if (authenticated) keep->send(MsgType::Heartbeat, 0, {});
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
    state->options = options;
    state->secret.assign(secret.begin(), secret.end());
    state->host = host;
    state->port = port;
    state->where = cat("node ", host, ":", port);
    std::unique_ptr<NodeClient> client(new NodeClient(state));
    std::promise<std::string> opened;
    auto done = opened.get_future();
    asio::co_spawn(state->io, state->open(), [&opened](std::exception_ptr e, std::string why) {
        opened.set_value(e ? std::string("handshake failed: internal error") : std::move(why));
    });
    state->thread = std::thread([s = state.get()] { s->io.run(); });
    const std::string why = done.get();
    if (!why.empty()) return Error{why};
    return client;
}

const Capabilities& NodeClient::capabilities() const { return state_->caps; }

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
    // Up to kWindow slices in flight, so the stream never waits for an ack.
    // Each goes out from `bytes` itself, not a copy: every frame is answered
    // (or the connection closed, which stops its write in the same io-thread
    // step that fails the future) before this returns.
    constexpr std::size_t kWindow = 4;
    std::deque<std::future<Result<Frame>>> in_flight;
    Result<Done> result = Done{};
    auto settle_one = [&] {
        auto ack = expect_ack(state_->finish(std::move(in_flight.front())), state_->where);
        in_flight.pop_front();
        if (!ack && result) result = ack;
    };
    std::size_t done = 0;
    do {  // an empty put still creates the region
        const std::size_t n = std::min<std::size_t>(kMaxSliceBytes, bytes.size() - done);
        in_flight.push_back(
            state_->start(MsgType::RegionPut, encode(RegionPutHead{id, version, total_bytes, offset + done, n}), bytes.subspan(done, n))
                .second);
        done += n;
        if (in_flight.size() == kWindow) settle_one();
    } while (done < bytes.size() && result);
    while (!in_flight.empty()) settle_one();
    return result;
}

Result<Bytes> NodeClient::get_region(std::uint64_t id, std::uint64_t version, std::uint64_t offset, std::uint64_t length) {
    // Up to 4 slice requests in flight (bounds what the node queues for us);
    // replies are checked in order.
    constexpr std::size_t kWindow = 4;
    std::deque<std::pair<std::uint64_t, std::future<Result<Frame>>>> asked;
    Bytes out;
    // All of it at once (growing by doubling would copy what came so far
    // again); a request past 1 GiB grows from there.
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(length, 1ull << 30)));
    Result<Bytes> failed = Bytes{};
    auto settle_one = [&] {
        auto [n, reply] = std::move(asked.front());
        asked.pop_front();
        auto data = expect(state_->finish(std::move(reply)), MsgType::RegionData, state_->where, &decode_region_data);
        if (!failed) return;  // drain the rest
        if (!data) failed = Error{data.error()};
        else if (data.value().data.size() != n)
            failed = Error{cat(state_->where, ": region-data carries ", data.value().data.size(), " bytes, asked for ", n)};
        else out.insert(out.end(), data.value().data.begin(), data.value().data.end());
    };
    std::uint64_t done = 0;
    do {
        const std::uint64_t n = std::min<std::uint64_t>(kMaxSliceBytes, length - done);
        asked.emplace_back(n, state_->start(MsgType::RegionGet, encode(RegionGet{id, version, offset + done, n})).second);
        done += n;
        if (asked.size() == kWindow) settle_one();
    } while (done < length && failed);
    while (!asked.empty()) settle_one();
    if (!failed) return failed;
    return out;
}

Result<ChunkResult> NodeClient::launch(const LaunchChunk& chunk) {
    return expect(state_->request(MsgType::Launch, encode(chunk)), MsgType::ChunkResult, state_->where, &decode_chunk_result);
}

std::uint64_t NodeClient::start_launch(const LaunchChunk& chunk) {
    auto [id, reply] = state_->start(MsgType::Launch, encode(chunk));
    std::lock_guard lock(state_->mutex);
    state_->launches[id] = std::move(reply);
    return id;
}

Result<ChunkResult> NodeClient::wait_launch(std::uint64_t request) {
    std::future<Result<Frame>> reply;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->launches.find(request);
        if (it == state_->launches.end()) return Error{cat(state_->where, ": no launch ", request, " is waiting")};
        reply = std::move(it->second);
        state_->launches.erase(it);
    }
    return expect(state_->finish(std::move(reply)), MsgType::ChunkResult, state_->where, &decode_chunk_result);
}

std::optional<Result<ChunkResult>> NodeClient::wait_launch_for(std::uint64_t request, std::chrono::milliseconds timeout) {
    std::future<Result<Frame>>* reply = nullptr;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->launches.find(request);
        if (it == state_->launches.end()) return Result<ChunkResult>{Error{cat(state_->where, ": no launch ", request, " is waiting")}};
        reply = &it->second;  // map nodes are stable; only this caller erases it
    }
    if (reply->wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return wait_launch(request);
}

void NodeClient::abandon_launch(std::uint64_t request) {
    std::lock_guard lock(state_->mutex);
    state_->launches.erase(request);
}

Result<Done> NodeClient::cancel(std::uint64_t launch_request) {
    return expect_ack(state_->request(MsgType::Cancel, encode(Cancel{launch_request})), state_->where);
}

}  // namespace polymer::cluster
