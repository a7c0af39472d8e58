// polymer-as: assembles a .pasm file into a .pbc module; also prints
// listings and disassembles .pbc files. Exit status: 0 ok, 1 on any error, 64
// a usage error (src/tools/exit_status.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>

#include <unistd.h>

#include "assembler/assembler.h"
#include "assembler/kernel_spirv.h"
#include "assembler/disassembler.h"
#include "assembler/frame_listing.h"
#include "assembler/kernel_glsl.h"
#include "isa/module_io.h"
#include "command_line.h"
#include "guarded_main.h"
#include "read_input.h"

#ifndef POLYMER_VERSION
#define POLYMER_VERSION "unknown"
#endif

namespace {

namespace fs = std::filesystem;

// Writes next to the destination and renames, so that a failed or interrupted
// write never leaves a half-written (or clobbered) output file.
bool write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes, std::string& error) {
    fs::path target(path);
    fs::path temp = target;
    temp += ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) {
            error = "cannot create '" + temp.string() + "'";
            return false;
        }
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            error = "cannot write '" + temp.string() + "'";
            std::error_code ignored;
            fs::remove(temp, ignored);
            return false;
        }
    }
    std::error_code ec;
    fs::rename(temp, target, ec);
    if (ec) {
        error = "cannot write '" + path + "': " + ec.message();
        fs::remove(temp, ec);
        return false;
    }
    return true;
}

int disassemble_file(const std::string& path) {
    std::string why;
    std::optional<std::string> read = polymer::tools::read_input(path, why);
    if (!read) {
        std::cerr << "polymer-as: error: " << why << "\n";
        return 1;
    }
    const std::string& text = *read;
    std::vector<std::uint8_t> bytes(text.begin(), text.end());
    polymer::Result<polymer::Module> module = polymer::load_module(bytes);
    if (!module) {
        std::cerr << path << ": error: " << module.error() << "\n";
        return 1;
    }
    std::cout << polymer::disassemble(module.value());
    return 0;
}

}  // namespace

static int run_tool(int argc, char** argv) {
    CLI::App app{"Assemble Polymer assembly (.pasm) into a bytecode module (.pbc)"};
    app.set_version_flag("--version", std::string("polymer-as ") + POLYMER_VERSION);
    std::string input;
    std::string output;
    std::string disassemble_path;
    bool show_listing = false;
    bool show_frames = false;
    bool emit_glsl = false;
    bool report_loops = false;
    bool no_loop_kernels = false;
    app.add_option("FILE", input, "the .pasm file to assemble ('-' reads standard input)");
    app.add_option("-o,--output", output, "the .pbc file to write (default: FILE with the extension .pbc; '-' writes standard output)");
    std::vector<std::string> include_dirs;
    app.add_option("-I,--include-dir", include_dirs, "also look for '.include' files in DIR (repeatable)")
        ->allow_extra_args(false)
        ->check(CLI::ExistingDirectory);
    app.add_flag("--listing", show_listing, "also print a listing (address, encoding, instruction, source line)");
    app.add_flag("--frames", show_frames, "also print each block's frames and why each instruction waits (docs/frames.md)");
    app.add_flag("--emit-glsl", emit_glsl, "print each kernel's generated GLSL (to -o FILE, or standard output) instead of writing a .pbc");
    app.add_flag("--report-loops", report_loops,
                 "print, for each loop, whether it was turned into a kernel and why not (docs/loop-kernels.md)");
    app.add_flag("--no-loop-kernels", no_loop_kernels, "leave every loop scalar: no kloop words, no loop kernels");
    app.add_option("--disassemble", disassemble_path, "print the .pbc file as assembly instead of assembling")
        ->check(CLI::ExistingFile);
    app.footer("Exit status:\n  0   written\n  1   an error in the input, or the output cannot be written\n"
               "  64  a usage error\n  70  an internal error (a bug)");
    if (auto done = polymer::tools::parse_command_line(app, argc, argv, "polymer-as")) return *done;
    using polymer::tools::usage_error;

    if (!disassemble_path.empty()) {
        if (!input.empty()) return usage_error("polymer-as", "--disassemble takes no FILE to assemble");
        return disassemble_file(disassemble_path);
    }
    if (input.empty()) return usage_error("polymer-as", "no input file");
    if (output.empty() && !emit_glsl) {
        if (input == "-") return usage_error("polymer-as", "reading standard input needs -o FILE");
        output = fs::path(input).replace_extension(".pbc").string();
    }

    if (output == "-" && (show_listing || show_frames))
        return usage_error("polymer-as", std::string(show_listing ? "--listing" : "--frames") +
                                             " and -o - would both write to standard output");
    std::string why;
    std::optional<std::string> read = polymer::tools::read_input(input, why);
    if (!read) {
        std::cerr << "polymer-as: error: " << why << "\n";
        return 1;
    }
    const std::string& source = *read;
    polymer::AssembleOptions options;
    options.filename = input == "-" ? "<stdin>" : input;
    options.include_dirs = include_dirs;
    options.loop_kernels = !no_loop_kernels;
    options.spirv_cache_dir = polymer::default_cache_dir();  // kernels compile once per machine
    polymer::AssembleResult result = polymer::assemble(source, options);
    for (const polymer::Diagnostic& d : result.diagnostics) std::cerr << polymer::format_diagnostic(d);
    if (report_loops)
        for (const std::string& line : result.loop_report) std::cerr << line << "\n";
    if (!result.ok()) {
        const std::size_t errors = result.errors;
        std::cerr << errors << (errors == 1 ? " error" : " errors") << " generated; '" << output
                  << "' was not written\n";
        return 1;
    }
    if (emit_glsl) {
        std::string text;
        for (const polymer::Kernel& k : result.module->kernels)
            text += "// kernel " + k.name + "\n" + polymer::kernel_to_glsl(k) + "\n";
        if (output.empty() || output == "-") {
            std::cout << text;
            return std::cout ? 0 : 1;
        }
        std::string error;
        if (!write_file_atomically(output, std::vector<std::uint8_t>(text.begin(), text.end()), error)) {
            std::cerr << "polymer-as: error: " << error << "\n";
            return 1;
        }
        return 0;
    }
    if (show_listing) std::cout << polymer::listing(*result.module, source);
    if (show_frames) std::cout << polymer::frame_listing(*result.module);

    std::vector<std::uint8_t> bytes = polymer::write_module(*result.module);
    if (output == "-") {
        std::cout.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        return std::cout ? 0 : 1;
    }
    std::string error;
    if (!write_file_atomically(output, bytes, error)) {
        std::cerr << "polymer-as: error: " << error << "\n";
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-as", [&] { return run_tool(argc, argv); });
}
