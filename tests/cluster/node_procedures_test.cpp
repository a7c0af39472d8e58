// Procedures on a live polymer-node (protocol version 7, docs/protocol.md
// "Procedures on the nodes"): proc-start's refusals, the stream of
// proc-event frames a procedure sends and the proc-answers it waits for,
// cancel, the per-connection limit, and what stops a node's procedures (the
// connection closing, SIGTERM); and AwayNodes, the home's side, seeing a
// killed or hung node as Lost events.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>

#include "assembler/assembler.h"
#include "cluster/away_nodes.h"
#include "cluster/node_client.h"
#include "isa/module_io.h"
#include "node_process.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

Module assembled(const std::string& source) {
    AssembleResult r = assemble(source);
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : format_diagnostic(r.diagnostics[0]));
    return r.ok() ? std::move(*r.module) : Module{};
}

// Procedures the tests run on the node; `main` only makes it a program.
const char* const kProgram = R"(
.region cells i64[8]
.channel c 4
.proc two_sends
        li      r1, 5
        send    c, r1
        li      r2, 6
        send    c, r2
        li      r1, 9
        ret
.end
.proc receiver
        recv    r2, c
        addi    r1, r2, 1
        li      r3, 2
        st.i64  cells[r3], r1
        ret
.end
.proc spinner
again:  addi    r2, r2, 1
        jmp     again
.end
.proc main
        halt
.end
)";

// A home made by hand: a NodeClient to one node that starts procedures of
// kProgram with proc-start and reads their streams.
struct Home {
    explicit Home(NodeProcess& node, ClientOptions o = {}) : module(assembled(kProgram)) {
        auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret), o);
        EXPECT_TRUE(c) << c.error();
        if (c) client = std::move(c).value();
        pbc = write_module(module);
        hash = sha256(pbc);
    }
    void upload() { ASSERT_TRUE(client->upload_module(pbc)); }

    AwayStart start_of(const std::string& proc) const {
        AwayStart s;
        s.id = 1;
        for (const Procedure& p : module.procs)
            if (p.name == proc) s.entry_pc = p.start;
        s.int_regs.assign(kIntRegisters, 0);
        s.float_regs.assign(kFloatRegisters, 0.0);
        for (const RegionDecl& r : module.regions) s.region_lengths.push_back(r.length);
        return s;
    }
    // Starts `proc` and answers its start (an acquire: the regions are
    // zeros on both sides, so Done alone).
    std::uint64_t run(const std::string& proc) {
        const std::uint64_t id = client->open_stream(MsgType::ProcStart, encode(ProcStart{hash, start_of(proc)}));
        answer(id, AwayAnswer{});
        return id;
    }
    void answer(std::uint64_t id, AwayAnswer a) { client->send_one_way(MsgType::ProcAnswer, id, encode(a)); }

    // The next frame of any stream, within `within`.
    std::optional<std::pair<std::uint64_t, Result<Frame>>> next(std::chrono::milliseconds within = 5000ms) {
        return client->next_streamed(Clock::now() + within);
    }
    // The next event of stream `id` (the test fails on anything else).
    AwayEvent event(std::uint64_t id) {
        auto n = next();
        EXPECT_TRUE(n) << "no frame within 5 s";
        if (!n) return AwayEvent{};
        EXPECT_EQ(n->first, id);
        EXPECT_TRUE(n->second) << n->second.error();
        if (!n->second) return AwayEvent{};
        EXPECT_EQ(n->second.value().type, MsgType::ProcEvent)
            << msg_type_name(n->second.value().type) << " "
            << (n->second.value().type == MsgType::Error ? decode_error(n->second.value().payload).value().message : "");
        auto e = decode_proc_event(n->second.value().payload);
        EXPECT_TRUE(e) << e.error();
        return e ? std::move(e).value() : AwayEvent{};
    }
    // The error frame the stream `id` ends with: "code-name: message".
    std::string refusal(std::uint64_t id) {
        auto n = next();
        if (!n) return "(nothing)";
        EXPECT_EQ(n->first, id);
        if (!n->second) return "(failed: " + n->second.error() + ")";
        if (n->second.value().type != MsgType::Error) return std::string("(") + msg_type_name(n->second.value().type) + ")";
        auto e = decode_error(n->second.value().payload);
        return e ? std::string(error_code_name(e.value().code)) + ": " + e.value().message : "(unreadable)";
    }

    Module module;
    std::unique_ptr<NodeClient> client;
    Bytes pbc;
    Sha256 hash{};
};

std::vector<std::string> debug_log() { return {"--log-level", "debug"}; }

}  // namespace

