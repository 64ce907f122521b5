// The aggregate-report corpus (../shared/corpus/aggregate/): reports written by real receivers and
// by other DMARC projects, run through the same path as `rampart ingest`: unpack, then parse.
//
// What is checked (STANDARDS.md §3; corpus README "aggregate/"):
// - every input file is either accepted (exactly one report, no refusal) or refused for the reason
//   listed in `expected_refusals` below; a file that moves from one side to the other fails;
// - stalwartlabs/mail-auth's expected parses (NNN.json) agree with ours field by field wherever
//   both models have the field;
// - the same report in different containers (xml, gz, gz in gz, zip, zip with an empty entry
//   name) parses identically;
// - values of a few real reports that carry a known quirk.
// Skipped, with the reason, when the corpus is absent.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "report/report.hpp"
#include "support.hpp"
#include "unpack/unpack.hpp"

namespace rampart::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Timestamp epoch(std::int64_t seconds) { return Timestamp{std::chrono::seconds{seconds}}; }

// ---- unpack + parse, as the ingest service does ------------------------------------------------

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

struct Outcome {
    std::vector<AggregateReport> reports;
    std::vector<Error> refusals;  // from the unpacker or the parser
    int failure_reports = 0;
};

class Collector final : public unpack::Visitor {
public:
    explicit Collector(Outcome& out) : out_(out) {}
    void on_aggregate(ByteSource& xml, const Location& where) override {
        AggregateReport report;
        CollectingSink sink(report);
        auto totals = parse_aggregate(xml, where, limits_, sink);
        if (!totals) {
            out_.refusals.push_back(totals.error());
            return;
        }
        report.diagnostics = std::move(totals->diagnostics);
        out_.reports.push_back(std::move(report));
    }
    void on_failure_report(std::span<const std::byte>, const Location&) override {
        ++out_.failure_reports;
    }
    void on_rejected(const Error& error) override { out_.refusals.push_back(error); }

private:
    Outcome& out_;
    IngestLimits limits_;
};

Outcome ingest(const fs::path& file, const std::string& name) {
    Outcome out;
    Collector collector(out);
    auto bytes = test::read_file(file);
    Location where;
    where.source = name;
    unpack::unpack(test::bytes_of(bytes), where, IngestLimits{}, collector);
    return out;
}

/// The one report a file must hold; fails the test (and returns nullptr) otherwise.
const AggregateReport* only_report(const Outcome& o, const std::string& name) {
    std::string refusals;
    for (const auto& e : o.refusals) refusals += e.describe() + "\n";
    EXPECT_EQ(o.reports.size(), 1u) << name << "\n" << refusals;
    EXPECT_TRUE(o.refusals.empty()) << name << "\n" << refusals;
    return o.reports.size() == 1 ? &o.reports[0] : nullptr;
}

const AggregateReport* parse_corpus_file(const fs::path& corpus, const std::string& rel,
                                         Outcome& keep) {
    keep = ingest(corpus / "aggregate" / rel, rel);
    return only_report(keep, rel);
}

/// Every field of our model, for comparing two parses and for readable failure output.
json dump(const AggregateReport& r) {
    const auto& h = r.header;
    auto opt = [](const auto& o) -> json {
        if (!o) return nullptr;
        if constexpr (std::is_same_v<std::decay_t<decltype(*o)>, bool> ||
                      std::is_integral_v<std::decay_t<decltype(*o)>> ||
                      std::is_same_v<std::decay_t<decltype(*o)>, std::string>)
            return *o;
        else
            return std::string(to_string(*o));
    };
    json j;
    j["schema"] = to_string(h.schema);
    j["version"] = h.version;
    j["metadata"] = {{"org_name", h.metadata.org_name},
                     {"email", h.metadata.email},
                     {"extra_contact_info", h.metadata.extra_contact_info},
                     {"report_id", h.metadata.report_id},
                     {"begin", h.metadata.begin.time_since_epoch().count()},
                     {"end", h.metadata.end.time_since_epoch().count()},
                     {"errors", h.metadata.errors},
                     {"generator", h.metadata.generator}};
    j["policy"] = {{"domain", h.policy.domain},
                   {"adkim", opt(h.policy.adkim)},
                   {"aspf", opt(h.policy.aspf)},
                   {"p", opt(h.policy.p)},
                   {"sp", opt(h.policy.sp)},
                   {"np", opt(h.policy.np)},
                   {"pct", opt(h.policy.pct)},
                   {"fo", h.policy.fo},
                   {"testing", opt(h.policy.testing)},
                   {"discovery_method", opt(h.policy.discovery_method)}};
    j["records"] = json::array();
    for (const auto& rec : r.records) {
        json x = {{"source_ip", rec.source_ip.to_string()},
                  {"count", rec.count},
                  {"disposition", to_string(rec.disposition)},
                  {"dkim", to_string(rec.dkim)},
                  {"spf", to_string(rec.spf)},
                  {"header_from", rec.header_from},
                  {"envelope_from", opt(rec.envelope_from)},
                  {"envelope_to", opt(rec.envelope_to)}};
        x["reasons"] = json::array();
        for (const auto& reason : rec.reasons)
            x["reasons"].push_back({to_string(reason.type), reason.comment});
        x["dkim_results"] = json::array();
        for (const auto& d : rec.dkim_results)
            x["dkim_results"].push_back({d.domain, d.selector, to_string(d.result),
                                         d.human_result});
        x["spf_results"] = json::array();
        for (const auto& s : rec.spf_results)
            x["spf_results"].push_back({s.domain, to_string(s.scope), to_string(s.result),
                                        s.human_result});
        j["records"].push_back(std::move(x));
    }
    j["diagnostics"] = json::array();
    for (const auto& d : r.diagnostics) j["diagnostics"].push_back({d.path, d.message});
    return j;
}

