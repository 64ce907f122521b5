// parsedmarc: stored aggregate reports written the way parsedmarc writes them, so users can move
// their dashboards and scripts over: the JSON of `parsedmarc --output` (aggregate.json: a list of
// reports, each with xml_schema, report_metadata, policy_published and records) and its CSV
// (aggregate.csv: one row per record, parsedmarc's column names and order).
//
// Field names, value spellings and shapes follow parsedmarc's parse_aggregate_report_xml and
// parsed_aggregate_reports_to_csv_rows as of domainaware/parsedmarc commit 00267c98 (8.x: source
// objects carry "name" and "type", CSV columns source_name and source_type; the RFC 9990 fields
// np, testing, discovery_method and generator are not in that version's output, so not in ours).
// Where Rampart knows less (no GeoIP country, no reverse DNS unless cached, no reverse-DNS
// service map) the field is present and null/empty as parsedmarc writes it offline.
// Deliberate differences: dates are UTC (parsedmarc uses the host's zone); a report parsedmarc
// would refuse (no <p>, a period over two days) is still exported, with p null.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/core.hpp"
#include "store/store.hpp"

namespace rampart::parsedmarc {

enum class Format : std::uint8_t { json, csv };
[[nodiscard]] std::optional<Format> parse_format(
    std::string_view text) noexcept;  // "parsedmarc-json", "parsedmarc-csv"

/// Reverse DNS and base domain of a source, when known (from the identity cache).
struct SourceInfo {
    std::optional<std::string> reverse_dns;
    std::optional<std::string> base_domain;
};
using SourceLookup = std::function<SourceInfo(std::string_view ip)>;

/// A ReplaySink that writes each report as it arrives (the JSON list is opened on the first
/// report and closed by finish(); the CSV header is written first). Memory: one report's records.
class Writer : public store::ReplaySink {
public:
    Writer(std::FILE* out, Format format, SourceLookup lookup = {});
    ~Writer() override;
    Result<void> on_report(const report::AggregateHeader& header,
                           const store::Provenance& provenance) override;
    Result<void> on_record(const report::Record& record) override;
    Result<void> on_report_end() override;
    /// Closes the output (the JSON list). Returns the number of reports written.
    [[nodiscard]] Result<std::uint64_t> finish();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace rampart::parsedmarc
