// How every tool reads its options: CLI11 parses the command line; --help and
// --version print and exit 0; a usage error prints `TOOL: error: WHAT` and a
// hint and exits kExitUsage (64), the same on every tool.
//
// Tools with a config file read it after the command line and the
// environment, through CLI11's own config reader (TOML or INI, `key = value`
// with the long option's name): CLI11 fills only the options still unset, so
// the command line wins over the environment, which wins over the file.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <sstream>
#include <string>

#include "src/tools/exit_status.h"
#include "src/tools/read_input.h"

namespace polymer::tools {

inline int usage_error(const std::string& tool, const std::string& what) {
    std::fprintf(stderr, "%s: error: %s\nRun '%s --help' for the options.\n", tool.c_str(), what.c_str(), tool.c_str());
    return kExitUsage;
}

// A size option (--max-memory 512M): a number with an optional unit, K, M, G
// or T (powers of 1024, as KiB, MiB...), through CLI11's AsSizeValue; the
// error names the value.
inline CLI::Validator size_value() {
    CLI::Validator sizes = CLI::AsSizeValue(/*kb_is_1000=*/false);
    return CLI::Validator(
        [sizes](std::string& text) mutable {
            const std::string given = text;
            try {
                if (sizes(text).empty()) return std::string();
            } catch (const CLI::ValidationError&) {  // AsSizeValue throws for an unknown unit
            }
            return "'" + given + "' is not a size like 512M, 4G or 1048576";
        },
        "");
}

// nullopt: go on with the options parsed; otherwise exit with the status returned.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv, const std::string& tool) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        return usage_error(tool, e.what());
    }
    return std::nullopt;
}

// After parse_command_line (and the environment): the options still unset
// are read from `path`. An empty path, or a missing file that was not asked
// for (`required` false: a default path), reads nothing. Either way CLI11
// then checks and stores every option once more, so a value put in by hand
// in between (Option::add_result) is validated like one from the command line.
inline std::optional<int> read_config_file(CLI::App& app, const std::string& path, bool required, const std::string& tool) {
    std::string text;
    if (!path.empty()) {
        std::string why;
        std::optional<std::string> read = read_input(path, why);
        if (read) text = std::move(*read);
        else if (required || ::access(path.c_str(), F_OK) == 0) return usage_error(tool, "config file: " + why);
    }
    app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error, not ignored
    std::istringstream in(text);
    try {
        app.parse_from_stream(in);
    } catch (const CLI::ConfigError& e) {
        return usage_error(tool, path + ": " + e.what());
    } catch (const CLI::ParseError& e) {
        return usage_error(tool, text.empty() ? std::string(e.what()) : std::string(e.what()) + " (with the settings of " + path + ")");
    }
    return std::nullopt;
}

}  // namespace polymer::tools