bool has_diagnostic(const AggregateReport& r, std::string_view path_part, std::string_view text) {
    return std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&](const Diagnostic& d) {
        return d.path.find(path_part) != std::string::npos &&
               d.message.find(text) != std::string::npos;
    });
}

// ---- (a) every file: accepted or refused as listed ---------------------------------------------

struct Refusal {
    std::string_view file;    // relative to corpus/aggregate/
    Errc code;
    std::string_view reason;  // a part of Error::reason
    std::string_view why;     // why refusing is right
};

// Every corpus file we refuse, and why. Everything else must give exactly one report.
constexpr Refusal expected_refusals[] = {
    {"opendmarc/bad.com!example.com!1337140800!1337227200.xml", Errc::malformed,
     "\"108r.166.27.220\" is not an IP address",
     "OpenDMARC's deliberately broken sample: an invalid source_ip in record 2, and further on "
     "an unescaped '<' inside <header_from> (not well-formed)"},
    {"parsedmarc/aggregate/ikea.com!example.de!1538690400!1538776800.xml", Errc::malformed,
     "the root element is <xs:schema>, not <feedback>",
     "a stray unclosed <xs:schema> wraps <feedback>: not well-formed, and not a report root "
     "(parsedmarc issue #18)"},
    {"parsedmarc/aggregate/invalid_xml.xml", Errc::malformed,
     "not well-formed XML: not well-formed (invalid token)",
     "unescaped '<' in <email> and <header_from>: not XML"},
    {"parsedmarc/empty.xml", Errc::malformed, "the input is empty", "zero bytes"},
    {"schema/dmarc-aggregate-report-0.1.xsd", Errc::malformed,
     "the root element is <xs:schema>, not <feedback>",
     "the RFC 7489 schema, not a report"},
    {"schema/dmarc-xml-0.2.xsd", Errc::malformed,
     "the root element is <xs:schema>, not <feedback>",
     "the RFC 9990 schema, not a report"},
};