TEST(NodeProcedures, AStartWithoutItsModuleIsUnknownModule) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    const std::uint64_t id = home.client->open_stream(MsgType::ProcStart, encode(ProcStart{home.hash, home.start_of("two_sends")}));
    const std::string r = home.refusal(id);
    EXPECT_TRUE(r.starts_with("unknown-module: module ")) << r;
    EXPECT_NE(r.find("upload it first"), std::string::npos) << r;
}

TEST(NodeProcedures, AMalformedStartIsBadPayloadAndTheConnectionStaysUsable) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    Bytes cut = encode(ProcStart{home.hash, home.start_of("two_sends")});
    cut.resize(cut.size() - 3);
    const std::uint64_t id = home.client->open_stream(MsgType::ProcStart, cut);
    const std::string r = home.refusal(id);
    EXPECT_TRUE(r.starts_with("bad-payload: proc-start payload")) << r;
    EXPECT_TRUE(home.client->have_module(home.hash));
    const std::uint64_t ok = home.run("two_sends");
    EXPECT_EQ(home.event(ok).kind, AwayEvent::Kind::Send);
}

TEST(NodeProcedures, AStartTheMachineRefusesIsBadLaunch) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    AwayStart s = home.start_of("two_sends");
    s.int_regs.resize(3);
    const std::string r = home.refusal(home.client->open_stream(MsgType::ProcStart, encode(ProcStart{home.hash, s})));
    EXPECT_EQ(r, "bad-launch: the start has 3 integer and 32 float registers; the machine has 32 of each");
    s = home.start_of("two_sends");
    s.entry_pc += 1;
    const std::string mid = home.refusal(home.client->open_stream(MsgType::ProcStart, encode(ProcStart{home.hash, s})));
    EXPECT_TRUE(mid.ends_with("is not the first word of a procedure")) << mid;
    // A reorder buffer the machine would allocate whole: refused, and the node lives.
    s = home.start_of("two_sends");
    s.exec = ExecMode::Ooo;
    s.rob_size = 0xFFFFFFFF;
    const std::string rob = home.refusal(home.client->open_stream(MsgType::ProcStart, encode(ProcStart{home.hash, s})));
    EXPECT_EQ(rob, "bad-launch: a reorder buffer of 4294967295 entries: at most 1048576 (polymer-run --rob)");
    EXPECT_TRUE(node.alive());
}

TEST(NodeProcedures, CancelAndAnswersForUnknownRequestsAreIgnored) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), debug_log());
    Home home(node);
    ASSERT_TRUE(home.client->cancel(4242)) << "a cancel is acked whatever it names";
    EXPECT_TRUE(node.wait_for_log("cancel of request 4242, which runs nothing here")) << node.log();
    home.answer(4343, AwayAnswer{});
    EXPECT_TRUE(node.wait_for_log("proc-answer for request 4343, which runs no procedure here")) << node.log();
    EXPECT_TRUE(home.client->have_module(home.hash));
}

// Sends do not wait: a procedure that sends twice and returns gives exactly
// Send, Send, End, each at its instruction, with r1 in End.
TEST(NodeProcedures, TwoSendsAndAnEndAreExactlyThreeEvents) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    const std::uint64_t id = home.run("two_sends");
    const AwayEvent first = home.event(id);
    EXPECT_EQ(first.kind, AwayEvent::Kind::Send);
    EXPECT_EQ(first.index, 0u);
    EXPECT_EQ(first.message.kind, MessageKind::Int);
    EXPECT_EQ(first.message.bits, 5u);
    const AwayEvent second = home.event(id);
    EXPECT_EQ(second.kind, AwayEvent::Kind::Send);
    EXPECT_EQ(second.message.bits, 6u);
    EXPECT_GT(second.pc, first.pc);
    const AwayEvent end = home.event(id);
    EXPECT_EQ(end.kind, AwayEvent::Kind::End);
    ASSERT_EQ(end.int_regs.size(), kIntRegisters);
    EXPECT_EQ(end.int_regs[1], 9);
    EXPECT_FALSE(home.next(300ms)) << "an event after End";
    EXPECT_TRUE(node.wait_for_log("procedure #1 ended at pc")) << node.log();
}

