// polymer-editor-files: writes the editor and shell support generated from
// the tables (src/tools/editors, docs/editors.md) into --out:
//   vim/syntax/pasm.vim, vim/ftdetect/pasm.vim
//   vscode/package.json, vscode/language-configuration.json, vscode/syntaxes/pasm.tmLanguage.json
//   bash-completion/TOOL for every --tool, from `TOOL --help`
// The build runs it; nothing installs it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "src/tools/editors/bash_completion.h"
#include "src/tools/editors/syntax_files.h"
#include "command_line.h"
#include "guarded_main.h"

namespace {

bool write_file(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (f.flush()) return true;
    std::cerr << "polymer-editor-files: error: cannot write '" << path.string() << "'\n";
    return false;
}

// What `tool --help` prints, or nullopt (with a message) when it cannot be run.
std::optional<std::string> help_of(const std::string& tool) {
    std::string quoted = "'";
    for (char c : tool) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    FILE* p = ::popen((quoted + "' --help").c_str(), "r");
    if (p == nullptr) return std::nullopt;
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, p)) text.append(buffer, n);
    if (::pclose(p) != 0) {
        std::cerr << "polymer-editor-files: error: '" << tool << " --help' failed\n";
        return std::nullopt;
    }
    return text;
}

}  // namespace

static int run_tool(int argc, char** argv) {
    CLI::App app{"Write the Vim, VS Code and bash completion files generated from Polymer's tables"};
    app.set_version_flag("--version", std::string("polymer-editor-files ") + POLYMER_VERSION);
    std::string out;
    std::vector<std::string> tools;
    app.add_option("--out", out, "the folder to write into")->required()->type_name("DIR");
    app.add_option("--tool", tools, "a tool to write bash completion for, from its --help (repeatable)")
        ->type_name("PATH")
        ->allow_extra_args(false);
    if (auto done = polymer::tools::parse_command_line(app, argc, argv, "polymer-editor-files")) return *done;
    namespace ed = polymer::editors;
    const std::filesystem::path dir = out;
    bool ok = write_file(dir / "vim/syntax/pasm.vim", ed::vim_syntax()) &&
              write_file(dir / "vim/ftdetect/pasm.vim", ed::vim_ftdetect()) &&
              write_file(dir / "vscode/package.json", ed::vscode_package_json(POLYMER_VERSION)) &&
              write_file(dir / "vscode/language-configuration.json", ed::vscode_language_configuration()) &&
              write_file(dir / "vscode/syntaxes/pasm.tmLanguage.json", ed::textmate_grammar());
    for (const std::string& tool : tools) {
        std::optional<std::string> help = help_of(tool);
        const std::string name = std::filesystem::path(tool).filename().string();
        ok = ok && help && write_file(dir / "bash-completion" / name, ed::bash_completion(name, ed::parse_cli11_help(*help)));
    }
    return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    return polymer::tools::guarded_main("polymer-editor-files", [&] { return run_tool(argc, argv); });
}