TEST(AggregateCorpus, EveryFileIsAcceptedOrRefusedAsListed) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const fs::path root = corpus / "aggregate";
    ASSERT_TRUE(fs::is_directory(root)) << root;
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        // The JSON files are mail-auth's expected parses, not inputs.
        if (entry.path().extension() == ".json") continue;
        files.push_back(fs::relative(entry.path(), root).generic_string());
    }
    std::sort(files.begin(), files.end());
    // The corpus README lists 74 aggregate files; 10 of them are mail-auth's JSON.
    EXPECT_EQ(files.size(), 64u);

    std::map<std::string_view, const Refusal*> refusals;
    for (const auto& r : expected_refusals) refusals[r.file] = &r;

    int accepted = 0, refused = 0;
    std::uint64_t records = 0, messages = 0, diagnostics = 0;
    std::set<std::string_view> seen_refusals;
    for (const auto& rel : files) {
        SCOPED_TRACE(rel);
        auto out = ingest(root / rel, rel);
        EXPECT_EQ(out.failure_reports, 0);
        auto it = refusals.find(rel);
        if (it == refusals.end()) {
            const auto* report = only_report(out, rel);
            if (report == nullptr) continue;
            ++accepted;
            records += report->records.size();
            for (const auto& rec : report->records) messages += rec.count;
            diagnostics += report->diagnostics.size();
            std::cout << "[ accepted ] " << rel << ": " << report->records.size() << " records, "
                      << report->diagnostics.size() << " diagnostics\n";
            for (const auto& d : report->diagnostics)
                std::cout << "               " << d.path << ": " << d.message << "\n";
            continue;
        }
        seen_refusals.insert(it->first);
        const auto& want = *it->second;
        EXPECT_TRUE(out.reports.empty()) << "expected a refusal: " << want.why;
        ASSERT_EQ(out.refusals.size(), 1u);
        const auto& error = out.refusals[0];
        EXPECT_EQ(error.code, want.code) << error.describe();
        EXPECT_NE(error.reason.find(want.reason), std::string::npos) << error.describe();
        // Refusals say where: the file, and for XML problems line and column.
        EXPECT_EQ(error.where.source, rel);
        if (want.reason != "the input is empty") {
            EXPECT_GT(error.where.line, 0u);
        }
        ++refused;
        std::cout << "[ refused  ] " << rel << ": " << error.describe() << "\n";
    }
    for (const auto& r : expected_refusals)
        EXPECT_TRUE(seen_refusals.contains(r.file)) << "listed but not in the corpus: " << r.file;
    std::cout << "aggregate corpus: " << files.size() << " files, " << accepted << " accepted ("
              << records << " records, " << messages << " messages, " << diagnostics
              << " diagnostics), " << refused << " refused\n";
    EXPECT_EQ(accepted + refused, static_cast<int>(files.size()));
    EXPECT_EQ(refused, static_cast<int>(std::size(expected_refusals)));
}

// ---- (b) mail-auth's expected parses -----------------------------------------------------------

// mail-auth's enum spellings for our values.
std::string ma(std::optional<Alignment> v) {
    if (!v) return "Unspecified";
    return *v == Alignment::relaxed ? "Relaxed" : "Strict";
}
std::string ma(std::optional<Policy> v) {
    if (!v) return "Unspecified";
    switch (*v) {
        case Policy::none: return "None";
        case Policy::quarantine: return "Quarantine";
        case Policy::reject: return "Reject";
    }
    return "?";
}
std::string ma(std::optional<DiscoveryMethod> v) {
    if (!v) return "Unspecified";
    return *v == DiscoveryMethod::psl ? "Psl" : "Treewalk";
}
std::string ma(Disposition v) {
    switch (v) {
        case Disposition::none: return "None";
        case Disposition::pass: return "Pass";
        case Disposition::quarantine: return "Quarantine";
        case Disposition::reject: return "Reject";
        case Disposition::unknown: return "Unspecified";
    }
    return "?";
}
std::string ma(DmarcVerdict v) {
    switch (v) {
        case DmarcVerdict::pass: return "Pass";
        case DmarcVerdict::fail: return "Fail";
        case DmarcVerdict::unknown: return "Unspecified";
    }
    return "?";
}
std::string ma(AuthVerdict v) {
    switch (v) {
        case AuthVerdict::none: return "None";
        case AuthVerdict::pass: return "Pass";
        case AuthVerdict::fail: return "Fail";
        case AuthVerdict::softfail: return "SoftFail";
        case AuthVerdict::neutral: return "Neutral";
        case AuthVerdict::policy: return "Policy";
        case AuthVerdict::temperror: return "TempError";
        case AuthVerdict::permerror: return "PermError";
        case AuthVerdict::unknown: return "Unspecified";
    }
    return "?";
}
std::string ma(SpfScope v) {
    switch (v) {
        case SpfScope::unspecified: return "Unspecified";
        case SpfScope::mfrom: return "MailFrom";
        case SpfScope::helo: return "Helo";
    }
    return "?";
}
std::string ma(OverrideType v) {
    switch (v) {
        case OverrideType::forwarded: return "Forwarded";
        case OverrideType::sampled_out: return "SampledOut";
        case OverrideType::trusted_forwarder: return "TrustedForwarder";
        case OverrideType::mailing_list: return "MailingList";
        case OverrideType::local_policy: return "LocalPolicy";
        case OverrideType::other: return "Other";
        case OverrideType::policy_test_mode: return "PolicyTestMode";
        case OverrideType::unknown: return "Unspecified";
    }
    return "?";
}

/// Their optional strings are null when absent; ours are empty.
std::string text_or_empty(const json& v) {
    return v.is_null() ? std::string() : v.get<std::string>();
}

