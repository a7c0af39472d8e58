// Basic blocks, dependency DAGs and frames. The rules are in docs/frames.md;
// every fact about an opcode comes from the tables.
#include "isa/frame_analysis.h"

#include <algorithm>
#include <unordered_map>

#include "isa/byte_io.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

using pbc::cat;

// Frame indexes are stored as u16: a longer block is cut into pieces (a cut
// only adds an ordering point, never drops a dependency).
constexpr std::uint32_t kMaxBlockWords = 0xFFFF;

std::optional<Op> op_of(Word w) {
    if (!is_valid_op(word_op(w))) return std::nullopt;
    return static_cast<Op>(word_op(w));
}

bool transfers_control(Word w) {
    std::optional<Op> op = op_of(w);
    return op && has_effect(*op, effect::Ctrl);
}

void add_use(std::vector<ResourceUse>& uses, Resource r, bool write) {
    for (ResourceUse& u : uses)
        if (u.resource == r) {
            (write ? u.write : u.read) = true;
            return;
        }
    uses.push_back({r, !write, write});
}

// A region operand: a region of the module, or a handle operand `@rN`,
// which reads rN and may be any region.
void add_region_use(const Module& m, std::vector<ResourceUse>& uses, std::uint32_t v, bool write) {
    if (v < m.regions.size()) {
        add_use(uses, {Resource::Kind::Region, v}, write);
    } else if (is_handle_operand(v)) {
        add_use(uses, {Resource::Kind::IntReg, handle_register(v)}, false);
        add_use(uses, {Resource::Kind::Handle, handle_register(v)}, write);
    }
}

void add_launch_uses(const Module& m, Word w, std::vector<ResourceUse>& uses) {
    // Format Launch: imm = launch-site index, A = the count register.
    add_use(uses, {Resource::Kind::IntReg, word_a(w)}, false);
    const std::uint32_t site = word_field(w, Field::Imm);
    if (site >= m.launches.size()) return;
    const LaunchSite& s = m.launches[site];
    const Kernel* k = s.kernel < m.kernels.size() ? &m.kernels[s.kernel] : nullptr;
    for (std::size_t i = 0; i < s.args.size(); ++i) {
        const LaunchArg& a = s.args[i];
        switch (a.kind) {
        case LaunchArg::Kind::IntReg: add_use(uses, {Resource::Kind::IntReg, a.index}, false); break;
        case LaunchArg::Kind::FloatReg: add_use(uses, {Resource::Kind::FloatReg, a.index}, false); break;
        case LaunchArg::Kind::Region: {
            // Without a matching parameter the access is unknown: assume inout.
            const Access access = (k && i < k->params.size()) ? k->params[i].access : Access::InOut;
            if (access != Access::Out) add_region_use(m, uses, a.index, false);
            if (access != Access::In) add_region_use(m, uses, a.index, true);
            break;
        }
        }
    }
}

// kloop: what its loop kernel entry says the loop reads and writes, as one
// instruction (it runs the loop, or nothing, at once): the uniform
// arguments' registers, the induction register and the bound, the divisors
// and offset registers, the reduction registers, and the regions.
void add_loop_uses(const Module& m, Word w, std::vector<ResourceUse>& uses) {
    const std::uint32_t entry = word_field(w, Field::Imm);
    if (entry >= m.loop_kernels.size()) return;
    const LoopKernel& l = m.loop_kernels[entry];
    const Kernel* k = l.kernel < m.kernels.size() ? &m.kernels[l.kernel] : nullptr;
    auto reg = [&](Resource::Kind kind, std::uint32_t r, bool write) {
        if (r < kIntRegisters) add_use(uses, {kind, r}, write);
    };
    for (std::size_t i = 0; i < l.args.size(); ++i) {
        const LoopArg& a = l.args[i];
        switch (a.kind) {
        case LoopArg::Kind::IntReg: reg(Resource::Kind::IntReg, a.index, false); break;
        case LoopArg::Kind::FloatReg: reg(Resource::Kind::FloatReg, a.index, false); break;
        case LoopArg::Kind::Region: {
            const Access access = (k && i < k->params.size()) ? k->params[i].access : Access::InOut;
            if (access != Access::Out) add_region_use(m, uses, a.index, false);
            if (access != Access::In) add_region_use(m, uses, a.index, true);
            break;
        }
        case LoopArg::Kind::IntConst:
        case LoopArg::Kind::FloatConst:
        case LoopArg::Kind::Iterations:
        case LoopArg::Kind::Partials: break;  // no register or region of the machine
        }
    }
    reg(Resource::Kind::IntReg, l.induction, false);
    reg(Resource::Kind::IntReg, l.induction, true);
    reg(Resource::Kind::IntReg, l.bound, false);
    for (std::uint8_t d : l.divisors) reg(Resource::Kind::IntReg, d, false);
    for (const LoopAccess& a : l.accesses) {
        if (a.has_offset_reg) reg(Resource::Kind::IntReg, a.offset_reg, false);
        add_region_use(m, uses, a.region, a.writes);
    }
    for (const LoopReduction& r : l.reductions) {
        if (r.op == ReduceOp::LastMask) continue;  // names no register
        const Resource::Kind kind = r.is_float ? Resource::Kind::FloatReg : Resource::Kind::IntReg;
        reg(kind, r.reg, false);
        reg(kind, r.reg, true);
    }
}

