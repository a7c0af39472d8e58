// polymer-run: runs a Polymer program (.pasm source or .pbc bytecode) on the
// local machine. Exit status (src/tools/exit_status.h): 0 the program halted,
// 1 bad input (unreadable file, assembly or verify errors, a corrupt module,
// unknown entry), 2 the program trapped or its backend failed (a device
// error, no capable node left), 3 the step limit (--max-steps, or a kernel
// lane past --kernel-steps) stopped it, 64 a usage error, 130 Ctrl-C stopped
// it. --debug opens the step debugger (src/tools/debugger, docs/debugger.md).
// Under mpirun, --mpi makes rank 0 the home and every other rank a node
// (cluster/mpi_launch.h).
//
// `polymer-run prog.pasm -- ARGS...` hands ARGS to the program (argc, argi,
// argf, args); it reads stdin (readln, readi, readf), or --stdin FILE. Under
// --debug the REPL reads its commands from stdin, so the program reads
// --stdin FILE, or stdin only when --batch FILE gives the commands
// (docs/language.md, "Arguments and input").
//
// Ctrl-C (SIGINT) only sets a flag (vm/interrupt.h); the interpreter, the
// reorder engine and every backend poll it, the run stops with an
// `interrupted` trap, and the views (--trace, --pipeview) are written as
// after any other stop. A second Ctrl-C kills the process at once.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <algorithm>
#include <limits>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "assembler/kernel_spirv.h"
#include "cluster/cluster_setup.h"
#include "cluster/mpi_launch.h"
#include "isa/encoding.h"
#include "isa/module_io.h"
#include "isa/opcodes.h"
#include "isa/verifier.h"
#include "src/tools/debugger/debug_main.h"
#include "vm/debugger/region_dump.h"
#include "vm/backend_chooser.h"
#include "vm/interrupt.h"
#include "vm/machine.h"
#include "vm/procs/procedures.h"
#include "vm/ooo/chrome_trace.h"
#include "vm/ooo/kanata_log.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/vulkan/device_listing.h"
#include "command_line.h"
#include "guarded_main.h"
#include "read_input.h"

namespace {

using polymer::tools::kExitOk;
using polymer::tools::kExitTrap;
using polymer::tools::kExitStepLimit;
using polymer::tools::kExitInterrupted;
constexpr int kExitBadInput = polymer::tools::kExitFailure;

extern "C" void on_interrupt(int) { polymer::request_interrupt(); }

// Ctrl-C asks the run to stop; SA_RESETHAND: a second one kills at once.
void catch_interrupt() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Assembles a .pasm or loads a .pbc; prints the problems and returns nullopt on failure.
std::optional<polymer::Module> load_program(const std::string& path, const std::vector<std::string>& include_dirs) {
    std::string why;
    std::optional<std::string> bytes = polymer::tools::read_input(path, why);
    if (!bytes) {
        std::cerr << "polymer-run: error: " << why << "\n";
        return std::nullopt;
    }
    if (ends_with(path, ".pbc")) {
        auto data = reinterpret_cast<const std::uint8_t*>(bytes->data());
        polymer::Result<polymer::Module> m = polymer::load_module({data, bytes->size()});
        if (!m) {
            std::cerr << path << ": error: " << m.error() << "\n";
            return std::nullopt;
        }
        return std::move(m).value();
    }
    polymer::AssembleOptions options;
    options.filename = path;
    options.include_dirs = include_dirs;
    options.spirv_cache_dir = polymer::default_cache_dir();  // kernels compile once per machine
    polymer::AssembleResult result = polymer::assemble(*bytes, options);
    for (const polymer::Diagnostic& d : result.diagnostics) std::cerr << polymer::format_diagnostic(d);
    if (!result.ok()) return std::nullopt;
    polymer::Result<polymer::Verified> verified = polymer::verify_module(*result.module);
    if (!verified) {
        std::cerr << path << ": error: " << verified.error() << "\n";
        return std::nullopt;
    }
    return std::move(*result.module);
}

void dump_registers(const polymer::Machine& machine, polymer::OutputBuffer& out) {
    for (unsigned i = 0; i < polymer::kIntRegisters; ++i) {
        out.write("r" + std::to_string(i) + " = ");
        out.write_int(machine.int_reg(i));
        out.put(i % 4 == 3 ? '\n' : '\t');
    }
    for (unsigned i = 0; i < polymer::kFloatRegisters; ++i) {
        out.write("f" + std::to_string(i) + " = ");
        out.write_double(machine.float_reg(i));
        out.put(i % 4 == 3 ? '\n' : '\t');
    }
}

// --dump-region: each named region, whole, as the debugger's `x` shows it.
void dump_regions(const polymer::Machine& machine, const std::vector<std::uint32_t>& regions, polymer::OutputBuffer& out) {
    for (std::uint32_t r : regions) {
        const polymer::Region& g = machine.regions()[r];
        out.write(polymer::debugger::dump_region(machine, g, 0, g.length));
    }
}

}  // namespace

