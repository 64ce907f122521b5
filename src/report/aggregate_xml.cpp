// Streaming parse of DMARC aggregate reports with expat.
//
// Elements are matched by local name under a fixed tree (RFC 7489 Appendix C, RFC 9990 Appendix
// A), in no namespace, a DMARC namespace (0.1, 0.2, 2.0) or the root's namespace. Anything else is
// skipped without collecting its text: elements in other namespaces are extensions (RFC 9990
// "unknown extensions SHOULD be ignored"), and unknown elements inside DMARC elements (mail-auth's
// 001.xml puts some inside date_range and policy_published) are skipped and noted once each.
// Only the text of the element being read and the record being built are held in memory, so
// memory does not grow with the report; a single tag or comment is capped as well.
//
// Bytes go through three stages before expat sees them: the prolog is read and leading white
// space dropped, the declared encoding is sniffed, and a document in UTF-8 has invalid byte
// sequences replaced by U+FFFD (see Utf8RepairSource for who needs that).
#include <expat.h>
#include <iconv.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "report/report.hpp"

namespace rampart::report {
namespace {

// Each element we understand, by where it sits. `skip` is everything else.
enum class Ctx : std::uint8_t {
    skip,
    document,
    feedback,
    version,
    metadata,
    org_name,
    email,
    extra_contact_info,
    report_id,
    error,
    generator,
    date_range,
    begin,
    end,
    policy,
    pol_domain,
    pol_adkim,
    pol_aspf,
    pol_p,
    pol_sp,
    pol_np,
    pol_pct,
    pol_fo,
    pol_testing,
    pol_discovery,
    record,
    row,
    source_ip,
    count,
    policy_evaluated,
    disposition,
    pe_dkim,
    pe_spf,
    reason,
    reason_type,
    reason_comment,
    identifiers,
    header_from,
    envelope_from,
    envelope_to,
    auth_results,
    dkim,
    dkim_domain,
    dkim_selector,
    dkim_result,
    dkim_human,
    spf,
    spf_domain,
    spf_scope,
    spf_result,
    spf_human,
};

bool is_leaf(Ctx c) {
    switch (c) {
        case Ctx::skip:
        case Ctx::document:
        case Ctx::feedback:
        case Ctx::metadata:
        case Ctx::date_range:
        case Ctx::policy:
        case Ctx::record:
        case Ctx::row:
        case Ctx::policy_evaluated:
        case Ctx::reason:
        case Ctx::identifiers:
        case Ctx::auth_results:
        case Ctx::dkim:
        case Ctx::spf: return false;
        default: return true;
    }
}

struct Child {
    std::string_view name;
    Ctx ctx;
};

Ctx child_of(Ctx parent, std::string_view name) {
    static constexpr Child feedback[] = {
        {"version", Ctx::version}, {"report_metadata", Ctx::metadata},
        {"policy_published", Ctx::policy}, {"record", Ctx::record}};
    static constexpr Child metadata[] = {
        {"org_name", Ctx::org_name},   {"email", Ctx::email},
        {"extra_contact_info", Ctx::extra_contact_info},
        {"report_id", Ctx::report_id}, {"date_range", Ctx::date_range},
        {"error", Ctx::error},         {"generator", Ctx::generator}};
    static constexpr Child date_range[] = {{"begin", Ctx::begin}, {"end", Ctx::end}};
    static constexpr Child policy[] = {
        {"domain", Ctx::pol_domain}, {"adkim", Ctx::pol_adkim},     {"aspf", Ctx::pol_aspf},
        {"p", Ctx::pol_p},           {"sp", Ctx::pol_sp},           {"np", Ctx::pol_np},
        {"pct", Ctx::pol_pct},       {"fo", Ctx::pol_fo},           {"testing", Ctx::pol_testing},
        {"discovery_method", Ctx::pol_discovery}};
    static constexpr Child record[] = {{"row", Ctx::row},
                                       {"identifiers", Ctx::identifiers},
                                       {"auth_results", Ctx::auth_results}};
    static constexpr Child row[] = {{"source_ip", Ctx::source_ip},
                                    {"count", Ctx::count},
                                    {"policy_evaluated", Ctx::policy_evaluated}};
    static constexpr Child evaluated[] = {{"disposition", Ctx::disposition},
                                          {"dkim", Ctx::pe_dkim},
                                          {"spf", Ctx::pe_spf},
                                          {"reason", Ctx::reason}};
    static constexpr Child reason[] = {{"type", Ctx::reason_type},
                                       {"comment", Ctx::reason_comment}};
    static constexpr Child identifiers[] = {{"header_from", Ctx::header_from},
                                            {"envelope_from", Ctx::envelope_from},
                                            {"envelope_to", Ctx::envelope_to}};
    static constexpr Child auth[] = {{"dkim", Ctx::dkim}, {"spf", Ctx::spf}};
    static constexpr Child dkim[] = {{"domain", Ctx::dkim_domain},
                                     {"selector", Ctx::dkim_selector},
                                     {"result", Ctx::dkim_result},
                                     {"human_result", Ctx::dkim_human}};
    static constexpr Child spf[] = {{"domain", Ctx::spf_domain},
                                    {"scope", Ctx::spf_scope},
                                    {"result", Ctx::spf_result},
                                    {"human_result", Ctx::spf_human}};
    std::span<const Child> table;
    switch (parent) {
        case Ctx::feedback: table = feedback; break;
        case Ctx::metadata: table = metadata; break;
        case Ctx::date_range: table = date_range; break;
        case Ctx::policy: table = policy; break;
        case Ctx::record: table = record; break;
        case Ctx::row: table = row; break;
        case Ctx::policy_evaluated: table = evaluated; break;
        case Ctx::reason: table = reason; break;
        case Ctx::identifiers: table = identifiers; break;
        case Ctx::auth_results: table = auth; break;
        case Ctx::dkim: table = dkim; break;
        case Ctx::spf: table = spf; break;
        default: return Ctx::skip;
    }
    for (const auto& c : table)
        if (c.name == name) return c.ctx;
    return Ctx::skip;
}

std::string_view local_name(std::string_view qname) {
    auto colon = qname.rfind(':');
    return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

std::string_view prefix_of(std::string_view qname) {
    auto colon = qname.rfind(':');
    return colon == std::string_view::npos ? std::string_view{} : qname.substr(0, colon);
}

Schema schema_for(std::string_view uri) {
    if (uri.empty()) return Schema::none;
    if (uri == "urn:ietf:params:xml:ns:dmarc-2.0") return Schema::dmarc_2_0;
    if (uri == "http://dmarc.org/dmarc-xml/0.1") return Schema::dmarc_0_1;
    if (uri == "http://dmarc.org/dmarc-xml/0.2") return Schema::dmarc_0_2;
    return Schema::other;
}

constexpr std::size_t max_diagnostics = 64;
// RFC 9990 allows one <error>, RFC 7489 any number; keep a few, a report is not an error log.
constexpr std::size_t max_errors = 32;
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Expat only knows UTF-8, UTF-16, ISO-8859-1 and US-ASCII. Other single-byte sets that real
// reporters declare (AOL's windows-1252 in OpenDMARC's bad.com sample) get a byte map built with
// iconv; multi-byte sets other than UTF-8 and UTF-16 are refused because their lead bytes map to
// nothing here.
int XMLCALL unknown_encoding(void*, const XML_Char* name, XML_Encoding* info) {
    iconv_t cd = iconv_open("UTF-32LE", name);
    if (cd == reinterpret_cast<iconv_t>(-1)) return XML_STATUS_ERROR;
    for (int b = 0; b < 256; ++b) {
        char in = static_cast<char>(b);
        std::array<unsigned char, 8> out{};
        char* inp = &in;
        std::size_t inleft = 1;
        char* outp = reinterpret_cast<char*>(out.data());
        std::size_t outleft = out.size();
        iconv(cd, nullptr, nullptr, nullptr, nullptr);
        std::size_t r = iconv(cd, &inp, &inleft, &outp, &outleft);
        if (r == static_cast<std::size_t>(-1) || outleft != 4) {
            info->map[b] = -1;
        } else {
            // A code point, at most U+10FFFF: it fits an int.
            const std::uint32_t cp = std::uint32_t{out[0]} | std::uint32_t{out[1]} << 8 |
                                     std::uint32_t{out[2]} << 16 | std::uint32_t{out[3]} << 24;
            info->map[b] = static_cast<int>(cp);
        }
    }
    iconv_close(cd);
    info->data = nullptr;
    info->convert = nullptr;
    info->release = nullptr;
    return XML_STATUS_OK;
}

// ---- UTF-8 validation and repair ---------------------------------------------------------------

enum class Utf8Stop : std::uint8_t { end, truncated, invalid };

struct Utf8Scan {
    std::size_t valid = 0;     // length of the well-formed prefix
    Utf8Stop stop = Utf8Stop::end;
    std::size_t bad = 0;       // truncated: bytes of the cut sequence; invalid: its maximal subpart
};

/// Finds the longest well-formed UTF-8 prefix (Unicode 15 Table 3-7: no overlongs, no surrogates,
/// nothing above U+10FFFF). `bad` follows the "maximal subpart" practice of Unicode §3.9, so one
/// U+FFFD replaces each broken sequence, as the WHATWG UTF-8 decoder in browsers does.
Utf8Scan scan_utf8(std::span<const std::byte> s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        // Reports are almost all ASCII: test eight bytes at a time.
        while (n - i >= 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, p + i, 8);
            if ((word & 0x8080808080808080ull) != 0) break;
            i += 8;
        }
        if (i == n) break;
        const unsigned c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;       // overlong
            else if (c == 0xED) hi = 0x9F;  // surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;       // overlong
            else if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
        } else {
            return {i, Utf8Stop::invalid, 1};
        }
        for (std::size_t k = 1; k < len; ++k) {
            if (i + k == n) return {i, Utf8Stop::truncated, k};
            const unsigned b = p[i + k];
            if (b < (k == 1 ? lo : 0x80u) || b > (k == 1 ? hi : 0xBFu))
                return {i, Utf8Stop::invalid, k};
        }
        i += len;
    }
    return {n, Utf8Stop::end, 0};
}