// Per-resource hazard state inside one block.
struct ResourceState {
    std::optional<std::uint32_t> last_writer;
    std::vector<std::uint32_t> readers;  // since the last write
};

// Every handle shares one key: the analysis cannot tell their regions apart.
std::uint32_t resource_key(const Resource& r) {
    return (static_cast<std::uint32_t>(r.kind) << 16) | (r.kind == Resource::Kind::Handle ? 0 : r.index);
}

class BlockBuilder {
public:
    BlockBuilder(const Module& m, BlockAnalysis& b) : m_(m), b_(b) {}

    void add(std::uint32_t pc) {
        current_ = pc;
        const Word w = m_.code[pc];
        const std::optional<Op> op = op_of(w);
        for (const ResourceUse& u : resource_uses(m_, w)) use(u);
        if (!op) return;
        const std::uint16_t eff = op_info(*op).effects;
        const bool io = eff & effect::IO, trap = may_trap(m_, w);
        // Output stays in program order, and a trap-capable instruction stays
        // on its side of every output: the output before a trap happens, the
        // output after it does not. Trap-capable instructions between two
        // outputs are not ordered among themselves.
        if (io || trap) depend(last_output_, Hazard::Order, {Resource::Kind::Output, 0});
        if (io) {
            for (std::uint32_t t : traps_since_output_) depend(t, Hazard::Order, {Resource::Kind::Trap, 0});
            traps_since_output_.clear();
            last_output_ = pc;
        } else if (trap) {
            traps_since_output_.push_back(pc);
        }
        // wait/fence order every long operation: a long op waits for the last
        // wait/fence, a wait/fence for the one before and every long op since.
        if (eff & (effect::Long | effect::Sync)) depend(last_sync_, Hazard::Order, {Resource::Kind::Long, 0});
        if (eff & effect::Sync) {
            for (std::uint32_t l : long_since_sync_) depend(l, Hazard::Order, {Resource::Kind::Long, 0});
            long_since_sync_.clear();
            last_sync_ = pc;
        } else if (eff & effect::Long) {
            long_since_sync_.push_back(pc);
        }
        // A control transfer ends the block and waits for all of it: it
        // depends on every instruction nothing else in the block waits for.
        if (eff & effect::Ctrl)
            for (std::uint32_t i = b_.start; i < pc; ++i)
                if (!has_dependent_[i - b_.start]) depend(i, Hazard::Order, {Resource::Kind::Block, 0});
    }

    void finish() {
        b_.frame.assign(b_.length, 0);
        for (std::uint32_t i = 0; i < b_.length; ++i) {
            std::uint32_t f = 0;
            for (const Dependency& d : b_.deps[i]) f = std::max<std::uint32_t>(f, b_.frame[d.on - b_.start] + 1u);
            b_.frame[i] = static_cast<std::uint16_t>(f);
        }
    }

    std::vector<bool> has_dependent_;

private:
    void depend(std::optional<std::uint32_t> on, Hazard h, Resource r) {
        if (!on || *on == current_) return;
        std::vector<Dependency>& list = b_.deps[current_ - b_.start];
        for (const Dependency& d : list)
            if (d.on == *on && d.resource == r) return;  // the first (strongest) reason is kept
        list.push_back({*on, h, r});
        has_dependent_[*on - b_.start] = true;
    }

    void use(const ResourceUse& u) {
        const bool region = u.resource.kind == Resource::Kind::Region;
        if (u.resource.kind == Resource::Kind::Handle) {
            // Any region: ordered against every region's accesses (and every
            // other handle's, which share one state).
            for (auto& [key, s] : state_)
                if (key >> 16 == static_cast<std::uint32_t>(Resource::Kind::Region)) hazards(u, s, region_of(key));
        } else if (region) {
            // ... and every region's accesses against the handles'.
            hazards(u, state_[kHandleKey], {Resource::Kind::Handle, 0});
        }
        ResourceState& s = state_[resource_key(u.resource)];
        hazards(u, s, u.resource);
        if (u.write) {
            s.last_writer = current_;
            s.readers.clear();
        } else {
            s.readers.push_back(current_);
        }
    }

