#include "cluster/messages.h"

#include <algorithm>

#include <cstring>

#include "isa/byte_io.h"
#include "isa/elem_type.h"
#include "vm/trap.h"

namespace polymer::cluster {

using pbc::ByteReader;
using pbc::ByteWriter;

bool gpu_class(const Capabilities& caps) {
    return std::any_of(caps.devices.begin(), caps.devices.end(),
                       [](const DeviceDesc& d) { return d.type == "discrete" || d.type == "integrated"; });
}

const char* error_code_name(ErrorCode c) {
    switch (c) {
    case ErrorCode::BadFrame: return "bad-frame";
    case ErrorCode::VersionMismatch: return "version-mismatch";
    case ErrorCode::AuthFailed: return "auth-failed";
    case ErrorCode::NotAuthenticated: return "not-authenticated";
    case ErrorCode::BadPayload: return "bad-payload";
    case ErrorCode::BadModule: return "bad-module";
    case ErrorCode::UnknownModule: return "unknown-module";
    case ErrorCode::UnknownRegion: return "unknown-region";
    case ErrorCode::OutOfRange: return "out-of-range";
    case ErrorCode::OutOfMemory: return "out-of-memory";
    case ErrorCode::BadLaunch: return "bad-launch";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::ShuttingDown: return "shutting-down";
    case ErrorCode::FrameTooLarge: return "frame-too-large";
    case ErrorCode::BadChecksum: return "bad-checksum";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::PeerFetchFailed: return "peer-fetch-failed";
    }
    return "unknown-error";
}

namespace {

template <std::size_t N>
void put_array(ByteWriter& w, const std::array<std::uint8_t, N>& a) {
    w.bytes(a);
}
template <std::size_t N>
void get_array(ByteReader& r, std::array<std::uint8_t, N>& a, const char* what) {
    auto b = r.bytes(N, what);
    if (r.ok()) std::copy(b.begin(), b.end(), a.begin());
}
// A byte blob is its length (u64) and the bytes.
void put_blob(ByteWriter& w, const Bytes& b) {
    w.u64(b.size());
    w.bytes(b);
}
Bytes get_blob(ByteReader& r, const char* what) {
    std::uint64_t n = r.u64(what);
    auto b = r.bytes(n, what);
    return Bytes(b.begin(), b.end());
}

// Runs `read` over the whole payload and requires it to end exactly there.
template <class T, class Fn>
Result<T> decode_with(Payload p, const char* message, Fn read) {
    ByteReader r(p, 0, p.size(), message, " payload");
    T m{};
    read(r, m);
    r.expect_end();
    if (!r.ok()) return Error{r.error()};
    return m;
}

}  // namespace

Bytes encode(const Hello& m) {
    ByteWriter w;
    w.u16(m.version);
    w.str(m.name);
    return w.take();
}
Result<Hello> decode_hello(Payload p) {
    return decode_with<Hello>(p, "hello", [](ByteReader& r, Hello& m) {
        m.version = r.u16("version");
        m.name = r.str("name");
    });
}

Bytes encode(const Challenge& m) {
    ByteWriter w;
    put_array(w, m.node_nonce);
    return w.take();
}
Result<Challenge> decode_challenge(Payload p) {
    return decode_with<Challenge>(p, "challenge", [](ByteReader& r, Challenge& m) { get_array(r, m.node_nonce, "nonce"); });
}

Bytes encode(const Response& m) {
    ByteWriter w;
    put_array(w, m.mac);
    put_array(w, m.client_nonce);
    return w.take();
}
Result<Response> decode_response(Payload p) {
    return decode_with<Response>(p, "response", [](ByteReader& r, Response& m) {
        get_array(r, m.mac, "hmac");
        get_array(r, m.client_nonce, "client nonce");
    });
}

Bytes encode(const Welcome& m) {
    ByteWriter w;
    put_array(w, m.proof);
    w.str(m.caps.name);
    w.str(m.caps.backend);
    w.u32(m.caps.cores);
    w.u64(m.caps.memory_bytes);
    w.u64(m.caps.max_memory);
    w.f64(m.caps.throughput);
    w.u32(static_cast<std::uint32_t>(m.caps.devices.size()));
    for (const DeviceDesc& d : m.caps.devices) {
        w.str(d.name);
        w.str(d.type);
        w.u64(d.memory_bytes);
    }
    w.u16(m.caps.peer_port);
    return w.take();
}
Result<Welcome> decode_welcome(Payload p) {
    return decode_with<Welcome>(p, "welcome", [](ByteReader& r, Welcome& m) {
        get_array(r, m.proof, "proof");
        m.caps.name = r.str("name");
        m.caps.backend = r.str("backend");
        m.caps.cores = r.u32("cores");
        m.caps.memory_bytes = r.u64("memory");
        m.caps.max_memory = r.u64("max memory");
        m.caps.throughput = r.f64("throughput");
        const std::uint32_t n = r.count(16, "devices");
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            r.entry("device", i);
            DeviceDesc d;
            d.name = r.str("name");
            d.type = r.str("type");
            d.memory_bytes = r.u64("memory");
            m.caps.devices.push_back(std::move(d));
        }
        r.no_entry();
        m.caps.peer_port = r.u16("peer port");
    });
}

