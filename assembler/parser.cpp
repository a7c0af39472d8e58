#include "assembler/parser.h"

#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "isa/opcodes.h"

namespace polymer::asm_detail {

namespace {

constexpr std::array<std::string_view, 16> kDirectives = {
    ".module", ".file", ".loc", ".region", ".proc", ".kernel", ".end", ".requires", ".prefers", ".equ", ".include",
    ".wide", ".reassociate", ".channel", ".barrier", ".launches"};

// What `.channel` and `.barrier` declare: the words their messages use, and
// the range of the count (a channel's capacity in messages, a barrier's
// parties in procedures; isa/module.h).
struct SyncKind {
    std::string_view what;    // "channel"
    std::string_view count;   // "capacity"
    std::string_view syntax;  // ".channel NAME CAPACITY"
    std::uint32_t max_count;
    unsigned max_objects;
};
constexpr SyncKind kChannelKind{"channel", "capacity", ".channel NAME CAPACITY", kMaxChannelCapacity, kMaxChannels};
constexpr SyncKind kBarrierKind{"barrier", "parties", ".barrier NAME PARTIES", kMaxBarrierParties, kMaxBarriers};

// Words a `.equ` constant may not be named: they mean something where a
// constant could stand (a constant is substituted for its name everywhere).
bool reserved_word(std::string_view w) {
    for (std::string_view k : kDeclarationWords)
        if (w == k) return true;
    if (w == "i" || parse_elem_type(w)) return true;  // `x: f32[i]`
    if (w.size() >= 2 && (w[0] == 'r' || w[0] == 'f') && w.find_first_not_of("0123456789", 1) == std::string_view::npos)
        return true;  // a register
    return find_op(w).has_value() || find_kop(w).has_value();
}

// A `.equ` constant: its value as a literal token, and where it was defined.
struct Constant {
    TokenKind kind = TokenKind::Int;
    IntValue int_value = 0;
    double float_value = 0;
    std::uint32_t line = 0;
};

bool is_ident(const Token& t, std::string_view text) { return t.kind == TokenKind::Ident && t.text == text; }

// The raw operand of `.module`: a module name need not be an identifier
// (a file stem such as "01-hello" is the default), so it is taken as written.
std::optional<std::string_view> module_name_text(std::string_view line) {
    std::size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos || line.substr(i, 7) != ".module") return std::nullopt;
    std::string_view rest = line.substr(i + 7);
    if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
    rest = rest.substr(0, rest.find(';'));
    std::size_t b = rest.find_first_not_of(" \t");
    if (b == std::string_view::npos) return std::string_view{};
    std::size_t e = rest.find_last_not_of(" \t");
    return rest.substr(b, e - b + 1);
}

class StructureParser {
public:
    StructureParser(const SourceText& source, const AssembleOptions& options, DiagnosticSink& sink)
        : source_(source), options_(options), sink_(sink) {}

    Program run() {
        p_.module.source_file = options_.filename;
        p_.module.name = default_module_name(options_.filename);
        for (std::uint32_t n = 1; n <= source_.line_count(); ++n) {
            // `.module` takes its name as written, so its line is not lexed.
            bool is_module = module_name_text(source_.line(n)).has_value();
            LexedLine lexed = is_module ? LexedLine{} : lex_line(source_.line(n));
            if (is_module) lexed.tokens.emplace_back();
            bool ok = !lexed.error.has_value();
            if (lexed.error) sink_.error(n, lexed.error->col, lexed.error->message);
            p_.lines.push_back(std::move(lexed));
            p_.line_ok.push_back(ok);
        }
        for (const std::string& f : source_.files())
            if (&f != &source_.files().front()) p_.module.include_files.push_back(f);
        find_constants();
        for (std::uint32_t n = 1; n <= source_.line_count(); ++n) {
            if (auto name = module_name_text(source_.line(n))) {
                module_directive(n, *name);
                continue;
            }
            if (!p_.line_ok[n - 1]) continue;
            substitute_constants(n);
            line(n);
        }
        if (open_) {
            const Body& b = current();
            sink_.error(b.pos.line, b.pos.col, "missing '.end' for " + body_title(b));
            close_body();
        }
        return std::move(p_);
    }

private:
    static std::string default_module_name(const std::string& filename) {
        std::string_view f = filename;
        if (auto slash = f.find_last_of('/'); slash != std::string_view::npos) f.remove_prefix(slash + 1);
        if (auto dot = f.find_last_of('.'); dot != std::string_view::npos && dot > 0) f = f.substr(0, dot);
        return f.empty() ? "module" : std::string(f);
    }

    Body& current() { return p_.bodies.back(); }

    // Where each `.equ` name is first defined, so that a use before its
    // definition is reported as such (constants are defined before use, as
    // in most assemblers: a value is known when its line is read).
    void find_constants() {
        for (std::uint32_t n = 1; n <= source_.line_count(); ++n) {
            const std::vector<Token>& t = p_.lines[n - 1].tokens;
            if (p_.line_ok[n - 1] && t.size() > 2 && is_directive(t[0], ".equ") && t[1].kind == TokenKind::Ident)
                defined_on_.try_emplace(std::string(t[1].text), n);
        }
    }