    // The handle resource of word `pc` (for naming a dependency on it).
    Resource handle_used_by(std::uint32_t pc) const {
        for (const ResourceUse& u : resource_uses(m_, m_.code[pc]))
            if (u.resource.kind == Resource::Kind::Handle) return u.resource;
        return {Resource::Kind::Handle, 0};
    }

    // The dependencies of use `u` on the earlier accesses in `s`, named `r`
    // (a handle's by the earlier instruction's own handle operand).
    void hazards(const ResourceUse& u, const ResourceState& s, const Resource& r) {
        auto name = [&](std::uint32_t on) { return r.kind == Resource::Kind::Handle ? handle_used_by(on) : r; };
        if (u.read && s.last_writer) depend(s.last_writer, Hazard::Raw, name(*s.last_writer));
        if (u.write) {
            if (s.last_writer) depend(s.last_writer, Hazard::Waw, name(*s.last_writer));
            for (std::uint32_t reader : s.readers) depend(reader, Hazard::War, name(reader));
        }
    }

    static Resource region_of(std::uint32_t key) { return {Resource::Kind::Region, key & 0xFFFF}; }
    static constexpr std::uint32_t kHandleKey = static_cast<std::uint32_t>(Resource::Kind::Handle) << 16;

    const Module& m_;
    BlockAnalysis& b_;
    std::uint32_t current_ = 0;
    std::unordered_map<std::uint32_t, ResourceState> state_;
    std::optional<std::uint32_t> last_output_, last_sync_;
    std::vector<std::uint32_t> traps_since_output_, long_since_sync_;
};

std::string word_text(const Module& m, std::uint32_t pc) {
    std::optional<Op> op = op_of(m.code[pc]);
    return cat("word ", pc, " (", op ? op_info(*op).mnemonic : std::string_view("?"), ")");
}

}  // namespace

std::vector<ResourceUse> resource_uses(const Module& m, Word w) {
    std::vector<ResourceUse> uses;
    const std::optional<Op> op = op_of(w);
    if (!op) return uses;
    const OpInfo& info = op_info(*op);
    const FormatInfo& f = format_info(info.format);
    for (std::size_t k = 0; k < f.count; ++k) {
        const OperandSpec& s = f.operands[k];
        const bool written = (info.writes >> k) & 1u;
        const std::uint32_t v = word_field(w, s.field);
        switch (s.kind) {
        case OperandKind::IntReg:
            if (v < kIntRegisters) add_use(uses, {Resource::Kind::IntReg, v}, written);
            break;
        case OperandKind::FloatReg:
            if (v < kFloatRegisters) add_use(uses, {Resource::Kind::FloatReg, v}, written);
            break;
        case OperandKind::Region: add_region_use(m, uses, v, written); break;
        case OperandKind::Mem:  // region[rIndex]: the index register is always read
            add_use(uses, {Resource::Kind::IntReg, word_field(w, s.index_field)}, false);
            add_region_use(m, uses, v, written);
            break;
        case OperandKind::LaunchSite: add_launch_uses(m, w, uses); break;
        case OperandKind::LoopSite: add_loop_uses(m, w, uses); break;
        default: break;  // immediates, pool indexes, labels, procedures, strings
        }
    }
    if (info.effects & effect::Stack) {
        add_use(uses, {Resource::Kind::Stack, 0}, false);
        add_use(uses, {Resource::Kind::Stack, 0}, true);
    }
    // The memory model (docs/language.md, "Procedures"): what another
    // procedure wrote before its send is seen after the matching recv, so no
    // region access may move across a procedure instruction, either way.
    if (info.effects & effect::Proc)
        for (std::uint32_t g = 0; g < m.regions.size(); ++g) {
            add_use(uses, {Resource::Kind::Region, g}, false);
            add_use(uses, {Resource::Kind::Region, g}, true);
        }
    return uses;
}

bool has_handle_operand(const Module& m, Word w) {
    for (const ResourceUse& u : resource_uses(m, w))
        if (u.resource.kind == Resource::Kind::Handle) return true;
    return false;
}

bool may_trap(const Module& m, Word w) {
    const std::optional<Op> op = op_of(w);
    return op && (has_effect(*op, effect::Trap) || has_handle_operand(m, w));
}

