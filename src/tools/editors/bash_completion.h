// Bash completion for the tools, generated from what each tool's CLI11
// option table prints for --help, so an option added to a tool is completed
// without anyone editing a script. docs/editors.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace polymer::editors {

struct CliOption {
    std::vector<std::string> names;    // "-o", "--output"
    bool takes_value = false;
    std::vector<std::string> choices;  // `TEXT:{auto,vulkan,cpu}`: complete these
    bool file_value = false;           // a TEXT or FILE value: complete file names
};

struct CliHelp {
    std::vector<CliOption> options;
    bool has_positionals = false;
    // The extensions the positionals' descriptions name ("the .pasm file to
    // assemble": pasm), to complete only those files; empty: any file.
    std::vector<std::string> positional_extensions;
};

// Reads CLI11's help layout: "Positionals:" and "Options:" sections, an entry
// per line indented by two spaces, its description from column 30 (on the
// next line when the name and type are wider).
CliHelp parse_cli11_help(std::string_view help);

// A completion script for `tool` (bash's `complete -F`), needing nothing but bash.
std::string bash_completion(std::string_view tool, const CliHelp& help);

}  // namespace polymer::editors
