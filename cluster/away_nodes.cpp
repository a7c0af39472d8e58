#include "cluster/away_nodes.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "cluster/auth.h"
#include "cluster/proc_frames.h"
#include "isa/byte_io.h"
#include "isa/requirements_text.h"
#include "isa/module_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {
// As NodeClient's callers do: an event comes within tens of microseconds of
// the answer that let the procedure go on, and a sleep in poll() costs about
// as much again to wake from, so look for it awake that long first.
constexpr auto kSpin = std::chrono::microseconds(50);
// The longest one poll() sleeps before it looks again (it is woken at once
// by what it waits for; this only bounds the cost of a wake-up it missed).
constexpr auto kLongestPoll = std::chrono::milliseconds(50);

AwayEvent lost(std::string why) {
    AwayEvent e;
    e.kind = AwayEvent::Kind::Lost;
    e.text = std::move(why);
    return e;
}
}  // namespace

AwayNodes::AwayNodes(std::vector<NodeAddress> nodes, std::vector<std::uint8_t> secret, ClientOptions options)
    : secret_(std::move(secret)), options_(std::move(options)) {
    for (NodeAddress& a : nodes) nodes_.push_back(Node{std::move(a), nullptr, {}, {}});
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (auto t = random_nonce()) ticket_ = t.value();
}

