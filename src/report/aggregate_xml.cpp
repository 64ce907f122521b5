// Streaming parse of DMARC aggregate reports with expat.
//
// Elements are matched by local name under a fixed tree (RFC 7489 Appendix C, RFC 9990 Appendix
// A); anything else (extensions, unknown elements inside date_range or policy_published as in
// mail-auth's 001.xml) is skipped without collecting its text. Only the text of the element being
// read and the record being built are held in memory, so memory does not grow with the report.
#include <expat.h>
#include <iconv.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>

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

std::string_view local_name(const char* qname) {
    std::string_view n(qname);
    auto colon = n.rfind(':');
    return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

Schema schema_for(std::string_view uri) {
    if (uri.empty()) return Schema::none;
    if (uri == "urn:ietf:params:xml:ns:dmarc-2.0") return Schema::dmarc_2_0;
    if (uri == "http://dmarc.org/dmarc-xml/0.1") return Schema::dmarc_0_1;
    if (uri == "http://dmarc.org/dmarc-xml/0.2") return Schema::dmarc_0_2;
    return Schema::other;
}

constexpr std::size_t max_diagnostics = 64;

// Expat only knows UTF-8, UTF-16, ISO-8859-1 and US-ASCII. Other single-byte sets that real
// reporters declare (AOL's windows-1252 in OpenDMARC's bad.com sample) get a byte map built with
// iconv; multi-byte sets other than UTF-16 are refused by expat as an unknown encoding.
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
            info->map[b] = static_cast<int>(out[0] | (out[1] << 8) | (out[2] << 16) |
                                            (static_cast<unsigned>(out[3]) << 24));
        }
    }
    iconv_close(cd);
    info->data = nullptr;
    info->convert = nullptr;
    info->release = nullptr;
    return XML_STATUS_OK;
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
        stack_.reserve(limits.max_xml_depth + 1);
        stack_.push_back(Ctx::document);
    }

    Result<AggregateTotals> run(ByteSource& in) {
        constexpr int chunk = 64 * 1024;
        bool first = true;
        std::uint64_t total = 0;
        for (;;) {
            void* buf = XML_GetBuffer(parser_.get(), chunk);
            if (buf == nullptr) return fail(Errc::limit_exceeded, "out of memory for the XML parser", where_);
            auto span = std::span<std::byte>(static_cast<std::byte*>(buf), chunk);
            auto n = in.read(span);
            if (!n) return std::unexpected(std::move(n.error()));
            std::size_t len = *n;
            std::size_t skip = 0;
            if (first && len > 0) {
                // Leniency: some generators put blank lines before the XML declaration, which
                // expat refuses ("XML declaration not at start"). Skip a BOM-less lead of
                // whitespace; a BOM is handled by expat itself.
                while (skip < len && (span[skip] == std::byte{' '} || span[skip] == std::byte{'\n'} ||
                                      span[skip] == std::byte{'\r'} || span[skip] == std::byte{'\t'}))
                    ++skip;
                if (skip > 0 && skip < len) std::memmove(span.data(), span.data() + skip, len - skip);
                len -= skip;
                if (len > 0) first = false;
            }
            total += *n;
            bool final = *n == 0;
            if (final && total == 0) return fail(Errc::malformed, "the input is empty", where_);
            if (XML_ParseBuffer(parser_.get(), static_cast<int>(len), final) == XML_STATUS_ERROR) {
                if (failure_) return std::unexpected(std::move(*failure_));
                return xml_error(fmt::format("not well-formed XML: {}",
                                             XML_ErrorString(XML_GetErrorCode(parser_.get()))));
            }
            if (failure_) return std::unexpected(std::move(*failure_));
            if (final) break;
        }
        if (!root_seen_) return fail(Errc::malformed, "no XML element found", where_);
        if (!header_sent_) {
            // A report with no <record> at all: RFC 7489 requires one, but the header alone is
            // still a faithful account of what the receiver sent.
            if (auto r = send_header(); !r) return std::unexpected(std::move(r.error()));
            add_diagnostic("feedback", "the report holds no <record>");
        }
        return std::move(totals_);
    }

