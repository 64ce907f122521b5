// Failure reports: ARF (RFC 5965) messages carrying DMARC auth-failure reports (RFC 6591 as
// updated by RFC 9991), parsed with GMime.
//
// Shape of an ARF report (RFC 5965 §2): multipart/report; report-type=feedback-report with
// (1) a human-readable part, (2) a message/feedback-report part whose body is an RFC 822-style
// block of fields, (3) the reported message as message/rfc822, or its header block alone as
// text/rfc822-headers. GMime parses the MIME structure, the transfer encodings, the field block
// (unfolding, RFC 2047 words), dates and addresses; this file only maps what GMime found onto
// FailureReport and writes down which deviations we accept.
//
// Trust: every byte comes from a stranger. The message is capped at IngestLimits::max_message
// before GMime sees it, the part walk stops at IngestLimits::max_nesting (GMime itself stops
// recursing at 1024 levels), decoded parts are never larger than their encoded form, and the
// kept header block of the reported message is capped. Report text reaches error messages only
// through printable().

#include <fmt/format.h>
#include <gmime/gmime.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/report.hpp"

namespace rampart::report {
namespace {

// The header block of the reported message is kept for display and forensics; real ones are a
// few KB, so 64 KiB keeps all of them and stops a report from storing megabytes of "headers".
constexpr std::size_t max_original_headers = 64 * 1024;

void init_gmime() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

struct GObjectUnref {
    void operator()(gpointer object) const noexcept {
        if (object != nullptr) g_object_unref(object);
    }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
    void operator()(gpointer p) const noexcept { g_free(p); }
};
using GChars = std::unique_ptr<char, GFree>;

struct DateTimeUnref {
    void operator()(GDateTime* p) const noexcept {
        if (p != nullptr) g_date_time_unref(p);
    }
};

std::string_view view(const char* text) noexcept {
    return text == nullptr ? std::string_view{} : std::string_view{text};
}

/// Line ends as GMime wants them. GMime ends a line at LF only. CRLF (the wire form; sisimai
/// dos/arf-01.eml, parsedmarc dmarc_ruf_report_linkedin.crlf.eml) becomes LF so the kept texts
/// are the same whatever line ends the file had. A text with CRs and no LF at all uses bare CR
/// line ends (old Mac mail; sisimai mac/arf-01.eml): each CR becomes LF. A lone CR inside an
/// otherwise LF or CRLF text is left alone, so it cannot start a header line of its own.
/// Returns nothing when the text needs no change.
std::optional<std::string> normalise_line_ends(std::string_view text, bool& bare_cr) {
    bare_cr = false;
    if (text.find('\r') == std::string_view::npos) return std::nullopt;
    std::string out;
    out.reserve(text.size());
    if (text.find('\n') == std::string_view::npos) {
        bare_cr = true;
        for (char c : text) out += c == '\r' ? '\n' : c;
        return out;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        out += text[i];
    }
    return out;
}

/// Collapses folding and other whitespace runs to one space and trims: GMime has already
/// unfolded the value (removed the line breaks) but keeps the indentation that followed them.
std::string squeeze(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

/// A GMime message built from text that is held in memory, with the parser that built it.
struct ParsedMessage {
    GPtr<GMimeParser> parser;
    GPtr<GMimeMessage> message;
};

ParsedMessage parse_message(std::string_view text) {
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
    ParsedMessage out;
    out.parser.reset(g_mime_parser_new_with_stream(stream.get()));
    g_mime_parser_set_format(out.parser.get(), GMIME_FORMAT_MESSAGE);
    out.message.reset(g_mime_parser_construct_message(out.parser.get(), nullptr));
    return out;
}

/// The body of a leaf part with its Content-Transfer-Encoding undone. Base64, quoted-printable
/// and uuencode only shrink, so the result is never larger than the message.
std::optional<std::string> decoded_content(GMimePart* part) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (content == nullptr) return std::string{};
    GPtr<GMimeStream> sink(g_mime_stream_mem_new());
    if (g_mime_data_wrapper_write_to_stream(content, sink.get()) < 0) return std::nullopt;
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
    if (bytes == nullptr || bytes->len == 0) return std::string{};
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

bool is_type(GMimeObject* object, const char* type, const char* subtype) {
    GMimeContentType* ct = g_mime_object_get_content_type(object);
    return ct != nullptr && g_mime_content_type_is_type(ct, type, subtype);
}

bool is_feedback_part(GMimeObject* object) {
    return GMIME_IS_PART(object) && is_type(object, "message", "feedback-report");
}

/// The third part of RFC 5965 §2: the reported message or its headers. Besides the two types
/// the RFC names we accept message/global and message/global-headers (RFC 6533, the same for
/// internationalised mail) and "text/rfc822-header", which sisimai arf-12.eml spells without
/// the final s.
bool is_original_part(GMimeObject* object) {
    return is_type(object, "message", "rfc822") || is_type(object, "message", "global") ||
           is_type(object, "message", "rfc2822") || is_type(object, "text", "rfc822-headers") ||
           is_type(object, "text", "rfc822-header") ||
           is_type(object, "message", "rfc822-headers") ||
           is_type(object, "message", "global-headers");
}

struct FeedbackSearch {
    GMimePart* part = nullptr;         // the first message/feedback-report, in document order
    GMimeMultipart* parent = nullptr;  // the multipart holding it, if any
    std::size_t count = 0;             // how many there are
    bool cut_off = false;              // containers deeper than max_nesting were not opened
};

/// Pre-order walk, so the feedback part of the report itself comes before one that may sit in
/// the reported message (a report about a report). The depth is capped by max_nesting.
void find_feedback(GMimeObject* object, GMimeMultipart* parent, std::uint32_t depth,
                   std::uint32_t max_depth, FeedbackSearch& found) {
    if (object == nullptr) return;
    if (is_feedback_part(object)) {
        if (found.count++ == 0) {
            found.part = GMIME_PART(object);
            found.parent = parent;
        }
        return;
    }
    if (GMIME_IS_MULTIPART(object)) {
        if (depth >= max_depth) {
            found.cut_off = true;
            return;
        }
        auto* multipart = GMIME_MULTIPART(object);
        int n = g_mime_multipart_get_count(multipart);
        for (int i = 0; i < n; ++i)
            find_feedback(g_mime_multipart_get_part(multipart, i), multipart, depth + 1, max_depth,
                          found);
    } else if (GMIME_IS_MESSAGE_PART(object)) {
        if (depth >= max_depth) {
            found.cut_off = true;
            return;
        }
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        if (inner != nullptr)
            find_feedback(g_mime_message_get_mime_part(inner), nullptr, depth + 1, max_depth,
                          found);
    }
}

class FieldMapper {
  public:
    FieldMapper(FailureReport& report, const IngestLimits& limits)
        : report_(report), limits_(limits) {}

    void add(std::string_view name, std::string_view decoded_value);
    void finish();

  private:
    void note(std::string_view field, std::string message) {
        report_.diagnostics.push_back(
            Diagnostic{fmt::format("feedback-report/{}", printable(field)), std::move(message)});
    }
    /// First occurrence wins for fields RFC 5965 allows once.
    bool once(std::string_view canonical, std::string_view written) {
        auto it = std::find(seen_.begin(), seen_.end(), canonical);
        if (it == seen_.end()) {
            seen_.emplace_back(canonical);
            return true;
        }
        note(written, "field appears more than once; the first is used");
        return false;
    }
    /// The example in RFC 9991 Appendix A ends header lines with a stray ';' (its From: and
    /// Message-Id:), and generators copy examples; so a trailing ';' is dropped from every field
    /// whose grammar gives it no meaning there (all but Authentication-Results).
    static std::string strip_semicolons(std::string value) {
        while (!value.empty() && (value.back() == ';' || value.back() == ' ')) value.pop_back();
        return value;
    }
    void set_once(std::string_view canonical, std::string_view written, std::string& target,
                  std::string value) {
        if (once(canonical, written)) target = std::move(value);
    }

    FailureReport& report_;
    const IngestLimits& limits_;
    std::vector<std::string> seen_;
    bool have_arrival_date_ = false;
};

/// Domain text as reporters write it: "Example.COM.;" -> "example.com".
std::string normalise_domain(std::string_view text) {
    std::string out = ascii_lower(trim(text));
    while (!out.empty() && (out.back() == ';' || out.back() == '.' || out.back() == ' '))
        out.pop_back();
    return out;
}

std::optional<Timestamp> parse_mail_date(const std::string& text) {
    std::unique_ptr<GDateTime, DateTimeUnref> when(g_mime_utils_header_decode_date(text.c_str()));
    if (!when) return std::nullopt;
    return Timestamp{std::chrono::seconds{g_date_time_to_unix(when.get())}};
}

void FieldMapper::add(std::string_view name, std::string_view decoded_value) {
    std::string value = squeeze(decoded_value);
    auto is = [&](std::string_view field) { return iequals(name, field); };

    // Fields RFC 5965, RFC 6591, RFC 6692 and the IANA MARF registry define but FailureReport
    // does not model: read past them quietly. (The canonicalized header and body can be large.)
    static constexpr std::string_view unmodelled[] = {"Source-Port",
                                                      "Reported-URI",
                                                      "Removal-Recipient",
                                                      "DKIM-Canonicalized-Header",
                                                      "DKIM-Canonicalized-Body",
                                                      "DKIM-Selector-DNS",
                                                      "DKIM-ADSP-DNS"};
    for (auto field : unmodelled)
        if (is(field)) return;

    if (value.size() > limits_.max_field) {
        note(name, fmt::format("value of {} bytes is over the limit of {} bytes; ignored",
                               value.size(), limits_.max_field));
        return;
    }

    if (is("Feedback-Type")) {
        set_once("feedback-type", name, report_.feedback_type,
                 ascii_lower(strip_semicolons(value)));
    } else if (is("User-Agent")) {
        set_once("user-agent", name, report_.user_agent, strip_semicolons(value));
    } else if (is("Version")) {
        set_once("version", name, report_.version, strip_semicolons(value));
    } else if (is("Auth-Failure")) {
        set_once("auth-failure", name, report_.auth_failure, ascii_lower(strip_semicolons(value)));
    } else if (is("Identity-Alignment")) {
        set_once("identity-alignment", name, report_.identity_alignment,
                 ascii_lower(strip_semicolons(value)));
    } else if (is("Delivery-Result")) {
        set_once("delivery-result", name, report_.delivery_result,
                 ascii_lower(strip_semicolons(value)));
    } else if (is("Reported-Domain")) {
        auto domain = normalise_domain(value);
        if (domain.empty())
            note(name, "empty value ignored");
        else if (std::find(report_.reported_domains.begin(), report_.reported_domains.end(),
                           domain) == report_.reported_domains.end())
            report_.reported_domains.push_back(std::move(domain));
    } else if (is("Source-IP")) {
        if (!once("source-ip", name)) return;
        // OpenDMARC appends the client's name as a comment: "148.163.85.135 (host.example)".
        auto text = strip_semicolons(value);
        auto end = text.find_first_of(" (");
        auto address = IpAddress::parse(std::string_view(text).substr(0, end));
        if (address)
            report_.source_ip = *address;
        else
            note(name, fmt::format("\"{}\" is not an IP address; ignored", printable(text)));
    } else if (is("Arrival-Date") || is("Received-Date")) {
        bool legacy = is("Received-Date");
        if (!once(legacy ? "received-date" : "arrival-date", name)) return;
        auto when = parse_mail_date(value);
        if (!when) {
            note(name, fmt::format("\"{}\" is not an RFC 5322 date; ignored", printable(value)));
            return;
        }
        // Arrival-Date is the RFC 5965 name; Received-Date (draft ARF) counts only without it.
        if (!legacy) {
            report_.arrival_date = *when;
            have_arrival_date_ = true;
        } else if (!have_arrival_date_) {
            report_.arrival_date = *when;
        }
    } else if (is("Original-Mail-From")) {
        set_once("original-mail-from", name, report_.original_mail_from, strip_semicolons(value));
    } else if (is("Original-Rcpt-To")) {
        auto rcpt = strip_semicolons(value);
        if (!rcpt.empty()) report_.original_rcpt_to.push_back(std::move(rcpt));
    } else if (is("Original-Envelope-Id")) {
        set_once("original-envelope-id", name, report_.original_envelope_id,
                 strip_semicolons(value));
    } else if (is("Reporting-MTA")) {
        // RFC 5965 §3.2 borrows RFC 3464's form "dns; mail.example.com"; keep the name.
        auto text = strip_semicolons(value);
        if (auto semi = text.find(';'); semi != std::string::npos)
            text = std::string(trim(std::string_view(text).substr(semi + 1)));
        set_once("reporting-mta", name, report_.reporting_mta, std::move(text));
    } else if (is("Authentication-Results")) {
        // ';' is part of this field's grammar, so nothing is stripped.
        if (!value.empty()) report_.authentication_results.push_back(std::move(value));
    } else if (is("DKIM-Domain")) {
        set_once("dkim-domain", name, report_.dkim_domain, ascii_lower(strip_semicolons(value)));
    } else if (is("DKIM-Identity")) {
        set_once("dkim-identity", name, report_.dkim_identity, strip_semicolons(value));
    } else if (is("DKIM-Selector")) {
        set_once("dkim-selector", name, report_.dkim_selector, strip_semicolons(value));
    } else if (is("SPF-DNS")) {
        set_once("spf-dns", name, report_.spf_dns, value);
    } else if (is("Incidents")) {
        if (!once("incidents", name)) return;
        auto text = strip_semicolons(value);
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{} || end != text.data() + text.size() || n == 0)
            note(name, fmt::format("\"{}\" is not a positive count; 1 is used", printable(text)));
        else
            report_.incidents = n;
    } else {
        note(name, "not an ARF field; ignored");
    }
}

void FieldMapper::finish() {
    // RFC 5965 §3.1 makes these three required. Reporters drop them (Netease and Domino drop
    // none, but hand-written and redacted reports do); the rest of the report is still useful.
    if (report_.feedback_type.empty()) note("Feedback-Type", "required field is missing");
    if (report_.user_agent.empty()) note("User-Agent", "required field is missing");
    if (report_.version.empty()) note("Version", "required field is missing");
}

/// Fills the fields of the reported message from GMime's parse of it.
void read_original(GMimeMessage* original, FailureReport& report) {
    GChars headers(g_mime_object_get_headers(GMIME_OBJECT(original), nullptr));
    std::string text(view(headers.get()));
    if (text.size() > max_original_headers) {
        // Cut at a line end so the kept block is whole headers (and whole UTF-8 sequences).
        auto cut = text.rfind('\n', max_original_headers - 1);
        text.resize(cut == std::string::npos ? 0 : cut + 1);
        report.diagnostics.push_back(
            Diagnostic{"original", fmt::format("header block cut to {} bytes (limit {} bytes)",
                                               text.size(), max_original_headers)});
    }
    if (text.empty())
        report.diagnostics.push_back(
            Diagnostic{"original", "the reported message has no header block (redacted?)"});
    report.original_headers = std::move(text);

    if (InternetAddressList* from = g_mime_message_get_from(original);
        from != nullptr && internet_address_list_length(from) > 0) {
        InternetAddress* first = internet_address_list_get_address(from, 0);
        if (INTERNET_ADDRESS_IS_GROUP(first)) {
            InternetAddressList* members =
                internet_address_group_get_members(INTERNET_ADDRESS_GROUP(first));
            first = members != nullptr && internet_address_list_length(members) > 0
                        ? internet_address_list_get_address(members, 0)
                        : nullptr;
        }
        if (first != nullptr && INTERNET_ADDRESS_IS_MAILBOX(first))
            report.original_from = std::string(
                view(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(first))));
    }
    if (report.original_from.empty()) {
        // No mailbox in From (redacted, or a bare group): keep what was written.
        report.original_from =
            squeeze(view(g_mime_object_get_header(GMIME_OBJECT(original), "From")));
    }
    report.original_subject = squeeze(view(g_mime_message_get_subject(original)));
    report.original_message_id = std::string(view(g_mime_message_get_message_id(original)));
}

/// Looks beside the feedback part for the reported message (RFC 5965 §2 (e): the third part).
void find_original(const FeedbackSearch& found, FailureReport& report) {
    GMimeObject* original = nullptr;
    if (found.parent != nullptr) {
        int n = g_mime_multipart_get_count(found.parent);
        for (int i = 0; i < n && original == nullptr; ++i) {
            GMimeObject* sibling = g_mime_multipart_get_part(found.parent, i);
            if (sibling != GMIME_OBJECT(found.part) && is_original_part(sibling))
                original = sibling;
        }
    }
    if (original == nullptr) {
        report.diagnostics.push_back(
            Diagnostic{"original", "no message/rfc822 or text/rfc822-headers part"});
        return;
    }
    if (GMIME_IS_MESSAGE_PART(original)) {
        if (GMimeMessage* message = g_mime_message_part_get_message(GMIME_MESSAGE_PART(original)))
            read_original(message, report);
        return;
    }
    if (!GMIME_IS_PART(original)) return;
    // text/rfc822-headers, or a message/rfc822 part that came base64 or quoted-printable
    // encoded (GMime leaves those as a leaf): decode, then let GMime read the header block.
    auto content = decoded_content(GMIME_PART(original));
    if (!content) {
        report.diagnostics.push_back(Diagnostic{"original", "part could not be decoded"});
        return;
    }
    bool bare_cr = false;
    if (auto fixed = normalise_line_ends(*content, bare_cr)) *content = std::move(*fixed);
    auto parsed = parse_message(*content);
    if (parsed.message) read_original(parsed.message.get(), report);
}

}  // namespace