Bytes encode(const ModuleHash& m) {
    ByteWriter w;
    put_array(w, m.hash);
    return w.take();
}
Result<ModuleHash> decode_module_hash(Payload p) {
    return decode_with<ModuleHash>(p, "have-module", [](ByteReader& r, ModuleHash& m) { get_array(r, m.hash, "hash"); });
}

Bytes encode(const HaveModuleReply& m) {
    ByteWriter w;
    w.u8(m.present ? 1 : 0);
    return w.take();
}
Result<HaveModuleReply> decode_have_module_reply(Payload p) {
    return decode_with<HaveModuleReply>(p, "have-module-reply",
                                        [](ByteReader& r, HaveModuleReply& m) { m.present = r.flag("present"); });
}

Bytes encode(const ModuleUpload& m) {
    ByteWriter w;
    put_array(w, m.hash);
    put_blob(w, m.pbc);
    return w.take();
}
Result<ModuleUpload> decode_module_upload(Payload p) {
    return decode_with<ModuleUpload>(p, "module-upload", [](ByteReader& r, ModuleUpload& m) {
        get_array(r, m.hash, "hash");
        m.pbc = get_blob(r, "module bytes");
    });
}

Bytes encode(const RegionPutHead& m) {
    ByteWriter w;
    w.u64(m.region);
    w.u64(m.version);
    w.u64(m.total_bytes);
    w.u64(m.offset);
    w.u64(m.length);
    return w.take();
}
namespace {
void read_put_head(ByteReader& r, RegionPutHead& m) {
    m.region = r.u64("region");
    m.version = r.u64("version");
    m.total_bytes = r.u64("total bytes");
    m.offset = r.u64("offset");
    m.length = r.u64("slice bytes");
}
}  // namespace
Result<RegionPutHead> decode_region_put_head(Payload p) {
    return decode_with<RegionPutHead>(p, "region-put", &read_put_head);
}
Bytes encode_region_put(std::uint64_t region, std::uint64_t version, std::uint64_t total_bytes, std::uint64_t offset,
                        std::span<const std::uint8_t> data) {
    Bytes out = encode(RegionPutHead{region, version, total_bytes, offset, data.size()});
    out.insert(out.end(), data.begin(), data.end());
    return out;
}
Bytes encode(const RegionPut& m) { return encode_region_put(m.region, m.version, m.total_bytes, m.offset, m.data); }
Result<RegionPutView> decode_region_put_view(Payload p) {
    return decode_with<RegionPutView>(p, "region-put", [](ByteReader& r, RegionPutView& m) {
        RegionPutHead h;
        read_put_head(r, h);
        m = RegionPutView{h.region, h.version, h.total_bytes, h.offset, r.bytes(h.length, "slice bytes")};
    });
}
Result<RegionPut> decode_region_put(Payload p) {
    auto v = decode_region_put_view(p);
    if (!v) return Error{v.error()};
    const RegionPutView& m = v.value();
    return RegionPut{m.region, m.version, m.total_bytes, m.offset, Bytes(m.data.begin(), m.data.end())};
}

namespace {
// A region-get and a region-data's head: the same four fields.
void write_region_range(ByteWriter& w, std::uint64_t region, std::uint64_t version, std::uint64_t offset,
                        std::uint64_t length) {
    w.u64(region);
    w.u64(version);
    w.u64(offset);
    w.u64(length);
}
}  // namespace
Bytes encode(const RegionGet& m) {
    ByteWriter w;
    write_region_range(w, m.region, m.version, m.offset, m.length);
    return w.take();
}
namespace {
template <class T>
void read_region_range(ByteReader& r, T& m, const char* length_name) {
    m.region = r.u64("region");
    m.version = r.u64("version");
    m.offset = r.u64("offset");
    m.length = r.u64(length_name);
}
}  // namespace
Result<RegionGet> decode_region_get(Payload p) {
    return decode_with<RegionGet>(p, "region-get", [](ByteReader& r, RegionGet& m) { read_region_range(r, m, "length"); });
}

Bytes encode_region_data(std::uint64_t region, std::uint64_t version, std::uint64_t offset,
                         std::span<const std::uint8_t> data) {
    ByteWriter w;
    write_region_range(w, region, version, offset, data.size());
    Bytes out = w.take();
    out.reserve(out.size() + data.size());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}
Bytes encode(const RegionData& m) { return encode_region_data(m.region, m.version, m.offset, m.data); }
Result<RegionData> decode_region_data(Payload p) {
    return decode_with<RegionData>(p, "region-data", [](ByteReader& r, RegionData& m) {
        m.region = r.u64("region");
        m.version = r.u64("version");
        m.offset = r.u64("offset");
        m.data = get_blob(r, "slice bytes");
    });
}
Result<RegionDataHead> decode_region_data_head(Payload p) {
    return decode_with<RegionDataHead>(p, "region-data",
                                       [](ByteReader& r, RegionDataHead& m) { read_region_range(r, m, "slice bytes"); });
}