std::vector<BlockAnalysis> analyze_frames(const Module& m) {
    std::vector<BlockAnalysis> blocks;
    for (std::uint32_t p = 0; p < m.procs.size(); ++p) {
        const Procedure& proc = m.procs[p];
        const std::uint64_t end = std::uint64_t{proc.start} + proc.length;
        if (proc.length == 0 || end > m.code.size()) continue;  // layouts the verifier rejects first
        // Leaders: the procedure start, every jump target inside it, and the
        // word after any control transfer.
        std::vector<bool> leader(proc.length, false);
        leader[0] = true;
        for (std::uint32_t pc = proc.start; pc < end; ++pc) {
            const Word w = m.code[pc];
            if (!transfers_control(w)) continue;
            if (pc + 1 < end) leader[pc + 1 - proc.start] = true;
            const FormatInfo& f = format_info(op_info(*op_of(w)).format);
            for (std::size_t k = 0; k < f.count; ++k) {
                if (f.operands[k].kind != OperandKind::Label) continue;
                const std::uint32_t target = word_field(w, f.operands[k].field);
                if (target >= proc.start && target < end) leader[target - proc.start] = true;
            }
        }
        std::uint32_t block_start = proc.start;
        for (std::uint32_t pc = proc.start; pc <= end; ++pc) {
            const bool cut = pc == end || (pc > block_start && (leader[pc - proc.start] ||
                                                                 pc - block_start == kMaxBlockWords));
            if (!cut) continue;
            BlockAnalysis b;
            b.proc = p;
            b.start = block_start;
            b.length = pc - block_start;
            b.deps.resize(b.length);
            BlockBuilder builder(m, b);
            builder.has_dependent_.assign(b.length, false);
            for (std::uint32_t i = b.start; i < pc; ++i) builder.add(i);
            builder.finish();
            blocks.push_back(std::move(b));
            block_start = pc;
        }
    }
    return blocks;
}

std::vector<BlockFrames> compute_frames(const Module& m) {
    std::vector<BlockFrames> frames;
    for (BlockAnalysis& b : analyze_frames(m)) frames.push_back({b.start, std::move(b.frame)});
    return frames;
}

std::string resource_name(const Module& m, const Resource& r) {
    switch (r.kind) {
    case Resource::Kind::IntReg: return cat("r", r.index);
    case Resource::Kind::FloatReg: return cat("f", r.index);
    case Resource::Kind::Region:
        if (r.index < m.regions.size()) return cat("region '", m.regions[r.index].name, "'");
        return cat("region ", r.index);
    case Resource::Kind::Handle: return cat("the region of handle @r", r.index);
    case Resource::Kind::Stack: return "the value stack";
    case Resource::Kind::Output: return "output";
    case Resource::Kind::Trap: return "a possible trap";
    case Resource::Kind::Long: return "long operations";
    case Resource::Kind::Block: return "the block";
    }
    return "?";
}

std::string dependency_reason(const Module& m, const Dependency& d) {
    switch (d.hazard) {
    case Hazard::Raw: return "writes " + resource_name(m, d.resource);
    case Hazard::War: return "reads " + resource_name(m, d.resource) + " first";
    case Hazard::Waw: return "writes " + resource_name(m, d.resource) + " earlier";
    case Hazard::Order: break;
    }
    switch (d.resource.kind) {
    case Resource::Kind::Output: return "output before it";
    case Resource::Kind::Trap: return "may trap before this output";
    case Resource::Kind::Long: return "long-op order around wait/fence";
    case Resource::Kind::Block: return "block end";
    default: return "order";
    }
}

std::optional<std::string> check_frames(const Module& m) {
    if (m.frames.empty()) return std::nullopt;
    const std::vector<BlockAnalysis> blocks = analyze_frames(m);
    for (std::size_t i = 0; i < std::max(blocks.size(), m.frames.size()); ++i) {
        if (i >= m.frames.size())
            return cat("frames: ", m.frames.size(), " blocks, but the code has ", blocks.size(),
                       " (the first missing block starts at word ", blocks[i].start, ")");
        if (i >= blocks.size())
            return cat("frames: ", m.frames.size(), " blocks, but the code has ", blocks.size(), " (block ", i,
                       " at word ", m.frames[i].start, " is extra)");
        const BlockFrames& stored = m.frames[i];
        const BlockAnalysis& b = blocks[i];
        const std::string where = cat("frames: block ", i, " (proc '", m.procs[b.proc].name, "')");
        if (stored.start != b.start)
            return cat(where, " starts at word ", stored.start, ", expected ", b.start,
                       " (blocks start at procedure starts, jump targets and after control transfers)");
        if (stored.frame.size() != b.length)
            return cat(where, " at word ", b.start, " has ", stored.frame.size(), " frame entries for its ",
                       b.length, " words");
        for (std::uint32_t k = 0; k < b.length; ++k) {
            const std::uint32_t pc = b.start + k;
            if (stored.frame[k] >= b.length)
                return cat(where, " ", word_text(m, pc), ": frame ", stored.frame[k], " is not below the block's ",
                           b.length, " words");
            for (const Dependency& d : b.deps[k]) {
                const std::uint16_t before = stored.frame[d.on - b.start];
                if (before >= stored.frame[k])
                    return cat(where, " ", word_text(m, pc), " is in frame ", stored.frame[k], " but waits for ",
                               word_text(m, d.on), " (", dependency_reason(m, d), ") in frame ", before);
            }
        }
    }
    return std::nullopt;
}

}  // namespace polymer
