// ProcedureNodes (vm/procs/away.h) without a network, for tests: each
// "node" runs its procedures as AwayProcedures on threads of this process,
// so the home's side and the node's side meet exactly as over the protocol,
// minus the bytes on the wire. lose() makes a node disappear as a killed one
// does: its procedures stop and the home gets a Lost event for each.
// describe() gives a node the name, GPU and memory it advertises, which
// unmet() checks `.requires` against as the cluster's nodes do.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <array>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "isa/requirements_text.h"
#include "vm/procs/away.h"

namespace polymer::test {

class LoopbackNodes final : public ProcedureNodes {
public:
    // `direct`: whether the nodes keep channels (ProcedureNodes::direct_channels);
    // their frames go from node to node by a call, as if the network took no time.
    explicit LoopbackNodes(std::size_t nodes, bool direct = true) : nodes_(nodes), direct_(direct) {
        for (std::size_t n = 1; n <= nodes; ++n) {
            const auto self = static_cast<std::uint32_t>(n);
            channels_.push_back(std::make_unique<NodeChannels>(self, [this, self](std::uint32_t to, ChannelFrame f) {
                return carry(self, to, std::move(f));
            }));
        }
    }
    ~LoopbackNodes() override {
        for (auto& [key, r] : running_) r.proc->stop("the test ended");
        for (auto& [key, r] : running_) r.thread.join();
    }

    // What a node advertises (polymer-node --name, its Vulkan devices, --max-memory).
    struct Advertised {
        std::string name;
        bool gpu = false;
        std::uint64_t max_memory = std::uint64_t{1} << 30;  // polymer-node's default --max-memory
    };

    std::size_t count() const override { return nodes_; }
    std::string name(std::size_t node) const override {
        return "node " + std::to_string(node) + " '" + advertised(node).name + "'";
    }
    std::string unmet(std::size_t node, const ProcRequirements& r) const override {
        const Advertised a = advertised(node);
        return unmet_requirements(r, a.gpu, a.max_memory, a.name);
    }
    Result<std::uint64_t> start(std::size_t node, const Module& module, const AwayStart& s) override {
        if (refused_.contains(node)) return Error{"it refuses (test)"};
        started_on_.push_back(node);
        const std::uint64_t key = next_key_++;
        auto proc = AwayProcedure::create(module, s, nullptr, [this, key](AwayEvent e) { push(key, std::move(e)); },
                                          channels_.at(node - 1).get());
        if (!proc) return Error{proc.error()};
        Running& r = running_[key];
        r.node = node;
        r.proc = std::move(proc).value();
        r.thread = std::thread([p = r.proc.get()] { p->run(); });
        ++started_;
        return key;
    }
    void answer(std::uint64_t key, AwayAnswer a) override {
        auto it = running_.find(key);
        if (it != running_.end() && !it->second.lost) it->second.proc->answer(std::move(a));
    }
    std::optional<std::pair<std::uint64_t, AwayEvent>> next_event(std::chrono::steady_clock::time_point deadline) override {
        if (lose_now_ != 0) lose(std::exchange(lose_now_, 0));
        std::unique_lock lock(mutex_);
        if (!arrived_.wait_until(lock, deadline, [&] { return !events_.empty() || !to_home_.empty(); }) || events_.empty())
            return std::nullopt;
        auto e = std::move(events_.front());
        events_.pop_front();
        lock.unlock();
        const auto it = running_.find(e.first);
        if (it != running_.end() && it->second.node == lose_at_send_ && e.second.kind == AwayEvent::Kind::Send) {
            lose(lose_at_send_);  // the send never arrives: its Lost event does
            return next_event(deadline);
        }
        if (it != running_.end() && it->second.node == lose_after_recv_ && e.second.kind == AwayEvent::Kind::Recv)
            lose_now_ = lose_after_recv_;  // the recv arrives, then the node is gone

        return e;
    }
    void stop(std::uint64_t key, const std::string& why) override {
        auto it = running_.find(key);
        if (it != running_.end()) it->second.proc->stop(why);
    }

    bool direct_channels() const override { return direct_; }
    void keep(std::size_t node, std::uint32_t channel, std::uint64_t capacity,
              const std::vector<std::pair<std::uint32_t, std::uint64_t>>& expects, std::vector<KeptMessage> queued) override {
        channels_.at(node - 1)->keep(channel, capacity, expects, std::move(queued));
        for (auto& c : channels_) c->keeper_is(channel, static_cast<std::uint32_t>(node));
        ++handed_over_;
        if (node == lose_after_keep_) lose_now_ = node;  // at the home's next look for events
    }
    void to_keeper(std::size_t node, ChannelFrame f) override {
        if (is_gone(node)) return;  // the Lost events tell the home
        channels_.at(node - 1)->receive(0, std::move(f));
    }
    std::optional<std::pair<std::uint32_t, ChannelFrame>> next_channel_frame() override {
        std::lock_guard lock(mutex_);
        if (to_home_.empty()) return std::nullopt;
        auto f = std::move(to_home_.front());
        to_home_.pop_front();
        return f;
    }
    std::optional<std::vector<ChannelSnapshot>> snapshot() override {
        std::vector<ChannelSnapshot> out;
        for (auto& c : channels_) {
            out.push_back(c->snapshot());
            out.back().gone = is_gone(c->self());
        }
        return out;
    }
    // Channels the home handed to a node.
    std::size_t handed_over() const { return handed_over_; }

