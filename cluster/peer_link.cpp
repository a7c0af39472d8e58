#include "cluster/peer_link.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <utility>

#include "cluster/client_handshake.h"
#include "cluster/node_limits.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using namespace std::chrono_literals;
using pbc::cat;

namespace {
// How often a waiting fetch looks whether it should stop (a cancelled launch).
constexpr auto kStopPoll = 50ms;
}  // namespace

PeerLink::PeerLink(asio::io_context& io, std::string host, std::uint16_t port, const PeerLinkConfig& config)
    : io_(io),
      host_(std::move(host)),
      port_(port),
      where_(cat(host_, ":", port_)),
      config_(config),
      deadline_(io),
      resolver_(io),
      socket_(io) {}

PeerLink::~PeerLink() {
    for (auto& [id, r] : pending_)
        if (config_.release) config_.release(r.reserved);
}

asio::awaitable<std::string> PeerLink::fetch(std::uint64_t region, std::uint64_t version, std::uint64_t offset,
                                             std::uint64_t length,
                                             const std::function<void(std::uint64_t, std::span<const std::uint8_t>)>& land,
                                             const std::function<bool()>& stopped) {
    auto self = shared_from_this();
    ++users_;
    struct Leave {
        int& users;
        ~Leave() { --users; }
    } leave{users_};
    if (std::string why = co_await ready(stopped); !why.empty()) co_return why;

    struct Asked {
        std::uint64_t request, at, bytes;
    };
    std::deque<Asked> asked;
    std::uint64_t done = 0;
    std::string why;
    while (why.empty() && (done < length || !asked.empty())) {
        while (done < length && asked.size() < kWindow && state_ == State::Open) {
            const std::uint64_t n = std::min<std::uint64_t>(kSliceBytes, length - done);
            const std::uint64_t id = next_id_++;
            pending_[id];
            conn_->send(MsgType::RegionGet, id, encode(RegionGet{region, version, offset + done, n}));
            asked.push_back({id, offset + done, n});
            done += n;
        }
        if (asked.empty()) {  // the link failed before the rest could be asked for
            why = failure_;
            break;
        }
        const Asked a = asked.front();
        asked.pop_front();
        auto r = co_await reply(a.request, stopped);
        if (!r) {
            why = r.error();
            break;
        }
        const Frame& f = r.value();
        if (f.type == MsgType::Error) {
            auto e = decode_error(f.payload);
            why = e ? cat("the peer answered ", error_code_name(e.value().code), ": ", e.value().message)
                    : cat("the peer's error reply is unreadable: ", e.error());
        } else if (f.type != MsgType::RegionData) {
            why = cat("the peer answered a region-get with ", msg_type_name(f.type));
        } else if (f.payload.size() < kRegionDataHeadBytes) {
            why = cat("the peer's region-data is ", f.payload.size(), " bytes, shorter than its ", kRegionDataHeadBytes, "-byte head");
        } else {
            const std::span<const std::uint8_t> payload(f.payload);
            auto head = decode_region_data_head(payload.first(kRegionDataHeadBytes));
            const std::span<const std::uint8_t> bytes = payload.subspan(kRegionDataHeadBytes);
            if (!head) {
                why = cat("the peer's region-data: ", head.error());
            } else if (const RegionDataHead& h = head.value(); h.region != region || h.version != version || h.offset != a.at ||
                                                              h.length != a.bytes || bytes.size() != a.bytes) {
                why = cat("the peer's region-data (region ", h.region, " version ", h.version, ", ", bytes.size(),
                          " bytes at ", h.offset, ") is not the slice asked for (", a.bytes, " bytes at ", a.at, ")");
            } else {
                land(a.at, bytes);
            }
        }
    }
    for (const Asked& a : asked) forget(a.request);
    co_return why;
}

void PeerLink::close(const std::string& why) { fail(why); }

asio::awaitable<std::string> PeerLink::connect() {
    auto self = shared_from_this();
    co_return co_await ready([] { return false; });
}

