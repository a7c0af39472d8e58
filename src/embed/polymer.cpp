// The embedding API (include/polymer/polymer.h) over the assembler, the
// module reader and verifier, the backend chooser and the Machine: the same
// steps polymer-run takes, with errors thrown instead of printed.
#include "polymer/polymer.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <ostream>
#include <utility>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "isa/encoding.h"
#include "isa/module_io.h"
#include "isa/opcodes.h"
#include "isa/verifier.h"
#include "vm/backend_chooser.h"
#include "vm/interrupt.h"
#include "vm/kernel_fault.h"
#include "vm/machine.h"

namespace polymer {

// The public enums mirror the language's element types one for one.
static_assert(static_cast<int>(ElementType::u8) == static_cast<int>(ElemType::U8) &&
              static_cast<int>(ElementType::i32) == static_cast<int>(ElemType::I32) &&
              static_cast<int>(ElementType::u32) == static_cast<int>(ElemType::U32) &&
              static_cast<int>(ElementType::i64) == static_cast<int>(ElemType::I64) &&
              static_cast<int>(ElementType::f32) == static_cast<int>(ElemType::F32) &&
              static_cast<int>(ElementType::f64) == static_cast<int>(ElemType::F64) && kElemTypeCount == 6);

namespace {

ElementType public_type(ElemType t) { return static_cast<ElementType>(t); }

ExecMode internal_mode(ExecutionMode m) {
    switch (m) {
    case ExecutionMode::in_order: return ExecMode::InOrder;
    case ExecutionMode::frames: return ExecMode::Frames;
    case ExecutionMode::ooo: return ExecMode::Ooo;
    case ExecutionMode::spec: return ExecMode::Spec;
    }
    throw ProgramError("unknown execution mode " + std::to_string(static_cast<int>(m)));
}

BackendKind internal_backend(BackendChoice b) {
    switch (b) {
    case BackendChoice::automatic: return BackendKind::Auto;
    case BackendChoice::vulkan: return BackendKind::Vulkan;
    case BackendChoice::cpu: return BackendKind::Cpu;
    }
    throw ProgramError("unknown backend choice " + std::to_string(static_cast<int>(b)));
}

// Vector ops, launches, or loops that may run as kernels.
bool has_long_ops(const Module& m) {
    return !m.loop_kernels.empty() || std::any_of(m.code.begin(), m.code.end(), [](Word w) {
        const std::uint8_t op = word_op(w);
        return is_valid_op(op) && has_effect(static_cast<Op>(op), effect::Long);
    });
}

std::vector<RegionInfo> describe_regions(const Module& m) {
    std::vector<RegionInfo> out;
    for (const RegionDecl& r : m.regions) out.push_back({r.name, public_type(r.type), r.length});
    return out;
}

}  // namespace

std::string_view to_string(ElementType type) { return elem_type_name(static_cast<ElemType>(type)); }

std::function<void(std::string_view)> write_to(std::ostream& stream) {
    return [&stream](std::string_view s) { stream.write(s.data(), static_cast<std::streamsize>(s.size())); };
}

// ---- Program ----------------------------------------------------------------

struct Program::Impl {
    Module module;
};

Program::Program(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Program Program::assemble(std::string_view source, std::string_view filename) {
    AssembleOptions options;
    options.filename = std::string(filename);
    AssembleResult result = polymer::assemble(source, options);
    if (!result.ok()) {
        std::string message;
        for (const Diagnostic& d : result.diagnostics)
            if (d.severity == Diagnostic::Severity::Error) message += format_diagnostic(d);
        if (message.empty()) message = std::string(filename) + ": error: the source does not assemble\n";
        message.pop_back();  // what() is the diagnostics without a final newline
        throw ProgramError(message);
    }
    if (Result<Verified> v = verify_module(*result.module); !v)
        throw ProgramError(std::string(filename) + ": error: " + v.error());
    return Program(std::make_shared<const Impl>(Impl{std::move(*result.module)}));
}

Program Program::load(std::span<const std::byte> bytes, std::string_view filename) {
    auto data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    Result<Module> m = load_module({data, bytes.size()});
    if (!m) throw ProgramError(std::string(filename) + ": error: " + m.error());
    return Program(std::make_shared<const Impl>(Impl{std::move(m).value()}));
}

Program Program::from_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw ProgramError("'" + path.string() + "' is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ProgramError("cannot read '" + path.string() + "': " + std::strerror(errno));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw ProgramError("cannot read '" + path.string() + "'");
    if (path.extension() == ".pbc")
        return load(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), path.string());
    return assemble(bytes, path.string());
}

std::string Program::name() const { return impl_->module.name; }

std::vector<std::string> Program::procedures() const {
    std::vector<std::string> names;
    for (const Procedure& p : impl_->module.procs) names.push_back(p.name);
    return names;
}

std::vector<RegionInfo> Program::regions() const { return describe_regions(impl_->module); }

std::vector<std::byte> Program::bytecode() const {
    std::vector<std::uint8_t> bytes = write_module(impl_->module);
    std::vector<std::byte> out(bytes.size());
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

// ---- Instance ---------------------------------------------------------------

struct Instance::Impl {
    std::shared_ptr<const Program::Impl> program;  // the module outlives the machine
    std::string backend_description;
    std::unique_ptr<RoutingBackend> backend;
    std::string backend_failure;          // set by the backend's failure handler during a run
    std::exception_ptr output_exception;  // thrown by the user's output callback
    std::unique_ptr<OutputBuffer> out;
    std::unique_ptr<Machine> machine;

    const Module& module() const { return program->module; }

    Region& find(std::string_view name, ElementType type) const {
        const Module& m = module();
        for (std::size_t i = 0; i < m.regions.size(); ++i) {
            if (m.regions[i].name != name) continue;
            Region& g = const_cast<Machine&>(*machine).regions()[i];
            if (public_type(g.type) != type)
                throw ProgramError("region '" + std::string(name) + "' holds " + std::string(elem_type_name(g.type)) +
                                   ", not " + std::string(to_string(type)));
            return g;
        }
        std::string known;
        for (const RegionDecl& r : m.regions) known += (known.empty() ? "" : ", ") + r.name;
        throw ProgramError("no region named '" + std::string(name) + "' in " + m.name +
                           (known.empty() ? " (it has none)" : " (it has " + known + ")"));
    }
};

Instance::Instance(Program program, InstanceOptions options) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.program = program.impl_;
    const Module& m = s.module();

    // As polymer-run: under auto, a program with no vector op or kernel never starts Vulkan.
    BackendKind kind = internal_backend(options.backend);
    const bool long_ops = has_long_ops(m);
    if (kind == BackendKind::Auto && !long_ops) kind = BackendKind::Cpu;
    Result<ChosenBackend> chosen = choose_backend(kind, options.device);
    if (!chosen) throw ProgramError(chosen.error());
    s.backend = std::move(chosen.value().backend);
    s.backend_description = options.backend == BackendChoice::automatic && !long_ops
                                ? "cpu (auto: the program has no vector ops or kernels)"
                                : chosen.value().description;
    // A failed device op leaves garbage behind: stop the run (through the
    // interrupt flag every executor polls) and report it, never go on.
    s.backend->on_failure([&s](const std::string& why) {
        if (s.backend_failure.empty()) s.backend_failure = why;
        request_interrupt();
    });

    if (options.output) {
        s.out = std::make_unique<OutputBuffer>([&s, sink = std::move(options.output)](std::string_view piece) {
            if (s.output_exception) return;
            try {
                sink(piece);
            } catch (...) {
                s.output_exception = std::current_exception();
            }
        });
    } else {
        s.out = std::make_unique<OutputBuffer>(1);
    }

    MachineOptions mo;
    mo.max_steps = options.max_steps;
    mo.kernel_steps = options.kernel_steps == 0 ? kDefaultKernelSteps : options.kernel_steps;
    mo.memory_limit = options.memory_limit;
    mo.loop_kernels = options.loop_kernels;
    mo.launch_rounds = options.launch_rounds;
    mo.loop_kernel_min = options.loop_kernel_min == 0 ? kDefaultLoopKernelMin : options.loop_kernel_min;
    mo.backend = s.backend.get();
    mo.exec = internal_mode(options.exec);
    if (options.rob_size == 0) throw ProgramError("rob_size must be at least 1");
    mo.rob_size = options.rob_size;
    Result<std::unique_ptr<Machine>> machine = Machine::create(m, *s.out, mo);
    if (!machine) throw ProgramError(m.source_file + ": error: " + machine.error());
    s.machine = std::move(machine).value();
}

Instance::~Instance() = default;
Instance::Instance(Instance&&) noexcept = default;
Instance& Instance::operator=(Instance&&) noexcept = default;

RunOutcome Instance::run(std::string_view entry) {
    Impl& s = *impl_;
    std::optional<std::uint32_t> proc = s.machine->find_proc(entry);
    if (!proc)
        throw ProgramError("no procedure named '" + std::string(entry) + "' in " + s.module().name);
    s.backend_failure.clear();
    RunResult result = s.machine->run(*proc);
    s.machine->backend().wait_all();
    s.out->flush();
    if (!s.backend_failure.empty()) clear_interrupt();  // the flag was ours, not a Ctrl-C
    if (s.output_exception) std::rethrow_exception(std::exchange(s.output_exception, nullptr));

    RunOutcome outcome;
    outcome.steps = result.steps;
    if (!s.backend_failure.empty()) {
        outcome.status = RunOutcome::Status::backend_failed;
        outcome.message = "error: " + s.backend_failure;
        return outcome;
    }
    if (!result.trap) return outcome;
    const Trap& trap = *result.trap;
    outcome.status = trap.kind == TrapKind::StepLimit     ? RunOutcome::Status::step_limit
                     : trap.kind == TrapKind::Interrupted ? RunOutcome::Status::interrupted
                                                          : RunOutcome::Status::trapped;
    outcome.trap = std::string(trap_name(trap.kind));
    outcome.message = format_trap(s.module(), trap, disassemble_word(s.module(), trap.pc));
    return outcome;
}

std::string Instance::backend_description() const { return impl_->backend_description; }

std::vector<RegionInfo> Instance::regions() const {
    std::vector<RegionInfo> out = describe_regions(impl_->module());
    for (std::size_t i = 0; i < out.size(); ++i) out[i].length = impl_->machine->regions()[i].length;
    return out;
}

// The caller touches the elements directly: under a backend that keeps
// values elsewhere they are brought home first, the whole region.
void* Instance::region_data(std::string_view name, ElementType type, std::size_t& length, bool for_write) const {
    Region& g = impl_->find(name, type);
    impl_->machine->bring_home(g, 0, g.length, for_write ? HomeAccess::Write : HomeAccess::Read);
    length = static_cast<std::size_t>(g.length);
    return g.data;
}

void* Instance::region_resized(std::string_view name, ElementType type, std::size_t length, std::size_t& got) {
    Region& g = impl_->find(name, type);
    if (g.length != length) {
        if (length > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))
            throw ProgramError("region '" + std::string(name) + "': " + std::to_string(length) + " elements is too many");
        std::string why =
            impl_->machine->regions().allocate(g, static_cast<std::int64_t>(length), &impl_->machine->backend());
        if (!why.empty()) throw ProgramError("region '" + std::string(name) + "': " + why);
    } else {
        // Every element is written next: what a backend keeps elsewhere is dropped, not fetched.
        impl_->machine->backend().forget_region(g);
    }
    got = static_cast<std::size_t>(g.length);
    return g.data;
}

namespace {
void check_register(unsigned i, unsigned count, char prefix) {
    if (i >= count)
        throw ProgramError("no register " + std::string(1, prefix) + std::to_string(i) + " (registers are " + prefix +
                           "0.." + prefix + std::to_string(count - 1) + ")");
}
}  // namespace

std::int64_t Instance::int_register(unsigned i) const {
    check_register(i, kIntRegisters, 'r');
    return impl_->machine->int_reg(i);
}

double Instance::float_register(unsigned i) const {
    check_register(i, kFloatRegisters, 'f');
    return impl_->machine->float_reg(i);
}

void Instance::set_int_register(unsigned i, std::int64_t value) {
    check_register(i, kIntRegisters, 'r');
    impl_->machine->set_int_reg(i, value);
}

void Instance::set_float_register(unsigned i, double value) {
    check_register(i, kFloatRegisters, 'f');
    impl_->machine->set_float_reg(i, value);
}

}  // namespace polymer