    static bool is_directive(const Token& t, std::string_view name) {
        return t.kind == TokenKind::Directive && t.text == name;
    }

    // Replaces each constant's name on line n by its value (a literal
    // token; the text stays the name, for messages). Names being declared
    // (`.equ N`, `.region N`, `.proc N`, `.kernel N`, `N:`) are left alone.
    void substitute_constants(std::uint32_t n) {
        std::vector<Token>& t = p_.lines[n - 1].tokens;
        std::size_t from = 0;
        if (t.size() > 1 && t[0].kind == TokenKind::Directive &&
            (t[0].text == ".equ" || t[0].text == ".region" || t[0].text == ".proc" || t[0].text == ".kernel" ||
             t[0].text == ".channel" || t[0].text == ".barrier"))
            from = 2;
        if (t.size() > 1 && t[0].kind == TokenKind::Ident && t[1].kind == TokenKind::Colon) from = 2;
        for (std::size_t i = from; i < t.size(); ++i) {
            if (t[i].kind != TokenKind::Ident) continue;
            const std::string name(t[i].text);
            auto it = constants_.find(name);
            if (it == constants_.end()) {
                if (auto later = defined_on_.find(name); later != defined_on_.end() && later->second >= n &&
                                                         !reserved_word(name)) {
                    sink_.error(n, t[i].col, "constant '" + name + "' is used before its '.equ' (line " +
                                                 std::to_string(source_.origin(later->second).line) + ")");
                    t[i].kind = TokenKind::Int;  // stands in, so the line reports nothing more
                    t[i].int_value = 0;
                }
                continue;
            }
            const Constant& k = it->second;
            // `-N` negates the constant when the minus touches the name.
            const bool negate = i > 0 && t[i - 1].kind == TokenKind::Minus && t[i - 1].col + 1 == t[i].col;
            Token v = t[i];
            v.kind = k.kind;
            v.int_value = negate ? -k.int_value : k.int_value;
            v.float_value = negate ? -k.float_value : k.float_value;
            if (negate) {
                v.col = t[i - 1].col;
                v.text = std::string_view(t[i - 1].text.data(), t[i - 1].text.size() + t[i].text.size());
                t.erase(t.begin() + static_cast<std::ptrdiff_t>(i - 1));
                --i;
            }
            t[i] = v;
        }
    }

    // `.equ NAME, VALUE`: VALUE is an integer or float literal, `inf`, `nan`,
    // or an earlier constant, with an optional minus.
    void equ(TokenCursor& c) {
        const Token* name = c.expect_ident("a constant name");
        if (!name) return;
        const std::string text(name->text);
        if (reserved_word(text)) {
            c.fail(*name, "'" + text + "' cannot name a constant: it is a register, a mnemonic or a keyword");
            return;
        }
        if (auto it = constants_.find(text); it != constants_.end()) {
            c.fail(*name, "constant '" + text + "' is already defined (line " +
                              std::to_string(source_.origin(it->second.line).line) + ")");
            return;
        }
        if (std::string other = declared_as(text); !other.empty()) {
            c.fail(*name, "'" + text + "' is already " + other + "; a constant needs a name of its own");
            return;
        }
        // A constant whose value has an error is still defined (as 0), so that
        // its uses are not reported on top.
        Constant k;
        k.line = c.line();
        if (!equ_value(c, text, k)) k = Constant{.line = c.line()};
        constants_.emplace(text, k);
    }

    bool equ_value(TokenCursor& c, const std::string& name, Constant& k) {
        if (!c.expect(TokenKind::Comma, "',' after the constant's name")) return false;
        const Token& v = c.peek();
        const bool minus = v.kind == TokenKind::Minus;
        const Token& value = c.peek(minus ? 1 : 0);
        if (value.kind == TokenKind::Int && !minus && !value.size_suffix) {
            k.int_value = value.int_value;
            c.next();
        } else if (value.kind == TokenKind::Float && !minus) {
            k.kind = TokenKind::Float;
            k.float_value = value.float_value;
            c.next();
        } else if (value.kind == TokenKind::Ident && (value.text == "inf" || value.text == "nan")) {
            k.kind = TokenKind::Float;
            auto f = read_float(c);
            if (!f) return false;
            k.float_value = *f;
        } else {
            c.fail(v, "expected an integer or float value for '" + name + "', got " + describe(v) +
                          (value.kind == TokenKind::Ident ? " (constants are defined before they are used)" : ""));
            return false;
        }
        return c.expect_end();
    }

    // What else `name` names ("a region", ...), or "" when nothing.
    std::string declared_as(const std::string& name) const {
        if (p_.regions.count(name)) return "a region";
        if (p_.procs.count(name)) return "a procedure";
        if (p_.kernels.count(name)) return "a kernel";
        if (p_.channels.index.count(name)) return "a channel";
        if (p_.barriers.index.count(name)) return "a barrier";
        for (const Kernel& k : p_.module.kernels)
            for (const KernelParam& param : k.params)
                if (param.name == name) return "a parameter of kernel '" + k.name + "'";
        for (const Label& l : p_.module.labels)
            if (l.name == name) return "a label";
        return {};
    }