// A recv waits for its answer; the region write it then makes comes home
// (a Writes event) before its End, which is a release.
TEST(NodeProcedures, ARecvWaitsUntilItsAnswerComes) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    const std::uint64_t id = home.run("receiver");
    const AwayEvent recv = home.event(id);
    EXPECT_EQ(recv.kind, AwayEvent::Kind::Recv);
    EXPECT_EQ(recv.index, 0u);
    EXPECT_FALSE(home.next(300ms)) << "it went on without its message";
    AwayAnswer done;
    done.message.bits = 41;
    home.answer(id, done);
    const AwayEvent writes = home.event(id);
    ASSERT_EQ(writes.kind, AwayEvent::Kind::Writes);
    std::vector<std::byte> cells(8 * sizeof(std::int64_t));  // the home's copy: zeros, as at the start
    for (const RegionWrite& w : writes.writes) {
        ASSERT_EQ(w.region, 0u);
        ASSERT_LE(w.offset + w.bytes.size(), cells.size());
        std::copy(w.bytes.begin(), w.bytes.end(), cells.begin() + static_cast<std::ptrdiff_t>(w.offset));
    }
    std::int64_t value = 0;
    std::memcpy(&value, cells.data() + 2 * sizeof value, sizeof value);  // cells[2]
    EXPECT_EQ(value, 42);
    const AwayEvent end = home.event(id);
    EXPECT_EQ(end.kind, AwayEvent::Kind::End);
    EXPECT_EQ(end.int_regs.at(1), 42);
}

TEST(NodeProcedures, CancelStopsASpinningProcedureAndTheNodeGoesOn) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    const std::uint64_t id = home.run("spinner");
    EXPECT_TRUE(node.wait_for_log("procedure #1 started")) << node.log();
    EXPECT_FALSE(home.next(200ms));
    ASSERT_TRUE(home.client->cancel(id));
    EXPECT_TRUE(node.wait_for_log("procedure #1 stopped: cancelled by the home")) << node.log();
    EXPECT_TRUE(node.alive());
    home.client->close_stream(id);
    const std::uint64_t next = home.run("two_sends");
    EXPECT_EQ(home.event(next).kind, AwayEvent::Kind::Send);
}

TEST(NodeProcedures, ClosingTheConnectionStopsItsProcedures) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    {
        Home home(node);
        home.upload();
        home.run("spinner");
        home.run("receiver");
        EXPECT_TRUE(node.wait_for_log("procedure #1 started")) << node.log();
    }
    EXPECT_TRUE(node.wait_for_log("stopped: the home's connection closed")) << node.log();
    std::this_thread::sleep_for(100ms);
    const std::string log = node.log();
    std::size_t stopped = 0;
    for (std::size_t at = 0; (at = log.find("stopped: the home's connection closed", at)) != std::string::npos; ++at) ++stopped;
    EXPECT_EQ(stopped, 2u) << log;
    Home again(node);
    again.upload();
    EXPECT_EQ(again.event(again.run("two_sends")).kind, AwayEvent::Kind::Send);
}

TEST(NodeProcedures, AConnectionRunsAtMost64) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 64; ++i) ids.push_back(home.run("receiver"));  // each waits in its recv
    std::set<std::uint64_t> waiting;  // their Recv events come in any order between them
    while (waiting.size() < ids.size()) {
        auto n = home.next();
        ASSERT_TRUE(n) << waiting.size() << " of 64 are waiting in their recv";
        ASSERT_TRUE(n->second && n->second.value().type == MsgType::ProcEvent) << "procedure " << n->first << " did not start";
        EXPECT_EQ(decode_proc_event(n->second.value().payload).value().kind, AwayEvent::Kind::Recv);
        EXPECT_TRUE(waiting.insert(n->first).second) << "two events from " << n->first;
    }
    const std::uint64_t one_more = home.run("receiver");
    const std::string r = home.refusal(one_more);
    EXPECT_EQ(r, "out-of-memory: this connection already runs 64 procedures on this node, the most it may (64); join some first");
    // One that ends makes room.
    AwayAnswer done;
    done.message.bits = 1;
    home.answer(ids[0], done);
    EXPECT_EQ(home.event(ids[0]).kind, AwayEvent::Kind::Writes);
    EXPECT_EQ(home.event(ids[0]).kind, AwayEvent::Kind::End);
    const std::uint64_t room = home.run("receiver");
    EXPECT_EQ(home.event(room).kind, AwayEvent::Kind::Recv);
}

TEST(NodeProcedures, SigtermStopsTheProceduresAndTheNodeExitsCleanly) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    Home home(node);
    home.upload();
    const std::uint64_t id = home.run("spinner");
    EXPECT_TRUE(node.wait_for_log("procedure #1 started")) << node.log();
    node.signal(SIGTERM);
    const int status = node.wait_exit();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << node.log();
    EXPECT_NE(node.log().find("procedure #1 stopped: the node is shutting down"), std::string::npos) << node.log();
    auto n = home.next();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->first, id);
    ASSERT_FALSE(n->second) << "the stream should end with the connection";
    EXPECT_NE(n->second.error().find("shutting down"), std::string::npos) << n->second.error();
}

