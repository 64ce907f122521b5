// Renderers for the command line: JSON documents, aligned tables, a progress bar.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/service.hpp"
#include "store/store.hpp"

namespace rampart::cli {

nlohmann::json ingest_json(const service::IngestOutcome& outcome);
nlohmann::json summary_json(const std::vector<store::DomainSummary>& domains);

std::string ingest_line(const service::IngestOutcome& outcome);
std::string summary_table(const std::vector<store::DomainSummary>& domains);

/// "12,345"
std::string grouped(std::uint64_t n);

/// A one-line progress bar redrawn in place on a terminal, at most ten times a second. With
/// `total_bytes` it shows the byte rate (ingest); without, the items done and their rate, named
/// by `unit` ("domains").
class ProgressBar {
public:
    ProgressBar(std::FILE* out, std::uint64_t total_bytes, std::size_t total_inputs,
                std::string unit = "inputs");
    void advance_bytes(std::uint64_t n);
    void input_done();
    void finish();

private:
    void draw(bool force);
    std::FILE* out_;
    std::uint64_t total_bytes_, done_bytes_ = 0;
    std::size_t total_inputs_, done_inputs_ = 0;
    std::string unit_;
    std::chrono::steady_clock::time_point start_, last_draw_{};
    bool drawn_ = false;
};

}  // namespace rampart::cli