    // A declaration may not take a constant's name: the name would be
    // replaced by the constant's value wherever it is used.
    bool clashes_with_constant(std::uint32_t n, std::uint32_t col, std::string_view name, std::string_view what) {
        auto it = constants_.find(std::string(name));
        if (it == constants_.end()) return false;
        sink_.error(n, col, std::string(what) + " '" + std::string(name) + "' has the name of a constant (.equ on line " +
                                std::to_string(source_.origin(it->second.line).line) + ")");
        return true;
    }

    std::string body_title(const Body& b) const {
        return b.is_kernel ? "kernel '" + p_.module.kernels[b.index].name + "'"
                           : "procedure '" + p_.module.procs[b.index].name + "'";
    }

    void module_directive(std::uint32_t n, std::string_view name) {
        std::uint32_t col = static_cast<std::uint32_t>(source_.line(n).find(".module") + 1);
        if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
            sink_.error(n, col, "'.module' needs one name");
            return;
        }
        p_.module.name = std::string(name);
    }

    void line(std::uint32_t n) {
        const std::vector<Token>& tokens = p_.lines[n - 1].tokens;
        TokenCursor c(tokens, n, sink_);
        if (c.at(TokenKind::End)) return;
        if (c.at(TokenKind::Ident) && c.peek(1).kind == TokenKind::Colon) {
            const Token& name = c.next();
            c.next();
            label(n, name);
            if (c.at(TokenKind::End)) return;
        }
        if (c.at(TokenKind::Directive)) {
            directive(c);
            return;
        }
        if (!c.at(TokenKind::Ident)) {
            c.fail(c.peek(), "expected an instruction, a label or a directive, got " + describe(c.peek()));
            return;
        }
        const Token& mnemonic = c.peek();
        if (!open_) {
            c.fail(mnemonic, "instruction '" + std::string(mnemonic.text) + "' outside a procedure");
            return;
        }
        Statement s;
        s.line = n;
        s.first = static_cast<std::size_t>(&mnemonic - tokens.data());
        const SourceText::Origin origin = source_.origin(n);
        s.loc = pending_loc_.value_or(SourceLoc{origin.line, mnemonic.col, origin.file});
        pending_loc_.reset();
        current().statements.push_back(s);
    }

    void label(std::uint32_t n, const Token& name) {
        std::string text(name.text);
        if (!open_ || current().is_kernel) {
            sink_.error(n, name.col,
                        open_ ? "labels are not allowed in kernels (use if/loop/break)"
                              : "label '" + text + "' outside a procedure");
            return;
        }
        Body& b = current();
        if (clashes_with_constant(n, name.col, text, "label")) return;
        if (auto it = b.labels.find(text); it != b.labels.end()) {
            const LabelInfo& first = p_.label_info[it->second];
            sink_.error(n, name.col,
                        "duplicate label '" + text + "' (first defined on line " + std::to_string(first.pos.line) + ")");
            return;
        }
        std::uint32_t pc = p_.module.procs[b.index].start + static_cast<std::uint32_t>(b.statements.size());
        b.labels.emplace(text, p_.module.labels.size());
        p_.module.labels.push_back({text, pc});
        p_.label_info.push_back({{n, name.col}, false});
    }

