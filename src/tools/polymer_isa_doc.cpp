// polymer-isa-doc: prints the ISA reference (docs/isa.md) generated from the
// opcode and format tables.
#include <CLI/CLI.hpp>

#include <iostream>

#include "isa/isa_reference.h"
#include "guarded_main.h"

static int run_tool(int argc, char** argv) {
    CLI::App app{"Print the Polymer ISA reference (markdown) generated from the opcode table"};
    app.set_version_flag("--version", std::string("polymer-isa-doc ") + POLYMER_VERSION);
    CLI11_PARSE(app, argc, argv);
    std::cout << polymer::isa_reference_markdown();
    return 0;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-isa-doc", [&] { return run_tool(argc, argv); });
}
