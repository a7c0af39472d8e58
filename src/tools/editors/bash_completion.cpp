#include "src/tools/editors/bash_completion.h"

#include <algorithm>
#include <cctype>

namespace polymer::editors {

namespace {

constexpr std::size_t kDescriptionColumn = 30;  // CLI11's default column width

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t end = s.find(sep, start);
        if (end == std::string_view::npos) end = s.size();
        if (end > start) parts.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

bool is_entry(std::string_view line) {
    return line.size() > 2 && line.substr(0, 2) == "  " && line[2] != ' ';
}
bool is_continuation(std::string_view line) {
    return line.size() > kDescriptionColumn &&
           line.find_first_not_of(' ') == kDescriptionColumn;
}

// "the program: a .pasm source file or a .pbc module" -> pasm, pbc.
void add_extensions(std::string_view description, std::vector<std::string>& out) {
    for (std::size_t i = 0; i + 1 < description.size(); ++i) {
        if (description[i] != '.' || (i > 0 && description[i - 1] != ' ' && description[i - 1] != '(')) continue;
        std::size_t j = i + 1;
        while (j < description.size() && std::islower(static_cast<unsigned char>(description[j]))) ++j;
        if (j > i + 1 && std::find(out.begin(), out.end(), description.substr(i + 1, j - i - 1)) == out.end())
            out.emplace_back(description.substr(i + 1, j - i - 1));
    }
}

CliOption parse_option(std::string_view head) {
    CliOption o;
    std::vector<std::string> tokens = split(head, ' ');
    if (tokens.empty()) return o;
    o.names = split(tokens[0], ',');
    if (tokens.size() < 2 || tokens[1] == "REQUIRED") return o;
    o.takes_value = true;
    const std::string& type = tokens[1];
    if (const std::size_t open = type.find(":{"); open != std::string::npos) {
        const std::size_t close = type.find('}', open);
        o.choices = split(std::string_view(type).substr(open + 2, close - open - 2), ',');
    } else {
        o.file_value = type.rfind("TEXT", 0) == 0 || type.find("FILE") != std::string::npos;
    }
    return o;
}

std::string function_name(std::string_view tool) {
    std::string f = "_";
    for (char c : tool) f += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return f;
}

// $'a\nb\nc': a compgen -W list under IFS=$'\n' (file names may hold spaces).
std::string word_list(const std::vector<std::string>& words) {
    std::string out = "$'";
    for (const std::string& w : words) out += (out.size() > 2 ? "\\n" : "") + w;
    return out + "'";
}

std::string case_label(const CliOption& o) {
    std::string label;
    for (const std::string& n : o.names) label += (label.empty() ? "" : "|") + n;
    return label;
}

}  // namespace

CliHelp parse_cli11_help(std::string_view help) {
    CliHelp h;
    enum class Section { None, Positionals, Options } section = Section::None;
    const std::vector<std::string_view> lines = lines_of(help);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        if (line == "Positionals:") section = Section::Positionals;
        // "Options:" and every option group's title ("Cluster:", "Security:").
        else if (!line.empty() && line[0] != ' ') section = line.back() == ':' ? Section::Options : Section::None;
        if (section == Section::None || !is_entry(line)) continue;
        // The head (names and type) runs to column 30, or to the end of the
        // line when the description starts on the next.
        const bool wide = i + 1 < lines.size() && is_continuation(lines[i + 1]);
        std::string_view head = wide ? line : line.substr(0, std::min(line.size(), kDescriptionColumn));
        std::string_view description = wide ? lines[i + 1] : line.size() > kDescriptionColumn ? line.substr(kDescriptionColumn) : "";
        if (section == Section::Positionals) {
            h.has_positionals = true;
            add_extensions(description, h.positional_extensions);
        } else if (head[2] != '-') {
            continue;  // not an option: a footer's list ("Exit status:", "  0 halted")
        } else if (CliOption o = parse_option(head); !o.names.empty()) {
            h.options.push_back(std::move(o));
        }
    }
    return h;
}

std::string bash_completion(std::string_view tool, const CliHelp& help) {
    const std::string fn = function_name(tool);
    std::vector<std::string> all_names;
    std::string cases;
    std::string files, plain;
    for (const CliOption& o : help.options) {
        all_names.insert(all_names.end(), o.names.begin(), o.names.end());
        if (!o.takes_value) continue;
        if (!o.choices.empty())
            cases += "        " + case_label(o) + ") COMPREPLY=($(compgen -W " + word_list(o.choices) +
                     " -- \"$cur\")); return ;;\n";
        else
            (o.file_value ? files : plain) += (o.file_value ? files : plain).empty() ? case_label(o) : "|" + case_label(o);
    }
    if (!files.empty()) cases += "        " + files + ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
    if (!plain.empty()) cases += "        " + plain + ") COMPREPLY=(); return ;;\n";

    std::string positional = "COMPREPLY=()";
    if (help.has_positionals) {
        if (help.positional_extensions.empty()) {
            positional = "COMPREPLY=($(compgen -f -- \"$cur\"))";
        } else {
            positional = "COMPREPLY=($(compgen -d -- \"$cur\")";
            for (const std::string& e : help.positional_extensions) positional += " $(compgen -f -X '!*." + e + "' -- \"$cur\")";
            positional += ")";
        }
    }

    std::string s;
    s += "# bash completion for " + std::string(tool) + ", generated by polymer-editor-files from `" + std::string(tool) +
         " --help`; do not edit.\n";
    s += fn + "() {\n";
    s += "    local IFS=$'\\n' cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i\n";
    s += "    # bash splits --option=value at the '='.\n";
    s += "    if [[ $cur == = ]]; then cur=\n";
    s += "    elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}\n";
    s += "    fi\n";
    s += "    # After --, the program's own arguments: any file.\n";
    s += "    for ((i = 1; i < COMP_CWORD; i++)); do\n";
    s += "        if [[ ${COMP_WORDS[i]} == -- ]]; then COMPREPLY=($(compgen -f -- \"$cur\")); return; fi\n";
    s += "    done\n";
    s += "    case $prev in\n" + cases + "    esac\n";
    s += "    if [[ $cur == -* ]]; then\n";
    s += "        COMPREPLY=($(compgen -W " + word_list(all_names) + " -- \"$cur\"))\n";
    s += "        return\n";
    s += "    fi\n";
    s += "    " + positional + "\n";
    s += "}\n";
    s += "complete -o filenames -F " + fn + " " + std::string(tool) + "\n";
    return s;
}

}  // namespace polymer::editors
