// Procedures that run away from the home: on a node (docs/language.md,
// "Procedures", "On the nodes").
//
// The home stays the one authority over channels, barriers, handles and the
// regions' current values: a procedure spawned onto a node runs its own
// Machine there over a copy of the regions, and what it does that others can
// see travels to the home as a stream of AwayEvents, in program order; the
// home does each for it (a send into the channel, a recv out of it) and
// answers the ones that wait (AwayAnswer). Region writes follow the memory
// model by release consistency: a procedure's writes go to the home at its
// releases (send, spawn, barrier, its end), and the writes of others come to
// it at its acquires (the answers to recv, join, barrier and its start).
//
// These types are the whole contract between the VM (vm/procs/) and whoever
// carries them (cluster/: the protocol's proc-start, proc-event and
// proc-answer frames, docs/protocol.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"
#include "vm/exec_mode.h"
#include "vm/insns.h"
#include "vm/kernel_fault.h"
#include "vm/procs/node_channels.h"
#include "vm/procs/procedure_waits.h"
#include "vm/trap.h"

namespace polymer {

class Backend;

// Bytes a procedure wrote into a region (or, at its start and acquires, the
// home's current bytes it lacks): [offset, offset + bytes.size()) of region
// `region` (its index in the module's RegionStore).
struct RegionWrite {
    std::uint32_t region = 0;
    std::uint64_t offset = 0;
    std::vector<std::byte> bytes;
};

// A region allocated anew (`alloc`, `free`) since the last release or
// acquire: it now holds `length` elements, all zero. Applied before the
// writes that come with it, which bring its bytes that are not zero.
struct RegionLength {
    std::uint32_t region = 0;
    std::uint64_t length = 0;
};

// What the home tells a node to run: procedure #`id` from `entry_pc` (a
// procedure's first word) with the registers its spawner had.
struct AwayStart {
    std::uint32_t id = 0;        // its handle at the home
    std::uint32_t entry_pc = 0;
    ExecMode exec = ExecMode::InOrder;
    std::uint32_t rob_size = kDefaultRobSize;
    std::uint32_t kernel_steps = kDefaultKernelSteps;
    std::uint64_t max_steps = 0;  // 0: no limit; else what is left of --max-steps
    std::vector<std::int64_t> int_regs;  // kIntRegisters of them
    std::vector<double> float_regs;      // kFloatRegisters of them
    // Every region's length in elements (alloc may have changed the declared
    // ones). Their bytes come as AwayAnswer::Kind::Writes answers before the
    // first Done, as at any acquire.
    std::vector<std::uint64_t> region_lengths;
    std::vector<std::string> args;  // the program's arguments (argc, argi, argf, args)
    // Channels kept on nodes when it starts: (channel, node). Its sends and
    // recvs on them go to their keeper, not to the home.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> keepers;
};

// Something an away procedure did, in program order.
struct AwayEvent {
    enum class Kind : std::uint8_t {
        Writes,   // region writes since its last release (before the release they belong to); no answer
        Output,   // text it printed; no answer
        Send,     // send/sendf/sendr on channel `index` of `message`; no answer (it goes on)
        Recv,     // recv on channel `index`: answered with Done (the message) after Writes
        Join,     // join of handle `value`: Done (r1, f1)
        Spawn,    // spawn of the procedure at `index` (its entry pc) on placement `value`, with registers `regs`: Done (r1 = the handle)
        Barrier,  // barrier `index`: Done once the round is complete
        End,      // it returned from its entry procedure or halted; r1, f1 in `regs`. The last event.
        Trap,     // it trapped: `trap` at `pc` with `text` as the detail. The last event.
        Lost,     // (from the carrier, not the node) the node or the connection is gone: `text` says why. The last event.
        Acquire,  // it took a message from a kept channel whose sender's writes its regions lack: Done once the
                  // home has every write `clock` names, after Writes
    };
    Kind kind = Kind::Writes;
    std::uint32_t pc = 0;      // the instruction it did this at (the trap's), or where it ended
    std::uint64_t steps = 0;   // instructions it has run so far
    std::uint32_t index = 0;   // the channel, barrier or entry pc
    std::int64_t value = 0;    // Join: the handle; Spawn: the placement (-1, 0 or a node); End: the messages it sent
                               // (End's `index`: those it received), kept channels' included
    Message message;           // Send
    std::vector<RegionWrite> writes;  // Writes
    std::string text;          // Output: what it printed; Trap: the detail; Lost: why; End: where its launches over the cluster ran (--stats), or empty
    TrapKind trap = TrapKind::Unsupported;  // Trap
    std::vector<std::int64_t> int_regs;     // Spawn (all), End (all: r1 is its result)
    std::vector<double> float_regs;         // Spawn (all), End (all: f1 is its result)
    std::vector<RegionLength> lengths;      // Writes: regions it allocated anew, applied before `writes`
    ViewClock clock;                        // Acquire
};

// The home's answer to an away procedure's Recv, Join, Spawn or Barrier, or
// to its start; or the order to stop.
struct AwayAnswer {
    enum class Kind : std::uint8_t {
        Writes,  // the home's current bytes it lacks (an acquire's part); more may follow
        Done,    // the op (or the start) is done: it goes on
        Stop,    // stop now (the program ended, or failed elsewhere): `text` says why
        Moved,   // after a Recv: the channel is kept by node `r1` now; ask there
    };
    Kind kind = Kind::Done;
    std::vector<RegionWrite> writes;  // Writes
    Message message;                  // Done after a Recv
    std::int64_t r1 = 0;              // Done after a Join (its r1), a Spawn (the handle)
    double f1 = 0;                    // Done after a Join
    std::string text;                 // Stop
    std::vector<RegionLength> lengths;  // Writes: regions the home allocated anew, applied before `writes`
    ViewClock clock;                    // Done after an acquire: the writes the home's regions include
};

// The home's way to run procedures on nodes (MachineOptions::procedure_nodes;
// cluster/ implements it over the protocol). Called only from the home's VM
// thread.
class ProcedureNodes {
public:
    virtual ~ProcedureNodes() = default;
    // Nodes are numbered from 1 (the cluster's order: --nodes, --local-nodes).
    virtual std::size_t count() const = 0;
    // "node 1 'box2' (10.0.0.2:7447)"
    virtual std::string name(std::size_t node) const = 0;
    // Whether node `node` meets a procedure's requirements (`.requires`
    // inside a .proc, docs/language.md "On the nodes"): "" when it meets all
    // of them, else why not, the unmet ones joined by ", ", in words that
    // follow the node's name() in a message: "it has no GPU", "it offers
    // 512 MiB (--max-memory)", "it is named 'box3'". spawn places a procedure
    // with requirements only on a node for which this is "".
    //
    // The cluster's nodes (cluster/away_nodes.*) answer from what each
    // advertised in its welcome (docs/protocol.md, capabilities), by the
    // rules the cluster uses for kernels (docs/cluster.md, "Who takes
    // part"): `gpu` needs a GPU-class node (a Vulkan device of type
    // `discrete` or `integrated`); `min_memory` needs the node's advertised
    // max_memory (what it lets one home hold: --max-memory, or
    // --max-peer-memory when smaller) to be at least that; `node` needs the
    // advertised name (polymer-node --name) to be exactly that. A node that
    // is lost may say so instead. The default: every node meets everything.
    virtual std::string unmet(std::size_t /*node*/, const ProcRequirements& /*r*/) const { return {}; }
    // Starts `start` on node `node`: a key for its events and answers, or why
    // it cannot start there (the node is unreachable, refused it).
    virtual Result<std::uint64_t> start(std::size_t node, const Module& module, const AwayStart& start) = 0;
    // Sends an answer; never waits for the node.
    virtual void answer(std::uint64_t key, AwayAnswer answer) = 0;
    // The next event of any started procedure, in each one's order; waits
    // until `deadline` (nullopt then). A procedure whose node or connection
    // is lost gets a Lost event, its last.
    virtual std::optional<std::pair<std::uint64_t, AwayEvent>> next_event(std::chrono::steady_clock::time_point deadline) = 0;
    // Stops procedure `key` on its node (no more of its events are delivered).
    virtual void stop(std::uint64_t key, const std::string& why) = 0;

