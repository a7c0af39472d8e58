// Release consistency for procedures away from the home (vm/procs/away.h):
// each side keeps a twin of the regions (what it knows the other side has)
// and sends only the bytes that differ from it, in runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vm/procs/away.h"
#include "vm/region_store.h"

namespace polymer {

// One copy of every region's bytes, by region index.
using RegionTwin = std::vector<std::vector<std::byte>>;

// At most this many bytes in one RegionWrite (a frame carries one or a few).
inline constexpr std::size_t kMaxWriteBytes = std::size_t{4} << 20;

// A twin of `regions` as they are now; or all zeros, each region's length.
RegionTwin twin_of(const RegionStore& regions);
RegionTwin zero_twin(const RegionStore& regions);

// The bytes where `regions` differ from `twin`, as runs (two differing bytes
// closer than a few words make one run), each at most kMaxWriteBytes; the
// twin then holds them too. Regions whose length differs from their twin's
// are skipped: the caller takes those first (take_lengths).
std::vector<RegionWrite> take_changes(const RegionStore& regions, RegionTwin& twin);

// The regions whose length is no longer their twin's (allocated anew,
// `alloc` or `free`), with their lengths now; each twin then holds zeros
// at that length, so that take_changes next sends the bytes that are not
// zero. The other side applies them (apply_length) before those writes.
std::vector<RegionLength> take_lengths(const RegionStore& regions, RegionTwin& twin);

// Allocates region `l.region` anew in `regions` at `l.length` elements (all
// zero; `backend` forgets the old storage) and zeros its twin at that
// length: "" when done, else why not (no such region, the memory limit).
std::string apply_length(RegionStore& regions, RegionTwin& twin, const RegionLength& l, Backend* backend);

// Writes `w` into `regions` and `twin` both. False (nothing written) when it
// does not fit inside the region.
bool apply_write(RegionStore& regions, RegionTwin& twin, const RegionWrite& w);
// The same into the twin only (the other side has these bytes now).
bool note_write(RegionTwin& twin, const RegionWrite& w);

}  // namespace polymer
