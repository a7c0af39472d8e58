#include "assembler/includes.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "assembler/lexer.h"

namespace polymer::asm_detail {

namespace {

namespace fs = std::filesystem;

// Deep enough for any real program; stops runaway nesting early.
constexpr std::size_t kMaxIncludeDepth = 64;

Result<std::string> read_from_disk(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return Error{"is a directory"};
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{std::strerror(errno)};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class IncludeReader {
public:
    IncludeReader(SourceText& source, const AssembleOptions& options, DiagnosticSink& sink)
        : source_(source), options_(options), sink_(sink) {}

    void run(std::string_view main_text) {
        const std::string main_name = options_.filename;
        const bool real_file = main_name != "<input>" && main_name != "-" && main_name != "<stdin>";
        std::vector<std::string> stack;
        if (real_file) {
            stack.push_back(identity(main_name));
            seen_.insert(stack.back());
        }
        lines_of(0, main_text, real_file ? fs::path(main_name).parent_path() : fs::path(), stack);
    }

    bool complete() const { return complete_; }

private:
    // Two spellings of one file are one file.
    static std::string identity(const fs::path& p) {
        std::error_code ec;
        fs::path c = fs::weakly_canonical(p, ec);
        return (ec ? p.lexically_normal() : c).string();
    }

    void lines_of(std::uint32_t file, std::string_view text, const fs::path& dir, std::vector<std::string>& stack) {
        std::uint32_t n = 1;
        SourceText::for_each_line(text, [&](std::string_view line) {
            source_.append_line(file, n++, line);
            if (line.find(".include") != std::string_view::npos) include(line, dir, stack);
        });
    }

    // `line` was just appended; its number is the source's line count.
    void include(std::string_view line, const fs::path& dir, std::vector<std::string>& stack) {
        const std::uint32_t at = source_.line_count();
        LexedLine lexed = lex_line(line);
        const std::vector<Token>& t = lexed.tokens;
        if (lexed.error || t[0].kind != TokenKind::Directive || t[0].text != ".include") return;  // the parser reports it
        if (t[1].kind != TokenKind::String || t[2].kind != TokenKind::End) {
            const Token& bad = t[1].kind != TokenKind::String ? t[1] : t[2];
            sink_.error(at, bad.col,
                        t[1].kind != TokenKind::String
                            ? "expected a file name in quotes after '.include', got " + describe(bad)
                            : "unexpected " + describe(bad) + " after the file name");
            return;
        }
        const Token& name = t[1];
        const std::string& wanted = name.string_value;
        if (wanted.empty()) {
            sink_.error(at, name.col, "'.include' needs a file name");
            return;
        }
        std::optional<fs::path> path = find(wanted, dir);
        if (!path) {
            std::string looked = dir.empty() ? "." : dir.string();
            for (const std::string& d : options_.include_dirs) looked += ", " + d;
            sink_.error(at, name.col, "cannot include '" + wanted + "': no such file (looked in " + looked + ")");
            complete_ = false;
            return;
        }
        const std::string id = identity(*path);
        for (std::size_t i = 0; i < stack.size(); ++i) {
            if (stack[i] != id) continue;
            std::string chain;
            for (std::size_t j = i; j < stack.size(); ++j) chain += fs::path(stack[j]).filename().string() + " -> ";
            sink_.error(at, name.col, "'.include' cycle: " + chain + fs::path(id).filename().string());
            return;
        }
        if (seen_.count(id)) return;  // already in the program
        if (stack.size() >= kMaxIncludeDepth) {
            sink_.error(at, name.col, "includes nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
            complete_ = false;
            return;
        }
        Result<std::string> text = options_.read_include ? options_.read_include(path->string())
                                                         : read_from_disk(path->string());
        if (!text) {
            sink_.error(at, name.col, "cannot read '" + path->string() + "': " + text.error());
            complete_ = false;
            return;
        }
        if (auto bad = first_binary_byte(text.value())) {
            sink_.error(at, name.col, "'" + path->string() + "' is not a text file (a control byte at its line " +
                                          std::to_string(bad->line) + ")");
            complete_ = false;
            return;
        }
        seen_.insert(id);
        const std::uint32_t file = source_.add_file(path->string());
        stack.push_back(id);
        lines_of(file, source_.keep(std::move(text.value())), path->parent_path(), stack);
        stack.pop_back();
    }

    std::optional<fs::path> find(const std::string& wanted, const fs::path& dir) const {
        const fs::path p(wanted);
        auto exists = [&](const fs::path& candidate) {
            if (options_.read_include) return true;  // the reader decides (tests, fuzzing)
            std::error_code ec;
            return fs::exists(candidate, ec);
        };
        if (p.is_absolute()) return p;
        if (fs::path here = (dir / p).lexically_normal(); exists(here)) return here;
        for (const std::string& d : options_.include_dirs)
            if (fs::path there = (fs::path(d) / p).lexically_normal(); exists(there)) return there;
        return std::nullopt;
    }

    SourceText& source_;
    const AssembleOptions& options_;
    DiagnosticSink& sink_;
    std::set<std::string> seen_;
    bool complete_ = true;
};

}  // namespace

bool read_with_includes(SourceText& source, std::string_view main_text, const AssembleOptions& options,
                        DiagnosticSink& sink) {
    IncludeReader reader(source, options, sink);
    reader.run(main_text);
    return reader.complete();
}

}  // namespace polymer::asm_detail