Bytes encode(const LaunchChunk& m) {
    ByteWriter w;
    put_array(w, m.module);
    w.u32(m.kernel);
    w.u64(m.count);
    w.u64(m.begin);
    w.u64(m.end);
    w.u32(static_cast<std::uint32_t>(m.args.size()));
    for (const Binding& b : m.args) {
        w.u8(static_cast<std::uint8_t>(b.kind));
        if (b.kind == Binding::Kind::Region) {
            w.u64(b.region);
            w.u64(b.version);
        } else {
            w.u64(b.uniform);
        }
    }
    w.u32(m.max_iterations);
    w.u8(m.keep_outputs ? 1 : 0);
    w.u32(static_cast<std::uint32_t>(m.fetches.size()));
    for (const HaloFetch& f : m.fetches) {
        w.str(f.host);
        w.u16(f.port);
        w.u64(f.from_region);
        w.u64(f.from_version);
        w.u64(f.to_region);
        w.u64(f.to_version);
        w.u64(f.offset);
        w.u64(f.length);
    }
    w.u64(m.rounds);
    return w.take();
}
Result<LaunchChunk> decode_launch(Payload p) {
    return decode_with<LaunchChunk>(p, "launch", [](ByteReader& r, LaunchChunk& m) {
        get_array(r, m.module, "module hash");
        m.kernel = r.u32("kernel index");
        m.count = r.u64("count");
        m.begin = r.u64("begin");
        m.end = r.u64("end");
        const std::uint32_t n = r.count(9, "bindings");  // the smallest: kind u8, uniform u64
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            r.entry("binding", i);
            Binding b;
            const std::uint8_t kind = r.u8("kind");
            if (kind == 0) {
                b.kind = Binding::Kind::Region;
                b.region = r.u64("region");
                b.version = r.u64("version");
            } else if (kind == 1) {
                b.kind = Binding::Kind::Uniform;
                b.uniform = r.u64("uniform");
            } else {
                r.fail(pbc::cat("kind is ", unsigned{kind}, ", not 0 (region) or 1 (uniform)"));
            }
            m.args.push_back(b);
        }
        m.max_iterations = r.u32("max iterations");
        r.no_entry();
        m.keep_outputs = r.flag("keep outputs");
        const std::uint32_t nf = r.count(54, "fetches");  // the smallest: empty host (u32), port, six u64
        for (std::uint32_t i = 0; i < nf && r.ok(); ++i) {
            r.entry("fetch", i);
            HaloFetch f;
            f.host = r.str("host");
            f.port = r.u16("port");
            f.from_region = r.u64("from region");
            f.from_version = r.u64("from version");
            f.to_region = r.u64("to region");
            f.to_version = r.u64("to version");
            f.offset = r.u64("offset");
            f.length = r.u64("length");
            m.fetches.push_back(std::move(f));
        }
        r.no_entry();
        m.rounds = r.u64("rounds");
        if (r.ok() && m.rounds == 0) r.fail("rounds is 0: a launch runs at least once");
    });
}

Bytes encode(const ChunkResult& m) {
    ByteWriter w;
    w.u64(m.kernel_ns);
    w.u32(static_cast<std::uint32_t>(m.outputs.size()));
    for (const OutputSlice& o : m.outputs) {
        w.u32(o.param);
        w.u64(o.region);
        w.u64(o.offset);
        put_blob(w, o.data);
    }
    w.u8(static_cast<std::uint8_t>(m.fault.kind));
    w.u32(m.fault.lane);
    w.u32(m.fault.pc);
    w.u32(m.fault.param);
    w.u32(static_cast<std::uint32_t>(m.fault.index));
    w.u64(m.fault.length);
    w.u64(m.fault_round);
    return w.take();
}
Result<ChunkResult> decode_chunk_result(Payload p) {
    return decode_with<ChunkResult>(p, "chunk-result", [](ByteReader& r, ChunkResult& m) {
        m.kernel_ns = r.u64("kernel time");
        const std::uint32_t n = r.count(28, "outputs");
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            r.entry("output", i);
            OutputSlice o;
            o.param = r.u32("param");
            o.region = r.u64("region");
            o.offset = r.u64("offset");
            o.data = get_blob(r, "slice bytes");
            m.outputs.push_back(std::move(o));
        }
        const std::uint8_t kind = r.u8("fault kind");
        if (kind > static_cast<std::uint8_t>(KernelFault::Kind::DeviceLoopLimit))
            r.fail(pbc::cat("fault kind is ", unsigned{kind}, ", not 0 to 4"));
        m.fault.kind = static_cast<KernelFault::Kind>(kind);
        m.fault.lane = r.u32("fault lane");
        m.fault.pc = r.u32("fault pc");
        m.fault.param = r.u32("fault param");
        m.fault.index = static_cast<std::int32_t>(r.u32("fault index"));
        m.fault.length = r.u64("fault length");
        m.fault_round = r.u64("fault round");
    });
}

