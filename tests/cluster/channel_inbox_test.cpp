// ChannelInbox: chan-frames read by the threads that wait for them. A waiter
// takes the frames in itself; with nobody waiting the inbox's own reader
// does; a follower is woken by an answer the leader took in for it, and a
// sleeping leader by wake(); refused frames are answered, and a connection
// that is closed, faulty or carries anything but chan-frames is dropped.
#include <gtest/gtest.h>

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/channel_inbox.h"
#include "cluster/frame.h"

using namespace polymer::cluster;
using namespace std::chrono_literals;

namespace {

// An inbox whose take() records which thread took which frame (by request
// id), and a loopback pair per connection: the test writes raw frames on
// the far end. The io thread runs for the closes the inbox posts.
struct Rig {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread io_thread{[this] { io.run(); }};

    std::mutex mutex;
    std::vector<std::pair<std::uint64_t, std::thread::id>> taken;  // request id, thread
    std::atomic<int> frames{0};
    std::uint64_t refuse_id = ~std::uint64_t{0};
    std::vector<std::string> dropped;
    std::atomic<std::size_t> reserved{0}, released{0};
    std::unique_ptr<ChannelInbox> inbox;
    ChannelInbox* inbox_itself = nullptr;  // for take(), which runs until inbox.reset() joins its reader

    std::vector<std::unique_ptr<asio::ip::tcp::socket>> far;  // the peers' ends
    std::vector<std::shared_ptr<Connection>> near;

    explicit Rig(std::size_t max_payload = kMaxPayload) {
        ReadLimits limits;
        limits.max_payload = max_payload;
        limits.reserve = [this](std::size_t n) -> std::optional<Refusal> {
            reserved += n;
            return std::nullopt;
        };
        inbox = std::make_unique<ChannelInbox>(
            io,
            [this](const Frame& f) -> std::optional<Refusal> {
                {
                    std::lock_guard lock(mutex);
                    taken.emplace_back(f.request_id, std::this_thread::get_id());
                }
                ++frames;
                inbox_itself->wake();  // as NodeChannels' waiters do for the procedure the frame answers
                if (f.request_id == refuse_id) return Refusal{ErrorCode::BadPayload, "not this one"};
                return std::nullopt;
            },
            std::move(limits), [this](std::size_t n) { released += n; },
            [this](const std::shared_ptr<Connection>&, const std::string& why) {
                std::lock_guard lock(mutex);
                dropped.push_back(why);
            });
        inbox_itself = inbox.get();
    }
    ~Rig() {
        inbox.reset();
        work.reset();
        io_thread.join();
    }
    // A new connection, adopted; its far end is far[i].
    std::size_t connect() {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        auto raw = std::make_unique<asio::ip::tcp::socket>(io);
        raw->connect(acceptor.local_endpoint());
        auto conn = std::make_shared<Connection>(acceptor.accept());
        conn->leave_io();
        inbox->adopt(conn, 1);
        near.push_back(conn);
        far.push_back(std::move(raw));
        return far.size() - 1;
    }
    void write(std::size_t i, MsgType type, std::uint64_t id, Bytes payload = Bytes(40, 7)) {
        const auto bytes = encode_frame(Frame{type, id, std::move(payload)});
        asio::write(*far[i], asio::buffer(bytes));
    }
    std::optional<std::thread::id> taker(std::uint64_t id) {
        std::lock_guard lock(mutex);
        for (const auto& [request, thread] : taken)
            if (request == id) return thread;
        return std::nullopt;
    }
    bool eventually(const std::function<bool()>& what) {
        for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
            if (what()) return true;
            std::this_thread::sleep_for(1ms);
        }
        return what();
    }
    std::size_t drops() {
        std::lock_guard lock(mutex);
        return dropped.size();
    }
    // The next frame the inbox's side sent on far[i] (within a second).
    std::optional<Frame> read_back(std::size_t i) {
        far[i]->non_blocking(false);
        std::array<std::uint8_t, kFrameHeaderSize> header{};
        std::error_code ec;
        asio::read(*far[i], asio::buffer(header), ec);
        if (ec) return std::nullopt;
        const HeaderCheck check = decode_header(header);
        if (check.fault != FrameFault::None) return std::nullopt;
        Frame f{check.header.type, check.header.request_id, Bytes(check.header.payload_length)};
        asio::read(*far[i], asio::buffer(f.payload), ec);
        if (ec) return std::nullopt;
        return f;
    }
};

}  // namespace