void compare_with_mail_auth(const AggregateReport& ours, const json& theirs) {
    const auto& h = ours.header;
    // <version>: their f32, 0.0 when absent.
    EXPECT_DOUBLE_EQ(h.version.empty() ? 0.0 : std::stod(h.version),
                     theirs.at("version").get<double>());

    const auto& m = theirs.at("report_metadata");
    EXPECT_EQ(h.metadata.org_name, m.at("org_name").get<std::string>());
    EXPECT_EQ(h.metadata.email, m.at("email").get<std::string>());
    EXPECT_EQ(h.metadata.extra_contact_info, text_or_empty(m.at("extra_contact_info")));
    EXPECT_EQ(h.metadata.report_id, m.at("report_id").get<std::string>());
    EXPECT_EQ(h.metadata.begin, epoch(m.at("date_range").at("begin").get<std::int64_t>()));
    EXPECT_EQ(h.metadata.end, epoch(m.at("date_range").at("end").get<std::int64_t>()));
    EXPECT_EQ(h.metadata.errors, m.at("error").get<std::vector<std::string>>());
    // Older expectations predate RFC 9990's generator: compare where they have it.
    if (m.contains("generator")) {
        EXPECT_EQ(h.metadata.generator, text_or_empty(m["generator"]));
    }

    const auto& p = theirs.at("policy_published");
    // We store domains lower-cased (they compare case-insensitively); they keep the spelling.
    EXPECT_EQ(h.policy.domain, ascii_lower(p.at("domain").get<std::string>()));
    EXPECT_EQ(ma(h.policy.adkim), p.at("adkim").get<std::string>());
    EXPECT_EQ(ma(h.policy.aspf), p.at("aspf").get<std::string>());
    EXPECT_EQ(ma(h.policy.p), p.at("p").get<std::string>());
    EXPECT_EQ(ma(h.policy.sp), p.at("sp").get<std::string>());
    if (p.contains("np")) {
        EXPECT_EQ(ma(h.policy.np), p["np"].get<std::string>());
    }
    if (p.contains("discovery_method")) {
        EXPECT_EQ(ma(h.policy.discovery_method), p["discovery_method"].get<std::string>());
    }
    // Their testing is a bool that is false when absent; ours keeps "absent".
    EXPECT_EQ(h.policy.testing.value_or(false), p.at("testing").get<bool>());
    EXPECT_EQ(h.policy.fo, text_or_empty(p.at("fo")));
    // version_published (a pre-RFC draft element) has no field in our model: none of the
    // corpus reports carries it, and this says so if one ever does.
    EXPECT_TRUE(p.at("version_published").is_null());

    const auto& recs = theirs.at("record");
    ASSERT_EQ(ours.records.size(), recs.size());
    for (std::size_t i = 0; i < recs.size(); ++i) {
        SCOPED_TRACE("record " + std::to_string(i + 1));
        const auto& o = ours.records[i];
        const auto& t = recs[i];
        const auto& row = t.at("row");
        EXPECT_EQ(o.source_ip.to_string(), row.at("source_ip").get<std::string>());
        EXPECT_EQ(o.count, row.at("count").get<std::uint64_t>());
        const auto& pe = row.at("policy_evaluated");
        EXPECT_EQ(ma(o.disposition), pe.at("disposition").get<std::string>());
        EXPECT_EQ(ma(o.dkim), pe.at("dkim").get<std::string>());
        EXPECT_EQ(ma(o.spf), pe.at("spf").get<std::string>());
        const auto& reasons = pe.at("reason");
        ASSERT_EQ(o.reasons.size(), reasons.size());
        for (std::size_t k = 0; k < reasons.size(); ++k) {
            auto want = reasons[k].at("type_").get<std::string>();
            // mail-auth's expectation for 005.xml gives RFC 7489's sampled_out as Other (RFC 9990
            // dropped sampled_out); our model keeps the RFC 7489 value.
            if (o.reasons[k].type == OverrideType::sampled_out && want == "Other")
                want = "SampledOut";
            EXPECT_EQ(ma(o.reasons[k].type), want);
            EXPECT_EQ(o.reasons[k].comment, text_or_empty(reasons[k].at("comment")));
        }
        const auto& id = t.at("identifiers");
        EXPECT_EQ(o.header_from, ascii_lower(id.at("header_from").get<std::string>()));
        // Their envelope_from is "" when absent; ours tells absent from empty.
        EXPECT_EQ(o.envelope_from.value_or(""),
                  ascii_lower(id.at("envelope_from").get<std::string>()));
        if (id.at("envelope_to").is_null()) {
            EXPECT_EQ(o.envelope_to, std::nullopt);
        } else {
            EXPECT_EQ(o.envelope_to, ascii_lower(id["envelope_to"].get<std::string>()));
        }

        const auto& auth = t.at("auth_results");
        const auto& dkim = auth.at("dkim");
        ASSERT_EQ(o.dkim_results.size(), dkim.size());
        for (std::size_t k = 0; k < dkim.size(); ++k) {
            SCOPED_TRACE("dkim " + std::to_string(k + 1));
            EXPECT_EQ(o.dkim_results[k].domain,
                      ascii_lower(dkim[k].at("domain").get<std::string>()));
            EXPECT_EQ(o.dkim_results[k].selector, dkim[k].at("selector").get<std::string>());
            EXPECT_EQ(ma(o.dkim_results[k].result), dkim[k].at("result").get<std::string>());
            EXPECT_EQ(o.dkim_results[k].human_result, text_or_empty(dkim[k].at("human_result")));
        }
        const auto& spf = auth.at("spf");
        ASSERT_EQ(o.spf_results.size(), spf.size());
        for (std::size_t k = 0; k < spf.size(); ++k) {
            SCOPED_TRACE("spf " + std::to_string(k + 1));
            EXPECT_EQ(o.spf_results[k].domain,
                      ascii_lower(spf[k].at("domain").get<std::string>()));
            EXPECT_EQ(ma(o.spf_results[k].scope), spf[k].at("scope").get<std::string>());
            EXPECT_EQ(ma(o.spf_results[k].result), spf[k].at("result").get<std::string>());
            EXPECT_EQ(o.spf_results[k].human_result, text_or_empty(spf[k].at("human_result")));
        }
    }
}