    void directive(TokenCursor& c) {
        const Token& d = c.next();
        std::string_view name = d.text;
        if (name == ".file") {
            // `.file "main.pasm"` names the module's source; `.file 2 "lib.pasm"`
            // numbers another file for `.loc` (the disassembler writes both).
            std::optional<IntValue> number;
            if (c.at(TokenKind::Int)) {
                const std::uint32_t next = static_cast<std::uint32_t>(p_.module.include_files.size() + 1);
                number = read_int(c, next, next, "file number (files are numbered 1, 2, ... in order)");
                if (!number) return;
                c.accept(TokenKind::Comma);
            }
            if (!c.at(TokenKind::String)) {
                c.fail(c.peek(), "expected a file name in quotes, got " + describe(c.peek()));
                return;
            }
            std::string file = c.next().string_value;
            if (!c.expect_end()) return;
            if (number) p_.module.include_files.push_back(std::move(file));
            else p_.module.source_file = std::move(file);
        } else if (name == ".loc") {
            auto line = read_int(c, 0, std::numeric_limits<std::uint32_t>::max(), "line number");
            if (!line) return;
            c.accept(TokenKind::Comma);  // `.loc 12 9` or `.loc 12, 9`
            auto col = read_int(c, 0, std::numeric_limits<std::uint32_t>::max(), "column number");
            if (!col) return;
            std::uint32_t file = 0;  // `.loc 12 9 2`: line 12 of the file `.file 2` named
            if (c.accept(TokenKind::Comma) || c.at(TokenKind::Int)) {
                const auto files = static_cast<IntValue>(p_.module.include_files.size());
                auto number = read_int(c, 0, files, "file number (declared by '.file N \"name\"')");
                if (!number) return;
                file = static_cast<std::uint32_t>(*number);
            }
            if (!c.expect_end()) return;
            pending_loc_ = SourceLoc{static_cast<std::uint32_t>(*line), static_cast<std::uint32_t>(*col), file};
        } else if (name == ".region") {
            region(c, d);
        } else if (name == ".channel") {
            sync_object(c, kChannelKind, p_.channels, p_.module.channels, p_.barriers, kBarrierKind);
        } else if (name == ".barrier") {
            sync_object(c, kBarrierKind, p_.barriers, p_.module.barriers, p_.channels, kChannelKind);
        } else if (name == ".proc") {
            proc(c, d);
        } else if (name == ".kernel") {
            kernel(c, d);
        } else if (name == ".end") {
            if (!open_) {
                c.fail(d, "'.end' without '.proc' or '.kernel'");
                return;
            }
            c.expect_end();
            close_body();
        } else if (name == ".requires" || name == ".prefers") {
            requirement(c, d);
        } else if (name == ".launches") {
            launches(c, d);
        } else if (name == ".wide") {
            if (!open_ || !current().is_kernel) {
                c.fail(d, "'.wide' is only allowed inside a .kernel");
                return;
            }
            if (!c.expect_end()) return;
            p_.module.kernels[current().index].wide = true;
        } else if (name == ".reassociate") {
            if (!open_ || current().is_kernel) {
                c.fail(d, "'.reassociate' is only allowed inside a .proc");
                return;
            }
            if (!c.expect_end()) return;
            current().reassociate = true;
        } else if (name == ".equ") {
            equ(c);
        } else if (name == ".include") {
            // Read in place when the source was read (assembler/includes.cpp).
        } else {
            std::string message = "unknown directive '" + std::string(name) + "'";
            if (name == ".data" || name == ".text" || name == ".section" || name == ".bss" || name == ".rodata")
                message += "; Polymer has no sections: data is declared with '.region NAME TYPE[LEN]', code with "
                           "'.proc NAME' ... '.end'";
            else if (name == ".globl" || name == ".global" || name == ".extern")
                message += "; every procedure and region of a program is visible in all its files ('.include' them)";
            else if (name == ".byte" || name == ".word" || name == ".quad" || name == ".ascii" || name == ".asciz" ||
                     name == ".string" || name == ".float" || name == ".double")
                message += "; data lives in regions, e.g. '.region bytes u8[] = 1, 2, 3' or '.region msg u8[] \"text\"'";
            else if (name == ".define" || name == ".set" || name == ".const")
                message += "; did you mean '.equ NAME, VALUE'?";
            else if (auto best = closest_name(name, kDirectives); !best.empty())
                message += "; did you mean '" + std::string(best) + "'?";
            c.fail(d, message);
        }
    }

    void region(TokenCursor& c, const Token& d) {
        Pos pos{c.line(), c.peek().col};
        RegionDecl partial;
        auto decl = parse_region(c, partial);
        // A region whose declaration has an error is still declared (as if
        // used), so that its uses are not reported as undefined on top.
        bool failed = !decl;
        if (failed) {
            if (partial.name.empty()) return;
            decl = std::move(partial);
            decl->init = RegionInit::Zeros;
            decl->data.clear();
        }
        if (clashes_with_constant(pos.line, pos.col, decl->name, "region")) return;
        if (auto it = p_.regions.find(decl->name); it != p_.regions.end()) {
            if (!failed)
                sink_.error(pos.line, pos.col, "duplicate region '" + decl->name + "' (first declared on line " +
                                                   std::to_string(p_.region_pos[it->second].line) + ")");
            return;
        }
        if (p_.module.regions.size() >= kMaxRegions) {
            if (!failed) c.fail(d, "too many regions (at most " + std::to_string(kMaxRegions) + ")");
            return;
        }
        p_.regions.emplace(decl->name, static_cast<std::uint32_t>(p_.module.regions.size()));
        p_.module.regions.push_back(std::move(*decl));
        p_.region_pos.push_back(pos);
        p_.region_used.push_back(failed);
    }

    // "line 12", or "lib.pasm:12" when program line n is in another file
    // than program line `from`.
    std::string line_text(std::uint32_t n, std::uint32_t from) const {
        const SourceText::Origin at = source_.origin(n);
        if (at.file == source_.origin(from).file) return "line " + std::to_string(at.line);
        return source_.files()[at.file] + ":" + std::to_string(at.line);
    }