Bytes encode(const VectorChunk& m) {
    ByteWriter w;
    w.u8(m.op);
    w.u64(m.length);
    w.u64(m.begin);
    w.u64(m.end);
    w.u64(static_cast<std::uint64_t>(m.int_scalar));
    w.f64(m.float_scalar);
    w.u32(static_cast<std::uint32_t>(m.operands.size()));
    for (const VectorOperand& o : m.operands) {
        w.u8(o.slot);
        w.u8(o.type);
        w.u64(o.region);
        w.u64(o.version);
    }
    return w.take();
}
Result<VectorChunk> decode_vector_chunk(Payload p) {
    return decode_with<VectorChunk>(p, "vector-chunk", [](ByteReader& r, VectorChunk& m) {
        m.op = r.u8("op");
        m.length = r.u64("length");
        m.begin = r.u64("begin");
        m.end = r.u64("end");
        m.int_scalar = r.i64("int scalar");
        m.float_scalar = r.f64("float scalar");
        const std::uint32_t n = r.count(18, "operands");
        if (r.ok() && n > 4) r.fail(pbc::cat("operands is ", n, ", more than the 4 slots"));
        unsigned seen = 0;
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            r.entry("operand", i);
            VectorOperand o;
            o.slot = r.u8("slot");
            o.type = r.u8("element type");
            o.region = r.u64("region");
            o.version = r.u64("version");
            if (!r.ok()) break;
            if (o.slot > 3) r.fail(pbc::cat("slot is ", unsigned{o.slot}, ", not 0 (dst) to 3 (c)"));
            else if (seen & (1u << o.slot)) r.fail(pbc::cat("slot ", unsigned{o.slot}, " is bound twice"));
            else if (!is_valid_elem_type(o.type)) r.fail(pbc::cat("element type is ", unsigned{o.type}, ", not one of the ISA's"));
            if (!r.ok()) break;  // a slot past 3 must not reach the shift
            seen |= 1u << o.slot;
            m.operands.push_back(o);
        }
    });
}

Bytes encode(const VectorChunkResult& m) {
    ByteWriter w;
    w.u64(m.kernel_ns);
    w.u64(static_cast<std::uint64_t>(m.int_value));
    w.u32(static_cast<std::uint32_t>(m.values.size()));
    for (double v : m.values) w.f64(v);
    return w.take();
}
Result<VectorChunkResult> decode_vector_chunk_result(Payload p) {
    return decode_with<VectorChunkResult>(p, "vector-chunk-result", [](ByteReader& r, VectorChunkResult& m) {
        m.kernel_ns = r.u64("kernel time");
        m.int_value = r.i64("int value");
        const std::uint32_t n = r.count(8, "values");
        m.values.reserve(r.ok() ? n : 0);
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) m.values.push_back(r.f64("value"));
    });
}

// --- procedures on the nodes (version 7) ---

namespace {

void put_bytes(ByteWriter& w, const std::vector<std::byte>& b) {
    w.u64(b.size());
    w.bytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
}
std::vector<std::byte> get_bytes(ByteReader& r, const char* what) {
    const std::uint64_t n = r.u64(what);
    auto b = r.bytes(n, what);
    std::vector<std::byte> out(b.size());
    if (!b.empty()) std::memcpy(out.data(), b.data(), b.size());
    return out;
}

void put_int_regs(ByteWriter& w, const std::vector<std::int64_t>& regs) {
    w.u32(static_cast<std::uint32_t>(regs.size()));
    for (std::int64_t v : regs) w.i64(v);
}
std::vector<std::int64_t> get_int_regs(ByteReader& r) {
    const std::uint32_t n = r.count(8, "int registers");
    std::vector<std::int64_t> regs;
    regs.reserve(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) regs.push_back(r.i64("int register"));
    return regs;
}
void put_float_regs(ByteWriter& w, const std::vector<double>& regs) {
    w.u32(static_cast<std::uint32_t>(regs.size()));
    for (double v : regs) w.f64(v);
}
std::vector<double> get_float_regs(ByteReader& r) {
    const std::uint32_t n = r.count(8, "float registers");
    std::vector<double> regs;
    regs.reserve(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) regs.push_back(r.f64("float register"));
    return regs;
}

// A message: kind u8, bits u64, element type u8, elements blob. Only a
// slice carries elements, a whole number of them.
void put_message(ByteWriter& w, const Message& m) {
    w.u8(static_cast<std::uint8_t>(m.kind));
    w.u64(m.bits);
    w.u8(static_cast<std::uint8_t>(m.type));
    put_bytes(w, m.elements);
}
Message get_message(ByteReader& r) {
    Message m;
    const std::size_t at = r.pos();
    const std::uint8_t kind = r.u8("message kind");
    if (r.ok() && kind > static_cast<std::uint8_t>(MessageKind::Slice))
        r.fail_at(at, pbc::cat("message kind is ", unsigned{kind}, ", not 0 (int), 1 (float) or 2 (slice)"));
    m.kind = static_cast<MessageKind>(kind);
    m.bits = r.u64("message bits");
    const std::size_t type_at = r.pos();
    const std::uint8_t type = r.u8("message element type");
    if (r.ok() && !is_valid_elem_type(type))
        r.fail_at(type_at, pbc::cat("message element type is ", unsigned{type}, ", not one of the ISA's"));
    m.type = static_cast<ElemType>(type);
    m.elements = get_bytes(r, "message elements");
    if (!r.ok()) return m;
    if (m.kind != MessageKind::Slice && !m.elements.empty())
        r.fail(pbc::cat("message elements: ", m.elements.size(), " bytes, but only a slice message carries elements"));
    else if (m.elements.size() % elem_size(m.type) != 0)
        r.fail(pbc::cat("message elements: ", m.elements.size(), " bytes are not a whole number of ", elem_size(m.type),
                        "-byte elements"));
    return m;
}

// Region writes: n u32, then n × (region u32, offset u64, bytes blob).
void put_writes(ByteWriter& w, const std::vector<RegionWrite>& writes) {
    w.u32(static_cast<std::uint32_t>(writes.size()));
    for (const RegionWrite& rw : writes) {
        w.u32(rw.region);
        w.u64(rw.offset);
        put_bytes(w, rw.bytes);
    }
}
std::vector<RegionWrite> get_writes(ByteReader& r) {
    const std::uint32_t n = r.count(20, "writes");  // the smallest: region, offset, an empty blob
    std::vector<RegionWrite> writes;
    writes.reserve(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("write", i);
        RegionWrite rw;
        rw.region = r.u32("region");
        rw.offset = r.u64("offset");
        rw.bytes = get_bytes(r, "bytes");
        writes.push_back(std::move(rw));
    }
    r.no_entry();
    return writes;
}

// Regions allocated anew: n u32, then n × (region u32, length u64).
void put_lengths(ByteWriter& w, const std::vector<RegionLength>& lengths) {
    w.u32(static_cast<std::uint32_t>(lengths.size()));
    for (const RegionLength& l : lengths) {
        w.u32(l.region);
        w.u64(l.length);
    }
}
std::vector<RegionLength> get_lengths(ByteReader& r) {
    const std::uint32_t n = r.count(12, "lengths");
    std::vector<RegionLength> lengths;
    lengths.reserve(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        r.entry("length", i);
        RegionLength l;
        l.region = r.u32("region");
        l.length = r.u64("elements");
        lengths.push_back(l);
    }
    r.no_entry();
    return lengths;
}

// A clock: n u32, then n × (procedure u32, releases u64), sorted, each once.
void put_clock(ByteWriter& w, const ViewClock& c) {
    w.u32(static_cast<std::uint32_t>(c.entries().size()));
    for (const auto& [proc, n] : c.entries()) {
        w.u32(proc);
        w.u64(n);
    }
}
ViewClock get_clock(ByteReader& r) {
    const std::size_t at = r.pos();
    const std::uint32_t n = r.count(12, "clock entries");
    if (r.ok() && n > kMaxChannelEntries) r.fail_at(at, pbc::cat("a clock of ", n, " entries, more than ", kMaxChannelEntries));
    std::vector<ViewClock::Entry> entries;
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        const std::uint32_t proc = r.u32("clock procedure");
        entries.emplace_back(proc, r.u64("clock releases"));
    }
    ViewClock c;
    if (r.ok() && !c.assign(std::move(entries))) r.fail_at(at, "a clock's entries are not sorted by procedure, each once and not zero");
    return c;
}