TEST(AggregateCorpus, MailAuthExpectedParsesMatchFieldByField) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const fs::path dir = corpus / "aggregate" / "mail-auth";
    int compared = 0;
    for (const char* n : {"001", "002", "003", "004", "005", "100", "101", "102", "103", "104"}) {
        SCOPED_TRACE(n);
        fs::path input = dir / (std::string(n) + ".xml");
        if (!fs::exists(input)) input = dir / (std::string(n) + ".eml");
        ASSERT_TRUE(fs::exists(input)) << input;
        auto expected = json::parse(test::read_file(dir / (std::string(n) + ".json")));
        auto out = ingest(input, input.filename().string());
        const auto* report = only_report(out, input.filename().string());
        ASSERT_NE(report, nullptr);
        compare_with_mail_auth(*report, expected);
        ++compared;
    }
    EXPECT_EQ(compared, 10);
}

// ---- (c) one report, several containers --------------------------------------------------------

void expect_same_parse(const fs::path& corpus, const std::vector<std::string>& rels) {
    Outcome first_out;
    const auto* first = parse_corpus_file(corpus, rels.front(), first_out);
    ASSERT_NE(first, nullptr);
    ASSERT_FALSE(first->records.empty());
    const auto want = dump(*first);
    for (std::size_t i = 1; i < rels.size(); ++i) {
        SCOPED_TRACE(rels[i]);
        Outcome out;
        const auto* other = parse_corpus_file(corpus, rels[i], out);
        ASSERT_NE(other, nullptr);
        EXPECT_EQ(dump(*other), want) << json::diff(want, dump(*other)).dump(2);
    }
}

TEST(AggregateCorpus, SameReportInEveryContainerParsesIdentically) {
    RAMPART_REQUIRE_CORPUS(corpus);
    // Decision: gzip inside gzip is unwrapped (dmarc-report-converter's test.xml.gz.gz), since
    // content, not the file name, says what a container is.
    expect_same_parse(corpus, {"dmarc-report-converter/test.xml",
                               "dmarc-report-converter/test.xml.gz",
                               "dmarc-report-converter/test.xml.gz.gz",
                               "dmarc-report-converter/test.xml.zip"});
    // The zip's single entry has an empty file name.
    expect_same_parse(corpus, {"mail-dmarc/test_dmarc.xml", "mail-dmarc/test_dmarc.xml.gz",
                               "mail-dmarc/test_dmarc.xml.zip"});
    expect_same_parse(corpus, {"parsedmarc/extract_report/nice-input.xml",
                               "parsedmarc/extract_report/nice-input.xml.gz",
                               "parsedmarc/extract_report/nice-input.xml.zip"});
    // The RFC 9990 sample is stored twice, byte for byte.
    expect_same_parse(corpus,
                      {"schema/dmarc-xml-0.2.xml", "parsedmarc/aggregate/rfc9990-sample.xml"});
}