TEST(ChannelInbox, AWaiterTakesItsOwnFrameIn) {
    Rig rig;
    const std::size_t c = rig.connect();
    std::atomic<std::thread::id> waiter{};
    auto done = std::async(std::launch::async, [&] {
        waiter = std::this_thread::get_id();
        rig.inbox->wait([&] { return rig.frames.load() >= 1; });
    });
    // It leads (the inbox's reader, which led the connection meanwhile, has
    // stepped aside), and is past its spin: asleep in poll().
    ASSERT_TRUE(rig.eventually([&] { return rig.inbox->procedure_leads(); }));
    std::this_thread::sleep_for(5ms);
    rig.write(c, MsgType::ChanFrame, 11);
    ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
    ASSERT_TRUE(rig.taker(11));
    EXPECT_EQ(*rig.taker(11), waiter.load());  // read on the waiting thread itself: no other thread woke
    EXPECT_EQ(rig.reserved.load(), 40u);       // its payload, counted while it was taken in
    EXPECT_EQ(rig.released.load(), 40u);
}

TEST(ChannelInbox, ALeaderTakesInWhatCameWithItsAnswerBeforeItGoes) {
    Rig rig;
    const std::size_t c = rig.connect();
    std::atomic<std::thread::id> waiter{};
    auto done = std::async(std::launch::async, [&] {
        waiter = std::this_thread::get_id();
        rig.inbox->wait([&] { return rig.taker(51).has_value(); });
    });
    ASSERT_TRUE(rig.eventually([&] { return rig.inbox->procedure_leads(); }));
    std::this_thread::sleep_for(5ms);  // past its spin: asleep in poll()
    auto both = encode_frame(Frame{MsgType::ChanFrame, 51, Bytes(40, 7)});
    const auto next = encode_frame(Frame{MsgType::ChanFrame, 52, Bytes(40, 7)});
    both.insert(both.end(), next.begin(), next.end());
    asio::write(*rig.far[c], asio::buffer(both));  // its answer and the frame after it, read in one go
    ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
    // Once its answer was in it stopped reading, but not before the frame
    // it had read along with it: nothing is left in the connection's buffer,
    // where no poll() would see it.
    ASSERT_TRUE(rig.taker(52));
    EXPECT_EQ(*rig.taker(51), waiter.load());
    EXPECT_EQ(*rig.taker(52), waiter.load());
}

TEST(ChannelInbox, WithNobodyWaitingItsOwnReaderTakesFramesIn) {
    Rig rig;
    const std::size_t c = rig.connect();
    rig.write(c, MsgType::Heartbeat, 0, {});
    rig.write(c, MsgType::ChanFrame, 21);
    rig.write(c, MsgType::ChanFrame, 22);
    ASSERT_TRUE(rig.eventually([&] { return rig.frames.load() == 2; }));
    EXPECT_NE(*rig.taker(21), std::this_thread::get_id());
    EXPECT_EQ(*rig.taker(21), *rig.taker(22));  // in order, on one thread
    EXPECT_EQ(rig.drops(), 0u);                 // the heartbeat is no fault
    // A waiter that comes later takes the lead from it and reads its own frame.
    std::atomic<std::thread::id> waiter{};
    auto done = std::async(std::launch::async, [&] {
        waiter = std::this_thread::get_id();
        rig.inbox->wait([&] { return rig.frames.load() >= 3; });
    });
    ASSERT_TRUE(rig.eventually([&] { return rig.inbox->procedure_leads(); }));
    rig.write(c, MsgType::ChanFrame, 23);
    ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(*rig.taker(23), waiter.load());
}