void put_addresses(ByteWriter& w, const std::vector<NodeAddress>& nodes) {
    w.u32(static_cast<std::uint32_t>(nodes.size()));
    for (const NodeAddress& a : nodes) {
        w.str(a.host);
        w.u16(a.port);
    }
}
std::vector<NodeAddress> get_addresses(ByteReader& r, const char* what) {
    const std::size_t at = r.pos();
    const std::uint32_t nodes = r.count(6, what);  // the smallest: an empty host (u32), a port
    if (r.ok() && nodes > kMaxProcClusterNodes) r.fail_at(at, pbc::cat("names ", nodes, " ", what, ", more than ", kMaxProcClusterNodes));
    std::vector<NodeAddress> out;
    for (std::uint32_t i = 0; i < nodes && r.ok(); ++i) {
        r.entry(what, i);
        NodeAddress a;
        a.host = r.str("host");
        a.port = r.u16("port");
        out.push_back(std::move(a));
    }
    r.no_entry();
    return out;
}

}  // namespace

Bytes encode(const ProcStart& m) {
    ByteWriter w;
    put_array(w, m.module);
    const AwayStart& s = m.start;
    w.u32(s.id);
    w.u32(s.entry_pc);
    w.u8(static_cast<std::uint8_t>(s.exec));
    w.u32(s.rob_size);
    w.u32(s.kernel_steps);
    w.u64(s.max_steps);
    put_int_regs(w, s.int_regs);
    put_float_regs(w, s.float_regs);
    w.u32(static_cast<std::uint32_t>(s.region_lengths.size()));
    for (std::uint64_t n : s.region_lengths) w.u64(n);
    w.u32(static_cast<std::uint32_t>(s.args.size()));
    for (const std::string& a : s.args) w.str(a);
    put_addresses(w, m.cluster);
    w.u32(m.self);
    put_addresses(w, m.nodes);
    w.u64(m.run);
    w.u32(static_cast<std::uint32_t>(s.keepers.size()));
    for (const auto& [channel, node] : s.keepers) {
        w.u32(channel);
        w.u32(node);
    }
    return w.take();
}
Result<ProcStart> decode_proc_start(Payload p) {
    return decode_with<ProcStart>(p, "proc-start", [](ByteReader& r, ProcStart& m) {
        get_array(r, m.module, "module hash");
        AwayStart& s = m.start;
        s.id = r.u32("procedure id");
        s.entry_pc = r.u32("entry pc");
        const std::size_t at = r.pos();
        const std::uint8_t exec = r.u8("exec mode");
        if (r.ok() && exec > static_cast<std::uint8_t>(ExecMode::Spec))
            r.fail_at(at, pbc::cat("exec mode is ", unsigned{exec}, ", not 0 (in-order) to 3 (spec)"));
        s.exec = static_cast<ExecMode>(exec);
        s.rob_size = r.u32("rob size");
        s.kernel_steps = r.u32("kernel steps");
        s.max_steps = r.u64("max steps");
        s.int_regs = get_int_regs(r);
        s.float_regs = get_float_regs(r);
        const std::uint32_t regions = r.count(8, "region lengths");
        s.region_lengths.reserve(regions);
        for (std::uint32_t i = 0; i < regions && r.ok(); ++i) s.region_lengths.push_back(r.u64("region length"));
        const std::uint32_t args = r.count(4, "args");
        for (std::uint32_t i = 0; i < args && r.ok(); ++i) {
            r.entry("arg", i);
            s.args.push_back(r.str("text"));
        }
        r.no_entry();
        m.cluster = get_addresses(r, "cluster nodes");
        m.self = r.u32("node number");
        m.nodes = get_addresses(r, "procedure nodes");
        m.run = r.u64("run");
        const std::size_t at_keepers = r.pos();
        const std::uint32_t keepers = r.count(8, "keepers");
        if (r.ok() && keepers > kMaxChannelEntries)
            r.fail_at(at_keepers, pbc::cat("names ", keepers, " kept channels, more than ", kMaxChannelEntries));
        for (std::uint32_t i = 0; i < keepers && r.ok(); ++i) {
            const std::uint32_t channel = r.u32("kept channel");
            s.keepers.emplace_back(channel, r.u32("its keeper"));
        }
    });
}