TEST(AggregateCorpus, ChangedInputDiffersOnlyInOrgName) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome a_out, b_out;
    const auto* a = parse_corpus_file(corpus, "parsedmarc/extract_report/nice-input.xml", a_out);
    const auto* b = parse_corpus_file(corpus, "parsedmarc/extract_report/changed-input.xml", b_out);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->header.metadata.org_name, "google.com");
    EXPECT_EQ(b->header.metadata.org_name, "fred.com");
    auto da = dump(*a), db = dump(*b);
    EXPECT_NE(da, db);
    db["metadata"]["org_name"] = da["metadata"]["org_name"];
    EXPECT_EQ(da, db) << json::diff(da, db).dump(2);
}

// ---- (d) values of real reports ----------------------------------------------------------------

TEST(AggregateCorpus, GoogleSendsNoEnvelopeFromAndBothPctAndNp) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* r = parse_corpus_file(corpus, "dmarc-report-viewer/google.xml", keep);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->header.schema, Schema::none);
    EXPECT_EQ(r->header.version, "");
    EXPECT_EQ(r->header.metadata.org_name, "google.com");
    EXPECT_EQ(r->header.metadata.report_id, "3166094538684628578");
    EXPECT_EQ(r->header.metadata.begin, epoch(1709683200));
    EXPECT_EQ(r->header.metadata.end, epoch(1709769599));
    EXPECT_EQ(r->header.policy.domain, "foo-bar.io");
    EXPECT_EQ(r->header.policy.pct, 100u);
    EXPECT_EQ(r->header.policy.np, Policy::reject);
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].envelope_from, std::nullopt);
    EXPECT_EQ(r->records[0].header_from, "foo-bar.io");
    EXPECT_EQ(r->records[0].dkim_results.at(0).selector, "krs");
    EXPECT_EQ(r->records[0].spf_results.at(0).scope, SpfScope::unspecified);
    EXPECT_TRUE(r->diagnostics.empty()) << dump(*r)["diagnostics"].dump();
}

TEST(AggregateCorpus, MicrosoftSendsEnvelopeTo) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* r = parse_corpus_file(
        corpus, "parsedmarc/aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml",
        keep);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->header.version, "1.0");
    EXPECT_EQ(r->header.schema, Schema::none);  // only xmlns:xsd and xmlns:xsi
    ASSERT_EQ(r->records.size(), 1u);
    EXPECT_EQ(r->records[0].envelope_to, "hotmail.com");
    EXPECT_EQ(r->records[0].envelope_from, "example.com");

    Outcome keep2;
    const auto* o = parse_corpus_file(corpus, "dmarc-report-viewer/outlook.xml", keep2);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->header.metadata.org_name, "Outlook.com");
    EXPECT_EQ(o->header.policy.fo, "0");
    ASSERT_EQ(o->records.size(), 2u);
    EXPECT_EQ(o->records[0].envelope_to, "live.de");
    EXPECT_EQ(o->records[1].count, 2u);
}

struct Netease {
    const char* file;
    const char* org;
    std::size_t records;
    std::uint64_t messages;
    const char* first_ip;
    const char* last_ip;
};

TEST(AggregateCorpus, NeteaseFloatTimestampsAndHundredsOfRecords) {
    RAMPART_REQUIRE_CORPUS(corpus);
    // Counts and sums taken independently from the raw XML with a regular expression.
    const Netease cases[] = {
        {"opendmarc/163.com!example.com!1337270400!1337356799.20120518163.xml", "163.com", 50, 92,
         "66.220.144.159", "69.171.232.154"},
        {"opendmarc/good.com!example.com!1337270400!1337356799.xml", "126.com", 754, 183934,
         "116.233.121.204", "202.65.196.163"},
        {"opendmarc/yeah.net!example.com!1337270400!1337356799.20120518.xml", "yeah.net", 254,
         21679, "209.85.214.181", "65.55.111.77"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.file);
        Outcome keep;
        const auto* r = parse_corpus_file(corpus, c.file, keep);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->header.metadata.org_name, c.org);
        EXPECT_EQ(r->header.metadata.begin, epoch(1337270400));
        EXPECT_EQ(r->header.metadata.end, epoch(1337356799));
        ASSERT_EQ(r->records.size(), c.records);
        std::uint64_t messages = 0;
        for (const auto& rec : r->records) messages += rec.count;
        EXPECT_EQ(messages, c.messages);
        EXPECT_EQ(r->records.front().source_ip.to_string(), c.first_ip);
        EXPECT_EQ(r->records.back().source_ip.to_string(), c.last_ip);
    }
    Outcome keep;
    const auto* r = parse_corpus_file(
        corpus, "opendmarc/163.com!example.com!1337270400!1337356799.20120518163.xml", keep);
    ASSERT_NE(r, nullptr);
    const auto& first = r->records.front();
    EXPECT_EQ(first.disposition, Disposition::reject);
    EXPECT_EQ(first.dkim_results.at(0).result, AuthVerdict::temperror);
    EXPECT_EQ(first.dkim_results.at(0).human_result,
              "signature error: temporary dns failure requesting selector");
}

