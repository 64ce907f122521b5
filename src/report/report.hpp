// report: the DMARC aggregate and failure report model, and the parsers that build it from bytes.
//
// Standards: RFC 7489 Appendix C (aggregate schema 0.1), RFC 9990 (aggregate reports, namespace
// urn:ietf:params:xml:ns:dmarc-2.0), RFC 5965 (ARF), RFC 6591 and RFC 9991 (failure reports).
// Trust: every byte comes from a stranger. The XML parser refuses DOCTYPE (so no entity expansion
// and no external entities), caps element depth, field length and record count, and matches
// elements by local name whatever namespace a reporter used (0.1, 0.2, 2.0 or none).
// Errors: Errc::malformed for input that is not a usable report (with line, column and element
// path), Errc::limit_exceeded for caps, and whatever the ByteSource or the sink returned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace rampart::report {

enum class Alignment : std::uint8_t { relaxed, strict };
enum class Policy : std::uint8_t { none, quarantine, reject };
enum class DiscoveryMethod : std::uint8_t { psl, treewalk };
/// policy_evaluated/disposition. RFC 9990 adds `pass` (passed DMARC under an enforcing policy).
enum class Disposition : std::uint8_t { none, pass, quarantine, reject, unknown };
/// policy_evaluated/dkim and /spf: the DMARC-aligned outcome.
enum class DmarcVerdict : std::uint8_t { pass, fail, unknown };
/// auth_results dkim/spf result: the union of the RFC 8601 names used by both methods.
enum class AuthVerdict : std::uint8_t {
    none, pass, fail, softfail, neutral, policy, temperror, permerror, unknown
};
enum class SpfScope : std::uint8_t { unspecified, mfrom, helo };
/// RFC 7489 and RFC 9990 override reason types.
enum class OverrideType : std::uint8_t {
    forwarded, sampled_out, trusted_forwarder, mailing_list, local_policy, other,
    policy_test_mode, unknown
};
enum class Schema : std::uint8_t {
    none,          // no namespace (Google, Yahoo, most reporters)
    dmarc_0_1,     // http://dmarc.org/dmarc-xml/0.1 (RFC 7489)
    dmarc_0_2,     // http://dmarc.org/dmarc-xml/0.2 (abandoned working-group draft)
    dmarc_2_0,     // urn:ietf:params:xml:ns:dmarc-2.0 (RFC 9990)
    other,
};

std::string_view to_string(Alignment) noexcept;
std::string_view to_string(Policy) noexcept;
std::string_view to_string(DiscoveryMethod) noexcept;
std::string_view to_string(Disposition) noexcept;
std::string_view to_string(DmarcVerdict) noexcept;
std::string_view to_string(AuthVerdict) noexcept;
std::string_view to_string(SpfScope) noexcept;
std::string_view to_string(OverrideType) noexcept;
std::string_view to_string(Schema) noexcept;

/// A quirk accepted while parsing: kept with the report so nothing is silently changed.
struct Diagnostic {
    std::string path;     // element path, e.g. "feedback/record[3]/row/policy_evaluated/spf"
    std::string message;  // "\"Pass\" read as \"pass\""
};

struct ReportMetadata {
    std::string org_name;
    std::string email;
    std::string extra_contact_info;
    std::string report_id;
    Timestamp begin{};
    Timestamp end{};
    std::vector<std::string> errors;
    std::string generator;  // RFC 9990
};

/// policy_published: the DMARC record the receiver applied. Absent tags stay absent (RFC 9990:
/// "unspecified tags have their default values"; a consumer decides the default).
struct PolicyPublished {
    std::string domain;  // lower-cased
    std::optional<Alignment> adkim, aspf;
    std::optional<Policy> p, sp, np;
    std::optional<std::uint32_t> pct;  // RFC 7489 only
    std::string fo;
    std::optional<bool> testing;  // RFC 9990 `t`
    std::optional<DiscoveryMethod> discovery_method;
};

/// Everything before the first <record>: enough to decide whether the report is new.
struct AggregateHeader {
    Schema schema = Schema::none;
    std::string version;  // as written ("1.0", "0.1", ""), trimmed
    ReportMetadata metadata;
    PolicyPublished policy;
};

struct OverrideReason {
    OverrideType type = OverrideType::other;
    std::string comment;
};

struct DkimAuthResult {
    std::string domain;
    std::string selector;
    AuthVerdict result = AuthVerdict::none;
    std::string human_result;
};

struct SpfAuthResult {
    std::string domain;
    SpfScope scope = SpfScope::unspecified;
    AuthVerdict result = AuthVerdict::none;
    std::string human_result;
};