/// Hands on a UTF-8 document with every invalid byte sequence replaced by U+FFFD.
///
/// Leniency: parsedmarc's samples/aggregate/invalid_utf_8.xml, a report whose <email> is at
/// accurateplastics.com, declares UTF-8 and carries a bare 0x91 byte (windows-1252's left
/// quotation mark) in <header_from>: a reporter that writes text in its local code page under a
/// UTF-8 declaration. Expat refuses the whole document for one byte; we keep the report and
/// record a Diagnostic saying how many sequences were replaced and where the first one was.
/// Only used when the document is UTF-8 by declaration or by default: for a declared
/// single-byte set every byte is valid anyway, and UTF-16 is left to expat.
///
/// The fast path reads straight into the caller's buffer and validates it in place; bytes are
/// copied only for a sequence cut by the chunk boundary (at most 3 bytes) and after an invalid
/// byte, until the rest of that chunk has been handed on.
class Utf8RepairSource final : public ByteSource {
public:
    explicit Utf8RepairSource(ByteSource& inner) noexcept : inner_(inner) {}

    [[nodiscard]] Result<std::size_t> read(std::span<std::byte> out) override {
        // Room for a carried sequence plus one more byte, and for one U+FFFD.
        RAMPART_ASSERT(out.size() >= 8);
        for (;;) {
            if (pos_ < slow_.size()) {
                if (auto n = drain(out); n > 0) return n;
                continue;  // the chunk ended in a cut sequence that is now carried: read on
            }
            if (eof_) return std::size_t{0};
            std::size_t have = carry_len_;
            std::memcpy(out.data(), carry_.data(), carry_len_);
            carry_len_ = 0;
            auto n = inner_.read(out.subspan(have));
            if (!n) return n;
            if (*n == 0) {
                eof_ = true;
                if (have == 0) return std::size_t{0};
                // A sequence cut short by the end of the document: repair it.
                slow_.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(have));
                pos_ = 0;
                continue;
            }
            have += *n;
            auto scan = scan_utf8(out.first(have));
            if (scan.stop == Utf8Stop::end) {
                consumed_ += have;
                return have;
            }
            if (scan.stop == Utf8Stop::truncated) {
                carry_len_ = have - scan.valid;
                std::memcpy(carry_.data(), out.data() + scan.valid, carry_len_);
                if (scan.valid == 0) continue;
                consumed_ += scan.valid;
                return scan.valid;
            }
            slow_.assign(out.begin() + static_cast<std::ptrdiff_t>(scan.valid),
                         out.begin() + static_cast<std::ptrdiff_t>(have));
            pos_ = 0;
            if (scan.valid > 0) {
                consumed_ += scan.valid;
                return scan.valid;
            }
        }
    }

    [[nodiscard]] std::uint64_t repairs() const noexcept { return repairs_; }
    [[nodiscard]] std::uint64_t first_offset() const noexcept { return first_offset_; }