TEST(ChannelInbox, AFollowerIsWokenByTheFrameTheLeaderTookInForIt) {
    Rig rig;
    const std::size_t a = rig.connect();
    const std::size_t b = rig.connect();
    // Two waiters: the first waits for frame 31, the second for 32.
    auto seen = [&](std::uint64_t id) { return rig.taker(id).has_value(); };
    auto first = std::async(std::launch::async, [&] { rig.inbox->wait([&] { return seen(31); }); });
    auto second = std::async(std::launch::async, [&] { rig.inbox->wait([&] { return seen(32); }); });
    std::this_thread::sleep_for(20ms);
    rig.write(b, MsgType::ChanFrame, 32);  // on the other connection
    ASSERT_EQ(second.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(first.wait_for(50ms), std::future_status::timeout);  // still waiting for its own
    rig.write(a, MsgType::ChanFrame, 31);
    ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
}

TEST(ChannelInbox, WakeEndsTheWaitOfALeaderAsleepInPoll) {
    Rig rig;
    rig.connect();
    std::atomic<bool> answered{false};
    auto done = std::async(std::launch::async, [&] { rig.inbox->wait([&] { return answered.load(); }); });
    std::this_thread::sleep_for(20ms);  // asleep in poll(), for up to kLongestPoll
    const auto t0 = std::chrono::steady_clock::now();
    answered = true;  // an answer from elsewhere (the home's connection)
    rig.inbox->wake();
    ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, ChannelInbox::kLongestPoll);  // the eventfd, not the poll's timeout
}

TEST(ChannelInbox, ARefusedFrameIsAnsweredAndTheConnectionStays) {
    Rig rig;
    rig.refuse_id = 41;
    const std::size_t c = rig.connect();
    rig.write(c, MsgType::ChanFrame, 41);
    auto back = rig.read_back(c);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type, MsgType::Error);
    EXPECT_EQ(back->request_id, 41u);
    rig.write(c, MsgType::ChanFrame, 42);
    ASSERT_TRUE(rig.eventually([&] { return rig.frames.load() == 2; }));
    EXPECT_EQ(rig.drops(), 0u);
}

TEST(ChannelInbox, AnythingButChanFramesDropsTheConnection) {
    Rig rig;
    const std::size_t c = rig.connect();
    rig.write(c, MsgType::RegionGet, 51);
    auto back = rig.read_back(c);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type, MsgType::Error);
    ASSERT_TRUE(rig.eventually([&] { return rig.drops() == 1; }));
    EXPECT_NE(rig.dropped[0].find("carries only chan-frames"), std::string::npos) << rig.dropped[0];
    EXPECT_TRUE(rig.eventually([&] { return rig.inbox->connections() == 0; }));
    EXPECT_EQ(rig.frames.load(), 0);
}

TEST(ChannelInbox, APeerThatHangsUpOrAnnouncesTooMuchIsDropped) {
    Rig rig(1024);
    const std::size_t quits = rig.connect();
    const std::size_t big = rig.connect();
    rig.far[quits]->close();
    rig.write(big, MsgType::ChanFrame, 61, Bytes(2000, 1));
    ASSERT_TRUE(rig.eventually([&] { return rig.drops() == 2; }));
    std::string all;
    for (const std::string& d : rig.dropped) all += d + "\n";
    EXPECT_NE(all.find("peer closed the connection"), std::string::npos) << all;
    EXPECT_NE(all.find("over the limit of 1024 bytes"), std::string::npos) << all;
    EXPECT_EQ(rig.frames.load(), 0);
    EXPECT_EQ(rig.reserved.load(), 0u);  // refused before anything was reserved
}