AwayNodes::~AwayNodes() {
    nodes_.clear();  // hang up first: each node stops what this home started there
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string AwayNodes::name(std::size_t node) const {
    if (node == 0 || node > nodes_.size()) return cat("node ", node);
    const Node& n = nodes_[node - 1];
    const std::string at = format_address(n.address);
    if (n.client) return cat("node ", node, " '", n.client->capabilities().name, "' (", at, ")");
    return cat("node ", node, " (", at, ")");
}

std::string AwayNodes::unmet(std::size_t node, const ProcRequirements& r) const {
    if (node == 0 || node > nodes_.size()) return "there is no such node";
    // Asking dials it when no procedure went there yet: the connection is
    // the one the start then uses, so nothing the caller sees changes.
    auto client = const_cast<AwayNodes*>(this)->client_for(node);
    if (!client) return "it cannot be reached: " + client.error();
    const Capabilities& caps = client.value()->capabilities();
    return unmet_requirements(r, gpu_class(caps), caps.max_memory, caps.name);
}

Result<NodeClient*> AwayNodes::client_for(std::size_t node) {
    Node& n = nodes_[node - 1];
    if (n.client && !n.client->failure().empty()) {
        // Its procedures' Lost events first (the next next_event gives
        // them), then a fresh connection.
        const std::string why = n.client->failure();
        while (auto s = n.client->poll_streamed())
            if (auto e = event_of(node, std::move(*s))) made_here_.push_back(std::move(*e));
        while (!n.keys.empty()) {  // every open stream got its error; this only makes sure
            const std::uint64_t key = n.keys.begin()->second;
            forget(key, /*abandon=*/false);
            made_here_.emplace_back(key, lost(why));
        }
        if (n.channel_stream != 0) {  // the channels it kept went with it
            channel_frames_.emplace_back(static_cast<std::uint32_t>(node), keeper_failed(why));
            n.channel_stream = 0;
        }
        n.client.reset();
        n.modules.clear();
        n.started = false;
    }
    if (!n.client) {
        auto c = NodeClient::connect(n.address.host, n.address.port, secret_, options_);
        if (!c) return Error{c.error()};
        n.client = std::move(c).value();
        n.client->on_streamed([fd = wake_fd_] {
            const std::uint64_t one = 1;
            [[maybe_unused]] const ssize_t w = ::write(fd, &one, sizeof one);  // a full counter still wakes the poll
        });
        // The other nodes' links for channels kept here present it (peer-access).
        if (auto t = n.client->send_peer_ticket(ticket_); !t) return Error{cat("cannot give ", name(node), " the peer ticket: ", t.error())};
    }
    return n.client.get();
}

Result<std::uint64_t> AwayNodes::start(std::size_t node, const Module& module, const AwayStart& start) {
    if (node == 0 || node > nodes_.size())
        return Error{cat("there is no node ", node, ": the cluster has ", nodes_.size(), node == 0 ? " (node 0 is the home)" : "")};
    auto client = client_for(node);
    if (!client) return Error{client.error()};
    if (&module != module_) {
        pbc_ = write_module(module);
        hash_ = sha256(pbc_);
        module_ = &module;
    }
    Node& n = nodes_[node - 1];
    if (!n.modules.contains(hash_)) {
        auto up = client.value()->upload_module(pbc_);
        if (!up) return Error{cat("cannot upload the program to ", name(node), ": ", up.error())};
        n.modules.insert(hash_);
    }
    ProcStart message{hash_, start, {}};
    message.self = static_cast<std::uint32_t>(node);
    message.run = run_;
    for (const Node& other : nodes_) message.nodes.push_back(other.address);
    // A procedure whose launches go over the cluster (`.launches cluster`)
    // dials the home's other nodes from its own: it gets their addresses.
    const auto proc = std::find_if(module.procs.begin(), module.procs.end(),
                                   [&](const Procedure& p) { return p.start == start.entry_pc; });
    if (proc != module.procs.end() && proc->launches_cluster)
        for (std::size_t other = 1; other <= nodes_.size(); ++other)
            if (other != node) message.cluster.push_back(nodes_[other - 1].address);
    Bytes payload = encode(message);
    if (payload.size() > kMaxPayload)
        return Error{cat("the procedure's start (", payload.size(), " bytes: registers, region lengths, arguments) is over the ",
                         kMaxPayload, " bytes a frame carries")};
    const std::uint64_t request = client.value()->open_stream(MsgType::ProcStart, std::move(payload));
    n.started = true;
    const std::uint64_t key = next_key_++;
    procs_[key] = Where{node, request};
    n.keys[request] = key;
    return key;
}

void AwayNodes::answer(std::uint64_t key, AwayAnswer answer) {
    auto it = procs_.find(key);
    if (it == procs_.end()) return;  // it has ended, been lost or stopped
    const Where w = it->second;
    auto payloads = proc_answer_payloads(std::move(answer));
    if (!payloads) {
        forget(key, /*abandon=*/true);
        made_here_.emplace_back(key, lost(cat(name(w.node), ": ", payloads.error())));
        return;
    }
    NodeClient* client = nodes_[w.node - 1].client.get();  // a live procedure's node has its client
    for (Bytes& p : payloads.value()) client->send_one_way(MsgType::ProcAnswer, w.request, std::move(p));
}

void AwayNodes::stop(std::uint64_t key, const std::string&) {
    // The node logs "cancelled by the home"; the cancel carries no text.
    if (procs_.contains(key)) forget(key, /*abandon=*/true);
}

void AwayNodes::forget(std::uint64_t key, bool abandon) {
    auto it = procs_.find(key);
    if (it == procs_.end()) return;
    Node& n = nodes_[it->second.node - 1];
    n.keys.erase(it->second.request);
    if (n.client) {
        if (abandon) n.client->abandon_stream(it->second.request);
        else n.client->close_stream(it->second.request);
    }
    procs_.erase(it);
}

std::optional<std::pair<std::uint64_t, AwayEvent>> AwayNodes::event_of(std::size_t node, Streamed s) {
    Node& n = nodes_[node - 1];
    if (s.first != 0 && s.first == n.channel_stream) {
        channel_frame_of(node, std::move(s.second));
        return std::nullopt;
    }
    if (s.first != 0 && s.first == n.snapshot_request) {
        n.snapshot_request = 0;
        if (s.second && s.second.value().type == MsgType::ChanSnapshotReply) {
            auto reply = decode_chan_snapshot_reply(s.second.value().payload);
            if (reply) n.snapshot = std::move(reply).value();
        }
        if (n.client) n.client->close_stream(s.first);
        return std::nullopt;
    }
    auto found = n.keys.find(s.first);
    if (found == n.keys.end()) return std::nullopt;  // stopped meanwhile
    const std::uint64_t key = found->second;
    if (!s.second) {  // the connection failed: the stream's last word
        forget(key, /*abandon=*/false);
        return std::make_pair(key, lost(s.second.error()));
    }
    const Frame& f = s.second.value();
    if (f.type == MsgType::Error) {  // it could not start there (or its answer was refused): nothing more comes
        auto e = decode_error(f.payload);
        forget(key, /*abandon=*/false);
        return std::make_pair(key, lost(e ? cat(name(node), " refused the procedure: ", error_code_name(e.value().code), ": ", e.value().message)
                                          : cat(name(node), ": unreadable error frame: ", e.error())));
    }
    if (f.type != MsgType::ProcEvent) {
        forget(key, /*abandon=*/true);
        return std::make_pair(key, lost(cat(name(node), " sent a ", msg_type_name(f.type), " frame in a procedure's stream")));
    }
    auto e = decode_proc_event(f.payload);
    if (!e) {
        forget(key, /*abandon=*/true);
        return std::make_pair(key, lost(cat(name(node), ": ", e.error())));
    }
    if (e.value().kind == AwayEvent::Kind::End || e.value().kind == AwayEvent::Kind::Trap) forget(key, /*abandon=*/false);
    return std::make_pair(key, std::move(e).value());
}

std::optional<std::pair<std::uint64_t, AwayEvent>> AwayNodes::next_event(Clock::time_point deadline) {
    for (;;) {
        if (!made_here_.empty()) {
            auto e = std::move(made_here_.front());
            made_here_.pop_front();
            return e;
        }
        if (!channel_frames_.empty()) return std::nullopt;  // the home takes those first (next_channel_frame)
        std::vector<std::size_t> live;
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if ((!nodes_[i].keys.empty() || nodes_[i].channel_stream != 0) && nodes_[i].client) live.push_back(i + 1);
        if (live.empty()) return std::nullopt;  // nothing can come
        if (live.size() > 1) return wait_many(live, deadline);
        // One node in play: this thread reads its socket, through its client.
        auto s = nodes_[live[0] - 1].client->next_streamed(deadline);
        if (!s) return std::nullopt;
        if (auto e = event_of(live[0], std::move(*s))) return e;
    }
}

ChannelFrame AwayNodes::keeper_failed(const std::string& why) {
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Failed;
    f.party.proc = ChannelFrame::kNoProcedure;
    f.text = why;
    return f;
}

void AwayNodes::channel_frame_of(std::size_t node, Result<Frame> frame) {
    Node& n = nodes_[node - 1];
    const auto from = static_cast<std::uint32_t>(node);
    if (!frame) {  // the connection failed: the stream's last word
        channel_frames_.emplace_back(from, keeper_failed(frame.error()));
        n.channel_stream = 0;
        return;
    }
    if (frame.value().type == MsgType::Error) {  // it refused a frame of ours: it can no longer be trusted to keep them
        auto e = decode_error(frame.value().payload);
        const std::string why = cat(name(node), " refused a channel frame: ",
                                    e ? cat(error_code_name(e.value().code), ": ", e.value().message) : e.error());
        n.client->give_up(why);
        channel_frames_.emplace_back(from, keeper_failed(why));
        n.channel_stream = 0;
        return;
    }
    auto m = frame.value().type == MsgType::ChanFrame ? decode_chan_frame(frame.value().payload)
                                                       : Result<ChanFrameMsg>(Error{cat("a ", msg_type_name(frame.value().type),
                                                                                        " frame in its channel stream")});
    if (m && m.value().run != run_) return;  // a frame of a run before this one
    if (!m || m.value().sender != from) {
        const std::string why = cat(name(node), ": ", m ? std::string("a channel frame that says it comes from another node") : m.error());
        n.client->give_up(why);
        channel_frames_.emplace_back(from, keeper_failed(why));
        n.channel_stream = 0;
        return;
    }
    channel_frames_.emplace_back(from, std::move(m.value().frame));
}

void AwayNodes::begin_run() {
    ++run_;
    for (Node& n : nodes_) {
        if (n.client && n.channel_stream != 0) n.client->close_stream(n.channel_stream);
        n.channel_stream = 0;
    }
    channel_frames_.clear();
}

void AwayNodes::keep(std::size_t node, std::uint32_t channel, std::uint64_t capacity,
                     const std::vector<std::pair<std::uint32_t, std::uint64_t>>& expects, std::vector<KeptMessage> queued) {
    Node& n = nodes_[node - 1];
    if (!n.client) return;  // lost meanwhile: its Lost events say so
    Bytes payload = encode(ChanKeep{channel, capacity, expects, std::move(queued), channel_credits_});
    if (n.channel_stream == 0) n.channel_stream = n.client->open_stream(MsgType::ChanKeep, std::move(payload));
    else n.client->send_one_way(MsgType::ChanKeep, n.channel_stream, std::move(payload));
    for (std::size_t other = 1; other <= nodes_.size(); ++other)
        if (other != node && nodes_[other - 1].client && nodes_[other - 1].started)
            nodes_[other - 1].client->send_one_way(MsgType::ChanKeeper, 0, encode(ChanKeeper{channel, static_cast<std::uint32_t>(node)}));
}

void AwayNodes::to_keeper(std::size_t node, ChannelFrame f) {
    Node& n = nodes_[node - 1];
    if (!n.client || n.channel_stream == 0) {
        channel_frames_.emplace_back(static_cast<std::uint32_t>(node), keeper_failed(cat(name(node), " is no longer connected")));
        return;
    }
    n.client->send_one_way(MsgType::ChanFrame, n.channel_stream, encode(ChanFrameMsg{0, run_, std::move(f)}));
}

std::optional<std::pair<std::uint32_t, ChannelFrame>> AwayNodes::next_channel_frame() {
    if (channel_frames_.empty()) {  // take in what has arrived
        for (std::size_t node = 1; node <= nodes_.size(); ++node) {
            Node& n = nodes_[node - 1];
            if (n.channel_stream == 0 || !n.client) continue;
            while (auto s = n.client->poll_streamed())
                if (auto e = event_of(node, std::move(*s))) made_here_.push_back(std::move(*e));
        }
    }
    if (channel_frames_.empty()) return std::nullopt;
    auto f = std::move(channel_frames_.front());
    channel_frames_.pop_front();
    return f;
}

std::optional<std::vector<ChannelSnapshot>> AwayNodes::snapshot() {
    constexpr auto kAnswerWithin = std::chrono::seconds(2);
    std::vector<ChannelSnapshot> out(nodes_.size());
    for (std::size_t node = 1; node <= nodes_.size(); ++node) {
        Node& n = nodes_[node - 1];
        if (!n.client || !n.client->failure().empty()) {  // lost: what it sent or was sent no longer counts
            out[node - 1].gone = true;
            continue;
        }
        if (!n.started) continue;  // nothing of ours there
        n.snapshot.reset();
        n.snapshot_request = n.client->open_stream(MsgType::ChanSnapshot, {});
        const auto deadline = Clock::now() + kAnswerWithin;
        while (!n.snapshot && n.snapshot_request != 0) {
            auto s = n.client->next_streamed(deadline);
            if (!s) return std::nullopt;  // it did not answer in time
            if (auto e = event_of(node, std::move(*s))) made_here_.push_back(std::move(*e));
        }
        if (!n.snapshot) {
            if (!n.client->failure().empty()) {  // it failed meanwhile
                out[node - 1].gone = true;
                continue;
            }
            return std::nullopt;
        }
        out[node - 1] = std::move(*n.snapshot);
    }
    return out;
}

std::optional<std::pair<std::uint64_t, AwayEvent>> AwayNodes::wait_many(const std::vector<std::size_t>& live,
                                                                         Clock::time_point deadline) {
    const auto spin_until = Clock::now() + kSpin;
    std::vector<pollfd> fds;
    for (;;) {
        // What each has kept or has arrived (each drained in turn, the
        // first looked at changing every time, so no node waits behind a
        // busy one).
        for (std::size_t i = 0; i < live.size(); ++i) {
            const std::size_t node = live[(next_first_ + i) % live.size()];
            while (auto s = nodes_[node - 1].client->poll_streamed()) {
                if (auto e = event_of(node, std::move(*s))) {
                    next_first_ = (next_first_ + i + 1) % live.size();
                    return e;
                }
            }
        }
        if (!channel_frames_.empty()) return std::nullopt;  // a keeper answered the home
        const auto now = Clock::now();
        if (now >= deadline) return std::nullopt;
        if (now < spin_until) {
            std::this_thread::yield();
            continue;
        }
        fds.clear();
        for (std::size_t node : live) fds.push_back(pollfd{nodes_[node - 1].client->socket_fd(), POLLIN, 0});
        if (wake_fd_ >= 0) fds.push_back(pollfd{wake_fd_, POLLIN, 0});
        const auto wait = std::min<Clock::duration>(deadline - now, kLongestPoll);
        const int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
        if (::poll(fds.data(), fds.size(), ms) > 0 && wake_fd_ >= 0 && (fds.back().revents & POLLIN) != 0) {
            std::uint64_t rung = 0;
            [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &rung, sizeof rung);
        }
    }
}

}  // namespace polymer::cluster