TEST(AggregateCorpus, LargeReportStreamsEveryRecord) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* r = parse_corpus_file(
        corpus, "parsedmarc/aggregate/!large-example.com!1711897200!1711983600.xml", keep);
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->records.size(), 2286u);
    EXPECT_EQ(r->records.front().source_ip.to_string(), "12.20.121.1");
    EXPECT_EQ(r->records.back().source_ip.to_string(), "12.20.129.254");
    std::uint64_t messages = 0;
    for (const auto& rec : r->records) messages += rec.count;
    EXPECT_EQ(messages, 2286u);
}

TEST(AggregateCorpus, GmxAndWebDeUseTheRfc9990NamespaceWithPsl) {
    RAMPART_REQUIRE_CORPUS(corpus);
    for (const char* file : {"dmarc-report-viewer/gmxnet.xml", "dmarc-report-viewer/webde.xml"}) {
        SCOPED_TRACE(file);
        Outcome keep;
        const auto* r = parse_corpus_file(corpus, file, keep);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->header.schema, Schema::dmarc_2_0);
        EXPECT_EQ(r->header.version, "1.0");
        EXPECT_EQ(r->header.policy.discovery_method, DiscoveryMethod::psl);
        EXPECT_EQ(r->header.policy.testing, false);
        EXPECT_EQ(r->header.policy.pct, std::nullopt);
        ASSERT_EQ(r->records.size(), 1u);
        EXPECT_TRUE(r->diagnostics.empty()) << dump(*r)["diagnostics"].dump();
    }
    Outcome keep;
    const auto* web = parse_corpus_file(corpus, "dmarc-report-viewer/webde.xml", keep);
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->header.metadata.org_name, "WEB.DE");
    EXPECT_EQ(web->header.metadata.begin, epoch(1722816000));
    EXPECT_EQ(web->records[0].source_ip.to_string(), "111.69.13.71");
}

TEST(AggregateCorpus, AolNs1NamespaceDeclarations) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* r = parse_corpus_file(corpus, "dmarc-report-viewer/aol.xml", keep);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->header.metadata.org_name, "AOL");
    EXPECT_EQ(r->header.metadata.report_id, "website.com_1504828800");
    EXPECT_EQ(r->header.policy.domain, "website.com");
    EXPECT_EQ(r->records.size(), 1u);
}

TEST(AggregateCorpus, HardfailAndInvalidCasing) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* hard = parse_corpus_file(corpus, "dmarc-report-viewer/hardfail.xml", keep);
    ASSERT_NE(hard, nullptr);
    ASSERT_EQ(hard->records.size(), 1u);
    EXPECT_EQ(hard->records[0].spf_results.at(0).result, AuthVerdict::fail);
    EXPECT_EQ(hard->records[0].dkim_results.at(0).domain, "");
    EXPECT_EQ(hard->records[0].dkim_results.at(0).selector, "");
    EXPECT_TRUE(has_diagnostic(*hard, "feedback/record[1]/auth_results/spf/result",
                               "\"hardfail\" read as \"fail\""));

    Outcome keep2;
    const auto* casing = parse_corpus_file(corpus, "dmarc-report-viewer/invalid_casing.xml", keep2);
    ASSERT_NE(casing, nullptr);
    const auto& spf = casing->records.at(0).spf_results;
    ASSERT_EQ(spf.size(), 8u);
    const AuthVerdict want[] = {AuthVerdict::none,     AuthVerdict::neutral,  AuthVerdict::pass,
                                AuthVerdict::fail,     AuthVerdict::fail,     AuthVerdict::softfail,
                                AuthVerdict::temperror, AuthVerdict::permerror};
    for (std::size_t i = 0; i < spf.size(); ++i) {
        EXPECT_EQ(spf[i].result, want[i]) << i;
        EXPECT_EQ(spf[i].domain, "mydomain.org");
    }
    EXPECT_TRUE(has_diagnostic(*casing, "auth_results/spf/result", "\"None\" read as \"none\""));
    EXPECT_TRUE(has_diagnostic(*casing, "auth_results/spf/result",
                               "\"PermError\" read as \"permerror\""));
}

