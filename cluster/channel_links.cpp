#include "cluster/channel_links.h"

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

ChannelLinks::ChannelLinks(asio::io_context& io, std::shared_ptr<PeerLinks> links, std::uint32_t self,
                           std::vector<NodeAddress> nodes, std::function<void(std::uint32_t, const std::string&)> lost)
    : io_(io), links_(std::move(links)), self_(self), nodes_(std::move(nodes)), lost_(std::move(lost)) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) peers_.push_back(std::make_unique<Peer>());
}

std::string ChannelLinks::send(std::uint32_t node, Bytes payload) {
    if (node == 0 || node > peers_.size() || node == self_)
        return cat("there is no node ", node, " to send a channel frame to (the home named ", nodes_.size(), ")");
    Peer& p = *peers_[node - 1];
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

void ChannelLinks::open(std::uint32_t node) {
    const NodeAddress& a = nodes_[node - 1];
    std::string why;
    std::shared_ptr<PeerLink> link = links_->link(a.host, a.port, why);
    if (!link) {
        fail(node, why);
        return;
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
            Peer& p = *self->peers_[node - 1];
            std::lock_guard lock(p.mutex);  // senders wait while what queued goes out first: the order holds
            for (Bytes& b : p.waiting) conn->send(MsgType::ChanFrame, 0, std::move(b));
            p.waiting.clear();
            if (p.failed.empty()) p.open = std::move(conn);
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
        p.open.reset();
    }
    lost_(node, why);
}

}  // namespace polymer::cluster
