// polymer-dis: prints a .pbc module as assembly that re-assembles to the same bytes.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "assembler/disassembler.h"
#include "isa/module_io.h"
#include "command_line.h"
#include "guarded_main.h"
#include "read_input.h"

static int run_tool(int argc, char** argv) {
    CLI::App app{"Disassemble a Polymer bytecode module (.pbc) to assembly (.pasm)"};
    app.set_version_flag("--version", std::string("polymer-dis ") + POLYMER_VERSION);
    std::string path;
    bool no_loc = false;
    bool no_frames = false;
    app.add_option("FILE", path, "the .pbc module to disassemble")->required();
    app.add_flag("--no-loc", no_loc, "omit .file/.loc directives (easier to read; the line table is not kept)");
    app.add_flag("--no-frames", no_frames, "omit the '; -- frame k --' comments that mark the frame table");
    app.footer("Exit status:\n  0   printed\n  1   an unreadable or invalid module\n  64  a usage error\n"
               "  70  an internal error (a bug)");
    if (auto done = polymer::tools::parse_command_line(app, argc, argv, "polymer-dis")) return *done;

    std::string why;
    std::optional<std::string> read = polymer::tools::read_input(path, why);
    if (!read) {
        std::cerr << "polymer-dis: error: " << why << "\n";
        return 1;
    }
    const std::vector<std::uint8_t> bytes(read->begin(), read->end());
    polymer::Result<polymer::Module> module = polymer::load_module(bytes);
    if (!module) {
        std::cerr << path << ": error: " << module.error() << "\n";
        return 1;
    }
    polymer::DisassembleOptions options;
    options.source_locations = !no_loc;
    options.frames = !no_frames;
    std::cout << polymer::disassemble(module.value(), options);
    return 0;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-dis", [&] { return run_tool(argc, argv); });
}