TEST(AggregateCorpus, ParsedmarcQuirks) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    // Declared UTF-8 with a stray 0x91: kept, with the byte replaced and the repair noted.
    const auto* utf8 = parse_corpus_file(corpus, "parsedmarc/aggregate/invalid_utf_8.xml", keep);
    ASSERT_NE(utf8, nullptr);
    EXPECT_EQ(utf8->records.at(0).header_from, "bad_byte\xEF\xBF\xBD");
    EXPECT_TRUE(has_diagnostic(*utf8, "identifiers/header_from", "invalid byte sequence"));

    Outcome keep2;
    const auto* upper = parse_corpus_file(
        corpus, "parsedmarc/aggregate_invalid/report_with_upper_cased_pass.xml", keep2);
    ASSERT_NE(upper, nullptr);
    EXPECT_EQ(upper->records.at(0).dkim, DmarcVerdict::pass);
    EXPECT_EQ(upper->records.at(0).spf, DmarcVerdict::pass);
    EXPECT_TRUE(has_diagnostic(*upper, "policy_evaluated/dkim", "\"Pass\" read as \"pass\""));

    Outcome keep3;
    const auto* reason = parse_corpus_file(corpus, "parsedmarc/aggregate/empty_reason.xml", keep3);
    ASSERT_NE(reason, nullptr);
    EXPECT_EQ(reason->records.at(0).reasons.at(0).type, OverrideType::unknown);

    Outcome keep4;
    const auto* mimecast =
        parse_corpus_file(corpus, "parsedmarc/aggregate/mimecast-weird-gzip.eml", keep4);
    ASSERT_NE(mimecast, nullptr);
    EXPECT_FALSE(mimecast->records.empty());

    Outcome keep5;
    const auto* bis = parse_corpus_file(
        corpus, "parsedmarc/aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml",
        keep5);
    ASSERT_NE(bis, nullptr);
    EXPECT_EQ(bis->header.version, "2.0");
    EXPECT_EQ(bis->header.schema, Schema::none);
    EXPECT_EQ(bis->header.policy.np, Policy::reject);
    EXPECT_EQ(bis->header.policy.testing, true);
    EXPECT_EQ(bis->header.policy.discovery_method, DiscoveryMethod::treewalk);
    EXPECT_EQ(bis->header.policy.adkim, Alignment::strict);
    EXPECT_EQ(bis->records.at(0).count, 5u);
}

TEST(AggregateCorpus, ConverterPlaceholderRecordIsDropped) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* r = parse_corpus_file(corpus, "dmarc-report-converter/test_empty.xml", keep);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->header.metadata.report_id, "1.id.0");
    EXPECT_EQ(r->header.policy.domain, "test.net");
    EXPECT_TRUE(r->records.empty());
    EXPECT_TRUE(has_diagnostic(*r, "feedback/record[1]",
                               "a record with an empty source_ip and count 0 was dropped"));
}

TEST(AggregateCorpus, ConverterTrailingSpaceAndNiceInputIpv6) {
    RAMPART_REQUIRE_CORPUS(corpus);
    Outcome keep;
    const auto* r = parse_corpus_file(corpus, "dmarc-report-converter/test.xml", keep);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->header.metadata.end, epoch(1524268799));  // written "1524268799 "
    EXPECT_EQ(r->header.metadata.org_name, "Test Inc.");

    Outcome keep2;
    const auto* nice =
        parse_corpus_file(corpus, "parsedmarc/extract_report/nice-input.xml", keep2);
    ASSERT_NE(nice, nullptr);
    ASSERT_EQ(nice->records.size(), 20u);
    std::uint64_t messages = 0;
    int v6 = 0;
    for (const auto& rec : nice->records) {
        messages += rec.count;
        if (rec.source_ip.family() == IpAddress::Family::v6) {
            ++v6;
            EXPECT_EQ(rec.source_ip.to_string(), "2607:f8b0:4864:20::132");
        }
    }
    EXPECT_EQ(messages, 3047u);
    EXPECT_EQ(v6, 1);
}

}  // namespace
}  // namespace rampart::report
