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
#include <thread>
#include <utility>
#include <vector>

#include "isa/requirements_text.h"
#include "vm/procs/away.h"

namespace polymer::test {

class LoopbackNodes final : public ProcedureNodes {
public:
    explicit LoopbackNodes(std::size_t nodes) : nodes_(nodes) {}
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
        auto proc = AwayProcedure::create(module, s, nullptr, [this, key](AwayEvent e) { push(key, std::move(e)); });
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
        if (!arrived_.wait_until(lock, deadline, [&] { return !events_.empty(); })) return std::nullopt;
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

    // Node `node` is gone: its procedures stop, and each sends Lost (as the
    // carrier does for a lost connection).
    void lose(std::size_t node) {
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

private:
    struct Running {
        std::size_t node = 0;
        std::unique_ptr<AwayProcedure> proc;
        std::thread thread;
        bool lost = false;
    };
    void push(std::uint64_t key, AwayEvent e) {  // on the procedure's thread
        {
            std::lock_guard lock(mutex_);
            if (lost_.contains(key)) return;
            events_.emplace_back(key, std::move(e));
        }
        arrived_.notify_one();
    }

    std::size_t nodes_;
    std::set<std::size_t> refused_;
    std::map<std::size_t, Advertised> described_;
    std::vector<std::size_t> started_on_;
    std::size_t lose_at_send_ = 0;
    std::size_t lose_after_recv_ = 0;
    std::size_t lose_now_ = 0;
    std::size_t started_ = 0;
    std::uint64_t next_key_ = 1;
    std::map<std::uint64_t, Running> running_;  // touched by the home's thread only (start, answer, stop, lose)
    std::mutex mutex_;  // guards what the procedures' threads touch: lost_, events_
    std::set<std::uint64_t> lost_;
    std::condition_variable arrived_;
    std::deque<std::pair<std::uint64_t, AwayEvent>> events_;
};

}  // namespace polymer::test
