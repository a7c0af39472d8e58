#include "vm/region_store.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "vm/backend.h"

namespace polymer {
namespace {

// Writes element i of a fill or range initialiser.
template <class T>
void fill_elements(T* p, const RegionDecl& d, bool range) {
    if constexpr (std::is_floating_point_v<T>) {
        for (std::uint64_t i = 0; i < d.length; ++i)
            p[i] = static_cast<T>(range ? d.float_value0 + static_cast<double>(i) * d.float_value1 : d.float_value0);
    } else {
        // Integer ranges wrap like the integer instructions do.
        const auto v0 = static_cast<std::uint64_t>(d.int_value0);
        const auto step = static_cast<std::uint64_t>(d.int_value1);
        for (std::uint64_t i = 0; i < d.length; ++i) p[i] = static_cast<T>(range ? v0 + i * step : v0);
    }
}

void initialise(Region& r, const RegionDecl& d) {
    const bool range = d.init == RegionInit::Range;
    switch (r.type) {
    case ElemType::U8: fill_elements(r.as<std::uint8_t>(), d, range); break;
    case ElemType::I32: fill_elements(r.as<std::int32_t>(), d, range); break;
    case ElemType::U32: fill_elements(r.as<std::uint32_t>(), d, range); break;
    case ElemType::I64: fill_elements(r.as<std::int64_t>(), d, range); break;
    case ElemType::F32: fill_elements(r.as<float>(), d, range); break;
    case ElemType::F64: fill_elements(r.as<double>(), d, range); break;
    }
}

}  // namespace

void RegionStore::FreeStorage::operator()(void* p) const {
    if (mapped_bytes == 0) std::free(p);
    else ::munmap(p, mapped_bytes);
}

Result<RegionStore> RegionStore::create(const std::vector<RegionDecl>& decls, std::uint64_t memory_limit,
                                        bool placed_elsewhere) {
    RegionStore store;
    store.memory_limit_ = memory_limit;
    store.placed_elsewhere_ = placed_elsewhere;
    store.regions_.resize(decls.size());
    store.storage_.resize(decls.size());
    for (std::size_t i = 0; i < decls.size(); ++i) {
        const RegionDecl& d = decls[i];
        Region& r = store.regions_[i];
        r.type = d.type;
        r.name = d.name;
        r.distributed = d.distributed;
        if (d.length > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return Error{"region '" + d.name + "' is too long (" + std::to_string(d.length) + " elements)"};
        std::string why = store.allocate(r, static_cast<std::int64_t>(d.length), nullptr);
        if (!why.empty()) return Error{"region '" + d.name + "': " + why};
        switch (d.init) {
        case RegionInit::Zeros: break;
        case RegionInit::Fill:
        case RegionInit::Range: initialise(r, d); break;
        case RegionInit::List:
        case RegionInit::String:
            if (d.data.size() != r.bytes())
                return Error{"region '" + d.name + "' has " + std::to_string(d.data.size()) +
                             " bytes of initial data, expected " + std::to_string(r.bytes())};
            if (!d.data.empty()) std::memcpy(r.data, d.data.data(), d.data.size());
            break;
        }
    }
    return store;
}

namespace {
// Regions at least this large get their own mapping, in huge pages if the kernel has them.
constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;
}  // namespace

std::string RegionStore::allocate(Region& r, std::int64_t count, Backend* backend) {
    if (count < 0) return "cannot allocate " + std::to_string(count) + " elements";
    const std::uint64_t n = static_cast<std::uint64_t>(count);
    const std::uint64_t size = elem_size(r.type);
    const bool counts = counted(r);
    const std::uint64_t old_bytes = counts ? r.bytes() : 0;
    if (counts && n > (memory_limit_ + old_bytes - bytes_in_use_) / size)
        return std::to_string(n) + " " + std::string(elem_type_name(r.type)) +
               " elements would pass the memory limit of " + std::to_string(memory_limit_) + " bytes";
    if (n > std::numeric_limits<std::size_t>::max() / size)
        return std::to_string(n) + " " + std::string(elem_type_name(r.type)) + " elements do not fit in memory";
    const std::size_t bytes = static_cast<std::size_t>(n * size);
    std::unique_ptr<void, FreeStorage> p;
    if (n != 0 && counts) {
        if (bytes >= kHugePageBytes) {
            // Zero pages from the kernel, untouched until used, in 2 MiB pages
            // where it has them (transparent huge pages, asked for: Debian's
            // default is "madvise"): a 128 MiB region then takes 64 page
            // faults, not 32768, and a stream over it few TLB misses. On the
            // development VM, loops_bench's dot-int process went from 0.18 to
            // 0.07-0.09 s and its loop kernel from 22 to 18 ms (docs/loop-kernels.md).
            void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) return "the system refused " + std::to_string(bytes) + " bytes";
            ::madvise(m, bytes, MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages
            p = std::unique_ptr<void, FreeStorage>(m, FreeStorage{bytes});
        } else {
            // calloc: blocks from the kernel come already zeroed, untouched until used.
            p.reset(std::calloc(n, size));
            if (p == nullptr) return "the system refused " + std::to_string(bytes) + " bytes";
        }
    } else if (n != 0) {
        // Address space only: the kernel maps zero pages as they are touched
        // and, with MAP_NORESERVE, charges nothing up front, so a region
        // larger than this machine's memory can be created; page-aligned.
        void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return "the system refused " + std::to_string(bytes) + " bytes of address space (" +
                   std::strerror(errno) + ")";
        p = std::unique_ptr<void, FreeStorage>(m, FreeStorage{bytes});
    }
    if (backend != nullptr) backend->forget_region(r);
    const std::size_t index = static_cast<std::size_t>(&r - regions_.data());
    r.data = p.get();
    storage_[index] = std::move(p);
    if (counts) bytes_in_use_ = bytes_in_use_ - old_bytes + bytes;
    r.length = n;
    r.set_fences(0, 0, 0, 0);  // fresh storage: every element at home (and the limits follow the length)
    // A distributed region's fresh storage starts on the backend's nodes.
    if (backend != nullptr && !counts && n != 0) backend->place_region(r);
    return {};
}

void RegionStore::release(Region& r, Backend* backend) {
    if (backend != nullptr) backend->forget_region(r);
    const std::size_t index = static_cast<std::size_t>(&r - regions_.data());
    if (counted(r)) bytes_in_use_ -= r.bytes();
    storage_[index].reset();
    r.data = nullptr;
    r.length = 0;
    r.set_fences(0, 0, 0, 0);
}

}  // namespace polymer