std::string FailureReport::domain() const {
    if (!reported_domains.empty()) return reported_domains.front();
    auto domain_chars = [](std::string_view text) {
        auto end = text.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
        return normalise_domain(text.substr(0, end));
    };
    if (auto at = original_from.rfind('@'); at != std::string::npos) {
        auto domain = domain_chars(std::string_view(original_from).substr(at + 1));
        if (!domain.empty()) return domain;
    }
    // Netease writes several: "DKIM-Domain: ietf.org; example.net". The first one is taken.
    return domain_chars(trim(dkim_domain));
}

Result<FailureReport> parse_failure_report(std::span<const std::byte> message,
                                           const Location& where, const IngestLimits& limits) {
    if (message.size() > limits.max_message)
        return fail(Errc::limit_exceeded,
                    fmt::format("the message is {} bytes, over the limit of {} bytes",
                                message.size(), limits.max_message),
                    where);
    if (message.empty()) return fail(Errc::malformed, "the message is empty", where);
    init_gmime();

    FailureReport report;
    bool bare_cr = false;
    auto normalised = normalise_line_ends(as_chars(message), bare_cr);
    if (bare_cr)
        report.diagnostics.push_back(
            Diagnostic{"message", "bare CR line ends read as LF (old Mac line ends)"});
    auto outer = parse_message(normalised ? std::string_view(*normalised) : as_chars(message));
    // GMime gives up only when the text does not start with a header block.
    if (!outer.message)
        return fail(Errc::malformed,
                    "the message does not start with a header block: not an e-mail message", where);
    report.report_message_id =
        std::string(view(g_mime_message_get_message_id(outer.message.get())));

    FeedbackSearch found;
    find_feedback(g_mime_message_get_mime_part(outer.message.get()), nullptr, 0, limits.max_nesting,
                  found);
    if (found.part == nullptr) {
        if (found.cut_off)
            return fail(Errc::limit_exceeded,
                        fmt::format("no message/feedback-report part within {} levels of MIME "
                                    "nesting",
                                    limits.max_nesting),
                        where);
        // Decision: a message without a message/feedback-report part is rejected, not guessed
        // at. Exim's plain-text "DMARC Forensic Report" (parsedmarc
        // exim_plain_text_only_no_arf_part.eml), Hotmail JMRP complaints (sisimai arf-22..24:
        // multipart/mixed with only message/rfc822) and plain-text unsubscribe mails (sisimai
        // arf-26) carry no machine-readable fields; parsedmarc fills in defaults for them, but
        // a made-up Feedback-Type and Authentication-Results would be data we invented.
        return fail(Errc::malformed, "no message/feedback-report part: not an ARF report", where);
    }
    if (found.count > 1)
        report.diagnostics.push_back(Diagnostic{
            "message",
            fmt::format("{} message/feedback-report parts; the first is used", found.count)});
    // Netease sends multipart/mixed (parsedmarc "[Netease DMARC Failure Report] Rent
    // Reminder.eml"); the fields are the same, so only note it.
    GMimeContentType* parent_type = found.parent != nullptr
                                        ? g_mime_object_get_content_type(GMIME_OBJECT(found.parent))
                                        : nullptr;
    if (parent_type == nullptr ||
        !g_mime_content_type_is_type(parent_type, "multipart", "report") ||
        !iequals(view(g_mime_content_type_get_parameter(parent_type, "report-type")),
                 "feedback-report"))
        report.diagnostics.push_back(
            Diagnostic{"message",
                       "message/feedback-report part is not inside multipart/report; "
                       "report-type=feedback-report"});

    auto content = decoded_content(found.part);
    if (!content)
        return fail(Errc::malformed, "the message/feedback-report part could not be decoded",
                    where);
    bool fields_bare_cr = false;
    if (auto fixed = normalise_line_ends(*content, fields_bare_cr)) *content = std::move(*fixed);
    // A blank line before the fields would make GMime read them as a body.
    auto first = content->find_first_not_of(" \t\n");
    if (first == std::string::npos)
        return fail(Errc::malformed, "the message/feedback-report part is empty", where);
    if (first != 0) {
        auto line_start = content->rfind('\n', first);
        content->erase(0, line_start == std::string::npos ? 0 : line_start + 1);
    }
    // The field block has the syntax of a header block (RFC 5965 §3.1), so GMime reads it as
    // the header of a message: folding, CRLF and RFC 2047 words are handled there.
    auto fields = parse_message(*content);
    GMimeHeaderList* list = fields.message
                                ? g_mime_object_get_header_list(GMIME_OBJECT(fields.message.get()))
                                : nullptr;
    int count = list != nullptr ? g_mime_header_list_get_count(list) : 0;
    if (count == 0)
        return fail(Errc::malformed,
                    "the message/feedback-report part holds no fields in header form", where);
    FieldMapper mapper(report, limits);
    for (int i = 0; i < count; ++i) {
        GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
        mapper.add(view(g_mime_header_get_name(header)), view(g_mime_header_get_value(header)));
    }
    mapper.finish();
    // GMime stops the header block at the first line that is not a field; what follows would
    // be silently lost, so say so.
    if (GMimeObject* rest = g_mime_message_get_mime_part(fields.message.get());
        rest != nullptr && GMIME_IS_PART(rest)) {
        auto body = decoded_content(GMIME_PART(rest));
        if (body && !trim(*body).empty())
            report.diagnostics.push_back(
                Diagnostic{"feedback-report",
                           fmt::format("{} bytes after the field block are not fields; ignored",
                                       trim(*body).size())});
    }

    find_original(found, report);
    return report;
}

}  // namespace rampart::report
