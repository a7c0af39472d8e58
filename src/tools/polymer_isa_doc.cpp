// polymer-isa-doc: prints the ISA reference (docs/isa.md) generated from the
// opcode and format tables.
#include <CLI/CLI.hpp>

#include <iostream>

#include "isa/isa_reference.h"
#include "command_line.h"
#include "guarded_main.h"

static int run_tool(int argc, char** argv) {
    CLI::App app{"Print the Polymer ISA reference (markdown) generated from the opcode table"};
    app.set_version_flag("--version", std::string("polymer-isa-doc ") + POLYMER_VERSION);
    app.footer("Exit status:\n  0   printed\n  64  a usage error\n  70  an internal error (a bug)");
    if (auto done = polymer::tools::parse_command_line(app, argc, argv, "polymer-isa-doc")) return *done;
    std::cout << polymer::isa_reference_markdown();
    return 0;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-isa-doc", [&] { return run_tool(argc, argv); });
}
