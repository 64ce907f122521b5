#include "dns/wire.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace rampart::dns::wire {
namespace {

constexpr std::size_t header_octets = 12;
constexpr std::size_t max_label_octets = 63;
// The smallest resource record: a one-octet root name (or nothing less than a 2-octet pointer
// would do) plus type, class, TTL and rdlength.
constexpr std::size_t min_record_octets = 11;
constexpr std::size_t min_question_octets = 5;

/// Why a parse stopped. `ran_out` tells "the message ends too early" apart from a contradiction,
/// because a truncated (TC) answer may end early.
struct Failure {
    std::string reason;
    bool ran_out = false;
};

template <class T>
using Parsed = std::expected<T, Failure>;

std::unexpected<Failure> ran_out(std::string what) {
    return std::unexpected(Failure{std::move(what), true});
}
std::unexpected<Failure> bad(std::string what) {
    return std::unexpected(Failure{std::move(what), false});
}

/// A read position over the message; every read checks what is left first.
class Reader {
public:
    explicit Reader(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}

    [[nodiscard]] std::size_t offset() const noexcept { return pos_; }
    [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
    [[nodiscard]] std::size_t left() const noexcept { return bytes_.size() - pos_; }
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }

    [[nodiscard]] bool has(std::size_t n) const noexcept { return n <= left(); }
    [[nodiscard]] std::uint8_t u8() noexcept { return std::to_integer<std::uint8_t>(bytes_[pos_++]); }
    [[nodiscard]] std::uint16_t u16() noexcept {
        const auto high = u8();
        return static_cast<std::uint16_t>(high << 8 | u8());
    }
    [[nodiscard]] std::uint32_t u32() noexcept {
        const std::uint32_t high = u16();
        return high << 16 | u16();
    }
    void seek(std::size_t offset) noexcept { pos_ = offset; }

private:
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
};

void append_label_text(std::string& out, std::span<const std::byte> label) {
    if (!out.empty()) out.push_back('.');
    for (const auto b : label) {
        const auto c = std::to_integer<unsigned char>(b);
        if (c >= 'A' && c <= 'Z') {
            out.push_back(static_cast<char>(c + ('a' - 'A')));
        } else if (c == '.' || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c <= 0x20 || c >= 0x7f) {
            out += fmt::format("\\{:03d}", c);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
}

/// Reads a possibly compressed name at the reader's position and leaves the reader after the
/// name's own octets (after the first pointer, if any).
Parsed<std::string> read_name(Reader& in) {
    const auto bytes = in.bytes();
    std::size_t pos = in.offset();
    // Each pointer must point before the start of the piece of name that holds it, so every jump
    // goes strictly backwards: no loop, and at most as many jumps as there are octets.
    std::size_t piece_start = pos;
    std::optional<std::size_t> resume;
    std::size_t wire_octets = 1;  // the final root label
    std::size_t label_count = 0;
    std::string out;
    while (true) {
        if (pos >= bytes.size()) return ran_out(fmt::format("a name at offset {} is cut off", pos));
        const auto length = std::to_integer<std::uint8_t>(bytes[pos]);
        if ((length & 0xC0) == 0xC0) {
            if (pos + 1 >= bytes.size())
                return ran_out(fmt::format("a compression pointer at offset {} is cut off", pos));
            const std::size_t target =
                static_cast<std::size_t>(length & 0x3F) << 8 |
                std::to_integer<std::uint8_t>(bytes[pos + 1]);
            if (target >= piece_start)
                return bad(fmt::format(
                    "the compression pointer at offset {} points to offset {}, not before the "
                    "name that uses it (a loop or a forward pointer)",
                    pos, target));
            if (target < header_octets)
                return bad(fmt::format(
                    "the compression pointer at offset {} points into the header", pos));
            if (!resume) resume = pos + 2;
            pos = piece_start = target;
            continue;
        }
        if ((length & 0xC0) != 0)
            return bad(fmt::format("the label at offset {} has the reserved type bits {:#04x}",
                                   pos, length & 0xC0));
        if (length == 0) {
            in.seek(resume.value_or(pos + 1));
            return out;
        }
        if (pos + 1 + length > bytes.size())
            return ran_out(fmt::format("the label at offset {} is cut off", pos));
        wire_octets += 1u + length;
        if (wire_octets > max_name_octets)
            return bad(fmt::format("the name at offset {} is longer than {} octets", in.offset(),
                                   max_name_octets));
        if (++label_count > max_labels)
            return bad(fmt::format("the name at offset {} has more than {} labels", in.offset(),
                                   max_labels));
        append_label_text(out, bytes.subspan(pos + 1, length));
        pos += 1u + length;
    }
}

Result<IpAddress> address_of(std::span<const std::byte> raw) {
    std::string text;
    if (raw.size() == 4) {
        text = fmt::format("{}.{}.{}.{}", std::to_integer<unsigned>(raw[0]),
                           std::to_integer<unsigned>(raw[1]), std::to_integer<unsigned>(raw[2]),
                           std::to_integer<unsigned>(raw[3]));
    } else {
        for (std::size_t i = 0; i < raw.size(); i += 2) {
            if (i != 0) text.push_back(':');
            text += fmt::format("{:x}", std::to_integer<unsigned>(raw[i]) << 8 |
                                            std::to_integer<unsigned>(raw[i + 1]));
        }
    }
    return IpAddress::parse(text);
}

/// Reads the rdata of a known type, which must fill [reader position, end) exactly.
Parsed<std::optional<Rdata>> read_rdata(Reader& in, std::uint16_t type, std::size_t end) {
    const std::size_t length = end - in.offset();
    const auto need_exact_end = [&](std::string_view what) -> Parsed<std::optional<Rdata>> {
        if (in.offset() > end)
            return bad(fmt::format("the {} rdata runs past its length of {} octets", what, length));
        if (in.offset() < end)
            return bad(fmt::format("the {} rdata has {} octets left over", what,
                                   end - in.offset()));
        return std::nullopt;
    };
    switch (static_cast<RrType>(type)) {
        case RrType::a:
        case RrType::aaaa: {
            const std::size_t want = type == static_cast<std::uint16_t>(RrType::a) ? 4 : 16;
            if (length != want)
                return bad(fmt::format("the {} rdata is {} octets, must be {}",
                                       to_string(static_cast<RrType>(type)), length, want));
            auto ip = address_of(in.bytes().subspan(in.offset(), want));
            if (!ip) return bad(ip.error().reason);
            in.seek(end);
            return Rdata{*ip};
        }
        case RrType::ns:
        case RrType::cname:
        case RrType::ptr: {
            auto target = read_name(in);
            if (!target) return std::unexpected(target.error());
            if (auto fit = need_exact_end(to_string(static_cast<RrType>(type))); !fit) return fit;
            return Rdata{std::move(*target)};
        }
        case RrType::mx: {
            if (length < 3)
                return bad(fmt::format("the MX rdata is {} octets, needs at least 3", length));
            Mx mx;
            mx.preference = in.u16();
            auto exchange = read_name(in);
            if (!exchange) return std::unexpected(exchange.error());
            if (auto fit = need_exact_end("MX"); !fit) return fit;
            mx.exchange = std::move(*exchange);  // "" is the null MX of RFC 7505
            return Rdata{std::move(mx)};
        }
        case RrType::txt: {
            // Lenient: an empty TXT rdata (no character-string at all, which RFC 1035 does not
            // allow) is read as a record with no strings rather than refusing the whole answer.
            Txt txt;
            while (in.offset() < end) {
                const std::size_t n = in.u8();
                if (n > end - in.offset())
                    return bad(fmt::format(
                        "a TXT character-string at offset {} claims {} octets, {} are left",
                        in.offset() - 1, n, end - in.offset()));
                const auto s = in.bytes().subspan(in.offset(), n);
                txt.strings.emplace_back(reinterpret_cast<const char*>(s.data()), s.size());
                in.seek(in.offset() + n);
            }
            return Rdata{std::move(txt)};
        }
        case RrType::soa: {
            Soa soa;
            auto mname = read_name(in);
            if (!mname) return std::unexpected(mname.error());
            auto rname = read_name(in);
            if (!rname) return std::unexpected(rname.error());
            if (in.offset() > end || end - in.offset() != 20)
                return bad("the SOA rdata does not end with exactly five 32-bit numbers");
            soa.mname = std::move(*mname);
            soa.rname = std::move(*rname);
            soa.serial = in.u32();
            soa.refresh = in.u32();
            soa.retry = in.u32();
            soa.expire = in.u32();
            soa.minimum = in.u32();
            return Rdata{std::move(soa)};
        }
    }
    in.seek(end);
    return std::nullopt;
}

bool known_type(std::uint16_t type) {
    switch (static_cast<RrType>(type)) {
        case RrType::a:
        case RrType::ns:
        case RrType::cname:
        case RrType::soa:
        case RrType::ptr:
        case RrType::mx:
        case RrType::txt:
        case RrType::aaaa: return true;
    }
    return false;
}

Parsed<ResourceRecord> read_record(Reader& in) {
    ResourceRecord rr;
    auto owner = read_name(in);
    if (!owner) return std::unexpected(owner.error());
    rr.name = std::move(*owner);
    if (!in.has(10)) return ran_out("the record's type, class, TTL and length are cut off");
    rr.type = in.u16();
    rr.klass = in.u16();
    rr.ttl = in.u32();
    if (rr.ttl > 0x7FFF'FFFFu) rr.ttl = 0;  // RFC 2181 §8
    const std::size_t rdlength = in.u16();
    if (!in.has(rdlength))
        return ran_out(fmt::format("the rdata of {} octets at offset {} is cut off", rdlength,
                                   in.offset()));
    const std::size_t end = in.offset() + rdlength;
    if (rr.klass != class_in || !known_type(rr.type)) {
        in.seek(end);
        return rr;
    }
    // Names in rdata may point anywhere before them, but their own octets stay inside the rdata.
    Reader bounded(in.bytes().first(end));
    bounded.seek(in.offset());
    auto data = read_rdata(bounded, rr.type, end);
    if (!data) {
        // Inside the rdata, "ran out" means the rdata contradicts its length: never lenient.
        return bad(fmt::format("the {} record of {}: {}", to_string(static_cast<RrType>(rr.type)),
                               printable(rr.name), data.error().reason));
    }
    rr.data = std::move(*data);
    in.seek(end);
    return rr;
}

Parsed<Question> read_question(Reader& in) {
    Question q;
    auto name = read_name(in);
    if (!name) return std::unexpected(name.error());
    q.name = std::move(*name);
    if (!in.has(4)) return ran_out("the question's type and class are cut off");
    q.type = in.u16();
    q.klass = in.u16();
    return q;
}

Header read_header(Reader& in) {
    Header h;
    h.id = in.u16();
    const auto flags = in.u16();
    h.qr = (flags & 0x8000) != 0;
    h.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xF);
    h.aa = (flags & 0x0400) != 0;
    h.tc = (flags & 0x0200) != 0;
    h.rd = (flags & 0x0100) != 0;
    h.ra = (flags & 0x0080) != 0;
    h.rcode = static_cast<std::uint16_t>(flags & 0xF);
    h.qdcount = in.u16();
    h.ancount = in.u16();
    h.nscount = in.u16();
    h.arcount = in.u16();
    return h;
}

/// Reads `count` records of one section. Returns false when a truncated message ended early.
Parsed<bool> read_section(Reader& in, std::string_view section, std::size_t count, bool tc,
                          std::vector<ResourceRecord>& out) {
    // Reserve only what the remaining octets could hold, whatever the header claims.
    out.reserve(std::min(count, in.left() / min_record_octets));
    for (std::size_t i = 0; i < count; ++i) {
        const auto at = in.offset();
        auto rr = read_record(in);
        if (!rr) {
            if (rr.error().ran_out && tc) return false;
            return bad(fmt::format("{} record {} of {} at offset {}: {}", section, i + 1, count,
                                   at, rr.error().reason));
        }
        out.push_back(std::move(*rr));
    }
    return true;
}

/// RFC 1034 §3.6.2 lets a chain be followed; like the in-memory zone (and most resolvers'
/// limits of 8 to 16), Rampart stops after 8 links.
constexpr int max_cname_links = 8;
/// RFC 2308 §5 wants the SOA's negative TTL; a server that sends no SOA gets this one.
constexpr std::uint32_t default_negative_ttl = 60;
std::string_view answer_rcode_name(std::uint16_t rcode) {
    switch (rcode) {
        case 1: return "FORMERR";
        case 2: return "SERVFAIL";
        case 4: return "NOTIMP";
        case 5: return "REFUSED";
        case 6: return "YXDOMAIN";
        case 9: return "NOTAUTH";
        default: return "an unexpected RCODE";
    }
}

/// The name as the wire parser writes names (a '\' in a label is written "\\"), so the owners
/// of the answer can be compared with it.
std::string wire_text(std::string_view normal_name) {
    std::string out;
    for (const char c : normal_name) {
        if (c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

std::uint32_t negative_ttl(const wire::Message& message) {
    for (const auto& rr : message.authority) {
        if (!rr.is(RrType::soa) || !rr.data) continue;
        if (const auto* soa = std::get_if<Soa>(&*rr.data)) return std::min(rr.ttl, soa->minimum);
    }
    return default_negative_ttl;
}

Result<Message> malformed(std::string reason) { return fail(Errc::malformed, std::move(reason)); }

}  // namespace

std::optional<Record> ResourceRecord::to_record() const {
    if (!data) return std::nullopt;
    return Record{name, static_cast<RrType>(type), ttl, *data};
}

Result<Message> parse_message(std::span<const std::byte> bytes) {
    Reader in(bytes);
    if (!in.has(header_octets))
        return malformed(fmt::format("the DNS message is {} octets, shorter than its 12-octet header",
                                     bytes.size()));
    Message m;
    m.header = read_header(in);
    const std::size_t claimed = m.header.qdcount * min_question_octets +
                                (std::size_t{m.header.ancount} + m.header.nscount +
                                 m.header.arcount) * min_record_octets;
    if (claimed > in.left() && !m.header.tc)
        return malformed(fmt::format(
            "the header announces {} questions and {} records, which need at least {} octets; "
            "{} follow the header",
            m.header.qdcount, m.header.ancount + m.header.nscount + m.header.arcount, claimed,
            in.left()));
    m.questions.reserve(std::min<std::size_t>(m.header.qdcount, in.left() / min_question_octets));
    for (std::size_t i = 0; i < m.header.qdcount; ++i) {
        const auto at = in.offset();
        auto q = read_question(in);
        if (!q) {
            if (q.error().ran_out && m.header.tc) {
                m.cut_short = true;
                return m;
            }
            return malformed(fmt::format("question {} at offset {}: {}", i + 1, at,
                                         q.error().reason));
        }
        m.questions.push_back(std::move(*q));
    }
    const struct {
        std::string_view name;
        std::uint16_t count;
        std::vector<ResourceRecord>& out;
    } sections[] = {{"answer", m.header.ancount, m.answers},
                    {"authority", m.header.nscount, m.authority},
                    {"additional", m.header.arcount, m.additional}};
    for (const auto& section : sections) {
        auto complete = read_section(in, section.name, section.count, m.header.tc, section.out);
        if (!complete) return malformed(std::move(complete.error().reason));
        if (!*complete) {
            m.cut_short = true;
            return m;
        }
    }
    // Octets after the last record are ignored, as every resolver does (some middleboxes pad).
    return m;
}

Result<std::vector<std::byte>> build_query(std::string_view name, std::uint16_t type,
                                           std::uint16_t id) {
    if (name == ".") name = {};
    if (name.ends_with('.'))
        name.remove_suffix(1);
    std::vector<std::byte> out;
    out.reserve(header_octets + name.size() + 6);
    const auto put16 = [&](std::uint16_t v) {
        out.push_back(static_cast<std::byte>(v >> 8));
        out.push_back(static_cast<std::byte>(v & 0xFF));
    };
    put16(id);
    put16(0x0100);  // standard query, RD
    put16(1);       // one question
    put16(0);
    put16(0);
    put16(0);
    std::size_t wire_octets = 1;
    while (!name.empty()) {
        const auto dot = name.find('.');
        const auto label = name.substr(0, dot);
        if (label.empty())
            return fail(Errc::malformed,
                        fmt::format("'{}' has an empty label", printable(name)));
        if (label.size() > max_label_octets)
            return fail(Errc::malformed, fmt::format("the label '{}' is longer than 63 octets",
                                                     printable(label)));
        wire_octets += label.size() + 1;
        if (wire_octets > max_name_octets)
            return fail(Errc::malformed, "the name is longer than 255 octets in wire form");
        out.push_back(static_cast<std::byte>(label.size()));
        for (const char c : label) out.push_back(static_cast<std::byte>(c));
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
        if (name.empty())
            return fail(Errc::malformed, "the name has an empty label");
    }
    out.push_back(std::byte{0});
    put16(type);
    put16(class_in);
    return out;
}

Answer servfail_answer(std::uint16_t rcode, std::string_view name, RrType type) {
    Answer out;
    out.status = Status::servfail;
    out.rcode = rcode;
    out.detail = fmt::format("the server answered {} ({}) for {} {}", answer_rcode_name(rcode),
                             rcode, printable(name), to_string(type));
    return out;
}

/// Reads the answer to one question from a parsed message: the rcode, then the answer section
/// from the asked name along its CNAMEs.
Answer to_answer(const wire::Message& message, std::string_view name, RrType type) {
    const auto rcode = message.header.rcode;
    if (rcode != 0 && rcode != 3) return servfail_answer(rcode, name, type);
    Answer out;
    out.rcode = rcode;
    std::string current = wire_text(name);
    std::uint32_t chain_ttl = UINT32_MAX;
    std::set<std::string> visited{current};
    for (int links = 0;; ++links) {
        for (const auto& rr : message.answers)
            if (rr.is(type) && rr.name == current)
                if (auto record = rr.to_record()) out.records.push_back(std::move(*record));
        if (!out.records.empty()) {
            out.status = Status::ok;
            out.ttl = chain_ttl;
            for (const auto& r : out.records) out.ttl = std::min(out.ttl, r.ttl);
            return out;
        }
        const auto cname = std::find_if(message.answers.begin(), message.answers.end(),
                                        [&](const wire::ResourceRecord& rr) {
                                            return rr.is(RrType::cname) && rr.name == current &&
                                                   rr.data.has_value();
                                        });
        if (cname == message.answers.end()) break;
        if (links == max_cname_links || !visited.insert(std::get<std::string>(*cname->data)).second) {
            Answer loop;
            loop.status = Status::servfail;
            loop.rcode = rcode;
            loop.detail = fmt::format("the CNAME chain from {} loops or is longer than {}",
                                      printable(name), max_cname_links);
            return loop;
        }
        out.cname_chain.push_back(current);
        chain_ttl = std::min(chain_ttl, cname->ttl);
        current = std::get<std::string>(*cname->data);
    }
    out.status = rcode == 3 ? Status::nxdomain : Status::nodata;
    out.ttl = std::min(chain_ttl, negative_ttl(message));
    return out;
}

/// RFC 5452 §9.1: an answer is accepted only for the question asked (c-ares has already matched
/// the ID, the server's address and port). Names compare case-insensitively: both are lower case.
bool answers_question(const wire::Message& message, std::string_view name, RrType type) {
    return message.header.qr && message.questions.size() == 1 &&
           message.questions[0].name == wire_text(name) &&
           message.questions[0].type == static_cast<std::uint16_t>(type) &&
           message.questions[0].klass == wire::class_in;
}

}  // namespace rampart::dns::wire