// The home's side: AwayNodes gives a procedure whose node died (kill -9) or
// hangs (SIGSTOP) one Lost event, within the heartbeat timeout.
TEST(NodeProcedures, ALostNodeGivesTheHomeALostEventPerProcedure) {
    TempTokenFile token(kSecret);
    const Module module = assembled(kProgram);
    AwayStart s;
    s.int_regs.assign(kIntRegisters, 0);
    s.float_regs.assign(kFloatRegisters, 0.0);
    for (const RegionDecl& r : module.regions) s.region_lengths.push_back(r.length);
    for (const Procedure& p : module.procs)
        if (p.name == "spinner") s.entry_pc = p.start;
    ClientOptions o;
    o.heartbeat_interval = 100ms;
    o.heartbeat_timeout = 600ms;
    o.connect_timeout = 500ms;
    for (const int sig : {SIGKILL, SIGSTOP}) {
        NodeProcess node(token.path(), {"--heartbeat-ms", "100"});
        AwayNodes nodes({NodeAddress{"127.0.0.1", node.port()}}, bytes_of(kSecret), o);
        EXPECT_EQ(nodes.count(), 1u);
        auto first = nodes.start(1, module, s);
        auto second = nodes.start(1, module, s);
        ASSERT_TRUE(first && second) << (first ? second.error() : first.error());
        EXPECT_EQ(nodes.name(1), "node 1 'test-node' (127.0.0.1:" + std::to_string(node.port()) + ")");
        nodes.answer(first.value(), AwayAnswer{});
        nodes.answer(second.value(), AwayAnswer{});
        ASSERT_TRUE(node.wait_for_log("procedure #0 started")) << node.log();
        EXPECT_FALSE(nodes.next_event(Clock::now() + 200ms));
        const auto since = Clock::now();
        node.signal(sig);
        std::set<std::uint64_t> lost;
        while (lost.size() < 2) {
            auto e = nodes.next_event(Clock::now() + 3000ms);
            ASSERT_TRUE(e) << "no Lost event within 3 s of signal " << sig;
            EXPECT_EQ(e->second.kind, AwayEvent::Kind::Lost);
            EXPECT_FALSE(e->second.text.empty());
            lost.insert(e->first);
        }
        EXPECT_EQ(lost, (std::set<std::uint64_t>{first.value(), second.value()}));
        EXPECT_LT(Clock::now() - since, o.heartbeat_timeout + 1000ms) << "signal " << sig;
        EXPECT_FALSE(nodes.next_event(Clock::now())) << "nothing after the last Lost";
        // A later spawn there dials again, and says why it cannot.
        auto again = nodes.start(1, module, s);
        ASSERT_FALSE(again);
        EXPECT_NE(again.error().find("127.0.0.1:" + std::to_string(node.port())), std::string::npos) << again.error();
        if (sig == SIGSTOP) node.signal(SIGKILL);
    }
}

// A procedure's copy of the regions counts against the home's memory
// budget while it runs (--max-memory, --max-peer-memory), like the regions
// it puts: past the limit the start is refused before anything is made.
TEST(NodeProcedures, ItsRegionsCountAgainstTheHomesMemoryLimit) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "1M"});
    Home home(node);
    home.upload();
    auto big_start = [&] {
        AwayStart s = home.start_of("receiver");
        s.region_lengths[0] = 80'000;  // cells: 640,000 bytes of i64
        const std::uint64_t id = home.client->open_stream(MsgType::ProcStart, encode(ProcStart{home.hash, s}));
        home.answer(id, AwayAnswer{});
        return id;
    };
    const std::uint64_t first = big_start();
    EXPECT_EQ(home.event(first).kind, AwayEvent::Kind::Recv);
    const std::string r = home.refusal(big_start());
    EXPECT_TRUE(r.starts_with("out-of-memory: a procedure's copy of the regions: 625 KiB more would pass")) << r;
    AwayAnswer done;
    done.message.bits = 1;
    home.answer(first, done);
    EXPECT_EQ(home.event(first).kind, AwayEvent::Kind::Writes);
    EXPECT_EQ(home.event(first).kind, AwayEvent::Kind::End);
    for (auto until = Clock::now() + 5s; Clock::now() < until;) {  // its thread is on its way out: then the bytes are free
        const std::uint64_t again = big_start();
        auto n = home.next();
        ASSERT_TRUE(n && n->second);
        if (n->second.value().type == MsgType::ProcEvent) return;  // started: the first one's bytes were given back
        home.client->close_stream(again);
        std::this_thread::sleep_for(10ms);
    }
    FAIL() << "the ended procedure's regions were never given back";
}

