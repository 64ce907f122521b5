#include "cli/render.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace rampart::cli {

using nlohmann::json;

namespace {
double share(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}
std::string percent(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? "-" : fmt::format("{:.1f}%", 100.0 * share(part, whole));
}
// Report text goes through printable() before it reaches the terminal; JSON output escapes
// by itself and keeps the text as sent (invalid UTF-8 replaced, see json::dump below).
std::string show(std::string_view s) { return printable(s); }
}  // namespace

std::string grouped(std::uint64_t n) {
    auto digits = fmt::format("{}", n);
    std::string out;
    int count = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (count != 0 && count % 3 == 0) out += ',';
        out += *it;
        ++count;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

json ingest_json(const service::IngestOutcome& o) {
    json rejected = json::array();
    for (const auto& r : o.rejected) rejected.push_back({{"path", r.path}, {"reason", r.reason}});
    return {{"reports_new", o.reports_new},
            {"reports_duplicate", o.reports_duplicate},
            {"failure_reports_new", o.failure_reports_new},
            {"failure_reports_duplicate", o.failure_reports_duplicate},
            {"records", o.records},
            {"messages", o.messages},
            {"emails", o.emails},
            {"inputs", o.inputs},
            {"files_rejected", rejected}};
}

json summary_json(const std::vector<store::DomainSummary>& domains) {
    json list = json::array();
    for (const auto& d : domains) {
        json reporters = json::array();
        for (const auto& r : d.reporters)
            reporters.push_back(
                {{"org_name", r.org_name}, {"reports", r.reports}, {"messages", r.messages}});
        json sources = json::array();
        for (const auto& s : d.top_sources)
            sources.push_back({{"source_ip", s.source_ip},
                               {"messages", s.messages},
                               {"dmarc_pass", s.dmarc_pass},
                               {"dmarc_fail", s.messages - std::min(s.messages, s.dmarc_pass)}});
        json period = nullptr;
        if (d.first_begin && d.last_end)
            period = {{"begin", format_timestamp(*d.first_begin)},
                      {"end", format_timestamp(*d.last_end)}};
        list.push_back({{"domain", d.domain},
                        {"reports", d.reports},
                        {"records", d.records},
                        {"messages", d.messages},
                        {"dmarc_pass", d.dmarc_pass},
                        {"dmarc_fail", d.dmarc_fail},
                        {"dmarc_pass_share", share(d.dmarc_pass, d.messages)},
                        {"spf_aligned", d.spf_aligned},
                        {"spf_aligned_share", share(d.spf_aligned, d.messages)},
                        {"dkim_aligned", d.dkim_aligned},
                        {"dkim_aligned_share", share(d.dkim_aligned, d.messages)},
                        {"failure_reports", d.failure_reports},
                        {"period", period},
                        {"reporters", reporters},
                        {"top_sources", sources}});
    }
    return {{"domains", list}};
}

std::string ingest_line(const service::IngestOutcome& o) {
    auto s = fmt::format(
        "{} new report{} ({} records, {} messages), {} duplicate{}, {} new failure report{}",
        grouped(o.reports_new), o.reports_new == 1 ? "" : "s", grouped(o.records),
        grouped(o.messages), grouped(o.reports_duplicate), o.reports_duplicate == 1 ? "" : "s",
        grouped(o.failure_reports_new), o.failure_reports_new == 1 ? "" : "s");
    if (!o.rejected.empty())
        s += fmt::format(", {} refused", grouped(o.rejected.size()));
    return s;
}

std::string summary_table(const std::vector<store::DomainSummary>& domains) {
    if (domains.empty()) return "No reports stored for this selection.\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"DOMAIN", "REPORTS", "MESSAGES", "DMARC PASS", "DMARC FAIL", "SPF ALIGNED",
                    "DKIM ALIGNED", "FAILURE RPTS"});
    for (const auto& d : domains)
        rows.push_back({show(d.domain), grouped(d.reports), grouped(d.messages),
                        fmt::format("{} ({})", grouped(d.dmarc_pass), percent(d.dmarc_pass, d.messages)),
                        fmt::format("{} ({})", grouped(d.dmarc_fail), percent(d.dmarc_fail, d.messages)),
                        percent(d.spf_aligned, d.messages), percent(d.dkim_aligned, d.messages),
                        grouped(d.failure_reports)});
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    std::string out;
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (i == 0) out += fmt::format("{:<{}}", r[i], width[i]);
            else out += fmt::format("  {:>{}}", r[i], width[i]);
        }
        out += '\n';
    }
    for (const auto& d : domains) {
        out += fmt::format("\n{}", show(d.domain));
        if (d.first_begin && d.last_end)
            out += fmt::format("  ({} .. {})", format_timestamp(*d.first_begin).substr(0, 10),
                               format_timestamp(*d.last_end).substr(0, 10));
        out += "\n  reporters:";
        for (const auto& r : d.reporters)
            out += fmt::format(" {} ({} report{}, {} msgs);", show(r.org_name), grouped(r.reports),
                               r.reports == 1 ? "" : "s", grouped(r.messages));
        if (!d.reporters.empty()) out.pop_back();
        out += "\n  top sources:\n";
        for (const auto& s : d.top_sources)
            out += fmt::format("    {:<39} {:>10} msgs  {:>6} pass\n", s.source_ip,
                               grouped(s.messages), percent(s.dmarc_pass, s.messages));
    }
    return out;
}

ProgressBar::ProgressBar(std::FILE* out, std::uint64_t total_bytes, std::size_t total_inputs,
                         std::string unit)
    : out_(out), total_bytes_(total_bytes), total_inputs_(total_inputs), unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::advance_bytes(std::uint64_t n) {
    done_bytes_ += n;
    draw(false);
}

void ProgressBar::input_done() {
    ++done_inputs_;
    draw(false);
}

void ProgressBar::finish() {
    if (out_ == nullptr) return;
    draw(true);
    std::fputs("\n", out_);
    std::fflush(out_);
}

void ProgressBar::draw(bool force) {
    if (out_ == nullptr) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    constexpr int width = 30;
    double fraction = total_bytes_ == 0 ? share(done_inputs_, total_inputs_)
                                        : std::min(1.0, share(done_bytes_, total_bytes_));
    int filled = static_cast<int>(fraction * width);
    double seconds = std::chrono::duration<double>(now - start_).count();
    if (total_bytes_ == 0) {
        const double rate = seconds > 0 ? static_cast<double>(done_inputs_) / seconds : 0.0;
        fmt::print(out_, "\r[{:#<{}}{:<{}}] {:3.0f}%  {}/{} {}  {:.0f}/s ", "", filled, "",
                   width - filled, fraction * 100.0, done_inputs_, total_inputs_, unit_, rate);
    } else {
        const double mbps = seconds > 0 ? static_cast<double>(done_bytes_) / 1e6 / seconds : 0.0;
        fmt::print(out_, "\r[{:#<{}}{:<{}}] {:3.0f}%  {}/{} {}  {:.1f} MB/s ", "", filled, "",
                   width - filled, fraction * 100.0, done_inputs_, total_inputs_, unit_, mbps);
    }
    std::fflush(out_);
}

}  // namespace rampart::cli
