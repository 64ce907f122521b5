// Fuzz target: report::parse_aggregate_document, the XML aggregate report parser (expat).
//
// Raw bytes always go to the parser as they are. An input starting with fuzz::token_mode is also
// parsed a second time with its bytes mapped onto aggregate-report elements and values (see
// fuzz_common.hpp), behind an XML declaration, so the fuzzer reaches record handling quickly
// even without seeds.
// Each parse is also run through report::parse_aggregate twice, reading the bytes at once and a
// few bytes at a time: a difference in header, records, diagnostics or error is a finding
// (fuzz_common.hpp, same_events, says which differences are allowed).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/core.hpp"
#include "fuzz_common.hpp"
#include "report/report.hpp"

namespace {

using namespace std::string_view_literals;
using rampart::fuzz::bytes_of;

// Grammar tokens, packed one after another.
// clang-format off
constexpr std::array tokens{
    "<feedback>"sv, "</feedback>"sv, "<version>"sv, "</version>"sv, "<report_metadata>"sv,
    "</report_metadata>"sv, "<org_name>"sv, "</org_name>"sv, "<email>"sv, "</email>"sv,
    "<report_id>"sv, "</report_id>"sv, "<date_range>"sv, "</date_range>"sv, "<begin>"sv,
    "</begin>"sv, "<end>"sv, "</end>"sv, "<error>"sv, "</error>"sv, "<policy_published>"sv,
    "</policy_published>"sv, "<domain>"sv, "</domain>"sv, "<adkim>"sv, "</adkim>"sv, "<aspf>"sv,
    "</aspf>"sv, "<p>"sv, "</p>"sv, "<sp>"sv, "</sp>"sv, "<np>"sv, "</np>"sv, "<pct>"sv, "</pct>"sv,
    "<fo>"sv, "</fo>"sv, "<testing>"sv, "</testing>"sv, "<discovery_method>"sv,
    "</discovery_method>"sv, "<record>"sv, "</record>"sv, "<row>"sv, "</row>"sv, "<source_ip>"sv,
    "</source_ip>"sv, "<count>"sv, "</count>"sv, "<policy_evaluated>"sv, "</policy_evaluated>"sv,
    "<disposition>"sv, "</disposition>"sv, "<dkim>"sv, "</dkim>"sv, "<spf>"sv, "</spf>"sv,
    "<reason>"sv, "</reason>"sv, "<type>"sv, "</type>"sv, "<comment>"sv, "</comment>"sv,
    "<identifiers>"sv, "</identifiers>"sv, "<header_from>"sv, "</header_from>"sv,
    "<envelope_from>"sv, "</envelope_from>"sv, "<envelope_to>"sv, "</envelope_to>"sv,
    "<auth_results>"sv, "</auth_results>"sv, "<selector>"sv, "</selector>"sv, "<result>"sv,
    "</result>"sv, "<human_result>"sv, "</human_result>"sv, "<scope>"sv, "</scope>"sv,
    "<generator>"sv, "</generator>"sv, "<extension>"sv, "</extension>"sv,
    " xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\""sv, " xmlns=\"http://dmarc.org/dmarc-xml/0.1\""sv,
    "pass"sv, "fail"sv, "none"sv, "quarantine"sv, "reject"sv, "softfail"sv, "temperror"sv,
    "permerror"sv, "r"sv, "s"sv, "mfrom"sv, "helo"sv, "forwarded"sv, "sampled_out"sv,
    "local_policy"sv, "1.0"sv, "192.0.2.1"sv, "2001:db8::1"sv, "::ffff:198.51.100.7"sv,
    "1793491200"sv, "1337270400.0"sv, "example.com"sv, "&amp;"sv, "&#x1F600;"sv, "<![CDATA["sv,
    "]]>"sv, "<!-- -->"sv, "<?pi?>"sv, "<x:"sv, "</x:"sv,
};
// clang-format on

/// What one parse produced, to compare two parses of the same bytes.
class Transcript final : public rampart::report::AggregateSink {
public:
    rampart::Result<void> on_header(const rampart::report::AggregateHeader& h) override {
        events.push_back(
            {fmt::format("header {}|{}|{}|{}|{}|{}", h.metadata.org_name, h.metadata.report_id,
                         h.policy.domain, h.version, h.metadata.begin.time_since_epoch().count(),
                         h.metadata.end.time_since_epoch().count())});
        return {};
    }
    rampart::Result<void> on_record(const rampart::report::Record& r) override {
        events.push_back({fmt::format("record {}|{}|{}|{}", r.source_ip.to_string(), r.count,
                                      r.header_from, r.envelope_from.value_or("-"))});
        return {};
    }
    void finish(const rampart::Result<rampart::report::AggregateTotals>& totals) {
        if (!totals) {
            // The sink must discard what it saw before a failure, and how much that was
            // depends on the read sizes (a source fails on the read that reaches the fault).
            events.clear();
            // Not line, column and offset: inside a long text expat reports where the current
            // piece of text began, and the pieces follow the reads.
            const auto& e = totals.error();
            events.push_back({"error", e.code,
                              fmt::format("{}: {}: {}", e.where.source, e.where.path, e.reason)});
            return;
        }
        events.push_back(
            {fmt::format("ok {} records, {} messages", totals->records, totals->messages)});
        for (const auto& d : totals->diagnostics)
            events.push_back({fmt::format("diagnostic {}: {}", d.path, d.message)});
    }
    std::vector<rampart::fuzz::Event> events;
};

void parse(std::span<const std::byte> xml, std::size_t seed) {
    const rampart::Location where{.source = "fuzz.xml"};
    const auto limits = rampart::fuzz::fuzz_limits();
    auto report = rampart::report::parse_aggregate_document(xml, where, limits);
    if (!report) {
        rampart::fuzz::check_error(report.error());
    } else {
        // Render what came out, as the CLI would: the values must be usable, not just present.
        for (const auto& record : report->records) {
            auto ip = record.source_ip.to_string();
            if (ip.empty()) __builtin_trap();
            (void)rampart::printable(record.header_from);
        }
        (void)rampart::format_timestamp(report->header.metadata.begin);
    }

    // The streaming parser must not care where the reads split the input.
    Transcript whole, trickled;
    rampart::MemorySource at_once(xml);
    whole.finish(rampart::report::parse_aggregate(at_once, where, limits, whole));
    rampart::fuzz::TrickleSource in_pieces(xml, seed);
    trickled.finish(rampart::report::parse_aggregate(in_pieces, where, limits, trickled));
    if (!rampart::fuzz::same_events(whole.events, trickled.events))
        rampart::fuzz::report_difference("parse_aggregate", whole.events, trickled.events);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse(bytes_of(data, size), size);
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        auto text = rampart::fuzz::map_tokens("<?xml version=\"1.0\"?>\n",
                                              std::span(data + 1, size - 1), tokens);
        parse(rampart::as_bytes(text), size);
    }
    return 0;
}