    // `.channel NAME CAPACITY` / `.barrier NAME PARTIES` (the cursor is after
    // the directive); `Decl` is ChannelDecl or BarrierDecl. Channels and
    // barriers share one set of names, so that a message can say what a
    // name used in the wrong place is. A declaration whose count has an
    // error is still declared (as used), so that its uses are not reported
    // as undefined on top.
    template <class Decl>
    void sync_object(TokenCursor& c, const SyncKind& k, NameTable& table, std::vector<Decl>& decls,
                     const NameTable& other, const SyncKind& other_kind) {
        const std::string what(k.what);
        const Token* name = c.expect_ident("a " + what + " name");
        if (!name) return;
        const std::string text(name->text);
        const Pos pos{c.line(), name->col};
        const std::string range = "1.." + std::to_string(k.max_count);
        std::uint32_t count = 1;  // what a declaration with an error stands in with
        bool failed = true;
        if (!c.at(TokenKind::Int)) {
            c.fail(c.peek(), "expected the " + what + "'s " + std::string(k.count) + " (" + range +
                                 ") after its name, got " + describe(c.peek()) + " ('" + std::string(k.syntax) + "')");
        } else if (auto n = read_int(c, 1, k.max_count, what + " " + std::string(k.count)); n && c.expect_end()) {
            count = static_cast<std::uint32_t>(*n);
            failed = false;
        }
        if (clashes_with_constant(pos.line, pos.col, text, what)) return;
        if (auto it = table.index.find(text); it != table.index.end()) {
            if (!failed)
                c.fail(*name, "duplicate " + what + " '" + text + "' (first declared on " +
                                  line_text(table.pos[it->second].line, pos.line) + ")");
            return;
        }
        if (auto it = other.index.find(text); it != other.index.end()) {
            if (!failed)
                c.fail(*name, "'" + text + "' is already a " + std::string(other_kind.what) + " (declared on " +
                                  line_text(other.pos[it->second].line, pos.line) + "); a " + what +
                                  " needs a name of its own");
            return;
        }
        if (decls.size() >= k.max_objects) {
            if (!failed) c.fail(*name, "too many " + what + "s (at most " + std::to_string(k.max_objects) + ")");
            return;
        }
        table.index.emplace(text, static_cast<std::uint32_t>(decls.size()));
        table.pos.push_back(pos);
        table.used.push_back(failed);
        decls.push_back({text, count});
    }

    // Opening a block while another is open: report it and close the other.
    void check_nested(TokenCursor& c, const Token& d) {
        if (!open_) return;
        c.fail(d, "'" + std::string(d.text) + "' inside " + body_title(current()) + " (missing '.end'?)");
        close_body();
    }

    void proc(TokenCursor& c, const Token& d) {
        check_nested(c, d);
        // The block opens even after an error, so that its instructions are
        // still checked instead of each being reported as stray.
        const Token* name = c.expect_ident("a procedure name");
        if (name) c.expect_end();
        std::string text = name ? std::string(name->text) : std::string("?");
        Body b;
        b.index = static_cast<std::uint32_t>(p_.module.procs.size());
        b.pos = {c.line(), name ? name->col : d.col};
        if (name && p_.procs.count(text)) c.fail(*name, "duplicate procedure '" + text + "'");
        if (name) clashes_with_constant(c.line(), name->col, text, "procedure");
        if (name) p_.procs.emplace(text, b.index);
        p_.module.procs.push_back({text, next_pc_, 0});
        p_.bodies.push_back(std::move(b));
        open_ = true;
    }

    void kernel(TokenCursor& c, const Token& d) {
        check_nested(c, d);
        Pos pos{c.line(), d.col};
        Kernel k;
        // A kernel whose header has an error is still declared by its name,
        // so that its launches are not reported as undefined on top.
        std::vector<Pos> type_pos;
        const bool ok = parse_kernel_header(c, pos, k, type_pos);
        bool named = !k.name.empty();
        if (!named) k.name = "?";
        if (named && clashes_with_constant(pos.line, pos.col, k.name, "kernel")) named = false;
        for (const KernelParam& param : k.params) clashes_with_constant(pos.line, pos.col, param.name, "parameter");
        if (named && p_.kernels.count(k.name)) {
            sink_.error(pos.line, pos.col, "duplicate kernel '" + k.name + "'");
            named = false;
        }
        Body b;
        b.is_kernel = true;
        b.index = static_cast<std::uint32_t>(p_.module.kernels.size());
        b.pos = pos;
        if (named) p_.kernels.emplace(k.name, b.index);
        p_.module.kernels.push_back(std::move(k));
        p_.kernel_pos.push_back(pos);
        p_.kernel_header_ok.push_back(ok);
        p_.kernel_param_type_pos.push_back(std::move(type_pos));
        p_.bodies.push_back(std::move(b));
        open_ = true;
    }

    void requirement(TokenCursor& c, const Token& d) {
        if (open_ && !current().is_kernel) {
            proc_requirement(c, d);
            return;
        }
        if (!open_) {
            c.fail(d, d.text == ".requires" ? "'.requires' is only allowed inside a .kernel or a .proc"
                                            : "'.prefers' is only allowed inside a .kernel");
            return;
        }
        KernelRequirements& r = p_.module.kernels[current().index].requirements;
        const Token* what = c.expect_ident("'gpu' or 'mem'");
        if (!what) return;
        if (what->text == "gpu") {
            if (!c.expect_end()) return;
            (d.text == ".requires" ? r.requires_gpu : r.prefers_gpu) = true;
        } else if (what->text == "mem" && d.text == ".requires") {
            if (auto bytes = memory_size(c); bytes && c.expect_end()) r.min_memory = *bytes;
        } else {
            c.fail(*what, d.text == ".requires" ? "expected 'gpu' or 'mem >= SIZE' after '.requires'"
                                                : "expected 'gpu' after '.prefers'");
        }
    }