    // Node `node` is gone: its procedures stop, and each sends Lost (as the
    // carrier does for a lost connection); the others' links to it fail.
    void lose(std::size_t node) {
        {
            std::lock_guard lock(mutex_);
            gone_.insert(node);
        }
        for (std::size_t n = 1; n <= nodes_; ++n)
            if (n != node) channels_[n - 1]->lost(static_cast<std::uint32_t>(node), "connection lost (test)");
        for (auto& [key, r] : running_)
            if (r.node == node && !r.lost) {
                r.lost = true;
                r.proc->stop("lost");
                AwayEvent e;
                e.kind = AwayEvent::Kind::Lost;
                e.text = "connection lost (test)";
                {
                    std::lock_guard lock(mutex_);
                    lost_.insert(key);  // what it sent and did not arrive yet, and what it sends from now on, is gone
                    std::erase_if(events_, [key](const auto& queued) { return queued.first == key; });
                    events_.emplace_back(key, std::move(e));
                }
                arrived_.notify_one();
            }
    }
    void refuse(std::size_t node) { refused_.insert(node); }
    // Node `node` (from 1) advertises `a`; the others: 'loopN', no GPU, 1 GiB.
    void describe(std::size_t node, Advertised a) { described_[node] = std::move(a); }
    Advertised advertised(std::size_t node) const {
        auto it = described_.find(node);
        return it != described_.end() ? it->second : Advertised{"loop" + std::to_string(node)};
    }
    // The node each start went to, in order (the refused ones not).
    const std::vector<std::size_t>& started_on() const { return started_on_; }
    // Node `node` is lost when the home is about to take a send from it.
    void lose_at_send(std::size_t node) { lose_at_send_ = node; }
    // Node `node` is lost once the home has taken a recv from it.
    void lose_after_recv(std::size_t node) { lose_after_recv_ = node; }
    std::size_t started() const { return started_; }
    // Node `node` is lost once the home has handed it a channel.
    void lose_after_keep(std::size_t node) { lose_after_keep_ = node; }
    // Channel frames of one kind carried between participants.
    std::uint64_t carried(ChannelFrame::Kind kind) const { return carried_[static_cast<std::size_t>(kind)].load(); }
    // Credits lent, whatever frames carried them.
    std::uint64_t credits_carried() const { return credits_carried_.load(); }

private:
    struct Running {
        std::size_t node = 0;
        std::unique_ptr<AwayProcedure> proc;
        std::thread thread;
        bool lost = false;
    };
    bool is_gone(std::size_t node) {
        std::lock_guard lock(mutex_);
        return gone_.contains(node);
    }
    // A channel frame from node `from` to participant `to` (0: the home).
    std::string carry(std::uint32_t from, std::uint32_t to, ChannelFrame f) {
        if (is_gone(from) || is_gone(to)) return "connection lost (test)";
        ++carried_[static_cast<std::size_t>(f.kind)];
        for (const auto& [channel, credits] : f.credits) credits_carried_ += credits;
        if (to != 0) return channels_.at(to - 1)->receive(from, std::move(f));
        {
            std::lock_guard lock(mutex_);
            to_home_.emplace_back(from, std::move(f));
        }
        arrived_.notify_one();
        return {};
    }
    void push(std::uint64_t key, AwayEvent e) {  // on the procedure's thread
        {
            std::lock_guard lock(mutex_);
            if (lost_.contains(key)) return;
            events_.emplace_back(key, std::move(e));
        }
        arrived_.notify_one();
    }

    std::size_t nodes_;
    bool direct_;
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(ChannelFrame::Kind::Failed)> carried_{};
    std::atomic<std::uint64_t> credits_carried_{0};
    std::vector<std::unique_ptr<NodeChannels>> channels_;  // node n's is [n - 1]
    std::set<std::size_t> gone_;  // lost nodes, under mutex_
    std::size_t handed_over_ = 0;
    std::set<std::size_t> refused_;
    std::map<std::size_t, Advertised> described_;
    std::vector<std::size_t> started_on_;
    std::size_t lose_at_send_ = 0;
    std::size_t lose_after_recv_ = 0;
    std::size_t lose_now_ = 0;
    std::size_t lose_after_keep_ = 0;
    std::size_t started_ = 0;
    std::uint64_t next_key_ = 1;
    std::map<std::uint64_t, Running> running_;  // touched by the home's thread only (start, answer, stop, lose)
    std::mutex mutex_;  // guards what the procedures' threads touch: lost_, events_
    std::set<std::uint64_t> lost_;
    std::condition_variable arrived_;
    std::deque<std::pair<std::uint64_t, AwayEvent>> events_;
    std::deque<std::pair<std::uint32_t, ChannelFrame>> to_home_;  // keepers' answers to the home
};

}  // namespace polymer::test