private:
    // --- expat callbacks ----------------------------------------------------------------------
    static void XMLCALL on_start(void* self, const XML_Char* name, const XML_Char** attrs) {
        static_cast<AggregateParser*>(self)->start(name, attrs);
    }
    static void XMLCALL on_end(void* self, const XML_Char*) {
        static_cast<AggregateParser*>(self)->end();
    }
    static void XMLCALL on_text(void* self, const XML_Char* s, int len) {
        auto* p = static_cast<AggregateParser*>(self);
        if (!p->collecting_) return;
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

    void start(const XML_Char* qname, const XML_Char** attrs) {
        if (failure_) return;
        if (stack_.size() > limits_.max_xml_depth) {
            stop(xml_error_value(Errc::limit_exceeded,
                                 fmt::format("elements are nested deeper than {}",
                                             limits_.max_xml_depth)));
            return;
        }
        auto name = local_name(qname);
        Ctx parent = stack_.back();
        Ctx ctx = Ctx::skip;
        if (parent == Ctx::document) {
            root_seen_ = true;
            if (name != "feedback") {
                stop(xml_error_value(Errc::malformed,
                                     fmt::format("not a DMARC aggregate report: the root element "
                                                 "is <{}>, not <feedback>",
                                                 printable(std::string_view(qname)))));
                return;
            }
            ctx = Ctx::feedback;
            header_.schema = root_schema(qname, attrs);
        } else {
            ctx = child_of(parent, name);
        }
        stack_.push_back(ctx);
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
        collecting_ = is_leaf(ctx);
        text_.clear();
    }

    void end() {
        if (failure_) return;
        Ctx ctx = stack_.back();
        collecting_ = false;
        if (is_leaf(ctx)) leaf(ctx);
        else if (ctx == Ctx::record) finish_record();
        stack_.pop_back();
    }

    // --- element handling ---------------------------------------------------------------------
    void leaf(Ctx ctx) {
        std::string_view v = trim(text_);
        auto& m = header_.metadata;
        auto& p = header_.policy;
        switch (ctx) {
            case Ctx::version: header_.version = v; break;
            case Ctx::org_name: m.org_name = v; break;
            case Ctx::email: m.email = v; break;
            case Ctx::extra_contact_info: m.extra_contact_info = v; break;
            case Ctx::report_id: m.report_id = v; break;
            case Ctx::error: m.errors.emplace_back(v); break;
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
                if (l == "y") p.testing = true;
                else if (l == "n") p.testing = false;
                else if (!v.empty()) note(fmt::format("testing \"{}\" ignored", printable(v)));
                break;
            }
            case Ctx::pol_discovery: {
                auto l = ascii_lower(v);
                if (l == "psl") p.discovery_method = DiscoveryMethod::psl;
                else if (l == "treewalk") p.discovery_method = DiscoveryMethod::treewalk;
                else if (!v.empty()) note(fmt::format("discovery_method \"{}\" ignored", printable(v)));
                break;
            }
            case Ctx::source_ip: {
                auto ip = IpAddress::parse(v);
                if (!ip) return stop(field_error(ip.error().reason));
                record_.source_ip = *ip;
                source_ip_seen_ = true;
                break;
            }
            case Ctx::count: {
                std::uint64_t c = 0;
                auto [e, ec] = std::from_chars(v.data(), v.data() + v.size(), c);
                if (ec != std::errc{} || e != v.data() + v.size() || c > (1ull << 40))
                    return stop(field_error(fmt::format("\"{}\" is not a message count", printable(v))));
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
        if (!source_ip_seen_) return stop(record_error("row/source_ip is missing"));
        if (!count_seen_) return stop(record_error("row/count is missing"));
        if (record_.header_from.empty()) note("identifiers/header_from is missing or empty");
        totals_.records++;
        totals_.messages += record_.count;
        if (auto r = sink_.on_record(record_); !r) stop(std::move(r.error()));
    }

    Result<void> send_header() {
        header_sent_ = true;
        auto& m = header_.metadata;
        auto missing = [this](std::string_view what) {
            return xml_error_value(Errc::malformed,
                                   fmt::format("{} is missing or empty", what));
        };
        if (m.org_name.empty()) {
            // Leniency: name the reporter after its e-mail domain rather than refuse the report.
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
        if (l == "r" || l == "relaxed") return Alignment::relaxed;
        if (l == "s" || l == "strict") return Alignment::strict;
        if (!v.empty()) note(fmt::format("alignment \"{}\" ignored", printable(v)));
        return std::nullopt;
    }
    std::optional<Policy> policy(std::string_view v) {
        auto l = ascii_lower(v);
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
    std::string element_path() const {
        std::string path;
        // Rebuilding names from contexts would lose unknown ones; a compact path of the
        // contexts we know is enough to find the spot together with line and column.
        static constexpr std::string_view names[] = {
            "?", "", "feedback", "version", "report_metadata", "org_name", "email",
            "extra_contact_info", "report_id", "error", "generator", "date_range", "begin", "end",
            "policy_published", "domain", "adkim", "aspf", "p", "sp", "np", "pct", "fo", "testing",
            "discovery_method", "record", "row", "source_ip", "count", "policy_evaluated",
            "disposition", "dkim", "spf", "reason", "type", "comment", "identifiers",
            "header_from", "envelope_from", "envelope_to", "auth_results", "dkim", "domain",
            "selector", "result", "human_result", "spf", "domain", "scope", "result",
            "human_result"};
        for (Ctx c : stack_) {
            if (c == Ctx::document) continue;
            if (!path.empty()) path += '/';
            path += names[static_cast<std::size_t>(c)];
            if (c == Ctx::record) path += fmt::format("[{}]", record_index_);
        }
        return path;
    }
    Location here() const {
        Location l = where_;
        l.line = static_cast<std::uint32_t>(XML_GetCurrentLineNumber(parser_.get()));
        l.column = static_cast<std::uint32_t>(XML_GetCurrentColumnNumber(parser_.get())) + 1;
        auto off = XML_GetCurrentByteIndex(parser_.get());
        l.offset = off < 0 ? 0 : static_cast<std::uint64_t>(off);
        l.path = element_path();
        return l;
    }
    Error xml_error_value(Errc code, std::string reason) const {
        return Error{code, std::move(reason), here()};
    }
    std::unexpected<Error> xml_error(std::string reason) const {
        return std::unexpected(xml_error_value(Errc::malformed, std::move(reason)));
    }
    Error field_error(std::string reason) const { return xml_error_value(Errc::malformed, std::move(reason)); }
    Error record_error(std::string reason) const {
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
    void add_diagnostic(std::string path, std::string message) {
        // Bounded: a 200 MB report with the same quirk in every record keeps the first few.
        if (totals_.diagnostics.size() < max_diagnostics)
            totals_.diagnostics.push_back({std::move(path), std::move(message)});
    }

    Schema root_schema(const XML_Char* qname, const XML_Char** attrs) const {
        std::string_view q(qname);
        auto colon = q.find(':');
        std::string want = colon == std::string_view::npos
                               ? std::string("xmlns")
                               : fmt::format("xmlns:{}", q.substr(0, colon));
        for (auto a = attrs; *a != nullptr; a += 2)
            if (want == a[0]) return schema_for(trim(a[1]));
        return Schema::none;
    }

    Location where_;
    const IngestLimits& limits_;
    AggregateSink& sink_;
    std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserDeleter> parser_;
    std::vector<Ctx> stack_;
    std::string text_;
    bool collecting_ = false;
    bool root_seen_ = false;
    bool header_sent_ = false;
    bool begin_seen_ = false, end_seen_ = false;
    bool source_ip_seen_ = false, count_seen_ = false;
    std::uint64_t record_index_ = 0;
    AggregateHeader header_;
    Record record_;
    AggregateTotals totals_;
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
