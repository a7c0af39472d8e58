// A small JSON reader for tests that check the --trace file's structure
// (RFC 8259 values; \u escapes are kept as written, which these tests never
// compare). Numbers keep their text, so a trace's "12.345" microseconds read
// back as exactly 12345 ns.
#pragma once

#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace polymer::testing {

struct JsonValue {
    enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
    bool boolean = false;
    std::string text;  // String: the unescaped text; Number: as written
    std::vector<JsonValue> items;
    std::map<std::string, JsonValue> fields;

    const JsonValue* get(const std::string& key) const {
        auto it = fields.find(key);
        return it == fields.end() ? nullptr : &it->second;
    }
    // A field's string, or "" when absent or not a string.
    std::string str(const std::string& key) const {
        const JsonValue* v = get(key);
        return v != nullptr && v->kind == Kind::String ? v->text : std::string();
    }
    // A non-negative number with at most three decimals, times 1000 (the
    // trace's microseconds as nanoseconds); nullopt for anything else.
    std::optional<std::uint64_t> thousandths(const std::string& key) const {
        const JsonValue* v = get(key);
        if (v == nullptr || v->kind != Kind::Number || v->text.empty()) return std::nullopt;
        std::uint64_t whole = 0, frac = 0;
        std::size_t i = 0, digits = 0;
        for (; i < v->text.size() && std::isdigit(static_cast<unsigned char>(v->text[i])); ++i) whole = whole * 10 + (v->text[i] - '0');
        if (i < v->text.size() && v->text[i] == '.')
            for (++i; i < v->text.size() && std::isdigit(static_cast<unsigned char>(v->text[i])); ++i, ++digits) frac = frac * 10 + (v->text[i] - '0');
        if (i != v->text.size() || digits > 3) return std::nullopt;
        for (; digits < 3; ++digits) frac *= 10;
        return whole * 1000 + frac;
    }
    std::uint64_t integer(const std::string& key) const {
        auto t = thousandths(key);
        return t ? *t / 1000 : ~0ull;
    }
};

// nullopt when `s` is not exactly one valid JSON value.
class JsonReader {
public:
    static std::optional<JsonValue> parse(const std::string& s) {
        JsonReader r(s);
        JsonValue v;
        if (!r.value(v, 0)) return std::nullopt;
        r.ws();
        if (r.i_ != s.size()) return std::nullopt;
        return v;
    }

private:
    explicit JsonReader(const std::string& s) : s_(s) {}
    bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    bool literal(const std::string& word) {
        if (s_.compare(i_, word.size(), word) != 0) return false;
        i_ += word.size();
        return true;
    }
    bool string(std::string& out) {
        if (!at('"')) return false;
        for (++i_; i_ < s_.size(); ++i_) {
            const char c = s_[i_];
            if (c == '"') return ++i_, true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (++i_ >= s_.size()) return false;
            switch (s_[i_]) {
            case '"': case '\\': case '/': out += s_[i_]; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u':
                if (i_ + 4 >= s_.size()) return false;
                for (int k = 1; k <= 4; ++k)
                    if (!std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) return false;
                out += "\\u" + s_.substr(i_ + 1, 4);
                i_ += 4;
                break;
            default: return false;
            }
        }
        return false;
    }
    bool number(std::string& out) {
        const std::size_t start = i_;
        auto digits = [&] {
            const std::size_t from = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            return i_ > from;
        };
        if (at('-')) ++i_;
        if (at('0')) ++i_;
        else if (!digits()) return false;
        if (at('.') && (++i_, !digits())) return false;
        if (at('e') || at('E')) {
            ++i_;
            if (at('+') || at('-')) ++i_;
            if (!digits()) return false;
        }
        out = s_.substr(start, i_ - start);
        return true;
    }
    bool value(JsonValue& v, int depth) {
        if (depth > 64) return false;
        ws();
        if (i_ >= s_.size()) return false;
        using K = JsonValue::Kind;
        switch (s_[i_]) {
        case '{':
            v.kind = K::Object;
            ++i_;
            ws();
            if (at('}')) return ++i_, true;
            for (;;) {
                ws();
                std::string key;
                if (!string(key)) return false;
                ws();
                if (!at(':')) return false;
                ++i_;
                JsonValue item;
                if (!value(item, depth + 1)) return false;
                v.fields[key] = std::move(item);
                ws();
                if (at(',')) { ++i_; continue; }
                return at('}') && (++i_, true);
            }
        case '[':
            v.kind = K::Array;
            ++i_;
            ws();
            if (at(']')) return ++i_, true;
            for (;;) {
                JsonValue item;
                if (!value(item, depth + 1)) return false;
                v.items.push_back(std::move(item));
                ws();
                if (at(',')) { ++i_; continue; }
                return at(']') && (++i_, true);
            }
        case '"': v.kind = K::String; return string(v.text);
        case 't': v.kind = K::Bool; v.boolean = true; return literal("true");
        case 'f': v.kind = K::Bool; return literal("false");
        case 'n': return literal("null");
        default: v.kind = K::Number; return number(v.text);
        }
    }

    const std::string& s_;
    std::size_t i_ = 0;
};

}  // namespace polymer::testing