    // --- channels kept on nodes (docs/architecture.md, "vm/procs/") ---
    // A program's run begins (Procedures::start): the channels of the runs
    // before are forgotten everywhere.
    virtual void begin_run() {}
    // Whether this carrier carries them; when not, the home keeps every channel.
    virtual bool direct_channels() const { return false; }
    // Node `node` keeps `channel` from now on (NodeChannels::keep there), and
    // every node learns where it is (NodeChannels::keeper_is), as will the
    // procedures started later (AwayStart::keepers).
    // `queued`: the messages in it at the home, oldest first.
    virtual void keep(std::size_t /*node*/, std::uint32_t /*channel*/, std::uint64_t /*capacity*/,
                      const std::vector<std::pair<std::uint32_t, std::uint64_t>>& /*expects*/,
                      std::vector<KeptMessage> /*queued*/) {}
    // A channel frame from the home (its procedures' sends and recvs, and
    // sends it forwards) to the keeper on node `node`; never waits.
    virtual void to_keeper(std::size_t /*node*/, ChannelFrame /*f*/) {}
    // The next answer a keeper sent the home (Accepted, Deliver, or Failed
    // when the keeper's node is lost) and the node it came from; nullopt
    // when none is in. An answer coming in ends next_event's wait.
    virtual std::optional<std::pair<std::uint32_t, ChannelFrame>> next_channel_frame() { return std::nullopt; }
    // Every node's side, for the home's deadlock check and --stats; waits
    // for the answers (nullopt: a node did not answer).
    virtual std::optional<std::vector<ChannelSnapshot>> snapshot() { return std::nullopt; }
};

// The bytes of a procedure's regions on a node: each at the larger of its
// declared length and the start's (its Machine makes the declared one
// first). What the node sets aside for it, and the most its regions may
// hold when it allocates them anew. Saturates: a length from the wire may
// be anything.
std::uint64_t start_region_bytes(const Module& module, const AwayStart& start);

// The node's side: runs one procedure spawned onto this participant, with a
// Machine of its own over a copy of the module's regions, sending its events
// through `emit` (called on run()'s thread, in order). The carrier passes
// the home's answers to answer() from any thread.
class AwayProcedure {
public:
    // Fails when the module or the start cannot be run (wrong register
    // counts, a region length over the memory limit). `backend`: where its
    // vector ops and kernels run (null: a CpuBackend of its own).
    // `channels`: this node's side of the channels kept on nodes (null: the
    // home keeps them all), shared by the procedures of one home here.
    // `waits`: how it waits for answers, shared by those procedures too
    // (null: a PlainWaits of its own). Both outlive it.
    static Result<std::unique_ptr<AwayProcedure>> create(const Module& module, AwayStart start, Backend* backend,
                                                         std::function<void(AwayEvent)> emit,
                                                         NodeChannels* channels = nullptr, ProcedureWaits* waits = nullptr);
    ~AwayProcedure();
    AwayProcedure(const AwayProcedure&) = delete;
    AwayProcedure& operator=(const AwayProcedure&) = delete;

    // Waits for the start's answers, then runs until the procedure ends,
    // traps or is stopped. Its last event is End or Trap (none when stopped).
    void run();
    // From any thread.
    void answer(AwayAnswer a);
    // From any thread: run() returns soon (at the latest within 2^20 instructions).
    void stop(const std::string& why);

    struct State;

private:
    explicit AwayProcedure(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace polymer