// `mpi`: set under --mpi; main finishes it (stops the node ranks) after the run.
static int run_tool(int argc, char** argv, std::unique_ptr<polymer::cluster::MpiLaunch>& mpi) {
    CLI::App app{"Run a Polymer program (.pasm source or .pbc bytecode)"};
    app.set_version_flag("--version", std::string("polymer-run ") + POLYMER_VERSION);
    std::string path;
    std::string entry = "main";
    std::uint64_t max_steps = 0;
    bool stats = false;
    bool registers = false;
    app.add_option("PROGRAM", path, "the program: a .pasm source file or a .pbc module");
    std::vector<std::string> program_args;
    app.add_option("ARGS", program_args, "the program's arguments (argc, argi, argf, args), after --: "
                                         "polymer-run prog.pasm -- 10 2.5 name");
    std::string stdin_file;
    app.add_option("--stdin", stdin_file, "the program reads its input (readln, readi, readf) from FILE, not stdin")
        ->type_name("FILE");
    std::string backend_name = "auto";
    std::uint32_t device_index = 0;
    bool list_devices = false;
    app.add_option("--backend", backend_name, "where vector ops and kernels run: auto, vulkan or cpu")
        ->check(CLI::IsMember({"auto", "vulkan", "cpu"}))
        ->capture_default_str();
    app.add_option("--device", device_index, "the Vulkan device index (see --list-devices)")->capture_default_str();
    app.add_flag("--list-devices", list_devices, "list the Vulkan devices and the CPU backend, then exit");
    std::vector<std::string> include_dirs;
    app.add_option("-I,--include-dir", include_dirs, "also look for '.include' files in DIR (repeatable)")
        ->allow_extra_args(false)
        ->check(CLI::ExistingDirectory);
    app.add_option("--entry", entry, "the procedure to start at")->capture_default_str();
    app.add_option("--max-steps", max_steps,
                   "trap `step-limit` once the program has run this many instructions (0: no limit)")
        ->check(CLI::NonNegativeNumber);
    std::uint64_t max_memory = polymer::MachineOptions{}.memory_limit;
    app.add_option("--max-memory", max_memory,
                   "limit for this machine's region storage, all regions together (e.g. 512M, 4G; K = 1024); "
                   "on a cluster, distributed regions held by the nodes do not count")
        ->type_name("SIZE")
        ->transform(polymer::tools::size_value())
        ->default_str("4G");
    std::uint32_t kernel_steps = polymer::kDefaultKernelSteps;
    app.add_option("--kernel-steps", kernel_steps,
                   "trap `step-limit` when a kernel lane is about to start more than N loop iterations in one launch")
        ->type_name("N")
        ->check(CLI::Range(1u, 1u << 31))
        ->capture_default_str();
    bool no_loop_kernels = false;
    app.add_flag("--no-loop-kernels", no_loop_kernels,
                 "run every loop the assembler turned into a kernel as its scalar loop (docs/loop-kernels.md)");
    bool no_launch_rounds = false;
    app.add_flag("--no-launch-rounds", no_launch_rounds,
                 "run a loop of launches word by word, not as rounds on the backend (docs/execution.md, \"Loops of launches\")");
    std::uint64_t loop_kernel_min = polymer::kDefaultLoopKernelMin;
    app.add_option("--loop-kernel-min", loop_kernel_min,
                   "run such a loop as a kernel only when it gives the kernel at least N iterations")
        ->type_name("N")
        ->check(CLI::Range(std::uint64_t{1}, std::numeric_limits<std::uint64_t>::max()))
        ->capture_default_str();
    app.add_flag("--stats", stats, "print instructions executed, time and instructions per second to stderr");
    app.add_flag("--dump-registers", registers, "print every register after the program stops");
    std::vector<std::string> dump_region_names;
    bool debug = false;
    std::string batch_file;
    std::size_t history_steps = 10'000;
    app.add_option("--dump-region", dump_region_names, "print region NAME after the program stops (repeatable)")
        ->allow_extra_args(false)
        ->type_name("NAME");
    app.add_flag("--debug", debug, "open the step debugger before the first instruction (docs/debugger.md)");
    app.add_option("--batch", batch_file, "debugger commands from FILE, without prompts (implies --debug)")
        ->type_name("FILE");
    app.add_option("--history", history_steps, "debugger: how many steps backstep can undo")
        ->type_name("STEPS")
        ->capture_default_str();
    std::string exec_name = "ooo";
    std::uint32_t rob_size = polymer::kDefaultRobSize;
    std::string trace_path, pipeview_path;
    app.add_option("--exec", exec_name, "execution mode: in-order, frames, ooo or spec (docs/execution.md)")
        ->check(CLI::IsMember({"in-order", "frames", "ooo", "spec"}))
        ->capture_default_str();
    app.add_option("--rob", rob_size, "reorder buffer entries (ooo, spec)")
        ->check(CLI::Range(1u, 1u << 20))
        ->capture_default_str();
    app.add_option("--trace", trace_path, "write a Chrome trace-event JSON file (Perfetto, chrome://tracing)");
    app.add_option("--pipeview", pipeview_path, "write the reorder buffer's pipeline in the Kanata log format (Konata)");
    polymer::cluster::ClusterFlags cluster_flags;
    polymer::cluster::add_cluster_options(app, cluster_flags);
    app.footer("Exit status:\n"
               "  0   halted (or a debugger session ended with the program not trapped)\n"
               "  1   bad input: an unreadable program, assembly or verify errors, a cluster that cannot start\n"
               "  2   the program trapped, or a backend failed\n"
               "  3   the step limit (--max-steps or --kernel-steps) was reached\n"
               "  64  a usage error: an option, a --config or --nodes-file line\n"
               "  70  an internal error (a bug)\n"
               "  130 Ctrl-C stopped it (a second Ctrl-C kills at once)");
    if (auto done = polymer::tools::parse_command_line(app, argc, argv, "polymer-run")) return *done;
    polymer::cluster::apply_environment(app, cluster_flags);
    if (auto done = polymer::tools::read_config_file(app, cluster_flags.config, app.count("--config") > 0, "polymer-run"))
        return *done;
    if (auto wrong = polymer::cluster::resolve_nodes(cluster_flags)) return polymer::tools::usage_error("polymer-run", *wrong);

    if (list_devices) {
        std::cout << polymer::describe_vulkan_devices();
        std::cout << "cpu: the CPU backend, " << std::max(1u, std::thread::hardware_concurrency()) << " threads\n";
        return kExitOk;
    }
    if (cluster_flags.mpi) {
        // Under mpirun or srun: this rank is the home (rank 0) or one of its nodes.
        auto launched = polymer::cluster::MpiLaunch::init(argc, argv);
        if (!launched) {
            std::cerr << "polymer-run: error: " << launched.error() << "\n";
            return kExitBadInput;
        }
        mpi = std::move(launched).value();
        if (!mpi->is_home()) {
            polymer::cluster::NodeSetup node;
            node.vulkan = backend_name == "vulkan";
            return mpi->serve_as_node(node);
        }
        auto nodes = mpi->gather_nodes();
        if (!nodes) {
            std::cerr << "polymer-run: error: " << nodes.error() << "\n";
            return kExitBadInput;
        }
        if (nodes.value().nodes.empty())
            std::cerr << "polymer-run: warning: --mpi with one rank: no nodes, the program runs on this machine alone\n";
        cluster_flags.addresses = nodes.value().nodes;
        cluster_flags.launched_secret = nodes.value().secret;
    }
    if (cluster_flags.list_nodes) return polymer::cluster::list_nodes(cluster_flags, std::cout) ? kExitOk : kExitBadInput;
    if (path.empty()) return polymer::tools::usage_error("polymer-run", "PROGRAM is required");
    std::optional<polymer::Module> module = load_program(path, include_dirs);
    if (!module) return kExitBadInput;
    // The program's input: --stdin FILE, else stdin, unless the debugger's
    // REPL reads its commands there (then the input is empty).
    int input_fd = 0;
    if (!stdin_file.empty()) {
        input_fd = ::open(stdin_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (input_fd < 0) {
            std::cerr << "polymer-run: error: --stdin: cannot open '" << stdin_file << "': " << std::strerror(errno) << "\n";
            return kExitBadInput;
        }
    } else if (debug && batch_file.empty()) {
        input_fd = -1;
    }
    std::optional<polymer::InputStream> input;
    if (input_fd >= 0) input.emplace(input_fd);

    polymer::BackendKind backend_kind = backend_name == "cpu"      ? polymer::BackendKind::Cpu
                                        : backend_name == "vulkan" ? polymer::BackendKind::Vulkan
                                                                   : polymer::BackendKind::Auto;
    // Under auto, a program with no vector op, kernel launch or loop kernel
    // never starts Vulkan: a scalar program pays neither its start-up nor its
    // memory (about 50 ms and 60 MiB on lavapipe).
    const bool has_long_ops = !module->loop_kernels.empty() ||
                              std::any_of(module->code.begin(), module->code.end(), [](polymer::Word w) {
                                  const std::uint8_t op = polymer::word_op(w);
                                  return polymer::is_valid_op(op) &&
                                         polymer::has_effect(static_cast<polymer::Op>(op), polymer::effect::Long);
                              });
    if (backend_kind == polymer::BackendKind::Auto && !has_long_ops) backend_kind = polymer::BackendKind::Cpu;
    auto chosen = polymer::choose_backend(backend_kind, device_index);
    if (!chosen) {
        std::cerr << "polymer-run: error: " << chosen.error() << "\n";
        return kExitBadInput;
    }
    if (!chosen.value().notice.empty()) std::cerr << "polymer-run: note: " << chosen.value().notice << "\n";
    if (backend_name == "auto" && !has_long_ops)
        chosen.value().description = "cpu (auto: the program has no vector ops or kernels)";
    // --nodes / --local-nodes: kernels spread over polymer-node workers (docs/cluster.md).
    auto cluster = polymer::cluster::start_cluster(cluster_flags, *module, *chosen.value().backend, max_memory);
    if (!cluster) {
        std::cerr << "polymer-run: error: " << cluster.error() << "\n";
        return kExitBadInput;
    }

    polymer::OutputBuffer out(1);
    if (input) input->before_read([&out] { out.flush(); });
    cluster.value().on_fatal([&out] { out.flush(); });
    // A device that failed an op stops the run: its results would be garbage.
    chosen.value().backend->on_failure([&out, &session = cluster.value()](const std::string& why) {
        out.flush();
        std::fprintf(stderr, "polymer-run: error: %s\n", why.c_str());
        if (session.local) session.local->stop();
        std::_Exit(kExitTrap);
    });
    polymer::MachineOptions options;
    options.max_steps = max_steps;
    options.memory_limit = max_memory;
    options.kernel_steps = kernel_steps;
    options.loop_kernels = !no_loop_kernels;
    options.launch_rounds = !no_launch_rounds;
    options.loop_kernel_min = loop_kernel_min;
    options.backend = chosen.value().backend.get();
    if (cluster.value().backend()) options.backend = cluster.value().backend();
    options.procedure_nodes = cluster.value().procedure_nodes();  // spawn onto a node (null: the home only)
    options.exec = *polymer::parse_exec_mode(exec_name);
    options.rob_size = rob_size;
    options.args = program_args;
    options.input = input ? &*input : nullptr;
    polymer::PipelineLog pipeline_log;
    if (!trace_path.empty() || !pipeview_path.empty()) {
        if (options.exec == polymer::ExecMode::InOrder)
            return polymer::tools::usage_error("polymer-run", "--trace and --pipeview need --exec frames, ooo or spec");
        options.pipeline_log = &pipeline_log;
        polymer::RoutingBackend* routed = chosen.value().backend.get();
        // With a cluster, kernels go to it (one track per node: add_to_trace below).
        const bool clustered = cluster.value().backend() != nullptr;
        cluster.value().record_chunk_runs();
        options.backend_track = [routed, clustered](const polymer::VectorOpArgs* v, const polymer::KernelLaunch* l) {
            if (l != nullptr && clustered) return std::string("cluster");
            const auto target = v != nullptr ? routed->route(*v) : routed->route(*l);
            return std::string(target == polymer::RoutingBackend::OnVulkan ? "vulkan" : "cpu");
        };
    }
    auto machine = polymer::Machine::create(*module, out, options);
    if (!machine) {
        std::cerr << path << ": error: " << machine.error() << "\n";
        if (machine.error().find("memory limit") != std::string::npos)
            std::cerr << "polymer-run: note: --max-memory sets the limit (now " << max_memory << " bytes)\n";
        return kExitBadInput;
    }
    std::optional<std::uint32_t> proc = machine.value()->find_proc(entry);
    if (!proc) {
        std::cerr << "polymer-run: error: no procedure named '" << entry << "' in " << path << "\n";
        return kExitBadInput;
    }
    std::vector<std::uint32_t> dump_region_indices;
    for (const std::string& name : dump_region_names) {
        auto it = std::find_if(module->regions.begin(), module->regions.end(),
                               [&](const polymer::RegionDecl& r) { return r.name == name; });
        if (it == module->regions.end()) {
            std::cerr << "polymer-run: error: --dump-region: no region named '" << name << "' in " << path << "\n";
            return kExitBadInput;
        }
        dump_region_indices.push_back(static_cast<std::uint32_t>(it - module->regions.begin()));
    }
    if (debug || !batch_file.empty()) {
        // The debugger steps the in-order machine unless --exec ooo or spec asks
        // for the reorder engine (docs/debugger.md); frames has no session of its own.
        if (app.count("--exec") == 0) options.exec = polymer::ExecMode::InOrder;
        if (options.exec == polymer::ExecMode::Frames) {
            std::cerr << "polymer-run: note: --debug steps the in-order machine; --exec frames is not used\n";
            options.exec = polymer::ExecMode::InOrder;
        }
        if (options.exec != polymer::ExecMode::InOrder && polymer::has_procedure_ops(*module)) {
            std::cerr << "polymer-run: note: --debug steps a program with procedures in order; --exec "
                      << polymer::exec_mode_name(options.exec) << " is not used\n";
            options.exec = polymer::ExecMode::InOrder;
        }
        if (!trace_path.empty() || !pipeview_path.empty())
            std::cerr << "polymer-run: note: --trace and --pipeview are not written under --debug\n";
        machine.value().reset();  // the session makes its own (and `run` a fresh one): keep one copy of the regions
        polymer::repl::DebugRunOptions d;
        d.program_path = path;
        d.batch_file = batch_file;
        d.history_steps = history_steps;
        if (const polymer::cluster::ClusterBackend* c = cluster.value().cluster()) {
            const polymer::cluster::ClusterSession* nodes = &cluster.value();
            d.nodes_view = [c, nodes] {
                return "Nodes:\n" + c->describe_nodes() + "What each has run (the home too):\n" + nodes->participants_text();
            };
        }
        return polymer::repl::debug_main(*module, out, options, *proc, d, [&](const polymer::Machine& m) {
            if (registers) dump_registers(m, out);
            dump_regions(m, dump_region_indices, out);
        });
    }

    catch_interrupt();
    const auto start = std::chrono::steady_clock::now();
    polymer::RunResult result = machine.value()->run(*proc);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

    if (registers) dump_registers(*machine.value(), out);
    dump_regions(*machine.value(), dump_region_indices, out);
    auto write_log = [&](const std::string& file, auto writer) {
        if (file.empty()) return true;
        std::ofstream f(file, std::ios::binary);
        if (f) writer(f, *module, pipeline_log);
        if (f && f.flush()) return true;
        std::cerr << "polymer-run: error: cannot write '" << file << "'\n";
        return false;
    };
    cluster.value().add_to_trace(pipeline_log);
    const bool logs_written = write_log(trace_path, polymer::write_chrome_trace) &&
                              write_log(pipeview_path, polymer::write_kanata_log);
    out.flush();  // the program's output comes before any trap message
    if (result.trap) {
        std::cerr << "polymer-run: "
                  << polymer::format_trap(*module, *result.trap, polymer::disassemble_word(*module, result.trap->pc))
                  << "\n";
    }
    if (const polymer::Procedures* procs = machine.value()->procedures(); procs != nullptr && !result.trap) {
        std::istringstream lines(procs->still_running_text());
        for (std::string line; std::getline(lines, line);) std::cerr << "polymer-run: note: " << line << "\n";
    }
    if (stats) {
        const double seconds = elapsed.count();
        std::fprintf(stderr, "polymer-run: %llu instructions in %.3f s (%.1f M instructions/s, %.2f ns/instruction)\n",
                     static_cast<unsigned long long>(result.steps), seconds,
                     seconds > 0 ? static_cast<double>(result.steps) / seconds / 1e6 : 0.0,
                     result.steps > 0 ? seconds * 1e9 / static_cast<double>(result.steps) : 0.0);
        const polymer::RoutingBackend& routed = *chosen.value().backend;
        std::fprintf(stderr, "polymer-run: backend %s; %llu kernel launches; %s\n",
                     chosen.value().description.c_str(),
                     static_cast<unsigned long long>(machine.value()->kernels_launched()), routed.counts_text().c_str());
        if (routed.mode() == polymer::RouteMode::BySize)
            std::fprintf(stderr, "polymer-run: routing to the Vulkan device by size: %s\n", routed.table_text().c_str());
        for (const auto& [kernel, why] : routed.refusals())
            std::fprintf(stderr, "polymer-run: kernel '%s' ran on the cpu backend: %s\n", kernel.c_str(), why.c_str());
        std::fprintf(stderr, "polymer-run: bytes moved: %s\n", routed.bytes_text().c_str());
        if (machine.value()->has_launch_loops() && options.launch_rounds)
            std::fprintf(stderr, "polymer-run: loops of launches: %s\n",
                         polymer::launch_round_stats_text(machine.value()->launch_round_stats()).c_str());
        if (!module->loop_kernels.empty())
            std::fprintf(stderr, "polymer-run: loop kernels: %s\n",
                         polymer::loop_kernel_stats_text(machine.value()->loop_kernel_stats()).c_str());
        if (const polymer::KernelSpirvStats k = polymer::kernel_spirv_stats(); k.compiled + k.disk_hits + k.memory_hits > 0)
            std::fprintf(stderr, "polymer-run: kernels lowered to SPIR-V: %llu compiled, %llu read from the cache dir, "
                                 "%llu found in this process\n",
                         static_cast<unsigned long long>(k.compiled), static_cast<unsigned long long>(k.disk_hits),
                         static_cast<unsigned long long>(k.memory_hits));
        std::fputs(cluster.value().stats_text().c_str(), stderr);
        if (const polymer::Procedures* procs = machine.value()->procedures()) std::fputs(procs->stats_text().c_str(), stderr);
        if (options.exec != polymer::ExecMode::InOrder) {
            const polymer::EngineStats& es = machine.value()->engine_stats();
            std::fprintf(stderr, "polymer-run: exec %s, ROB %u entries: occupancy mean %.1f max %llu; IPC %.2f (%llu committed in %llu cycles, %llu waits on a backend; %llu more run by the interpreter with the ROB idle)\n",
                         std::string(polymer::exec_mode_name(options.exec)).c_str(), options.rob_size,
                         es.mean_occupancy(), static_cast<unsigned long long>(es.occupancy_max), es.ipc(),
                         static_cast<unsigned long long>(es.committed - es.interpreted),
                         static_cast<unsigned long long>(es.cycles), static_cast<unsigned long long>(es.stall_waits),
                         static_cast<unsigned long long>(es.interpreted));
            std::fprintf(stderr, "polymer-run: frames executed %llu; branch predictions %llu, hit rate %.1f%%; squashed %llu instructions, %.3f ms of squashed vector/kernel time\n",
                         static_cast<unsigned long long>(es.frames), static_cast<unsigned long long>(es.predictions),
                         es.hit_rate() * 100.0, static_cast<unsigned long long>(es.squashed),
                         static_cast<double>(es.squashed_long_ns) / 1e6);
        }
    }
    if (out.failed()) {
        std::cerr << "polymer-run: error: writing the program's output failed\n";
        if (!result.trap) return kExitBadInput;
    }
    if (!logs_written && !result.trap) return kExitBadInput;
    if (!result.trap) return kExitOk;
    if (result.trap->kind == polymer::TrapKind::Interrupted) return kExitInterrupted;
    return result.trap->kind == polymer::TrapKind::StepLimit ? kExitStepLimit : kExitTrap;
}

int main(int argc, char** argv) {
    std::unique_ptr<polymer::cluster::MpiLaunch> mpi;
    const int status = polymer::tools::guarded_main("polymer-run", [&] { return run_tool(argc, argv, mpi); });
    return mpi ? mpi->finish(status) : status;
}
