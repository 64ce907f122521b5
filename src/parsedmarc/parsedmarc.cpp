// Written from a reading of parsedmarc's parsedmarc/__init__.py (commit 00267c98 of
// domainaware/parsedmarc, the 8.x series whose source objects carry "name" and "type"):
// parse_aggregate_report_xml and _parse_report_record give the JSON shape and defaults,
// parsed_aggregate_reports_to_csv_rows and parsed_aggregate_reports_to_csv the CSV, append_json
// (json.dumps(..., ensure_ascii=False, indent=2)) the JSON layout, and Python's csv.DictWriter
// (excel dialect: QUOTE_MINIMAL, CRLF line ends) the CSV quoting.
#include "parsedmarc/parsedmarc.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dmarc/dmarc.hpp"

namespace rampart::parsedmarc {
namespace {

using ojson = nlohmann::ordered_json;

// parsedmarc's utils.timestamp_to_human: "%Y-%m-%d %H:%M:%S". parsedmarc formats in the host's
// local time zone (datetime.fromtimestamp); Rampart keeps everything in UTC, which is what
// parsedmarc writes on a host set to UTC (its Docker image).
std::string human_time(Timestamp t) {
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss hms{t - day};
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

ojson text_or_null(std::string_view text) {
    if (text.empty()) return nullptr;
    return std::string(text);
}

// parsedmarc: an org_name without a space is replaced by its base domain (publicsuffixlist's
// privatesuffix, lower-cased) when it has one; a missing org_name falls back to the domain of
// the reporter's e-mail address.
std::string org_name_of(const report::ReportMetadata& m) {
    std::string org = m.org_name;
    if (org.empty() && !m.email.empty()) {
        const auto at = m.email.rfind('@');
        org = at == std::string::npos ? m.email : m.email.substr(at + 1);
    }
    if (!org.empty() && org.find(' ') == std::string::npos) {
        if (auto base = dmarc::org_domain_by_psl(org)) return *base;
    }
    return org;
}

// parsedmarc: report_id.replace("<", "").replace(">", "").split("@")[0] — Message-ID-shaped
// ids lose their brackets and host part.
std::string report_id_of(std::string_view id) {
    std::string out;
    for (char c : id) {
        if (c == '@') break;
        if (c != '<' && c != '>') out.push_back(c);
    }
    return out;
}

struct Header {
    ojson xml_schema;
    ojson metadata;
    ojson policy;
};

Header header_json(const report::AggregateHeader& h) {
    Header out;
    // parsedmarc: the <version> text, "draft" when the element is absent.
    out.xml_schema = h.version.empty() ? std::string("draft") : h.version;

    const auto& m = h.metadata;
    out.metadata = ojson::object();
    out.metadata["org_name"] = org_name_of(m);
    out.metadata["org_email"] = text_or_null(m.email);
    out.metadata["org_extra_contact_info"] = text_or_null(m.extra_contact_info);
    out.metadata["report_id"] = report_id_of(m.report_id);
    out.metadata["begin_date"] = human_time(m.begin);
    out.metadata["end_date"] = human_time(m.end);
    out.metadata["errors"] = m.errors;

    // parsedmarc's defaults for absent tags: adkim/aspf "r", sp = p, pct "100", fo "0"; values
    // stay strings as xmltodict read them. parsedmarc refuses a report without <p>; Rampart
    // stored it, so it is exported with p null rather than dropped.
    const auto& p = h.policy;
    out.policy = ojson::object();
    out.policy["domain"] = p.domain;
    out.policy["adkim"] = p.adkim ? std::string(report::to_string(*p.adkim)) : "r";
    out.policy["aspf"] = p.aspf ? std::string(report::to_string(*p.aspf)) : "r";
    out.policy["p"] = p.p ? ojson(std::string(report::to_string(*p.p))) : ojson(nullptr);
    out.policy["sp"] = p.sp ? ojson(std::string(report::to_string(*p.sp))) : out.policy["p"];
    out.policy["pct"] = p.pct ? std::to_string(*p.pct) : std::string("100");
    out.policy["fo"] = p.fo.empty() ? std::string("0") : p.fo;
    return out;
}

ojson source_json(const report::Record& r, const SourceLookup& lookup) {
    const auto ip = r.source_ip.to_string();
    SourceInfo info;
    if (lookup) info = lookup(ip);
    ojson s = ojson::object();
    s["ip_address"] = ip;
    s["country"] = nullptr;  // no GeoIP database in Rampart
    s["reverse_dns"] = info.reverse_dns ? ojson(*info.reverse_dns) : ojson(nullptr);
    s["base_domain"] = info.base_domain ? ojson(*info.base_domain) : ojson(nullptr);
    // parsedmarc names the service from its reverse-DNS map; a base domain the map does not
    // know is its own name with type null, which is all Rampart can say without the map.
    s["name"] = s["base_domain"];
    s["type"] = nullptr;
    return s;
}

std::string disposition_text(report::Disposition d) {
    // parsedmarc: a missing disposition is "none", and RFC 9990's "pass" is written "none".
    switch (d) {
        case report::Disposition::quarantine: return "quarantine";
        case report::Disposition::reject: return "reject";
        default: return "none";
    }
}

std::string verdict_text(report::DmarcVerdict v) {
    // parsedmarc: a missing policy_evaluated dkim/spf is "fail".
    return v == report::DmarcVerdict::pass ? "pass" : "fail";
}

ojson record_json(const report::Record& r, const SourceLookup& lookup) {
    ojson rec = ojson::object();
    rec["source"] = source_json(r, lookup);
    rec["count"] = r.count;
    const bool spf_aligned = r.spf == report::DmarcVerdict::pass;
    const bool dkim_aligned = r.dkim == report::DmarcVerdict::pass;
    rec["alignment"] = ojson::object();
    rec["alignment"]["spf"] = spf_aligned;
    rec["alignment"]["dkim"] = dkim_aligned;
    rec["alignment"]["dmarc"] = spf_aligned || dkim_aligned;

    ojson pe = ojson::object();
    pe["disposition"] = disposition_text(r.disposition);
    pe["dkim"] = verdict_text(r.dkim);
    pe["spf"] = verdict_text(r.spf);
    pe["policy_override_reasons"] = ojson::array();
    for (const auto& reason : r.reasons) {
        ojson o = ojson::object();
        o["type"] = std::string(report::to_string(reason.type));
        o["comment"] = text_or_null(reason.comment);
        pe["policy_override_reasons"].push_back(std::move(o));
    }
    rec["policy_evaluated"] = std::move(pe);

    // parsedmarc drops auth results without a domain, writes a missing selector or result as
    // "none" and a missing SPF scope as "mfrom"; human_result is not carried.
    ojson dkim = ojson::array();
    for (const auto& d : r.dkim_results) {
        if (d.domain.empty()) continue;
        ojson o = ojson::object();
        o["domain"] = d.domain;
        o["selector"] = d.selector.empty() ? std::string("none") : d.selector;
        o["result"] = std::string(report::to_string(d.result));
        dkim.push_back(std::move(o));
    }
    ojson spf = ojson::array();
    for (const auto& s : r.spf_results) {
        if (s.domain.empty()) continue;
        ojson o = ojson::object();
        o["domain"] = s.domain;
        o["scope"] = s.scope == report::SpfScope::unspecified
                         ? std::string("mfrom")
                         : std::string(report::to_string(s.scope));
        o["result"] = std::string(report::to_string(s.result));
        spf.push_back(std::move(o));
    }

    // parsedmarc: an absent or empty envelope_from is taken from the last SPF result's domain,
    // lower-cased; a present one is kept as written.
    ojson envelope_from = nullptr;
    if (r.envelope_from && !r.envelope_from->empty()) {
        envelope_from = *r.envelope_from;
    } else if (!r.spf_results.empty() && !r.spf_results.back().domain.empty()) {
        envelope_from = ascii_lower(r.spf_results.back().domain);
    }
    ojson ids = ojson::object();
    ids["header_from"] = ascii_lower(r.header_from);
    ids["envelope_from"] = std::move(envelope_from);
    ids["envelope_to"] =
        r.envelope_to && !r.envelope_to->empty() ? ojson(*r.envelope_to) : ojson(nullptr);
    rec["identifiers"] = std::move(ids);

    rec["auth_results"] = ojson::object();
    rec["auth_results"]["dkim"] = std::move(dkim);
    rec["auth_results"]["spf"] = std::move(spf);
    return rec;
}

/// json.dumps(indent=2) of `value`, its continuation lines shifted right by `indent` so that it
/// sits at that depth of the enclosing document (the first line is the caller's).
std::string dump_at(const ojson& value, std::string_view indent) {
    const auto text = value.dump(2, ' ', false, ojson::error_handler_t::replace);
    std::string out;
    out.reserve(text.size() + 64);
    for (char c : text) {
        out.push_back(c);
        if (c == '\n') out.append(indent);
    }
    return out;
}

// ---- CSV ----------------------------------------------------------------------------------

constexpr const char* csv_fields[] = {
    "xml_schema",
    "org_name",
    "org_email",
    "org_extra_contact_info",
    "report_id",
    "begin_date",
    "end_date",
    "errors",
    "domain",
    "adkim",
    "aspf",
    "p",
    "sp",
    "pct",
    "fo",
    "source_ip_address",
    "source_country",
    "source_reverse_dns",
    "source_base_domain",
    "source_name",
    "source_type",
    "count",
    "spf_aligned",
    "dkim_aligned",
    "dmarc_aligned",
    "disposition",
    "policy_override_reasons",
    "policy_override_comments",
    "envelope_from",
    "header_from",
    "envelope_to",
    "dkim_domains",
    "dkim_selectors",
    "dkim_results",
    "spf_domains",
    "spf_scopes",
    "spf_results",
};

// csv.QUOTE_MINIMAL: quoted when the field holds the delimiter, the quote or a line-end
// character; quotes inside are doubled.
void csv_field(std::string& line, std::string_view value) {
    if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
        line.append(value);
        return;
    }
    line.push_back('"');
    for (char c : value) {
        if (c == '"') line.push_back('"');
        line.push_back(c);
    }
    line.push_back('"');
}

// parsed_aggregate_reports_to_csv_rows: None becomes "", booleans print as Python's True/False.
std::string csv_value(const ojson& v) {
    if (v.is_null()) return {};
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    return {};
}

template <class F>
std::string join(const ojson& list, std::string_view sep, F&& item) {
    std::string out;
    bool first = true;
    for (const auto& e : list) {
        if (!first) out.append(sep);
        first = false;
        out.append(item(e));
    }
    return out;
}

std::string csv_row(const Header& h, const ojson& rec) {
    // to_str in parsedmarc lower-cases every element of the auth-result lists.
    auto lower = [](const char* key) {
        return [key](const ojson& e) { return ascii_lower(csv_value(e[key])); };
    };
    auto or_none = [](const char* key) {
        return [key](const ojson& e) {
            auto v = csv_value(e[key]);
            return v.empty() ? std::string("none") : v;
        };
    };
    const auto& m = h.metadata;
    const auto& p = h.policy;
    const auto& src = rec["source"];
    const auto& pe = rec["policy_evaluated"];
    const auto& ids = rec["identifiers"];
    const auto& ar = rec["auth_results"];
    const std::string values[] = {
        csv_value(h.xml_schema),
        csv_value(m["org_name"]),
        csv_value(m["org_email"]),
        csv_value(m["org_extra_contact_info"]),
        csv_value(m["report_id"]),
        csv_value(m["begin_date"]),
        csv_value(m["end_date"]),
        join(m["errors"], "|", [](const ojson& e) { return csv_value(e); }),
        csv_value(p["domain"]),
        csv_value(p["adkim"]),
        csv_value(p["aspf"]),
        csv_value(p["p"]),
        csv_value(p["sp"]),
        csv_value(p["pct"]),
        csv_value(p["fo"]),
        csv_value(src["ip_address"]),
        csv_value(src["country"]),
        csv_value(src["reverse_dns"]),
        csv_value(src["base_domain"]),
        csv_value(src["name"]),
        csv_value(src["type"]),
        csv_value(rec["count"]),
        csv_value(rec["alignment"]["spf"]),
        csv_value(rec["alignment"]["dkim"]),
        csv_value(rec["alignment"]["dmarc"]),
        csv_value(pe["disposition"]),
        join(pe["policy_override_reasons"], ",", or_none("type")),
        join(pe["policy_override_reasons"], "|", or_none("comment")),
        csv_value(ids["envelope_from"]),
        csv_value(ids["header_from"]),
        csv_value(ids["envelope_to"]),
        join(ar["dkim"], ",", lower("domain")),
        join(ar["dkim"], ",", lower("selector")),
        join(ar["dkim"], ",", lower("result")),
        join(ar["spf"], ",", lower("domain")),
        join(ar["spf"], ",", lower("scope")),
        join(ar["spf"], ",", lower("result")),
    };
    static_assert(std::size(values) == std::size(csv_fields));
    std::string line;
    for (std::size_t i = 0; i < std::size(values); ++i) {
        if (i > 0) line.push_back(',');
        csv_field(line, values[i]);
    }
    line.append("\r\n");
    return line;
}

}  // namespace

std::optional<Format> parse_format(std::string_view text) noexcept {
    if (text == "parsedmarc-json") return Format::json;
    if (text == "parsedmarc-csv") return Format::csv;
    return std::nullopt;
}

struct Writer::State {
    std::FILE* out = nullptr;
    Format format = Format::json;
    SourceLookup lookup;
    std::uint64_t reports = 0;
    std::uint64_t records_in_report = 0;
    bool in_report = false;
    bool started = false;  // the JSON "[" or the CSV header is written
    bool finished = false;
    Header header;  // the current report's, for the CSV rows

