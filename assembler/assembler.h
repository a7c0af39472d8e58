// Text -> module. Reports every error of a file in one run.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer {

struct Diagnostic {
    enum class Severity { Error, Warning };
    Severity severity = Severity::Error;
    std::string file;
    std::uint32_t line = 0;  // 1-based
    std::uint32_t col = 0;   // 1-based
    std::string message;
    std::string source_line;  // the text of that line, for the caret display
};

struct AssembleOptions {
    std::string filename = "<input>";  // used in diagnostics and Module::source_file
    // Where `.include "name"` looks after the including file's own folder (`-I`).
    std::vector<std::string> include_dirs;
    // Reads an included file; unset: from disk. (Tests and the fuzzer give
    // their own.) Called with the path found; may fail with a reason.
    std::function<Result<std::string>(const std::string& path)> read_include;
    // Turn the loops the analysis proves independent into kernels (kloop
    // words, docs/loop-kernels.md); `polymer-as --no-loop-kernels` clears it.
    bool loop_kernels = true;
    // Where the kernels' SPIR-V (which assembling compiles, to report a
    // kernel Vulkan could not run at its `.kernel` line) is kept across
    // runs (assembler/kernel_spirv.h); empty: in this process only. The
    // tools give default_cache_dir(), so a .pasm's kernels compile once
    // per machine, not once per run.
    std::filesystem::path spirv_cache_dir;
};

struct AssembleResult {
    std::optional<Module> module;  // set when there was no error
    std::vector<Diagnostic> diagnostics;  // the first DiagnosticSink::kMaxShown, then a line counting the rest
    std::size_t errors = 0;               // every error, shown or not
    // One line per loop considered, "file:line: loop turned into kernel NAME
    // (...)" or "file:line: not turned into a kernel: why" (--report-loops).
    std::vector<std::string> loop_report;
    bool ok() const { return module.has_value(); }
};

AssembleResult assemble(std::string_view source, const AssembleOptions& options = {});

// "file:line:col: error: message\n<source line>\n<spaces>^\n"
std::string format_diagnostic(const Diagnostic& d);

// Every directive the assembler knows (".module", ".region", ...): the list
// its parser dispatches on and suggests from, read by the editors' syntax
// files (src/tools/editors).
std::span<const std::string_view> directive_names();

// The words with a meaning of their own inside declarations, for the same
// syntax files: region initialisers and placement, kernel parameter access,
// requirements, where a procedure launches, and the float literals spelled as words.
inline constexpr std::string_view kDeclarationWords[] = {"zeros", "fill", "range", "distributed", "in",  "out",    "inout",
                                                          "gpu",   "mem",  "node",  "cluster",     "inf", "nan"};

}  // namespace polymer