Bytes encode(const AwayEvent& m) {
    ByteWriter w;
    w.u8(static_cast<std::uint8_t>(m.kind));
    w.u32(m.pc);
    w.u64(m.steps);
    w.u32(m.index);
    w.i64(m.value);
    put_message(w, m.message);
    put_lengths(w, m.lengths);
    put_writes(w, m.writes);
    w.str(m.text);
    w.u8(static_cast<std::uint8_t>(m.trap));
    put_int_regs(w, m.int_regs);
    put_float_regs(w, m.float_regs);
    put_clock(w, m.clock);
    return w.take();
}
Result<AwayEvent> decode_proc_event(Payload p) {
    return decode_with<AwayEvent>(p, "proc-event", [](ByteReader& r, AwayEvent& m) {
        const std::uint8_t kind = r.u8("kind");
        if (r.ok() && (kind == static_cast<std::uint8_t>(AwayEvent::Kind::Lost) || kind > static_cast<std::uint8_t>(AwayEvent::Kind::Acquire)))
            r.fail_at(0, pbc::cat("kind is ", unsigned{kind}, ", not 0 (writes) to 8 (trap) or 10 (acquire)"));
        m.kind = static_cast<AwayEvent::Kind>(kind);
        m.pc = r.u32("pc");
        m.steps = r.u64("steps");
        m.index = r.u32("index");
        m.value = r.i64("value");
        m.message = get_message(r);
        m.lengths = get_lengths(r);
        m.writes = get_writes(r);
        m.text = r.str("text");
        const std::size_t at = r.pos();
        const std::uint8_t trap = r.u8("trap");
        if (r.ok() && trap_name(static_cast<TrapKind>(trap)) == "unknown-trap")
            r.fail_at(at, pbc::cat("trap is ", unsigned{trap}, ", not a trap kind (vm/trap.h)"));
        m.trap = static_cast<TrapKind>(trap);
        m.int_regs = get_int_regs(r);
        m.float_regs = get_float_regs(r);
        m.clock = get_clock(r);
    });
}

Bytes encode(const AwayAnswer& m) {
    ByteWriter w;
    w.u8(static_cast<std::uint8_t>(m.kind));
    put_lengths(w, m.lengths);
    put_writes(w, m.writes);
    put_message(w, m.message);
    w.i64(m.r1);
    w.f64(m.f1);
    w.str(m.text);
    put_clock(w, m.clock);
    return w.take();
}
Result<AwayAnswer> decode_proc_answer(Payload p) {
    return decode_with<AwayAnswer>(p, "proc-answer", [](ByteReader& r, AwayAnswer& m) {
        const std::uint8_t kind = r.u8("kind");
        if (r.ok() && kind > static_cast<std::uint8_t>(AwayAnswer::Kind::Moved))
            r.fail_at(0, pbc::cat("kind is ", unsigned{kind}, ", not 0 (writes), 1 (done), 2 (stop) or 3 (moved)"));
        m.kind = static_cast<AwayAnswer::Kind>(kind);
        m.lengths = get_lengths(r);
        m.writes = get_writes(r);
        m.message = get_message(r);
        m.r1 = r.i64("r1");
        m.f1 = r.f64("f1");
        m.text = r.str("text");
        m.clock = get_clock(r);
    });
}

Bytes encode(const Cancel& m) {
    ByteWriter w;
    w.u64(m.request);
    return w.take();
}
Result<Cancel> decode_cancel(Payload p) {
    return decode_with<Cancel>(p, "cancel", [](ByteReader& r, Cancel& m) { m.request = r.u64("request id"); });
}

Bytes encode(const ErrorMsg& m) {
    ByteWriter w;
    w.u32(static_cast<std::uint32_t>(m.code));
    w.str(m.message);
    return w.take();
}
Result<ErrorMsg> decode_error(Payload p) {
    return decode_with<ErrorMsg>(p, "error", [](ByteReader& r, ErrorMsg& m) {
        m.code = static_cast<ErrorCode>(r.u32("code"));
        m.message = r.str("message");
    });
}