    // `>= SIZE` of `.requires mem >= SIZE`, in bytes.
    static std::optional<std::uint64_t> memory_size(TokenCursor& c) {
        if (!c.expect(TokenKind::GreaterEqual, "'>='")) return std::nullopt;
        if (!c.at(TokenKind::Int) || c.peek().int_value < 0) {
            c.fail(c.peek(), "expected a size such as 512M or 4G, got " + describe(c.peek()));
            return std::nullopt;
        }
        const Token& size = c.next();
        int shift = 0;
        switch (size.size_suffix) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: break;
        }
        IntValue bytes = size.int_value << shift;
        if (bytes > static_cast<IntValue>(std::numeric_limits<std::uint64_t>::max())) {
            c.fail(size, "memory size " + std::string(size.text) + " does not fit 64 bits");
            return std::nullopt;
        }
        return static_cast<std::uint64_t>(bytes);
    }

    // `.requires gpu`, `.requires mem >= SIZE`, `.requires node NAME` at the
    // top of a `.proc`: where spawn may place it (docs/language.md, "On the
    // nodes"). Each kind once, so that two lines never silently disagree.
    void proc_requirement(TokenCursor& c, const Token& d) {
        Body& b = current();
        const std::string proc_name = p_.module.procs[b.index].name;
        if (d.text == ".prefers") {
            c.fail(d, "'.prefers' is not supported in a .proc: spawn places a procedure on one participant, so there "
                      "is nothing to prefer ('.requires gpu' sends it only to a GPU node)");
            return;
        }
        if (!b.statements.empty()) {
            c.fail(d, "'.requires' must come before the first instruction of procedure '" + proc_name + "'");
            return;
        }
        const Token* what = c.expect_ident("a requirement ('gpu', 'mem >= SIZE' or 'node NAME')");
        if (!what) return;
        ProcRequirements& r = p_.module.procs[b.index].requirements;
        Pos* first = nullptr;
        if (what->text == "gpu") first = &b.requires_gpu_at;
        else if (what->text == "mem") first = &b.requires_mem_at;
        else if (what->text == "node") first = &b.requires_node_at;
        if (first == nullptr) {
            c.fail(*what, "unknown requirement '" + std::string(what->text) +
                              "': a procedure may require 'gpu', 'mem >= SIZE' or 'node NAME'");
            return;
        }
        if (first->line != 0) {
            c.fail(*what, "'.requires " + std::string(what->text) + "' is given twice for procedure '" + proc_name +
                              "' (first on " + line_text(first->line, c.line()) + ")");
            return;
        }
        const Pos at{c.line(), what->col};
        if (what->text == "gpu") {
            if (!c.expect_end()) return;
            r.gpu = true;
        } else if (what->text == "mem") {
            auto bytes = memory_size(c);
            if (!bytes || !c.expect_end()) return;
            r.min_memory = *bytes;
        } else {
            auto name = node_name(c);
            if (!name || !c.expect_end()) return;
            r.node = std::move(*name);
        }
        *first = at;
    }

    // `.launches cluster` at the top of a `.proc`: on a node too, its vector
    // ops and kernels go over the cluster (docs/language.md, "On the nodes").
    void launches(TokenCursor& c, const Token& d) {
        if (!open_ || current().is_kernel) {
            c.fail(d, "'.launches' is only allowed inside a .proc");
            return;
        }
        Body& b = current();
        const std::string proc_name = p_.module.procs[b.index].name;
        if (!b.statements.empty()) {
            c.fail(d, "'.launches' must come before the first instruction of procedure '" + proc_name + "'");
            return;
        }
        const Token* what = c.expect_ident("where its launches go ('cluster')");
        if (!what) return;
        if (what->text != "cluster") {
            c.fail(*what, "expected 'cluster' after '.launches', got '" + std::string(what->text) +
                              "' (without '.launches', a procedure on a node launches on that node)");
            return;
        }
        if (!c.expect_end()) return;
        if (b.launches_at.line != 0) {
            c.fail(d, "'.launches cluster' is given twice for procedure '" + proc_name + "' (first on " +
                          line_text(b.launches_at.line, c.line()) + ")");
            return;
        }
        b.launches_at = Pos{c.line(), d.col};
        p_.module.procs[b.index].launches_cluster = true;
    }

    // NAME of `.requires node NAME`: an identifier, or a string for a name
    // that is none ("box-3", "10.0.0.2").
    static std::optional<std::string> node_name(TokenCursor& c) {
        const Token& t = c.peek();
        if (t.kind != TokenKind::Ident && t.kind != TokenKind::String) {
            c.fail(t, "expected a node name (as polymer-node --name gives it; in quotes unless it is an identifier), "
                      "got " + describe(t));
            return std::nullopt;
        }
        std::string name = t.kind == TokenKind::String ? t.string_value : std::string(t.text);
        if (name.empty()) {
            c.fail(t, "the node name is empty");
            return std::nullopt;
        }
        if (name.size() > kMaxNodeNameBytes) {
            c.fail(t, "the node name has " + std::to_string(name.size()) + " bytes, more than " +
                          std::to_string(kMaxNodeNameBytes));
            return std::nullopt;
        }
        c.next();
        return name;
    }

    void close_body() {
        Body& b = current();
        open_ = false;
        pending_loc_.reset();
        if (b.is_kernel) return;
        Procedure& proc = p_.module.procs[b.index];
        proc.length = static_cast<std::uint32_t>(b.statements.size());
        next_pc_ += proc.length;
        if (b.statements.empty()) {
            sink_.error(b.pos.line, b.pos.col, "procedure '" + proc.name + "' has no instructions");
            return;
        }
        // A label after the last instruction would name the next procedure's
        // first word (or the end of the code).
        for (const auto& [name, index] : b.labels) {
            if (p_.module.labels[index].pc == next_pc_) {
                const Pos& at = p_.label_info[index].pos;
                sink_.error(at.line, at.col, "label '" + name + "' must be followed by an instruction of procedure '" +
                                                 proc.name + "'");
            }
        }
        const Statement& last = b.statements.back();
        const Token& mnemonic = p_.lines[last.line - 1].tokens[last.first];
        if (mnemonic.text != "jmp" && mnemonic.text != "ret" && mnemonic.text != "halt")
            sink_.error(last.line, mnemonic.col,
                        "procedure '" + proc.name +
                            "' can fall off its end: its last instruction must be jmp, ret or halt");
    }

    const SourceText& source_;
    const AssembleOptions& options_;
    DiagnosticSink& sink_;
    Program p_;
    bool open_ = false;
    std::uint32_t next_pc_ = 0;
    std::optional<SourceLoc> pending_loc_;
    std::unordered_map<std::string, Constant> constants_;         // `.equ` names read so far
    std::unordered_map<std::string, std::uint32_t> defined_on_;   // every `.equ` name -> its first line
};