private:
    std::size_t drain(std::span<std::byte> out) {
        std::size_t o = 0;
        while (pos_ < slow_.size()) {
            auto rest = std::span<const std::byte>(slow_).subspan(pos_);
            auto scan = scan_utf8(rest);
            std::size_t take = std::min(scan.valid, out.size() - o);
            std::memcpy(out.data() + o, rest.data(), take);
            o += take;
            pos_ += take;
            consumed_ += take;
            if (take < scan.valid || scan.stop == Utf8Stop::end) break;
            if (scan.stop == Utf8Stop::truncated && !eof_) {
                // The sequence may be completed by the next chunk.
                carry_len_ = scan.bad;
                std::memcpy(carry_.data(), rest.data() + scan.valid, carry_len_);
                pos_ = slow_.size();
                break;
            }
            if (out.size() - o < replacement_character.size()) break;
            std::memcpy(out.data() + o, replacement_character.data(),
                        replacement_character.size());
            o += replacement_character.size();
            if (repairs_++ == 0) first_offset_ = consumed_;
            pos_ += scan.bad;
            consumed_ += scan.bad;
        }
        if (pos_ >= slow_.size()) {
            slow_.clear();
            pos_ = 0;
        }
        return o;
    }

    ByteSource& inner_;
    std::array<std::byte, 4> carry_{};
    std::size_t carry_len_ = 0;
    std::vector<std::byte> slow_;  // raw bytes after an invalid sequence, not yet handed on
    std::size_t pos_ = 0;
    bool eof_ = false;
    std::uint64_t consumed_ = 0;  // input bytes handed on or replaced
    std::uint64_t repairs_ = 0;
    std::uint64_t first_offset_ = 0;
};

/// Replays bytes already read (the prolog) before the rest of the stream.
class ReplaySource final : public ByteSource {
public:
    ReplaySource(std::vector<std::byte> head, ByteSource& inner) noexcept
        : head_(std::move(head)), inner_(inner) {}
    [[nodiscard]] Result<std::size_t> read(std::span<std::byte> out) override {
        if (pos_ < head_.size()) {
            auto n = std::min(out.size(), head_.size() - pos_);
            std::memcpy(out.data(), head_.data() + pos_, n);
            pos_ += n;
            return n;
        }
        return inner_.read(out);
    }

private:
    std::vector<std::byte> head_;
    std::size_t pos_ = 0;
    ByteSource& inner_;
};

// ---- the prolog: leading white space, byte order mark, encoding ---------------------------------

enum class Encoding : std::uint8_t {
    utf8,        // declared UTF-8, a UTF-8 BOM, or nothing declared (XML 1.0 §4.3.3 default)
    utf8_alias,  // declared "utf8": iconv's spelling, not an IANA name
    other,       // UTF-16 or a declared single-byte set: left to expat
};

struct Prolog {
    std::vector<std::byte> head;  // the first bytes, leading white space removed
    std::uint64_t total = 0;      // bytes read, white space included
    std::uint64_t skipped = 0;    // white space removed before the first '<'
    std::uint32_t skipped_lines = 0, skipped_columns = 0;
    Encoding encoding = Encoding::utf8;
    std::string declared;  // the encoding name as written, when there is one
};

bool is_xml_space(std::byte b) {
    return b == std::byte{' '} || b == std::byte{'\n'} || b == std::byte{'\r'} ||
           b == std::byte{'\t'};
}

