#include "cluster/channel_links.h"

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

ChannelLinks::ChannelLinks(asio::io_context& io, std::shared_ptr<PeerLinks> links, std::uint32_t self, std::uint64_t run,
                           std::vector<NodeAddress> nodes, std::function<void(std::uint32_t, const std::string&)> lost,
                           std::function<void(std::shared_ptr<Connection>)> adopt)
    : io_(io),
      links_(std::move(links)),
      self_(self),
      run_(run),
      nodes_(std::move(nodes)),
      lost_(std::move(lost)),
      adopt_(std::move(adopt)) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) peers_.push_back(std::make_unique<Peer>());
}

ChannelLinks::~ChannelLinks() {
    std::vector<std::shared_ptr<PeerLink>> links;
    for (auto& p : peers_) {
        std::lock_guard lock(p->mutex);
        if (p->link) links.push_back(std::move(p->link));
    }
    if (!links.empty())
        asio::post(io_, [links = std::move(links)] {
            for (const auto& l : links) l->close("the run's channels are done");
        });
}

std::string ChannelLinks::send(std::uint32_t node, Bytes payload) {
    if (node == 0 || node > peers_.size() || node == self_)
        return cat("there is no node ", node, " to send a channel frame to (the home named ", nodes_.size(), ")");
    Peer& p = *peers_[node - 1];
    if (Connection* ready = p.ready.load(std::memory_order_acquire)) {
        ready->send(MsgType::ChanFrame, 0, std::move(payload));
        return {};
    }
    std::shared_ptr<Connection> conn;
    {
        std::lock_guard lock(p.mutex);
        if (!p.failed.empty()) return p.failed;
        if (!p.open) {
            p.waiting.push_back(std::move(payload));
            if (!p.opening) {
                p.opening = true;
                asio::post(io_, [self = shared_from_this(), node] { self->open(node); });
            }
            return {};
        }
        conn = p.open;
    }
    conn->send(MsgType::ChanFrame, 0, std::move(payload));
    return {};
}

void ChannelLinks::offer(std::uint32_t node, std::shared_ptr<Connection> conn) {
    if (node == 0 || node > peers_.size() || node == self_) return;
    Peer& p = *peers_[node - 1];
    std::lock_guard lock(p.mutex);
    if (p.open || p.opening || !p.failed.empty()) return;  // it sends on its own link (both dialled at once)
    p.open = std::move(conn);
    p.ready.store(p.open.get(), std::memory_order_release);
}

void ChannelLinks::connection_lost(const std::shared_ptr<Connection>& conn, const std::string& why) {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
        bool mine = false;
        {
            std::lock_guard lock(peers_[i]->mutex);
            mine = peers_[i]->open == conn;
        }
        if (mine) fail(static_cast<std::uint32_t>(i + 1), cat("the connection to node ", i + 1, " failed: ", why));
    }
}

void ChannelLinks::open(std::uint32_t node) {
    const NodeAddress& a = nodes_[node - 1];
    std::string why;
    std::shared_ptr<PeerLink> link = links_->own_link(a.host, a.port, why);
    if (!link) {
        fail(node, why);
        return;
    }
    link->read_by_caller();  // the chan-inbox reads it
    {
        std::lock_guard lock(peers_[node - 1]->mutex);
        peers_[node - 1]->link = link;
    }
    asio::co_spawn(
        io_,
        [self = shared_from_this(), link, node]() -> asio::awaitable<void> {
            const std::string why = co_await link->connect();
            std::shared_ptr<Connection> conn = link->connection();
            if (!why.empty() || !conn) {
                self->fail(node, cat("cannot reach node ", node, ": ", why.empty() ? std::string("the link closed") : why));
                co_return;
            }
            link->on_failure([weak = std::weak_ptr<ChannelLinks>(self), node](const std::string& w) {
                if (auto s = weak.lock()) s->fail(node, cat("the link to node ", node, " failed: ", w));
            });
            // From now on both ends read it from their procedures' threads:
            // it leaves asio here (no read is pending: the link reads nothing).
            conn->send(MsgType::ChanInbox, 0, encode(ChanInbox{self->self_, self->run_}));
            conn->leave_io();
            self->adopt_(conn);
            Peer& p = *self->peers_[node - 1];
            std::lock_guard lock(p.mutex);  // senders wait while what queued goes out first: the order holds
            for (Bytes& b : p.waiting) conn->send(MsgType::ChanFrame, 0, std::move(b));
            p.waiting.clear();
            if (p.failed.empty()) {
                p.open = std::move(conn);
                p.ready.store(p.open.get(), std::memory_order_release);
            }
        },
        asio::detached);
}

void ChannelLinks::fail(std::uint32_t node, const std::string& why) {
    Peer& p = *peers_[node - 1];
    {
        std::lock_guard lock(p.mutex);
        if (!p.failed.empty()) return;
        p.failed = why;
        p.waiting.clear();
        p.ready.store(nullptr, std::memory_order_release);  // `open` stays: a send that found it may still use it
    }
    lost_(node, why);
}

}  // namespace polymer::cluster