std::string range_text(IntValue min, IntValue max) { return "(" + int_text(min) + ".." + int_text(max) + ")"; }

// The integer domain of an element type, for list/fill/range values.
std::pair<IntValue, IntValue> int_domain(ElemType t) {
    switch (t) {
    case ElemType::U8: return {0, 255};
    case ElemType::I32: return {kInt32Min, kInt32Max};
    case ElemType::U32: return {0, (IntValue{1} << 32) - 1};
    default: return {kInt64Min, kUint64Max};
    }
}

// One value of a region initialiser, checked against the element type and
// stored as the type's bytes (`bytes` may be null: fill/range values).
bool read_element(TokenCursor& c, ElemType type, std::int64_t& int_out, double& float_out) {
    if (is_float(type)) {
        const Token& at = c.peek();
        auto v = read_float(c);
        if (!v) return false;
        if (type == ElemType::F32 && overflows_binary32(*v)) {
            c.fail(at, "value " + std::string(at.text) + " is out of range for f32");
            return false;
        }
        float_out = *v;
        return true;
    }
    auto [min, max] = int_domain(type);
    auto v = read_int(c, min, max, std::string(elem_type_name(type)) + " value");
    if (!v) return false;
    int_out = wrap_int64(*v);
    return true;
}

void append_element(std::vector<std::uint8_t>& data, ElemType type, std::int64_t i, double f) {
    std::uint8_t buf[8];
    switch (type) {
    case ElemType::U8: buf[0] = static_cast<std::uint8_t>(i); break;
    case ElemType::I32:
    case ElemType::U32: { auto v = static_cast<std::uint32_t>(i); std::memcpy(buf, &v, 4); break; }
    case ElemType::I64: std::memcpy(buf, &i, 8); break;
    case ElemType::F32: { auto v = static_cast<float>(f); std::memcpy(buf, &v, 4); break; }
    case ElemType::F64: std::memcpy(buf, &f, 8); break;
    }
    data.insert(data.end(), buf, buf + elem_size(type));
}

}  // namespace

Program parse_program(const SourceText& source, const AssembleOptions& options, DiagnosticSink& sink) {
    return StructureParser(source, options, sink).run();
}

std::optional<IntValue> read_int(TokenCursor& c, IntValue min, IntValue max, std::string_view what) {
    const Token& t = c.peek();
    if (t.kind != TokenKind::Int) {
        c.fail(t, "expected an integer literal, got " + describe(t));
        return std::nullopt;
    }
    if (t.size_suffix) {
        c.fail(t, "a size suffix is only allowed in '.requires mem'");
        return std::nullopt;
    }
    if (t.int_value < min || t.int_value > max) {
        c.fail(t, std::string(what) + " " + std::string(t.text) + " is out of range " + range_text(min, max));
        return std::nullopt;
    }
    c.next();
    return t.int_value;
}

std::optional<double> read_float(TokenCursor& c) {
    const Token& t = c.peek();
    bool negative = t.kind == TokenKind::Minus;
    const Token& v = c.peek(negative ? 1 : 0);
    if (v.kind == TokenKind::Ident && (v.text == "inf" || v.text == "nan")) {
        c.next();
        if (negative) c.next();
        double x = v.text == "inf" ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
        return negative ? -x : x;
    }
    if (!negative && t.kind == TokenKind::Float) {
        c.next();
        return t.float_value;
    }
    if (!negative && t.kind == TokenKind::Int && !t.size_suffix) {
        c.next();
        // "-0" is an integer token with value 0; as a float it means -0.0.
        if (t.int_value == 0 && t.text.starts_with('-')) return -0.0;
        return static_cast<double>(t.int_value);
    }
    c.fail(t, "expected a float literal, got " + describe(t));
    return std::nullopt;
}