/// The value of the encoding pseudo-attribute of an XML declaration at the start of `text`,
/// or nullopt when there is no complete declaration or it names no encoding.
std::optional<std::string> declared_encoding(std::string_view text) {
    if (!text.starts_with("<?xml") || text.size() < 6 || !is_xml_space(std::byte(text[5])))
        return std::nullopt;
    auto close = text.find("?>");
    if (close == std::string_view::npos) return std::nullopt;
    auto decl = text.substr(0, close);
    auto at = decl.find("encoding");
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = decl.substr(at + 8);
    auto eq = rest.find_first_not_of(" \t\r\n");
    if (eq == std::string_view::npos || rest[eq] != '=') return std::nullopt;
    rest.remove_prefix(eq + 1);
    auto q = rest.find_first_not_of(" \t\r\n");
    if (q == std::string_view::npos || (rest[q] != '"' && rest[q] != '\'')) return std::nullopt;
    auto end = rest.find(rest[q], q + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(rest.substr(q + 1, end - q - 1));
}

/// Reads the first bytes of the document: enough to see past leading white space and the XML
/// declaration.
Result<Prolog> read_prolog(ByteSource& in) {
    constexpr std::size_t want = 1024;
    Prolog p;
    bool eof = false;
    bool utf16 = false;
    std::size_t bom = 0;
    // Decide on what a full prolog window shows, never on the first read alone: a source that
    // hands out one byte at a time must give the same answer as one that hands out all of it.
    for (;;) {
        while (!eof && p.head.size() < want) {
            std::size_t old = p.head.size();
            p.head.resize(want);  // never past the window, whatever the read sizes
            auto n = in.read(std::span(p.head).subspan(old));
            if (!n) return std::unexpected(std::move(n.error()));
            p.head.resize(old + *n);
            p.total += *n;
            eof = *n == 0;
        }
        auto text = as_chars(p.head);
        if (p.skipped == 0 &&
            (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
             (text.size() >= 2 && (text[0] == '\0' || text[1] == '\0')))) {
            utf16 = true;  // UTF-16 with or without a BOM: white space is two bytes wide
            break;
        }
        if (p.skipped == 0) bom = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
        // Leniency: some generators put blank lines before the XML declaration, which expat
        // refuses ("XML or text declaration not at start of entity"). Drop white space in
        // front of the first '<', counting lines so that error locations stay true.
        std::size_t i = bom;
        while (i < p.head.size() && is_xml_space(p.head[i])) {
            if (p.head[i] == std::byte{'\n'}) {
                ++p.skipped_lines;
                p.skipped_columns = 0;
            } else {
                ++p.skipped_columns;
            }
            ++i;
        }
        p.skipped += i - bom;
        p.head.erase(p.head.begin() + static_cast<std::ptrdiff_t>(bom),
                     p.head.begin() + static_cast<std::ptrdiff_t>(i));
        if (p.head.size() > bom || eof) break;  // found the start, or only white space
    }
    if (utf16) {
        p.encoding = Encoding::other;
        return p;
    }
    auto text = as_chars(p.head).substr(bom);
    if (auto name = declared_encoding(text)) {
        p.declared = *name;
        auto lower = ascii_lower(trim(*name));
        if (lower == "utf-8") p.encoding = Encoding::utf8;
        else if (lower == "utf8") p.encoding = Encoding::utf8_alias;
        else if (bom == 0) p.encoding = Encoding::other;
        // A UTF-8 BOM together with another declared name is left to expat, as UTF-8.
    }
    return p;
}

struct ParserDeleter {
    void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

class AggregateParser {
public:
    AggregateParser(const Location& where, const IngestLimits& limits, AggregateSink& sink)
        : where_(where), limits_(limits), sink_(sink) {
        parser_.reset(XML_ParserCreate(nullptr));
        RAMPART_ASSERT(parser_ != nullptr);
        XML_SetUserData(parser_.get(), this);
        XML_SetElementHandler(parser_.get(), &AggregateParser::on_start, &AggregateParser::on_end);
        XML_SetCharacterDataHandler(parser_.get(), &AggregateParser::on_text);
        XML_SetStartDoctypeDeclHandler(parser_.get(), &AggregateParser::on_doctype);
        XML_SetEntityDeclHandler(parser_.get(), &AggregateParser::on_entity);
        XML_SetParamEntityParsing(parser_.get(), XML_PARAM_ENTITY_PARSING_NEVER);
        XML_SetUnknownEncodingHandler(parser_.get(), &unknown_encoding, nullptr);
        frames_.reserve(std::min<std::size_t>(limits.max_xml_depth, 64) + 1);
        push(Ctx::document, {});
    }

    Result<AggregateTotals> run(ByteSource& in) {
        auto prolog = read_prolog(in);
        if (!prolog) return std::unexpected(std::move(prolog.error()));
        if (prolog->total == 0) return fail(Errc::malformed, "the input is empty", where_);
        if (prolog->head.empty())
            return fail(Errc::malformed, "the input holds only white space", where_);
        lead_bytes_ = prolog->skipped;
        lead_lines_ = prolog->skipped_lines;
        lead_columns_ = prolog->skipped_columns;
        const Encoding encoding = prolog->encoding;
        if (encoding == Encoding::utf8_alias) {
            // The protocol encoding overrides the declaration: expat would otherwise ask
            // unknown_encoding, whose byte map cannot express a multi-byte set.
            XML_SetEncoding(parser_.get(), "UTF-8");
            add_diagnostic("", fmt::format("encoding \"{}\" read as UTF-8",
                                           printable(prolog->declared)));
        }
        ReplaySource replay(std::move(prolog->head), in);
        std::optional<Utf8RepairSource> repair;
        ByteSource* source = &replay;
        if (encoding != Encoding::other) source = &repair.emplace(replay);
        repair_ = repair ? &*repair : nullptr;

        // A tag, comment or processing instruction is one expat token and is buffered whole;
        // expat may also defer a reparse by one chunk. Past this, the markup is a bomb.
        const std::uint64_t max_pending = std::uint64_t{limits_.max_field} + 2 * read_chunk;
        for (;;) {
            void* buf = XML_GetBuffer(parser_.get(), static_cast<int>(read_chunk));
            if (buf == nullptr)
                return fail(Errc::limit_exceeded, "out of memory for the XML parser", where_);
            auto span = std::span<std::byte>(static_cast<std::byte*>(buf), read_chunk);
            auto n = source->read(span);
            if (!n) return std::unexpected(std::move(n.error()));
            const bool final = *n == 0;
            fed_ += *n;
            if (XML_ParseBuffer(parser_.get(), static_cast<int>(*n), final) == XML_STATUS_ERROR) {
                if (failure_) return std::unexpected(std::move(*failure_));
                return xml_error(fmt::format("not well-formed XML: {}",
                                             XML_ErrorString(XML_GetErrorCode(parser_.get()))));
            }
            if (failure_) return std::unexpected(std::move(*failure_));
            if (final) break;
            auto index = XML_GetCurrentByteIndex(parser_.get());
            if (index >= 0 && fed_ - static_cast<std::uint64_t>(index) > max_pending)
                return std::unexpected(xml_error_value(
                    Errc::limit_exceeded,
                    fmt::format("a tag, comment or other markup is longer than {} bytes",
                                max_pending)));
        }
        if (!root_seen_) return fail(Errc::malformed, "no XML element found", where_);
        if (!header_sent_) {
            // A report with no <record> at all: RFC 7489 requires one, but the header alone is
            // still a faithful account of what the receiver sent.
            if (auto r = send_header(); !r) return std::unexpected(std::move(r.error()));
            add_diagnostic("feedback", "the report holds no <record>");
        }
        if (repair && repair->repairs() > 0) {
            add_diagnostic(repaired_path_.empty() ? "feedback" : repaired_path_,
                           fmt::format("the document is UTF-8 but held {} invalid byte "
                                       "sequence(s), first at byte {}; each was replaced by "
                                       "U+FFFD",
                                       repair->repairs(), repair->first_offset() + lead_bytes_));
        }
        return std::move(totals_);
    }

private:
    struct Frame {
        Ctx ctx = Ctx::skip;
        std::string name;  // local name, for error paths
    };
    struct Binding {
        std::string prefix;  // "" for the default namespace
        std::string uri;
        std::size_t depth = 0;
    };

    // --- expat callbacks ----------------------------------------------------------------------
    static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** attrs) {
        static_cast<AggregateParser*>(self)->start(name, attrs);
    }
    static void XMLCALL on_end(void* self, const XML_Char*) {
        static_cast<AggregateParser*>(self)->end();
    }
    static void XMLCALL on_text(void* self, const XML_Char* s, int len) {
        auto* p = static_cast<AggregateParser*>(self);
        // Only the text directly inside the leaf being read: not that of unknown children.
        if (p->collect_depth_ != p->depth_ || p->failure_) return;
        if (p->text_.size() + static_cast<std::size_t>(len) > p->limits_.max_field) {
            p->stop(p->xml_error_value(Errc::limit_exceeded,
                                       fmt::format("an element's text is longer than {} bytes",
                                                   p->limits_.max_field)));
            return;
        }
        p->text_.append(s, static_cast<std::size_t>(len));
    }
    static void XMLCALL on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*,
                                   int) {
        auto* p = static_cast<AggregateParser*>(self);
        p->stop(p->xml_error_value(Errc::malformed,
                                   "DOCTYPE declarations are refused (no entity expansion, no "
                                   "external entities)"));
    }
    static void XMLCALL on_entity(void* self, const XML_Char*, int, const XML_Char*, int,
                                  const XML_Char*, const XML_Char*, const XML_Char*,
                                  const XML_Char*) {
        auto* p = static_cast<AggregateParser*>(self);
        p->stop(p->xml_error_value(Errc::malformed, "entity declarations are refused"));
    }

    void push(Ctx ctx, std::string_view name) {
        if (depth_ == frames_.size()) frames_.emplace_back();
        frames_[depth_].ctx = ctx;
        frames_[depth_].name.assign(name);
        ++depth_;
    }
    [[nodiscard]] Ctx top() const { return frames_[depth_ - 1].ctx; }

    /// The namespace URI bound to `prefix` here, or nullopt when it is not declared.
    [[nodiscard]] std::optional<std::string_view> resolve(std::string_view prefix) const {
        for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it)
            if (it->prefix == prefix) return std::string_view(it->uri);
        if (prefix.empty()) return std::string_view{};
        return std::nullopt;
    }

    /// True when the element is in a namespace that is not ours: an extension.
    bool foreign(std::string_view qname) {
        auto prefix = prefix_of(qname);
        auto uri = resolve(prefix);
        if (!uri) {
            // Without namespace processing an undeclared prefix is only a name; no corpus
            // reporter does this, but refusing a report over it would gain nothing.
            if (!unbound_noted_) {
                unbound_noted_ = true;
                note(fmt::format("namespace prefix \"{}\" is not declared", printable(prefix)));
            }
            return false;
        }
        if (uri->empty() || *uri == root_uri_) return false;
        auto s = schema_for(*uri);
        return s != Schema::dmarc_0_1 && s != Schema::dmarc_0_2 && s != Schema::dmarc_2_0;
    }

    void start(const XML_Char* qname_c, const XML_Char** attrs) {
        if (failure_) return;
        if (depth_ > limits_.max_xml_depth) {
            stop(xml_error_value(Errc::limit_exceeded,
                                 fmt::format("elements are nested deeper than {}",
                                             limits_.max_xml_depth)));
            return;
        }
        const std::string_view qname(qname_c);
        // Namespace declarations are attributes to expat without namespace processing (kept off
        // so that an undeclared prefix is not fatal); track the few there are ourselves.
        for (auto a = attrs; *a != nullptr; a += 2) {
            std::string_view attr(a[0]);
            if (attr == "xmlns")
                bindings_.push_back({"", std::string(trim(a[1])), depth_});
            else if (attr.starts_with("xmlns:"))
                bindings_.push_back({std::string(attr.substr(6)), std::string(trim(a[1])), depth_});
        }
        const auto name = local_name(qname);
        const Ctx parent = top();
        Ctx ctx = Ctx::skip;
        if (parent == Ctx::document) {
            root_seen_ = true;
            if (name != "feedback") {
                stop(xml_error_value(Errc::malformed,
                                     fmt::format("not a DMARC aggregate report: the root element "
                                                 "is <{}>, not <feedback>",
                                                 printable(qname))));
                return;
            }
            ctx = Ctx::feedback;
            auto uri = resolve(prefix_of(qname));
            root_uri_ = uri ? std::string(*uri) : std::string{};
            header_.schema = schema_for(root_uri_);
        } else {
            ctx = child_of(parent, name);
            if (ctx != Ctx::skip && foreign(qname)) ctx = Ctx::skip;
            else if (ctx == Ctx::skip && parent != Ctx::skip && !is_leaf(parent))
                note_unknown(parent, qname);
        }
        push(ctx, name);
        switch (ctx) {
            case Ctx::record:
                if (!header_sent_) {
                    if (auto r = send_header(); !r) {
                        stop(std::move(r.error()));
                        return;
                    }
                }
                ++record_index_;
                if (record_index_ > limits_.max_records) {
                    stop(xml_error_value(Errc::limit_exceeded,
                                         fmt::format("the report has more than {} records",
                                                     limits_.max_records)));
                    return;
                }
                record_ = Record{};
                source_ip_seen_ = count_seen_ = false;
                empty_ip_error_.reset();
                break;
            case Ctx::reason: record_.reasons.emplace_back(); break;
            case Ctx::dkim: record_.dkim_results.emplace_back(); break;
            case Ctx::spf: record_.spf_results.emplace_back(); break;
            case Ctx::metadata:
            case Ctx::policy:
                if (header_sent_) {
                    stop(xml_error_value(Errc::malformed,
                                         fmt::format("<{}> after the first <record>", name)));
                    return;
                }
                break;
            default: break;
        }
        if (is_leaf(ctx)) {
            collect_depth_ = depth_;
            text_.clear();
        }
    }

    void end() {
        if (failure_) return;
        const Ctx ctx = top();
        if (depth_ == collect_depth_) {
            collect_depth_ = 0;
            leaf(ctx);
        } else if (ctx == Ctx::record) {
            finish_record();
        }
        --depth_;
        while (!bindings_.empty() && bindings_.back().depth >= depth_) bindings_.pop_back();
    }

    // --- element handling ---------------------------------------------------------------------
    void leaf(Ctx ctx) {
        std::string_view v = trim(text_);
        if (repair_ != nullptr && repair_->repairs() > 0 && repaired_path_.empty() &&
            v.find(replacement_character) != std::string_view::npos)
            repaired_path_ = element_path();
        auto& m = header_.metadata;
        auto& p = header_.policy;
        switch (ctx) {
            case Ctx::version: header_.version = v; break;
            case Ctx::org_name: m.org_name = v; break;
            case Ctx::email: m.email = v; break;
            case Ctx::extra_contact_info: m.extra_contact_info = v; break;
            case Ctx::report_id: m.report_id = v; break;
            case Ctx::error:
                if (m.errors.size() < max_errors) m.errors.emplace_back(v);
                else if (m.errors.size() == max_errors && !errors_capped_) {
                    errors_capped_ = true;
                    note(fmt::format("more than {} <error> elements; the rest are dropped",
                                     max_errors));
                }
                break;
            case Ctx::generator: m.generator = v; break;
            case Ctx::begin:
            case Ctx::end: {
                auto t = parse_epoch_seconds(v);
                if (!t) return stop(field_error(t.error().reason));
                (ctx == Ctx::begin ? m.begin : m.end) = *t;
                (ctx == Ctx::begin ? begin_seen_ : end_seen_) = true;
                break;
            }
            case Ctx::pol_domain: p.domain = ascii_lower(v); break;
            case Ctx::pol_adkim: p.adkim = alignment(v); break;
            case Ctx::pol_aspf: p.aspf = alignment(v); break;
            case Ctx::pol_p: p.p = policy(v); break;
            case Ctx::pol_sp: p.sp = policy(v); break;
            case Ctx::pol_np: p.np = policy(v); break;
            case Ctx::pol_pct: {
                std::uint32_t pct = 0;
                auto [e, ec] = std::from_chars(v.data(), v.data() + v.size(), pct);
                if (ec == std::errc{} && e == v.data() + v.size() && pct <= 100) p.pct = pct;
                else if (!v.empty()) note(fmt::format("pct \"{}\" ignored", printable(v)));
                break;
            }
            case Ctx::pol_fo: p.fo = v; break;
            case Ctx::pol_testing: {
                auto l = ascii_lower(v);
                if (l != v) note_case(v);
                if (l == "y") p.testing = true;
                else if (l == "n") p.testing = false;
                else if (!v.empty()) note(fmt::format("testing \"{}\" ignored", printable(v)));
                break;
            }
            case Ctx::pol_discovery: {
                auto l = ascii_lower(v);
                if (l != v) note_case(v);
                if (l == "psl") p.discovery_method = DiscoveryMethod::psl;
                else if (l == "treewalk") p.discovery_method = DiscoveryMethod::treewalk;
                else if (!v.empty())
                    note(fmt::format("discovery_method \"{}\" ignored", printable(v)));
                break;
            }
            case Ctx::source_ip: {
                auto ip = IpAddress::parse(v);
                if (!ip) {
                    // An empty one may be a filler row (count 0): decided in finish_record.
                    if (!v.empty()) return stop(field_error(ip.error().reason));
                    empty_ip_error_ = field_error(ip.error().reason);
                    break;
                }
                record_.source_ip = *ip;
                source_ip_seen_ = true;
                break;
            }
            case Ctx::count: {
                std::uint64_t c = 0;
                auto [e, ec] = std::from_chars(v.data(), v.data() + v.size(), c);
                // 2^40 messages from one IP in one day is no real report; it would only make
                // sums overflow.
                if (ec != std::errc{} || e != v.data() + v.size() || c > (1ull << 40))
                    return stop(field_error(
                        fmt::format("\"{}\" is not a message count", printable(v))));
                record_.count = c;
                count_seen_ = true;
                break;
            }
            case Ctx::disposition: record_.disposition = disposition(v); break;
            case Ctx::pe_dkim: record_.dkim = dmarc_verdict(v); break;
            case Ctx::pe_spf: record_.spf = dmarc_verdict(v); break;
            case Ctx::reason_type: record_.reasons.back().type = override_type(v); break;
            case Ctx::reason_comment: record_.reasons.back().comment = v; break;
            case Ctx::header_from: record_.header_from = ascii_lower(v); break;
            case Ctx::envelope_from: record_.envelope_from = ascii_lower(v); break;
            case Ctx::envelope_to: record_.envelope_to = ascii_lower(v); break;
            case Ctx::dkim_domain: record_.dkim_results.back().domain = ascii_lower(v); break;
            case Ctx::dkim_selector: record_.dkim_results.back().selector = v; break;
            case Ctx::dkim_result: record_.dkim_results.back().result = auth_verdict(v); break;
            case Ctx::dkim_human: record_.dkim_results.back().human_result = v; break;
            case Ctx::spf_domain: record_.spf_results.back().domain = ascii_lower(v); break;
            case Ctx::spf_scope: {
                auto l = ascii_lower(v);
                if (l != v) note_case(v);
                auto& s = record_.spf_results.back();
                if (l == "mfrom") s.scope = SpfScope::mfrom;
                else if (l == "helo") s.scope = SpfScope::helo;
                else if (!v.empty()) note(fmt::format("SPF scope \"{}\" ignored", printable(v)));
                break;
            }
            case Ctx::spf_result: record_.spf_results.back().result = auth_verdict(v); break;
            case Ctx::spf_human: record_.spf_results.back().human_result = v; break;
            default: break;
        }
    }

    void finish_record() {
        if (!source_ip_seen_ && empty_ip_error_) {
            // Leniency: dmarc-report-converter's test_empty.xml is a report whose only record
            // is filler, every element empty and <count>0</count>. A row that carries
            // no messages and no sender says nothing, so it is dropped (and noted) rather than
            // losing the report; with a non-zero count the empty address stays fatal.
            if (count_seen_ && record_.count == 0) {
                empty_ip_error_.reset();
                note("a record with an empty source_ip and count 0 was dropped");
                return;
            }
            return stop(std::move(*empty_ip_error_));
        }
        if (!source_ip_seen_) return stop(xml_error_value(Errc::malformed,
                                                          "row/source_ip is missing"));
        if (!count_seen_) return stop(xml_error_value(Errc::malformed, "row/count is missing"));
        if (record_.header_from.empty()) note("identifiers/header_from is missing or empty");
        totals_.records++;
        totals_.messages += record_.count;
        if (auto r = sink_.on_record(record_); !r) stop(std::move(r.error()));
    }

    Result<void> send_header() {
        header_sent_ = true;
        auto& m = header_.metadata;
        auto missing = [this](std::string_view what) {
            return xml_error_value(Errc::malformed, fmt::format("{} is missing or empty", what));
        };
        if (m.org_name.empty()) {
            // Leniency: parsedmarc's invalid_utf_8.xml has an empty <org_name/>; name the
            // reporter after its e-mail domain rather than refuse the report.
            auto at = m.email.rfind('@');
            if (at == std::string::npos || at + 1 == m.email.size())
                return std::unexpected(missing("report_metadata/org_name"));
            m.org_name = ascii_lower(m.email.substr(at + 1));
            add_diagnostic("feedback/report_metadata/org_name",
                           "missing; the e-mail domain is used instead");
        }
        if (m.report_id.empty()) return std::unexpected(missing("report_metadata/report_id"));
        if (!begin_seen_ || !end_seen_)
            return std::unexpected(missing("report_metadata/date_range"));
        if (header_.policy.domain.empty())
            return std::unexpected(missing("policy_published/domain"));
        if (m.end < m.begin)
            add_diagnostic("feedback/report_metadata/date_range", "end is before begin");
        return sink_.on_header(header_);
    }

    // --- value mapping, with the leniency real reporters need -----------------------------------
    std::optional<Alignment> alignment(std::string_view v) {
        auto l = ascii_lower(v);
        if (l != v) note_case(v);
        if (l == "r" || l == "relaxed") return Alignment::relaxed;
        if (l == "s" || l == "strict") return Alignment::strict;
        if (!v.empty()) note(fmt::format("alignment \"{}\" ignored", printable(v)));
        return std::nullopt;
    }
    std::optional<Policy> policy(std::string_view v) {
        auto l = ascii_lower(v);
        if (l != v) note_case(v);
        if (l == "none") return Policy::none;
        if (l == "quarantine") return Policy::quarantine;
        if (l == "reject") return Policy::reject;
        if (!v.empty()) note(fmt::format("policy \"{}\" ignored", printable(v)));
        return std::nullopt;
    }
    Disposition disposition(std::string_view v) {
        auto l = ascii_lower(v);
        if (l != v) note_case(v);
        if (l == "none") return Disposition::none;
        if (l == "pass") return Disposition::pass;
        if (l == "quarantine") return Disposition::quarantine;
        if (l == "reject") return Disposition::reject;
        // OpenDMARC's bad.com sample has an empty <disposition/>.
        note(fmt::format("disposition \"{}\" is not a known value", printable(v)));
        return Disposition::unknown;
    }
    DmarcVerdict dmarc_verdict(std::string_view v) {
        auto l = ascii_lower(v);
        if (l != v) note_case(v);
        if (l == "pass") return DmarcVerdict::pass;
        if (l == "fail") return DmarcVerdict::fail;
        note(fmt::format("DMARC result \"{}\" is not pass or fail", printable(v)));
        return DmarcVerdict::unknown;
    }
    AuthVerdict auth_verdict(std::string_view v) {
        auto l = ascii_lower(v);
        // dmarc-report-viewer's invalid_casing.xml and parsedmarc's upper-cased sample write
        // "Pass", "None", "Neutral"; the RFC names are lower case.
        if (l != v) note_case(v);
        if (l == "none") return AuthVerdict::none;
        if (l == "pass") return AuthVerdict::pass;
        if (l == "fail") return AuthVerdict::fail;
        if (l == "softfail") return AuthVerdict::softfail;
        if (l == "neutral") return AuthVerdict::neutral;
        if (l == "policy") return AuthVerdict::policy;
        if (l == "temperror") return AuthVerdict::temperror;
        if (l == "permerror") return AuthVerdict::permerror;
        if (l == "hardfail") {
            // dmarc-report-viewer's hardfail.xml: a pre-RFC 7208 spelling of fail.
            note("\"hardfail\" read as \"fail\"");
            return AuthVerdict::fail;
        }
        note(fmt::format("result \"{}\" is not an RFC 8601 result", printable(v)));
        return AuthVerdict::unknown;
    }
    OverrideType override_type(std::string_view v) {
        auto l = ascii_lower(v);
        if (l != v) note_case(v);
        if (l == "forwarded") return OverrideType::forwarded;
        if (l == "sampled_out") return OverrideType::sampled_out;
        if (l == "trusted_forwarder") return OverrideType::trusted_forwarder;
        if (l == "mailing_list") return OverrideType::mailing_list;
        if (l == "local_policy") return OverrideType::local_policy;
        if (l == "other") return OverrideType::other;
        if (l == "policy_test_mode") return OverrideType::policy_test_mode;
        // parsedmarc's empty_reason.xml has an empty <type/>.
        note(fmt::format("override reason \"{}\" is not a known type", printable(v)));
        return OverrideType::unknown;
    }

    // --- errors and diagnostics ---------------------------------------------------------------
    [[nodiscard]] std::string element_path() const {
        std::string path;
        for (std::size_t i = 1; i < depth_; ++i) {
            if (!path.empty()) path += '/';
            path += printable(frames_[i].name);
            if (frames_[i].ctx == Ctx::record) path += fmt::format("[{}]", record_index_);
        }
        return path;
    }
    [[nodiscard]] Location here() const {
        Location l = where_;
        auto line = XML_GetCurrentLineNumber(parser_.get());
        auto column = XML_GetCurrentColumnNumber(parser_.get());
        // White space dropped before the XML declaration still counts in the file.
        if (line == 1) column += lead_columns_;
        l.line = static_cast<std::uint32_t>(line + lead_lines_);
        l.column = static_cast<std::uint32_t>(column) + 1;
        auto off = XML_GetCurrentByteIndex(parser_.get());
        l.offset = (off < 0 ? 0 : static_cast<std::uint64_t>(off)) + lead_bytes_;
        l.path = element_path();
        return l;
    }
    [[nodiscard]] Error xml_error_value(Errc code, std::string reason) const {
        return Error{code, std::move(reason), here()};
    }
    [[nodiscard]] std::unexpected<Error> xml_error(std::string reason) const {
        return std::unexpected(xml_error_value(Errc::malformed, std::move(reason)));
    }
    [[nodiscard]] Error field_error(std::string reason) const {
        return xml_error_value(Errc::malformed, std::move(reason));
    }
    void stop(Error e) {
        if (!failure_) failure_ = std::move(e);
        XML_StopParser(parser_.get(), XML_FALSE);
    }
    void note(std::string message) { add_diagnostic(element_path(), std::move(message)); }
    void note_case(std::string_view v) {
        note(fmt::format("\"{}\" read as \"{}\"", printable(v), ascii_lower(v)));
    }
    void note_unknown(Ctx parent, std::string_view qname) {
        // RFC 9990's file-level <extension> is a known container for anything.
        if (parent == Ctx::feedback && local_name(qname) == "extension") return;
        if (foreign(qname)) return;  // a namespaced extension: RFC 9990 says to ignore it
        // Once per kind, not per record: a large report repeats the same quirk.
        auto key = fmt::format("{}/{}", static_cast<int>(parent), qname);
        if (unknown_seen_.size() >= max_diagnostics || !unknown_seen_.insert(key).second) return;
        add_diagnostic(element_path(),
                       fmt::format("unknown element <{}> ignored", printable(qname)));
    }
    void add_diagnostic(std::string path, std::string message) {
        // Bounded: a 200 MB report with the same quirk in every record keeps the first few.
        if (totals_.diagnostics.size() < max_diagnostics)
            totals_.diagnostics.push_back({std::move(path), std::move(message)});
    }

    Location where_;
    const IngestLimits& limits_;
    AggregateSink& sink_;
    std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserDeleter> parser_;
    std::vector<Frame> frames_;  // frames_[0, depth_) are open; [0] is the document
    std::size_t depth_ = 0;
    std::vector<Binding> bindings_;
    std::string root_uri_;
    std::string text_;
    std::size_t collect_depth_ = 0;  // depth of the leaf whose text is collected, 0 for none
    const Utf8RepairSource* repair_ = nullptr;
    std::string repaired_path_;
    std::uint64_t fed_ = 0;
    std::uint64_t lead_bytes_ = 0;
    std::uint32_t lead_lines_ = 0, lead_columns_ = 0;
    bool root_seen_ = false;
    bool header_sent_ = false;
    bool begin_seen_ = false, end_seen_ = false;
    bool source_ip_seen_ = false, count_seen_ = false;
    bool unbound_noted_ = false, errors_capped_ = false;
    std::set<std::string> unknown_seen_;
    std::uint64_t record_index_ = 0;
    AggregateHeader header_;
    Record record_;
    AggregateTotals totals_;
    std::optional<Error> empty_ip_error_;  // an empty <source_ip/> in the current record
    std::optional<Error> failure_;
};

class CollectingSink final : public AggregateSink {
public:
    explicit CollectingSink(AggregateReport& out) : out_(out) {}
    Result<void> on_header(const AggregateHeader& h) override {
        out_.header = h;
        return {};
    }
    Result<void> on_record(const Record& r) override {
        out_.records.push_back(r);
        return {};
    }

private:
    AggregateReport& out_;
};

}  // namespace

Result<AggregateTotals> parse_aggregate(ByteSource& xml, const Location& where,
                                        const IngestLimits& limits, AggregateSink& sink) {
    AggregateParser parser(where, limits, sink);
    return parser.run(xml);
}

Result<AggregateReport> parse_aggregate_document(std::span<const std::byte> xml,
                                                 const Location& where,
                                                 const IngestLimits& limits) {
    AggregateReport report;
    CollectingSink sink(report);
    MemorySource source(xml);
    auto totals = parse_aggregate(source, where, limits, sink);
    if (!totals) return std::unexpected(std::move(totals.error()));
    report.diagnostics = std::move(totals->diagnostics);
    return report;
}

bool looks_like_xml(std::span<const std::byte> head) noexcept {
    auto text = as_chars(head);
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) return true;  // UTF-16 BOM
    auto first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '<';
}

}  // namespace rampart::report
