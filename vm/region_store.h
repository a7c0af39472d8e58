// The regions of one running module: typed arrays with their storage. The
// store is built once from the module's declarations and never grows, so a
// Region's address is stable and the decoder may keep pointers to it; `alloc`
// and `free` replace a region's storage, never the Region itself.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"
#include "vm/vector_op.h"

namespace polymer {

class Backend;  // vm/backend.h

struct Region {
    ElemType type = ElemType::I32;
    std::uint64_t length = 0;  // elements; RegionStore changes it (and the limits with it)
    void* data = nullptr;      // `length` elements, 8-byte aligned, or nullptr when empty
    std::string_view name;     // the declaration's name (the Module outlives the store)
    bool distributed = false;  // its declaration says `distributed` (RegionDecl::distributed)

    template <class T>
    T* as() const { return static_cast<T*>(data); }
    std::uint64_t bytes() const { return length * elem_size(type); }
    RegionView view() const { return RegionView{type, data, length, const_cast<Region*>(this)}; }  // the backend may fence it

    // Residency fences (docs/cluster.md, "Data lives on the nodes"). A backend
    // that keeps element values elsewhere (the cluster's) sets them: before the
    // home reads element i with reads_fenced(i), or writes one with
    // writes_fenced(i), the VM calls Backend::bring_home, which makes it
    // current at home (and, for a write, the home's own) and narrows the
    // fences. Each is a hull [begin, end) of elements; (0, 0): nothing fenced.
    // The read fence: the home's copy may be stale; the write fence: copies
    // elsewhere (stale or not). Set only here, so the limits follow.
    void set_fences(std::uint64_t read_begin, std::uint64_t read_end, std::uint64_t write_begin,
                    std::uint64_t write_end) {
        read_fence_begin_ = read_begin, read_fence_end_ = read_end;
        write_fence_begin_ = write_begin, write_fence_end_ = write_end;
        read_limit_ = limit(read_begin, read_end);
        write_limit_ = limit(write_begin, write_end);
    }
    std::uint64_t read_fence_begin() const { return read_fence_begin_; }
    std::uint64_t read_fence_end() const { return read_fence_end_; }
    std::uint64_t write_fence_begin() const { return write_fence_begin_; }
    std::uint64_t write_fence_end() const { return write_fence_end_; }
    // One unsigned compare each: inside the hull (an empty hull holds nothing).
    bool reads_fenced(std::uint64_t i) const { return i - read_fence_begin_ < read_fence_end_ - read_fence_begin_; }
    bool writes_fenced(std::uint64_t i) const { return i - write_fence_begin_ < write_fence_end_ - write_fence_begin_; }
    // The fast path of ld.T (st.T): every element below read_limit()
    // (write_limit()) is in bounds and outside the read (write) fence, so
    // `i < limit` is the bounds check and the fence check in one compare.
    // Elements at or past it may still be either; the slow path tells.
    std::uint64_t read_limit() const { return read_limit_; }
    std::uint64_t write_limit() const { return write_limit_; }

private:
    std::uint64_t limit(std::uint64_t begin, std::uint64_t end) const { return begin < end && begin < length ? begin : length; }

    std::uint64_t read_fence_begin_ = 0, read_fence_end_ = 0;
    std::uint64_t write_fence_begin_ = 0, write_fence_end_ = 0;
    std::uint64_t read_limit_ = 0, write_limit_ = 0;  // from length and the fences (set_fences)
};

class RegionStore {
public:
    // Builds every region from its declaration. Fails when a declaration is
    // inconsistent (list data of the wrong size) or the total is over
    // `memory_limit` bytes. With `placed_elsewhere` (Backend::places_regions:
    // a cluster keeps distributed regions on its nodes) a distributed
    // region's storage is only reserved address space (an anonymous
    // MAP_NORESERVE mapping: zero pages, backed as they are touched, no
    // commit charge), and does not count in bytes_in_use nor against
    // `memory_limit`: the backend counts and limits what the home holds of
    // it. Without it a distributed region is stored and counted as any other.
    static Result<RegionStore> create(const std::vector<RegionDecl>& decls, std::uint64_t memory_limit,
                                      bool placed_elsewhere = false);

    std::size_t size() const { return regions_.size(); }
    Region& operator[](std::size_t i) { return regions_[i]; }
    const Region& operator[](std::size_t i) const { return regions_[i]; }
    std::uint64_t bytes_in_use() const { return bytes_in_use_; }
    std::uint32_t index_of(const Region& r) const { return static_cast<std::uint32_t>(&r - regions_.data()); }
    // The region handle `v` names (isa/encoding.h), or nullptr when v is not
    // the handle of one of these regions.
    Region* by_handle(std::int64_t v) {
        const std::int64_t i = region_of_handle(v);
        return i >= 0 && static_cast<std::uint64_t>(i) < regions_.size() ? &regions_[static_cast<std::size_t>(i)] : nullptr;
    }
    const Region* by_handle(std::int64_t v) const { return const_cast<RegionStore*>(this)->by_handle(v); }

    // Gives `r` a fresh zero-filled storage of `count` elements. Returns an
    // empty string on success, else why not (negative count, over the memory
    // limit, the system refused); `r` is then unchanged. `backend` (null
    // while the store is built) is told (Backend::forget_region) just before
    // the old storage goes, so values it keeps elsewhere go with it.
    // A distributed region of a store created with `placed_elsewhere` keeps
    // getting reserved, uncounted storage here.
    std::string allocate(Region& r, std::int64_t count, Backend* backend);
    void release(Region& r, Backend* backend);

private:
    // calloc'ed storage (mapped_bytes 0), or an anonymous mapping of
    // mapped_bytes (a distributed region placed elsewhere).
    struct FreeStorage {
        std::size_t mapped_bytes = 0;
        void operator()(void* p) const;
    };
    // Whether r's storage counts against the memory limit: all but a
    // distributed region's when the store was created with placed_elsewhere.
    bool counted(const Region& r) const { return !(r.distributed && placed_elsewhere_); }

    std::vector<Region> regions_;
    std::vector<std::unique_ptr<void, FreeStorage>> storage_;  // parallel to regions_
    std::uint64_t bytes_in_use_ = 0;
    std::uint64_t memory_limit_ = 0;
    bool placed_elsewhere_ = false;
};

}  // namespace polymer