struct Record {
    IpAddress source_ip;
    std::uint64_t count = 0;
    Disposition disposition = Disposition::unknown;
    DmarcVerdict dkim = DmarcVerdict::unknown;
    DmarcVerdict spf = DmarcVerdict::unknown;
    std::vector<OverrideReason> reasons;
    std::string header_from;
    std::optional<std::string> envelope_from;  // present-but-empty = null reverse-path
    std::optional<std::string> envelope_to;
    std::vector<DkimAuthResult> dkim_results;
    std::vector<SpfAuthResult> spf_results;

    /// DMARC passed when either aligned identifier passed (RFC 7489 §3.1 / RFC 9989 §4.4).
    [[nodiscard]] bool dmarc_pass() const noexcept {
        return dkim == DmarcVerdict::pass || spf == DmarcVerdict::pass;
    }
};

/// Receives a report as it is parsed: the header once, then each record.
/// Returning an error from either stops the parse with that error.
class AggregateSink {
public:
    virtual ~AggregateSink() = default;
    [[nodiscard]] virtual Result<void> on_header(const AggregateHeader& header) = 0;
    [[nodiscard]] virtual Result<void> on_record(const Record& record) = 0;
};

/// What the parse saw, for the caller's summary.
struct AggregateTotals {
    std::uint64_t records = 0;
    std::uint64_t messages = 0;  // sum of <count>
    std::vector<Diagnostic> diagnostics;
};

/// Streams one aggregate report from `xml` to `sink`, in bounded memory whatever its size.
/// The declared encoding is honoured (UTF-8, UTF-16, ISO-8859-1, US-ASCII natively; windows-1252
/// and other single-byte sets through iconv), a UTF-8 BOM is skipped. A document in UTF-8
/// (declared or by default) has invalid byte sequences replaced by U+FFFD, recorded in one
/// Diagnostic; Location offsets then count the repaired stream.
/// A tag, comment or other markup longer than max_field + 128 KiB is Errc::limit_exceeded.
/// Fails with Errc::malformed (not XML, not a <feedback> document, a required element missing or
/// unusable, DOCTYPE present), Errc::limit_exceeded, or the source's or sink's error. On failure
/// the sink may have seen part of the report: it must discard it.
[[nodiscard]] Result<AggregateTotals> parse_aggregate(ByteSource& xml, const Location& where,
                                                      const IngestLimits& limits,
                                                      AggregateSink& sink);

/// A whole report in memory: for tests, fuzzing and small tools.
struct AggregateReport {
    AggregateHeader header;
    std::vector<Record> records;
    std::vector<Diagnostic> diagnostics;
};
[[nodiscard]] Result<AggregateReport> parse_aggregate_document(std::span<const std::byte> xml,
                                                               const Location& where,
                                                               const IngestLimits& limits);

/// True when the first bytes look like an XML document whose root could be a report
/// (used by the unpacker to tell XML from other text).
[[nodiscard]] bool looks_like_xml(std::span<const std::byte> head) noexcept;

// ---- failure reports -------------------------------------------------------------------------

/// One ARF report (RFC 5965), typically Feedback-Type auth-failure (RFC 6591, RFC 9991).
struct FailureReport {
    std::string feedback_type;  // lower-cased: auth-failure, abuse, fraud, opt-out, ...
    std::string user_agent;
    std::string version;
    std::string auth_failure;  // dmarc, spf, bodyhash, signature, revoked, adsp
    std::string identity_alignment;
    std::string delivery_result;
    std::vector<std::string> reported_domains;  // lower-cased
    std::optional<IpAddress> source_ip;
    std::optional<Timestamp> arrival_date;
    std::string original_mail_from;
    std::vector<std::string> original_rcpt_to;
    std::string original_envelope_id;
    std::string reporting_mta;
    std::vector<std::string> authentication_results;
    std::string dkim_domain, dkim_identity, dkim_selector;
    std::string spf_dns;
    std::uint64_t incidents = 1;
    std::string original_headers;  // the header block of the reported message, as sent
    std::string original_from;     // From: of the reported message
    std::string original_subject;
    std::string original_message_id;
    std::string report_message_id;  // Message-ID of the report e-mail itself
    std::vector<Diagnostic> diagnostics;

    /// The domain the report is about: Reported-Domain, else the original From's domain.
    [[nodiscard]] std::string domain() const;
};

/// Parses an e-mail message holding an ARF report (multipart/report;
/// report-type=feedback-report). Fails with Errc::malformed when the message has no
/// message/feedback-report part or its required fields are unusable.
[[nodiscard]] Result<FailureReport> parse_failure_report(std::span<const std::byte> message,
                                                         const Location& where,
                                                         const IngestLimits& limits);

}  // namespace rampart::report