    Result<void> put(std::string_view text) {
        if (text.empty()) return {};
        if (std::fwrite(text.data(), 1, text.size(), out) != text.size())
            return fail(Errc::io, fmt::format("cannot write the export: {}", std::strerror(errno)));
        return {};
    }

    Result<void> start() {
        if (started) return {};
        started = true;
        if (format == Format::csv) {
            std::string line;
            for (std::size_t i = 0; i < std::size(csv_fields); ++i) {
                if (i > 0) line.push_back(',');
                line.append(csv_fields[i]);
            }
            line.append("\r\n");
            return put(line);
        }
        return {};
    }
};

Writer::Writer(std::FILE* out, Format format, SourceLookup lookup)
    : state_(std::make_unique<State>()) {
    state_->out = out;
    state_->format = format;
    state_->lookup = std::move(lookup);
}

Writer::~Writer() = default;

Result<void> Writer::on_report(const report::AggregateHeader& header,
                               const store::Provenance& /*provenance*/) {
    auto& s = *state_;
    RAMPART_ASSERT(!s.in_report && !s.finished);
    if (auto r = s.start(); !r) return r;
    s.header = header_json(header);
    s.in_report = true;
    s.records_in_report = 0;
    if (s.format == Format::csv) return {};
    // The report object is written up to its "records" list; records follow as they arrive.
    std::string text = s.reports == 0 ? "[\n  {\n" : ",\n  {\n";
    text += "    \"xml_schema\": " + dump_at(s.header.xml_schema, "    ") + ",\n";
    text += "    \"report_metadata\": " + dump_at(s.header.metadata, "    ") + ",\n";
    text += "    \"policy_published\": " + dump_at(s.header.policy, "    ") + ",\n";
    text += "    \"records\": [";
    return s.put(text);
}

Result<void> Writer::on_record(const report::Record& record) {
    auto& s = *state_;
    RAMPART_ASSERT(s.in_report);
    auto rec = record_json(record, s.lookup);
    const bool first = s.records_in_report == 0;
    ++s.records_in_report;
    if (s.format == Format::csv) return s.put(csv_row(s.header, rec));
    return s.put((first ? "\n      " : ",\n      ") + dump_at(rec, "      "));
}

Result<void> Writer::on_report_end() {
    auto& s = *state_;
    RAMPART_ASSERT(s.in_report);
    s.in_report = false;
    ++s.reports;
    if (s.format == Format::csv) return {};
    return s.put(s.records_in_report == 0 ? "]\n  }" : "\n    ]\n  }");
}

Result<std::uint64_t> Writer::finish() {
    auto& s = *state_;
    RAMPART_ASSERT(!s.in_report);
    if (s.finished) return s.reports;
    s.finished = true;
    if (auto r = s.start(); !r) return std::unexpected(r.error());
    if (s.format == Format::json) {
        if (auto r = s.put(s.reports == 0 ? "[]\n" : "\n]\n"); !r)
            return std::unexpected(r.error());
    }
    if (std::fflush(s.out) != 0)
        return fail(Errc::io, fmt::format("cannot write the export: {}", std::strerror(errno)));
    return s.reports;
}

}  // namespace rampart::parsedmarc