std::optional<RegionDecl> parse_region(TokenCursor& c, RegionDecl& r) {
    const Token* name = c.expect_ident("a region name");
    if (!name) return std::nullopt;
    r.name = std::string(name->text);
    const Token* type = c.expect_ident("an element type (u8, i32, u32, i64, f32, f64)");
    if (!type) return std::nullopt;
    auto t = parse_elem_type(type->text);
    if (!t) {
        c.fail(*type, "unknown element type '" + std::string(type->text) + "' (expected u8, i32, u32, i64, f32 or f64)");
        return std::nullopt;
    }
    r.type = *t;
    if (!c.expect(TokenKind::LBracket, "'[' after the element type")) return std::nullopt;
    std::optional<std::uint64_t> length;
    const Token& length_token = c.peek();
    if (!c.at(TokenKind::RBracket)) {
        auto n = read_int(c, 0, IntValue{1} << 40, "region length");
        if (!n) return std::nullopt;
        length = static_cast<std::uint64_t>(*n);
    }
    if (!c.expect(TokenKind::RBracket, "']'")) return std::nullopt;

    const Token& init = c.peek();
    auto need_length = [&]() {
        if (length) return true;
        if (is_ident(c.peek(), "distributed"))
            c.fail(length_token, "region '" + r.name + "' needs a length: a distributed region starts as that many "
                                                         "zeros on the nodes");
        else
            c.fail(length_token, "region '" + r.name + "' needs a length (only list and string regions may leave it out)");
        return false;
    };
    if (c.at(TokenKind::End) || is_ident(init, "distributed")) {
        if (!need_length()) return std::nullopt;
        r.init = RegionInit::Zeros;
    } else if (is_ident(init, "zeros")) {
        c.next();
        if (!need_length()) return std::nullopt;
        r.init = RegionInit::Zeros;
    } else if (is_ident(init, "fill")) {
        c.next();
        if (!need_length()) return std::nullopt;
        r.init = RegionInit::Fill;
        if (!read_element(c, r.type, r.int_value0, r.float_value0)) return std::nullopt;
    } else if (is_ident(init, "range")) {
        c.next();
        if (!need_length()) return std::nullopt;
        r.init = RegionInit::Range;
        if (!read_element(c, r.type, r.int_value0, r.float_value0)) return std::nullopt;
        if (!c.expect(TokenKind::Comma, "',' between the start and the step")) return std::nullopt;
        // The step of an integer range may be negative even for u8/u32.
        if (is_float(r.type)) {
            if (!read_element(c, r.type, r.int_value1, r.float_value1)) return std::nullopt;
        } else {
            auto step = read_int(c, kInt64Min, (IntValue{1} << 63) - 1, "range step");
            if (!step) return std::nullopt;
            r.int_value1 = static_cast<std::int64_t>(*step);
        }
    } else if (init.kind == TokenKind::Equals) {
        c.next();
        r.init = RegionInit::List;
        std::uint64_t count = 0;
        do {
            std::int64_t i = 0;
            double f = 0;
            if (!read_element(c, r.type, i, f)) return std::nullopt;
            append_element(r.data, r.type, i, f);
            ++count;
        } while (c.accept(TokenKind::Comma));
        if (length && *length != count) {
            c.fail(init, "region '" + r.name + "' declares " + std::to_string(*length) + " elements but the list has " +
                             std::to_string(count));
            return std::nullopt;
        }
        r.length = count;
    } else if (init.kind == TokenKind::String) {
        c.next();
        if (r.type != ElemType::U8) {
            c.fail(init, "a string initialiser needs a u8 region, not " + std::string(elem_type_name(r.type)));
            return std::nullopt;
        }
        r.init = RegionInit::String;
        r.data.assign(init.string_value.begin(), init.string_value.end());
        if (length && *length != r.data.size()) {
            c.fail(init, "region '" + r.name + "' declares " + std::to_string(*length) + " elements but the string has " +
                             std::to_string(r.data.size()) + " bytes");
            return std::nullopt;
        }
        r.length = r.data.size();
    } else {
        c.fail(init, "expected a region initialiser (zeros, fill, range, '= list' or a string) or 'distributed', got " +
                         describe(init));
        return std::nullopt;
    }
    // `distributed` follows the initialiser (docs/language.md, "Regions").
    if (is_ident(c.peek(), "distributed")) {
        if (r.init != RegionInit::Zeros) {
            c.fail(init, "region '" + r.name + "' is distributed: a distributed region starts as zeros on the nodes, "
                         "so it takes no initial values (set them with a kernel)");
            return std::nullopt;
        }
        c.next();
        r.distributed = true;
    }
    if (r.init != RegionInit::List && r.init != RegionInit::String) r.length = *length;
    if (!c.expect_end()) return std::nullopt;
    return r;
}

}  // namespace polymer::asm_detail

namespace polymer {

std::span<const std::string_view> directive_names() { return asm_detail::kDirectives; }

}  // namespace polymer