asio::awaitable<std::string> PeerLink::ready(const std::function<bool()>& stopped) {
    if (state_ == State::Idle) {
        state_ = State::Opening;
        auto self = shared_from_this();
        asio::co_spawn(io_, [self] { return self->open(); }, asio::detached);
    }
    asio::steady_timer waker(io_);
    while (state_ == State::Opening) {
        if (stopped()) co_return "stopped";
        opening_waiters_.push_back(&waker);
        waker.expires_after(kStopPoll);
        std::error_code ec;
        co_await waker.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::erase(opening_waiters_, &waker);
    }
    co_return state_ == State::Open ? std::string() : failure_;
}

asio::awaitable<void> PeerLink::open() {
    auto self = shared_from_this();
    deadline_.expires_after(config_.heartbeat_timeout);
    asio::co_spawn(io_, [self] { return self->open_deadline(); }, asio::detached);
    const std::string why = co_await dial();
    deadline_.cancel();
    if (state_ != State::Opening) co_return;  // failed meanwhile: the deadline, or closed
    if (!why.empty()) {
        fail(why);
        co_return;
    }
    state_ = State::Open;
    if (!read_by_caller_) asio::co_spawn(io_, [self] { return self->reader(); }, asio::detached);
    asio::co_spawn(io_, [self] { return self->pulse(); }, asio::detached);
    wake_all();
}

asio::awaitable<void> PeerLink::open_deadline() {
    auto self = shared_from_this();
    std::error_code ec;
    co_await deadline_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || state_ != State::Opening) co_return;
    fail(cat("no answer within ", config_.heartbeat_timeout.count(), " ms (connect, ", config_.tls ? "TLS, " : "",
             "handshake and peer-access; the heartbeat timeout)"));
}

