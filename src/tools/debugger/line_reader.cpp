#include "src/tools/debugger/line_reader.h"

#include <editline/readline.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace polymer::repl {
namespace {

class StreamReader final : public LineReader {
public:
    explicit StreamReader(std::istream& in) : in_(in) {}
    std::optional<std::string> read() override {
        std::string line;
        if (!std::getline(in_, line)) return std::nullopt;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }

private:
    std::istream& in_;
};

// libedit's readline interface keeps its completion hook in globals, so the
// candidates for the word being completed live here while it runs.
Completer* g_completer = nullptr;
std::vector<std::string> g_candidates;

char* next_candidate(const char* text, int state) {
    static std::size_t i;
    if (state == 0) i = 0;
    const std::size_t n = std::strlen(text);
    while (i < g_candidates.size()) {
        const std::string& c = g_candidates[i++];
        if (c.compare(0, n, text) == 0) return strdup(c.c_str());
    }
    return nullptr;
}

char** complete(const char* text, int start, int /*end*/) {
    rl_attempted_completion_over = 1;  // never fall back to file names
    bool first_word = true;
    for (int k = 0; k < start; ++k)
        if (rl_line_buffer[k] != ' ' && rl_line_buffer[k] != '\t') first_word = false;
    g_candidates = (*g_completer)(first_word);
    return rl_completion_matches(text, next_candidate);
}

class TerminalReader final : public LineReader {
public:
    TerminalReader(std::string prompt, std::string history_file, Completer completer)
        : prompt_(std::move(prompt)), history_file_(std::move(history_file)), completer_(std::move(completer)) {
        g_completer = &completer_;
        rl_attempted_completion_function = complete;
        rl_basic_word_break_characters = " \t[]()=<>!+-*/%&|^,";
        using_history();
        if (!history_file_.empty()) read_history(history_file_.c_str());
    }
    ~TerminalReader() override { g_completer = nullptr; }

    std::optional<std::string> read() override {
        char* raw = readline(prompt_.c_str());
        if (raw == nullptr) return std::nullopt;
        std::string line(raw);
        std::free(raw);
        if (line.find_first_not_of(" \t") != std::string::npos) {
            add_history(line.c_str());
            if (!history_file_.empty()) {
                write_history(history_file_.c_str());
                history_truncate_file(history_file_.c_str(), 1000);
            }
        }
        return line;
    }

private:
    std::string prompt_;
    std::string history_file_;
    Completer completer_;
};

}  // namespace

std::unique_ptr<LineReader> stream_reader(std::istream& in) { return std::make_unique<StreamReader>(in); }

std::unique_ptr<LineReader> terminal_reader(std::string prompt, std::string history_file, Completer completer) {
    return std::make_unique<TerminalReader>(std::move(prompt), std::move(history_file), std::move(completer));
}

std::string default_history_file() {
    if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
        std::filesystem::path dir = std::filesystem::path(state) / "polymer";
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        return (dir / "history").string();
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return (std::filesystem::path(home) / ".polymer_history").string();
    return {};
}

}  // namespace polymer::repl
