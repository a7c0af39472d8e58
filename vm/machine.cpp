// Machine set-up and the executors' slow paths: everything that is too big
// or too rare for an instruction body (vector-op and launch operands,
// allocation, printing a region, building a trap's message).
#include "vm/machine.h"
#include "vm/procs/procedures.h"

#include "isa/vector_rules.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <limits>
#include <optional>

namespace polymer {

Result<std::unique_ptr<Machine>> Machine::create(const Module& m, OutputBuffer& out, MachineOptions options) {
    // A backend that places regions (a cluster with nodes) keeps distributed
    // regions elsewhere: the home reserves their address space only.
    const bool placed_elsewhere = options.backend != nullptr && options.backend->places_regions();
    Result<RegionStore> regions = RegionStore::create(m.regions, options.memory_limit, placed_elsewhere);
    if (!regions) return Error{regions.error()};
    std::unique_ptr<Machine> machine(new Machine(m, out, options, std::move(regions).value()));
    // Decoded instructions point at the machine's own regions, so decode after they are in place.
    Result<std::vector<DecodedInsn>> code = decode_module(m, machine->regions_);
    if (!code) return Error{code.error()};
    machine->code_ = std::move(code).value();
    machine->launch_loops_ = find_launch_loops(m, machine->code_);
    // Distributed regions start on the cluster's nodes (docs/cluster.md, "Placement").
    if (machine->backend_->places_regions())
        for (std::size_t i = 0; i < machine->regions_.size(); ++i)
            if (machine->regions_[i].distributed) machine->backend_->place_region(machine->regions_[i]);
    return machine;
}

Machine::Machine(const Module& m, OutputBuffer& out, MachineOptions options, RegionStore regions)
    : module_(m), out_(out), options_(options), regions_(std::move(regions)) {
    if (options_.backend == nullptr) {
        own_backend_ = std::make_unique<CpuBackend>();
        backend_ = own_backend_.get();
    } else {
        backend_ = options_.backend;
    }
    if (options_.call_depth_limit == 0) options_.call_depth_limit = 1;
    state_.call_stack.resize(options_.call_depth_limit);
    state_.value_stack.resize(options_.value_stack_slots);
    if (has_procedure_ops(m)) procedures_ = std::make_unique<Procedures>(*this);
}

Machine::~Machine() = default;

std::optional<std::uint32_t> Machine::find_proc(std::string_view name) const {
    for (std::size_t i = 0; i < module_.procs.size(); ++i)
        if (module_.procs[i].name == name) return static_cast<std::uint32_t>(i);
    return std::nullopt;
}

Trap Machine::make_trap(TrapKind kind, const DecodedInsn& d) const {
    Trap t;
    t.kind = kind;
    t.pc = state_.pc;
    switch (kind) {
    case TrapKind::OutOfBounds:
        if (element_access_type(d.op))
            if (const Region* g = operand_region(decoded_field(d, first_region_field(d.op)), state_.regs))
                t.detail = "index " + std::to_string(state_.regs.r[d.b]) + " is outside '" + std::string(g->name) +
                           "' (length " + std::to_string(g->length) + ")";
        break;
    case TrapKind::BadHandle:  // a single-region op's; vector ops and launches build theirs
        t.detail = handle_problem(decoded_field(d, first_region_field(d.op)), state_.regs, element_access_type(d.op));
        break;
    case TrapKind::StackOverflow:
        t.detail = "the value stack is full (" + std::to_string(state_.value_stack.size()) + " slots)";
        break;
    case TrapKind::StackUnderflow: t.detail = "the value stack is empty"; break;
    case TrapKind::CallDepth:
        t.detail = "more than " + std::to_string(state_.call_stack.size()) + " nested calls";
        break;
    case TrapKind::StepLimit:
        t.detail = "the step limit of " + std::to_string(options_.max_steps) + " instructions is reached";
        break;
    case TrapKind::Interrupted: t.detail = "stopped by the user (Ctrl-C)"; break;
    case TrapKind::BadMessage: {  // recv or recvf of a message of another kind (recvr builds its own)
        const std::string channel = d.b < module_.channels.size() ? module_.channels[d.b].name : "?";
        const MessageKind kind = procedures_ ? procedures_->last_taken() : MessageKind::Int;
        const std::string what = kind == MessageKind::Int     ? "an integer (sent by send): recv takes it"
                                 : kind == MessageKind::Float ? "a float (sent by sendf): recvf takes it"
                                                              : "a slice (sent by sendr): recvr takes it";
        t.detail = "the message taken from channel '" + channel + "' is " + what;
        break;
    }
    case TrapKind::DivisionByZero:
    case TrapKind::BadAllocation:
    case TrapKind::LengthMismatch:
    case TrapKind::TypeMismatch:
    case TrapKind::BadLaunch:
    case TrapKind::BadArgument:
    case TrapKind::BadInput:
    case TrapKind::Deadlock:
    case TrapKind::BadProcedure:
    case TrapKind::BadPlacement:
    case TrapKind::ProcedureLost:
    case TrapKind::Unsupported: break;  // built with their detail where they happen
    }
    return t;
}

const Region* Machine::operand_region(std::uint32_t v, const RegisterFile& regs) const {
    if (!is_handle_operand(v)) return v < regions_.size() ? &regions_[v] : nullptr;
    return regions_.by_handle(regs.r[handle_register(v)]);
}

namespace {

// A handle as a message shows it: hex when it carries the tag, else decimal.
std::string handle_value_text(std::int64_t v) {
    if (region_of_handle(v) < 0) return std::to_string(v);
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string region_text(const Region& g) {
    return "'" + std::string(g.name) + "' (" + std::string(elem_type_name(g.type)) + ")";
}

// A window buffer is read around the lane's own element, so no buffer the
// kernel writes may share its storage: a lane would read elements another
// lane writes, in an order no backend promises. The reason, or nullopt.
std::optional<std::string> window_write_overlap(const Kernel& k, const KernelLaunch& l) {
    auto bytes = [&](std::size_t i) {
        const auto begin = reinterpret_cast<std::uintptr_t>(l.args[i].data);
        return std::pair{begin, begin + l.args[i].length * elem_size(l.args[i].type)};
    };
    for (std::size_t w = 0; w < k.params.size(); ++w) {
        if (k.params[w].indexing != Indexing::Window || l.args[w].data == nullptr) continue;
        const auto [wb, we] = bytes(w);
        for (std::size_t o = 0; o < k.params.size(); ++o) {
            const KernelParam& out = k.params[o];
            if (out.kind != ParamKind::Buffer || out.access == Access::In || l.args[o].data == nullptr) continue;
            const auto [ob, oe] = bytes(o);
            if (ob >= we || wb >= oe) continue;
            const Region* a = l.args[w].region;
            const Region* b = l.args[o].region;
            const std::string regions = a == b && a != nullptr ? "both get '" + std::string(a->name) + "'"
                                        : a != nullptr && b != nullptr
                                            ? "get '" + std::string(a->name) + "' and '" + std::string(b->name) +
                                                  "', which share storage"
                                            : "share storage";
            return "window buffer '" + k.params[w].name + "' and '" + std::string(access_text(out.access)) +
                   "' buffer '" + out.name + "' " + regions + ": lanes would read elements other lanes write";
        }
    }
    return std::nullopt;
}

}  // namespace

std::string Machine::handle_problem(std::uint32_t v, const RegisterFile& regs, std::optional<ElemType> want) const {
    const unsigned reg = handle_register(v);
    const std::int64_t value = regs.r[reg];
    const std::string named = "@r" + std::to_string(reg) + " = " + handle_value_text(value);
    const Region* g = regions_.by_handle(value);
    if (g == nullptr)
        return named + " is not a region handle" +
               (region_of_handle(value) >= 0 ? " (this module has " + std::to_string(regions_.size()) + " regions)"
                                             : " (rgn rN, region makes one)");
    if (want && g->type != *want)
        return named + " is the handle of " + region_text(*g) + ", but " + std::string(elem_type_name(*want)) +
               " elements are expected";
    return named + " is the handle of " + region_text(*g);
}

bool Machine::vector_args(const DecodedInsn& d, const RegisterFile& regs, VectorOpArgs& x, Trap* trap) const {
    x = VectorOpArgs{};
    x.op = d.op;
    // The region operands in slot order (dst, a, b, c), with their handles resolved.
    static constexpr const char* kSlotNames[kVectorSlots] = {"dst", "a", "b", "c"};
    std::uint8_t handle_slots = 0;
    bool bad_handle = false;
    auto view = [&](std::size_t slot) -> RegionView {
        const std::uint32_t v = decoded_field(d, slot_field(slot));
        if (!is_handle_operand(v)) return regions_[v].view();
        handle_slots |= slot_bit(slot);
        const Region* g = regions_.by_handle(regs.r[handle_register(v)]);
        if (g == nullptr) bad_handle = true;
        return g != nullptr ? g->view() : RegionView{};
    };
    // For a trap: "dst: @r1 = 0x... is the handle of 'xs' (f32); a: ...".
    auto handles = [&] {
        std::string text;
        for (std::size_t slot = 0; slot < kVectorSlots; ++slot) {
            if (!(handle_slots & slot_bit(slot))) continue;
            if (!text.empty()) text += "; ";
            text += std::string(kSlotNames[slot]) + ": " +
                    handle_problem(decoded_field(d, slot_field(slot)), regs, std::nullopt);
        }
        return text;
    };
    const auto imm = static_cast<std::uint32_t>(d.imm);
    // Slot k is field A, B, C, imm (checked in isa/opcodes.h).
    switch (op_info(d.op).format) {
    case Format::GGG: x.dst = view(0), x.a = view(1), x.b = view(2); break;
    case Format::GGGG: x.dst = view(0), x.a = view(1), x.b = view(2), x.c = view(3); break;
    case Format::GGF: x.dst = view(0), x.a = view(1), x.float_scalar = regs.f[d.c]; break;
    case Format::GR: x.dst = view(0), x.int_scalar = regs.r[d.b]; break;
    case Format::GF: x.dst = view(0), x.float_scalar = regs.f[d.b]; break;
    case Format::G: x.dst = view(0); break;
    case Format::GG: x.dst = view(0), x.a = view(1); break;
    case Format::FG:
    case Format::RG: x.a = view(1); break;
    case Format::FGG:
    case Format::RGG: x.a = view(1), x.b = view(2); break;
    case Format::GGGR: x.dst = view(0), x.a = view(1), x.b = view(2), x.int_scalar = regs.r[imm]; break;
    default: break;  // a format no vector op has
    }
    if (bad_handle) {
        if (trap != nullptr) *trap = Trap{TrapKind::BadHandle, state_.pc, handles()};
        return false;
    }
    const VectorOpProblem problem = find_vector_op_problem(x);
    if (problem.fault == VectorOpFault::None) return true;
    if (trap != nullptr) {
        std::string detail = problem.reason != nullptr ? problem.reason : "";
        if (handle_slots != 0) detail += " (" + handles() + ")";
        *trap = Trap{problem.fault == VectorOpFault::TypeMismatch ? TrapKind::TypeMismatch : TrapKind::LengthMismatch,
                     state_.pc, std::move(detail)};
    }
    return false;
}

// Builds the KernelLaunch from the launch site. An f32 uniform is the float
// register rounded to binary32; an i64 or f64 one (wide kernels) the register
// as it is.
LaunchLoop* Machine::launch_loop_at(std::uint32_t pc) {
    if (!options_.launch_rounds) return nullptr;
    auto it = std::lower_bound(launch_loops_.begin(), launch_loops_.end(), pc,
                               [](const LaunchLoop& l, std::uint32_t at) { return l.head < at; });
    return it != launch_loops_.end() && it->head == pc && !it->declined ? &*it : nullptr;
}

bool Machine::launch_args(const DecodedInsn& d, const RegisterFile& regs, KernelLaunch& l, Trap* trap) const {
    const LaunchSite& site = module_.launches[static_cast<std::uint32_t>(d.imm)];
    const Kernel& kernel = module_.kernels[site.kernel];
    auto bad = [&](std::string why) {
        if (trap != nullptr) *trap = Trap{TrapKind::BadLaunch, state_.pc, "kernel '" + kernel.name + "': " + std::move(why)};
        return false;
    };
    const std::int64_t count = regs.r[d.a];
    if (count < 0) return bad("count " + std::to_string(count) + " is negative");
    if (static_cast<std::uint64_t>(count) > kMaxLaunchCount)
        return bad("count " + std::to_string(count) + " is over the limit of " + std::to_string(kMaxLaunchCount));
    if (const std::optional<BackendCapabilities> caps = backend_->capabilities()) {
        const KernelRequirements& r = kernel.requirements;
        if (r.requires_gpu && !caps->gpu)
            return bad(".requires gpu, but this machine runs kernels on " + caps->where + ", which is not a GPU");
        if (r.min_memory > caps->memory)
            return bad(".requires mem >= " + std::to_string(r.min_memory) + " bytes, but this machine has " +
                       std::to_string(caps->memory) + " bytes");
    }
    if (site.args.size() != kernel.params.size())
        return bad("the launch passes " + std::to_string(site.args.size()) + " arguments for " +
                   std::to_string(kernel.params.size()) + " parameters");
    l.kernel = &kernel;
    l.kernel_index = site.kernel;
    l.count = l.end = static_cast<std::uint64_t>(count);
    l.max_iterations = options_.kernel_steps;
    l.args.resize(site.args.size());
    for (std::size_t i = 0; i < site.args.size(); ++i) {
        const LaunchArg& a = site.args[i];
        const KernelParam& p = kernel.params[i];
        KernelArg& k = l.args[i];
        switch (a.kind) {
        case LaunchArg::Kind::Region: {
            const Region* g = operand_region(a.index, regs);
            if (g == nullptr || g->type != p.type) {  // a handle's (a static region's type is verified)
                if (trap != nullptr)
                    *trap = Trap{TrapKind::BadHandle, state_.pc,
                                 "kernel '" + kernel.name + "': buffer '" + p.name + "' (" +
                                     std::string(elem_type_name(p.type)) + ") gets " +
                                     handle_problem(a.index, regs, p.type)};
                return false;
            }
            const Region& r = *g;
            // Lane i owns element i of an [i] buffer, and reads around it in a
            // window: every lane must have one (so an access at gid needs no
            // check, isa/kernel_access.h; and a cluster's chunks cut both alike).
            if (p.indexing != Indexing::Broadcast && r.length < l.count)
                return bad(std::string(p.indexing == Indexing::Window ? "window" : "element-wise") + " buffer '" +
                           p.name + "' gets '" + std::string(r.name) + "' with " + std::to_string(r.length) +
                           " elements, fewer than the " + std::to_string(l.count) + " lanes");
            k.data = r.length == 0 ? nullptr : r.data;
            k.length = r.length;
            k.type = r.type;
            k.region = const_cast<Region*>(&r);  // the backend may fence it (Backend::bring_home)
            break;
        }
        case LaunchArg::Kind::IntReg: {
            const std::int64_t v = regs.r[a.index];
            if (p.type == ElemType::I64) {  // a wide kernel's: the register as is
                k.uniform = static_cast<std::uint64_t>(v);
                k.type = ElemType::I64;
                break;
            }
            if (v < INT32_MIN || v > INT32_MAX)
                return bad("uniform '" + p.name + "' gets " + std::to_string(v) + ", which does not fit in i32");
            k.uniform = static_cast<std::uint32_t>(static_cast<std::int32_t>(v));
            k.type = ElemType::I32;
            break;
        }
        case LaunchArg::Kind::FloatReg: {
            if (p.type == ElemType::F64) {  // a wide kernel's: the register's binary64 bits
                k.uniform = std::bit_cast<std::uint64_t>(regs.f[a.index]);
                k.type = ElemType::F64;
                break;
            }
            k.uniform = std::bit_cast<std::uint32_t>(static_cast<float>(regs.f[a.index]));
            k.type = ElemType::F32;
            break;
        }
        }
    }
    if (auto why = window_write_overlap(kernel, l)) return bad(*why);
    return true;
}

bool Machine::allocate(Region& g, const DecodedInsn& d, Trap* trap) {
    std::string why = regions_.allocate(g, state_.regs.r[d.b], backend_);
    if (why.empty()) return true;
    if (!options_.memory_limit_note.empty() && why.find("memory limit") != std::string::npos) why += " (" + options_.memory_limit_note + ")";
    *trap = Trap{TrapKind::BadAllocation, state_.pc, "'" + std::string(g.name) + "': " + why};
    return false;
}

void Machine::bring_home(const Region& g, std::uint64_t begin, std::uint64_t end, HomeAccess access) const {
    const bool read = access == HomeAccess::Read;
    const std::uint64_t fence_begin = read ? g.read_fence_begin() : g.write_fence_begin();
    const std::uint64_t fence_end = read ? g.read_fence_end() : g.write_fence_end();
    begin = std::max(begin, fence_begin);
    end = std::min(end, fence_end);
    // The store owns every Region mutably; the reader's const is about values.
    if (begin < end) backend_->bring_home(const_cast<Region&>(g), begin, end, access);
}

namespace {

template <class T>
void print_elements(OutputBuffer& out, const T* p, std::uint64_t n) {
    out.put('[');
    for (std::uint64_t i = 0; i < n; ++i) {
        if (i != 0) out.write(", ");
        if constexpr (std::is_same_v<T, double>) out.write_double(p[i]);
        else if constexpr (std::is_same_v<T, float>) out.write_float(p[i]);
        else if constexpr (std::is_signed_v<T>) out.write_int(p[i]);
        else out.write_uint(p[i]);
    }
    out.put(']');
}

}  // namespace

bool Machine::print_region(const Region& g, const DecodedInsn& d, Trap* trap) {
    const std::int64_t start = state_.regs.r[d.b], count = state_.regs.r[d.c];
    if (start < 0 || count < 0 || static_cast<std::uint64_t>(start) > g.length ||
        static_cast<std::uint64_t>(count) > g.length - static_cast<std::uint64_t>(start)) {
        *trap = Trap{TrapKind::OutOfBounds, state_.pc,
                     std::to_string(count) + " elements from index " + std::to_string(start) + " are outside '" +
                         std::string(g.name) + "' (length " + std::to_string(g.length) + ")"};
        return false;
    }
    const auto s = static_cast<std::uint64_t>(start), n = static_cast<std::uint64_t>(count);
    bring_home(g, s, s + n, HomeAccess::Read);
    switch (g.type) {
    case ElemType::U8: out_.write({g.as<const char>() + s, static_cast<std::size_t>(n)}); break;
    case ElemType::I32: print_elements(out_, g.as<const std::int32_t>() + s, n); break;
    case ElemType::U32: print_elements(out_, g.as<const std::uint32_t>() + s, n); break;
    case ElemType::I64: print_elements(out_, g.as<const std::int64_t>() + s, n); break;
    case ElemType::F32: print_elements(out_, g.as<const float>() + s, n); break;
    case ElemType::F64: print_elements(out_, g.as<const double>() + s, n); break;
    }
    return true;
}

}  // namespace polymer