Bytes encode(const PeerTicket& m) {
    ByteWriter w;
    put_array(w, m.ticket);
    return w.take();
}
Result<PeerTicket> decode_peer_ticket(Payload p) {
    return decode_with<PeerTicket>(p, "peer-ticket", [](ByteReader& r, PeerTicket& m) { get_array(r, m.ticket, "ticket"); });
}

Bytes encode(const PeerAccess& m) {
    ByteWriter w;
    put_array(w, m.ticket);
    return w.take();
}
Result<PeerAccess> decode_peer_access(Payload p) {
    return decode_with<PeerAccess>(p, "peer-access", [](ByteReader& r, PeerAccess& m) { get_array(r, m.ticket, "ticket"); });
}

Bytes encode(const RegionDrop& m) {
    ByteWriter w;
    w.u32(static_cast<std::uint32_t>(m.regions.size()));
    for (std::uint64_t id : m.regions) w.u64(id);
    return w.take();
}
Result<RegionDrop> decode_region_drop(Payload p) {
    return decode_with<RegionDrop>(p, "region-drop", [](ByteReader& r, RegionDrop& m) {
        const std::uint32_t n = r.count(8, "regions");
        m.regions.reserve(n);
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) m.regions.push_back(r.u64("region"));
    });
}

Bytes encode(const ChanKeep& m) {
    ByteWriter w;
    w.u32(m.channel);
    w.u64(m.capacity);
    w.u32(static_cast<std::uint32_t>(m.expects.size()));
    for (const auto& [proc, next] : m.expects) {
        w.u32(proc);
        w.u64(next);
    }
    w.u32(static_cast<std::uint32_t>(m.queued.size()));
    for (const KeptMessage& q : m.queued) {
        w.u32(q.from.node);
        w.u32(q.from.proc);
        put_message(w, q.message);
        put_clock(w, q.clock);
    }
    w.u8(m.lend ? 1 : 0);
    return w.take();
}
Result<ChanKeep> decode_chan_keep(Payload p) {
    return decode_with<ChanKeep>(p, "chan-keep", [](ByteReader& r, ChanKeep& m) {
        m.channel = r.u32("channel");
        m.capacity = r.u64("capacity");
        const std::size_t at = r.pos();
        const std::uint32_t n = r.count(12, "expects");
        if (r.ok() && n > kMaxChannelEntries) r.fail_at(at, pbc::cat(n, " expects, more than ", kMaxChannelEntries));
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            const std::uint32_t proc = r.u32("procedure");
            m.expects.emplace_back(proc, r.u64("its next send"));
        }
        const std::size_t at_queued = r.pos();
        const std::uint32_t queued = r.count(30, "queued messages");
        if (r.ok() && queued > m.capacity) r.fail_at(at_queued, pbc::cat(queued, " queued messages in a channel of capacity ", m.capacity));
        for (std::uint32_t i = 0; i < queued && r.ok(); ++i) {
            KeptMessage q;
            q.from.node = r.u32("from node");
            q.from.proc = r.u32("from procedure");
            q.message = get_message(r);
            q.clock = get_clock(r);
            m.queued.push_back(std::move(q));
        }
        const std::size_t at_lend = r.pos();
        const std::uint8_t lend = r.u8("lend");
        if (r.ok() && lend > 1) r.fail_at(at_lend, pbc::cat("lend is ", unsigned{lend}, ", not 0 or 1"));
        m.lend = lend == 1;
        if (r.ok() && m.capacity == 0) r.fail("a channel's capacity is at least 1");
    });
}

Bytes encode(const ChanKeeper& m) {
    ByteWriter w;
    w.u32(m.channel);
    w.u32(m.node);
    return w.take();
}
Result<ChanKeeper> decode_chan_keeper(Payload p) {
    return decode_with<ChanKeeper>(p, "chan-keeper", [](ByteReader& r, ChanKeeper& m) {
        m.channel = r.u32("channel");
        m.node = r.u32("node");
        if (r.ok() && m.node == 0) r.fail("a kept channel's keeper is a node (from 1), not the home");
    });
}

Bytes encode(const ChanInbox& m) {
    ByteWriter w;
    w.u32(m.sender);
    w.u64(m.run);
    return w.take();
}
Result<ChanInbox> decode_chan_inbox(Payload p) {
    return decode_with<ChanInbox>(p, "chan-inbox", [](ByteReader& r, ChanInbox& m) {
        m.sender = r.u32("sender");
        m.run = r.u64("run");
        if (r.ok() && m.sender == 0) r.fail("a chan-inbox comes from a node (from 1), not the home");
    });
}