asio::awaitable<std::string> PeerLink::dial() {
    std::error_code ec;
    const std::string port = std::to_string(port_);
    auto endpoints = co_await resolver_.async_resolve(host_, port, asio::redirect_error(asio::use_awaitable, ec));
    if (state_ != State::Opening) co_return failure_;
    if (ec) co_return cat("cannot resolve ", host_, ": ", ec.message());
    co_await asio::async_connect(socket_, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (state_ != State::Opening) co_return failure_;
    if (ec) co_return cat("cannot connect: ", ec.message());
    std::string peer = where_;
    if (config_.tls) {
        const std::string why = co_await secure_socket(socket_, config_.secret, TlsSide::Client, config_.heartbeat_timeout, peer, &tunnel_);
        if (state_ != State::Opening) co_return failure_;
        if (!why.empty()) co_return why;
    }
    conn_ = std::make_shared<Connection>(std::move(socket_), Connection::kReadBuffer, peer);
    conn_->start();
    // Before the peer proves it knows the token, it may make this node hold
    // no more than a handshake needs.
    ReadLimits handshake_limits;
    handshake_limits.max_payload = kMaxHandshakePayload;
    const Hello hello{kProtocolVersion, config_.name};
    const std::string who = "the peer";
    auto caps = co_await client_handshake(*conn_, config_.secret, hello, Dialler::Home, who, nullptr, &handshake_limits);
    if (state_ != State::Opening) co_return failure_;
    if (!caps) co_return caps.error();
    conn_->send(MsgType::PeerAccess, 0, encode(PeerAccess{config_.ticket}));
    for (;;) {
        ReadOutcome r = co_await conn_->read_frame(nullptr, &handshake_limits);
        if (state_ != State::Opening) co_return failure_;
        if (!r.frame) co_return cat("peer-access: ", r.message);
        if (r.frame->type == MsgType::Heartbeat) continue;
        if (r.frame->type == MsgType::Ack) co_return std::string();
        if (r.frame->type == MsgType::Error) {
            auto e = decode_error(r.frame->payload);
            co_return cat("peer-access refused: ", e ? cat(error_code_name(e.value().code), ": ", e.value().message) : e.error());
        }
        co_return cat("peer-access: got ", msg_type_name(r.frame->type), ", expected ack");
    }
}

asio::awaitable<void> PeerLink::reader() {
    auto self = shared_from_this();
    ReadLimits limits;
    limits.max_payload = kRegionDataHeadBytes + kSliceBytes;  // the largest reply this side asks for
    limits.reserve = config_.reserve;
    auto release = [this](std::size_t bytes) {
        if (config_.release) config_.release(bytes);
    };
    while (state_ == State::Open) {
        ReadOutcome r = co_await conn_->read_frame(nullptr, &limits);
        if (!r.frame) {
            release(r.reserved);
            fail(r.closed ? cat("connection lost: ", r.message) : cat(error_code_name(r.code), ": ", r.message));
            break;
        }
        Frame& f = *r.frame;
        if (f.type == MsgType::Goodbye) {
            release(r.reserved);
            fail("the peer is shutting down");
            break;
        }
        auto it = pending_.find(f.request_id);
        if (f.type == MsgType::Heartbeat || it == pending_.end() || it->second.frame || !it->second.error.empty()) {
            release(r.reserved);  // a heartbeat, or a reply nobody waits for any more
            continue;
        }
        Reply& reply = it->second;
        if (r.dropped) {
            reply.error = cat(error_code_name(r.dropped->code), " on this node: ", r.dropped->message);
        } else {
            reply.frame = std::move(f);
            reply.reserved = r.reserved;
        }
        if (reply.waker) reply.waker->cancel();
    }
}

asio::awaitable<void> PeerLink::pulse() {
    auto self = shared_from_this();
    asio::steady_timer timer(io_);
    while (state_ == State::Open) {
        timer.expires_after(config_.heartbeat_interval);
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (state_ != State::Open) break;
        const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(Connection::Clock::now() - conn_->last_received());
        if (silent > config_.heartbeat_timeout) {
            fail(cat("nothing received for ", silent.count(), " ms (heartbeat timeout ", config_.heartbeat_timeout.count(), " ms)"));
            break;
        }
        conn_->send_if_idle(MsgType::Heartbeat, 0);  // a frame being written says as much
    }
}

asio::awaitable<Result<Frame>> PeerLink::reply(std::uint64_t id, const std::function<bool()>& stopped) {
    asio::steady_timer waker(io_);
    for (;;) {
        auto it = pending_.find(id);
        if (it == pending_.end()) co_return Error{cat("request ", id, " is not waiting")};
        Reply& r = it->second;
        if (r.frame || !r.error.empty()) {
            Result<Frame> out = r.frame ? Result<Frame>(std::move(*r.frame)) : Result<Frame>(Error{r.error});
            // The caller copies the bytes out before it next waits: nothing
            // else can be counted against the budget meanwhile.
            if (config_.release) config_.release(r.reserved);
            pending_.erase(it);
            co_return out;
        }
        if (state_ == State::Failed) {
            pending_.erase(it);
            co_return Error{failure_};
        }
        if (stopped()) {
            pending_.erase(it);
            co_return Error{"stopped"};
        }
        r.waker = &waker;
        waker.expires_after(kStopPoll);
        std::error_code ec;
        co_await waker.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (auto again = pending_.find(id); again != pending_.end()) again->second.waker = nullptr;
    }
}

void PeerLink::forget(std::uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    if (config_.release) config_.release(it->second.reserved);
    pending_.erase(it);  // a reply that comes later finds no slot and is dropped
}

void PeerLink::fail(const std::string& why) {
    if (state_ == State::Failed) return;
    state_ = State::Failed;
    failure_ = why;
    deadline_.cancel();
    resolver_.cancel();
    std::error_code ec;
    socket_.close(ec);
    if (conn_) conn_->close(why);
    if (tunnel_) tunnel_->close();
    wake_all();
    for (auto& f : std::exchange(on_failure_, {})) f(why);
}

void PeerLink::wake_all() {
    for (auto& [id, r] : pending_)
        if (r.waker) r.waker->cancel();
    for (asio::steady_timer* w : opening_waiters_) w->cancel();
}

std::shared_ptr<PeerLink> PeerLinks::link(const std::string& host, std::uint16_t port, std::string& why) {
    if (closed_) {
        why = "the home's session ended";
        return nullptr;
    }
    std::erase_if(links_, [](const auto& kv) { return kv.second->failed(); });
    const auto key = std::make_pair(host, port);
    if (auto it = links_.find(key); it != links_.end()) return it->second;
    if (links_.size() >= kMaxLinks) {
        auto idle = std::find_if(links_.begin(), links_.end(), [](const auto& kv) { return kv.second->users() == 0; });
        if (idle == links_.end()) {
            why = cat("this node already has ", kMaxLinks, " connections to other nodes for this home, all of them busy");
            return nullptr;
        }
        idle->second->close("closed to make room for a link to another node");
        links_.erase(idle);
    }
    auto link = std::make_shared<PeerLink>(io_, host, port, config_);
    links_.emplace(key, link);
    return link;
}

std::shared_ptr<PeerLink> PeerLinks::own_link(const std::string& host, std::uint16_t port, std::string& why) {
    if (closed_) {
        why = "the home's session ended";
        return nullptr;
    }
    std::erase_if(own_, [](const std::weak_ptr<PeerLink>& l) { return l.expired(); });
    auto link = std::make_shared<PeerLink>(io_, host, port, config_);
    own_.push_back(link);
    return link;
}

void PeerLinks::close_all(const std::string& why) {
    closed_ = true;
    for (auto& [key, link] : links_) link->close(why);
    links_.clear();
    for (auto& weak : own_)
        if (auto link = weak.lock()) link->close(why);
    own_.clear();
}

namespace {

// One launch's fetches: a coroutine per peer, the fetches of a peer in turn.
struct HaloJob : std::enable_shared_from_this<HaloJob> {
    HaloJob(asio::io_context& io) : io(io) {}

    asio::io_context& io;
    std::shared_ptr<PeerLinks> links;
    std::vector<HaloFetch> fetches;
    std::vector<std::shared_ptr<StoredRegion>> targets;
    std::shared_ptr<std::atomic<bool>> cancelled;
    std::function<void(std::string)> done;
    std::vector<std::vector<std::size_t>> by_peer;  // indices into `fetches`
    std::size_t peers_left = 0;
    std::string failure;  // the first

    bool stopped() const { return !failure.empty() || cancelled->load(); }

    void start() {
        std::map<std::pair<std::string, std::uint16_t>, std::size_t> group;
        for (std::size_t i = 0; i < fetches.size(); ++i) {
            const auto key = std::make_pair(fetches[i].host, fetches[i].port);
            auto [it, fresh] = group.emplace(key, by_peer.size());
            if (fresh) by_peer.emplace_back();
            by_peer[it->second].push_back(i);
        }
        peers_left = by_peer.size();
        if (peers_left == 0) {
            asio::post(io, [self = shared_from_this()] { self->done(std::string()); });
            return;
        }
        for (std::size_t g = 0; g < by_peer.size(); ++g) {
            auto self = shared_from_this();
            asio::co_spawn(io, [self, g] { return self->run_peer(g); }, asio::detached);
        }
    }

    asio::awaitable<void> run_peer(std::size_t g) {
        auto self = shared_from_this();
        const std::function<bool()> stop = [this] { return stopped(); };
        for (std::size_t i : by_peer[g]) {
            if (stopped()) break;
            const HaloFetch& f = fetches[i];
            StoredRegion& target = *targets[i];
            std::string why;
            std::shared_ptr<PeerLink> link = links->link(f.host, f.port, why);
            // Named, not a temporary in the co_await (see client_handshake.h).
            const std::function<void(std::uint64_t, std::span<const std::uint8_t>)> land =
                [&target](std::uint64_t at, std::span<const std::uint8_t> bytes) {
                    std::span<std::uint8_t> into = target.receive(at, bytes.size());
                    if (!bytes.empty()) std::memcpy(into.data(), bytes.data(), bytes.size());
                };
            if (link) why = co_await link->fetch(f.from_region, f.from_version, f.offset, f.length, land, stop);
            if (!why.empty() && !cancelled->load() && failure.empty())
                failure = cat("halo fetch from node ", f.host, ":", f.port, " (its region ", f.from_region, " version ",
                              f.from_version, ", bytes [", f.offset, ", ", f.offset + f.length, ") for region ", f.to_region,
                              " version ", f.to_version, ") failed: ", why);
            if (!why.empty()) break;
        }
        if (--peers_left == 0) done(failure);
    }
};

}  // namespace

void fetch_halos(asio::io_context& io, std::shared_ptr<PeerLinks> links, std::vector<HaloFetch> fetches,
                 std::vector<std::shared_ptr<StoredRegion>> targets, std::shared_ptr<std::atomic<bool>> cancelled,
                 std::function<void(std::string)> done) {
    auto job = std::make_shared<HaloJob>(io);
    job->links = std::move(links);
    job->fetches = std::move(fetches);
    job->targets = std::move(targets);
    job->cancelled = std::move(cancelled);
    job->done = std::move(done);
    job->start();
}

}  // namespace polymer::cluster
