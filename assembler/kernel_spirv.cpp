#include "assembler/kernel_spirv.h"

#include <glslang/build_info.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include "assembler/kernel_glsl.h"
#include "assembler/spirv_compiler.h"

namespace polymer {
namespace {

#define POLYMER_STR2(x) #x
#define POLYMER_STR(x) POLYMER_STR2(x)
// Part of every key: what turns the text into words. Bump the first number
// when spirv_compiler.cpp's options change what it emits for the same text.
constexpr char kCompilerTag[] = "polymer glsl to spirv 1, glslang " POLYMER_STR(GLSLANG_VERSION_MAJOR) "." POLYMER_STR(
    GLSLANG_VERSION_MINOR) "." POLYMER_STR(GLSLANG_VERSION_PATCH);
#undef POLYMER_STR
#undef POLYMER_STR2

constexpr std::size_t kMemoryBudget = std::size_t{64} << 20;  // bytes of SPIR-V kept in this process
constexpr char kFileMagic[8] = {'P', 'L', 'M', 'R', 'S', 'P', 'V', '1'};

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(const void* data, std::size_t size) {
    Digest d{};
    unsigned int n = 0;
    EVP_Digest(data, size, d.data(), &n, EVP_sha256(), nullptr);
    return d;
}

std::string hex(const Digest& d) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t b : d) {
        s += kDigits[b >> 4];
        s += kDigits[b & 15];
    }
    return s;
}

struct MemoryCache {
    std::mutex mutex;
    std::map<Digest, SharedSpirv> entries;
    std::deque<Digest> order;  // oldest first
    std::size_t bytes = 0;
    KernelSpirvStats stats;

    SharedSpirv find(const Digest& key) {
        auto it = entries.find(key);
        return it == entries.end() ? nullptr : it->second;
    }
    void add(const Digest& key, SharedSpirv words) {
        if (!entries.emplace(key, words).second) return;
        order.push_back(key);
        bytes += words->size() * 4;
        while (bytes > kMemoryBudget && order.size() > 1) {
            auto oldest = entries.find(order.front());
            bytes -= oldest->second->size() * 4;
            entries.erase(oldest);
            order.pop_front();
        }
    }
};

MemoryCache& memory() {
    static MemoryCache cache;
    return cache;
}

// The file: magic, the SHA-256 of the words' bytes, the words.
std::optional<SpirvWords> read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr std::size_t kHead = sizeof kFileMagic + 32;
    if (bytes.size() <= kHead || (bytes.size() - kHead) % 4 != 0 ||
        std::memcmp(bytes.data(), kFileMagic, sizeof kFileMagic) != 0)
        return std::nullopt;
    const char* body = bytes.data() + kHead;
    const std::size_t body_bytes = bytes.size() - kHead;
    const Digest d = sha256(body, body_bytes);
    if (std::memcmp(d.data(), bytes.data() + sizeof kFileMagic, d.size()) != 0) return std::nullopt;
    SpirvWords words(body_bytes / 4);
    std::memcpy(words.data(), body, body_bytes);
    return words;
}

// Best effort: a cache that cannot be written only costs the next run a compile.
void write_file(const std::filesystem::path& file, const SpirvWords& words) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) return;
    std::filesystem::path tmp = file;
    tmp += ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        const Digest d = sha256(words.data(), words.size() * 4);
        out.write(kFileMagic, sizeof kFileMagic);
        out.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
        out.write(reinterpret_cast<const char*>(words.data()), static_cast<std::streamsize>(words.size() * 4));
        if (!out.flush()) {
            std::filesystem::remove(tmp, ec);
            return;
        }
    }
    std::filesystem::rename(tmp, file, ec);  // atomic: readers see the old file or the whole new one
    if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

Result<SharedSpirv> kernel_spirv(const Kernel& k, const std::filesystem::path& cache_dir) {
    if (std::string too_many = push_slot_problem(k); !too_many.empty()) return Error{too_many};
    const std::string glsl = kernel_to_glsl(k);
    const std::string keyed = std::string(kCompilerTag) + '\0' + glsl;
    const Digest key = sha256(keyed.data(), keyed.size());
    MemoryCache& cache = memory();
    {
        std::lock_guard lock(cache.mutex);
        if (SharedSpirv hit = cache.find(key)) {
            ++cache.stats.memory_hits;
            return hit;
        }
    }
    const std::filesystem::path file = cache_dir.empty() ? std::filesystem::path() : cache_dir / "spirv" / (hex(key) + ".spv");
    std::optional<SpirvWords> words;
    if (!file.empty()) words = read_file(file);
    if (words && !spirv_problem(*words).empty()) words.reset();  // never hand a driver words no validator passed
    const bool from_disk = words.has_value();
    if (!words) {
        auto compiled = compile_glsl_to_spirv(glsl);
        if (!compiled) return Error{"kernel '" + k.name + "' cannot be lowered to SPIR-V: " + compiled.error()};
        words = std::move(compiled).value();
        if (!file.empty()) write_file(file, *words);
    }
    auto shared = std::make_shared<const SpirvWords>(std::move(*words));
    std::lock_guard lock(cache.mutex);
    ++(from_disk ? cache.stats.disk_hits : cache.stats.compiled);
    cache.add(key, shared);
    return SharedSpirv(shared);
}

std::filesystem::path default_cache_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "polymer";
    if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "polymer";
    return {};
}

KernelSpirvStats kernel_spirv_stats() {
    MemoryCache& cache = memory();
    std::lock_guard lock(cache.mutex);
    return cache.stats;
}

}  // namespace polymer