// sender u32, run u64, kind u8, channel u32, party (node u32, proc u32),
// seq u64, from (node u32, proc u32), message, clock, then (version 13)
// credits: n u32, n x (channel u32, credits u64), channels ascending.
Bytes encode(const ChanFrameMsg& m) { return encode_chan_frame(m.sender, m.run, m.frame); }
Bytes encode_chan_frame(std::uint32_t sender, std::uint64_t run, const ChannelFrame& f) {
    ByteWriter w;
    w.u32(sender);
    w.u64(run);
    w.u8(static_cast<std::uint8_t>(f.kind));
    w.u32(f.channel);
    w.u32(f.party.node);
    w.u32(f.party.proc);
    w.u64(f.seq);
    w.u32(f.from.node);
    w.u32(f.from.proc);
    put_message(w, f.message);
    put_clock(w, f.clock);
    w.u32(static_cast<std::uint32_t>(f.credits.size()));
    for (const auto& [channel, credits] : f.credits) {
        w.u32(channel);
        w.u64(credits);
    }
    return w.take();
}
Result<ChanFrameMsg> decode_chan_frame(Payload p) {
    ChanFrameMsg m;
    if (std::string why = decode_chan_frame_into(p, m); !why.empty()) return Error{std::move(why)};
    return m;
}
std::string decode_chan_frame_into(Payload p, ChanFrameMsg& m) {
    ByteReader r(p, 0, p.size(), "chan-frame", " payload");
    ChannelFrame& f = m.frame;
    m.sender = r.u32("sender");
    m.run = r.u64("run");
    const std::size_t at = r.pos();
    const std::uint8_t kind = r.u8("kind");
    if (r.ok() && kind >= static_cast<std::uint8_t>(ChannelFrame::Kind::Failed))
        r.fail_at(at, pbc::cat("kind is ", unsigned{kind}, ", not 0 (send), 1 (accepted), 2 (want), 3 (deliver), "
                                         "4 (send on credit), 5 (credit), 6 (revoke), 7 (return) or 8 (accepted on credit)"));
    f.kind = static_cast<ChannelFrame::Kind>(kind);
    f.channel = r.u32("channel");
    f.party.node = r.u32("party node");
    f.party.proc = r.u32("party procedure");
    f.seq = r.u64("seq");
    f.from.node = r.u32("from node");
    f.from.proc = r.u32("from procedure");
    f.message = get_message(r);
    f.clock = get_clock(r);
    f.text.clear();
    f.credits.clear();  // keeps its room
    const std::size_t at_credits = r.pos();
    const std::uint32_t n = r.count(12, "credits");
    if (r.ok() && n > kMaxChannelEntries) r.fail_at(at_credits, pbc::cat(n, " credits, more than ", kMaxChannelEntries));
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        const std::size_t at_one = r.pos();
        const std::uint32_t channel = r.u32("credit channel");
        const std::uint64_t credits = r.u64("credits");
        if (r.ok() && (credits == 0 || (!f.credits.empty() && f.credits.back().first >= channel)))
            r.fail_at(at_one, "credits must name each channel once, ascending, with at least one credit");
        f.credits.emplace_back(channel, credits);
    }
    r.expect_end();
    return r.error();
}

Bytes encode(const ChannelSnapshot& m) {
    ByteWriter w;
    w.u32(static_cast<std::uint32_t>(m.blocked.size()));
    for (const ChannelSnapshot::Blocked& b : m.blocked) {
        w.u32(b.proc);
        w.u32(b.channel);
        w.u32(b.pc);
        w.u8(b.sending ? 1 : 0);
    }
    for (const auto* counts : {&m.sent, &m.received}) {
        w.u32(static_cast<std::uint32_t>(counts->size()));
        for (const auto& [who, n] : *counts) {
            w.u32(who);
            w.u64(n);
        }
    }
    w.u32(static_cast<std::uint32_t>(m.kept.size()));
    for (const ChannelSnapshot::Kept& k : m.kept) {
        w.u32(k.channel);
        w.u64(k.messages);
        w.u64(k.bytes);
        w.u64(k.most_held);
        w.u64(k.on_credit);
    }
    return w.take();
}
Result<ChannelSnapshot> decode_chan_snapshot_reply(Payload p) {
    return decode_with<ChannelSnapshot>(p, "chan-snapshot-reply", [](ByteReader& r, ChannelSnapshot& m) {
        auto limited = [&](std::uint32_t n, std::size_t at, const char* what) {
            if (r.ok() && n > kMaxChannelEntries) r.fail_at(at, pbc::cat(n, " ", what, ", more than ", kMaxChannelEntries));
        };
        std::size_t at = r.pos();
        const std::uint32_t blocked = r.count(13, "blocked procedures");
        limited(blocked, at, "blocked procedures");
        for (std::uint32_t i = 0; i < blocked && r.ok(); ++i) {
            ChannelSnapshot::Blocked b;
            b.proc = r.u32("procedure");
            b.channel = r.u32("channel");
            b.pc = r.u32("pc");
            b.sending = r.u8("sending") != 0;
            m.blocked.push_back(b);
        }
        for (auto* counts : {&m.sent, &m.received}) {
            at = r.pos();
            const std::uint32_t n = r.count(12, "frame counts");
            limited(n, at, "frame counts");
            for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
                const std::uint32_t who = r.u32("participant");
                (*counts)[who] = r.u64("frames");
            }
        }
        at = r.pos();
        const std::uint32_t kept = r.count(36, "kept channels");
        limited(kept, at, "kept channels");
        for (std::uint32_t i = 0; i < kept && r.ok(); ++i) {
            ChannelSnapshot::Kept k;
            k.channel = r.u32("channel");
            k.messages = r.u64("messages");
            k.bytes = r.u64("bytes");
            k.most_held = r.u64("most held");
            k.on_credit = r.u64("on credit");
            m.kept.push_back(k);
        }
    });
}

}  // namespace polymer::cluster
