// bench_ceiling: the raw ceiling for `rampart ingest` over a corpus.
//
// For every file under the given paths it does what the ingest does before any report work:
// the same input expansion (mail::expand_inputs), the same file reads (mail::FileSource) and the
// same unwrapping (unpack::unpack: gzip, zip, MIME, mbox), and hands each aggregate report's
// stream to a bare expat parse whose handlers do nothing. No model, no hashing, no store: an
// expat SAX pass plus decompression over the same bytes, doing no work. Whatever the ingest
// costs beyond this is the price of Rampart itself.
//
// One Google Benchmark case, one iteration per repetition (a whole pass over the corpus), real
// time. Counters let bench/run check that the pass saw the whole corpus (reports and XML bytes
// against manifest.json) and nothing was refused. Single-threaded by construction.
//
// Usage: bench_ceiling [--benchmark_repetitions=N] [--benchmark_out=F.json
//                      --benchmark_out_format=json] PATH...
#include <expat.h>

#include <cstdio>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/core.hpp"
#include "mail/mail.hpp"
#include "unpack/unpack.hpp"

namespace {

using namespace rampart;

void XMLCALL no_start(void*, const XML_Char*, const XML_Char**) {}
void XMLCALL no_end(void*, const XML_Char*) {}
void XMLCALL no_text(void*, const XML_Char*, int) {}

struct Tally {
    std::uint64_t inputs = 0;
    std::uint64_t aggregates = 0;
    std::uint64_t failure_reports = 0;
    std::uint64_t rejected = 0;     // refused by unpack, or the file could not be opened
    std::uint64_t xml_errors = 0;   // expat refused the stream, or the stream failed mid-way
    std::uint64_t xml_bytes = 0;    // bytes handed to expat
    std::uint64_t file_bytes = 0;   // bytes on disk, as expand_inputs saw them
};

/// Parses each aggregate stream with expat and no-op handlers, in the ingest's chunking
/// (XML_GetBuffer of 64 KiB, XML_ParseBuffer), one fresh parser per report as the ingest does.
class CeilingVisitor final : public unpack::Visitor {
public:
    explicit CeilingVisitor(Tally& tally) : tally_(tally) {}

    void on_aggregate(ByteSource& xml, const Location& where) override {
        ++tally_.aggregates;
        XML_Parser parser = XML_ParserCreate(nullptr);
        RAMPART_ASSERT(parser != nullptr);
        XML_SetElementHandler(parser, &no_start, &no_end);
        XML_SetCharacterDataHandler(parser, &no_text);
        constexpr int chunk = 64 * 1024;
        for (;;) {
            void* buf = XML_GetBuffer(parser, chunk);
            RAMPART_ASSERT(buf != nullptr);
            auto n = xml.read(std::span<std::byte>(static_cast<std::byte*>(buf), chunk));
            if (!n) {
                complain(where, n.error().describe());
                break;
            }
            tally_.xml_bytes += *n;
            bool final = *n == 0;
            if (XML_ParseBuffer(parser, static_cast<int>(*n), final) == XML_STATUS_ERROR) {
                complain(where, XML_ErrorString(XML_GetErrorCode(parser)));
                break;
            }
            if (final) break;
        }
        XML_ParserFree(parser);
    }
    void on_failure_report(std::span<const std::byte>, const Location&) override {
        ++tally_.failure_reports;
    }
    void on_rejected(const Error& error) override {
        ++tally_.rejected;
        if (tally_.rejected <= 5) fmt::print(stderr, "bench_ceiling: refused: {}\n", error.describe());
    }

private:
    void complain(const Location& where, std::string_view why) {
        ++tally_.xml_errors;
        if (tally_.xml_errors <= 5)
            fmt::print(stderr, "bench_ceiling: XML error in {}: {}\n", where.source, why);
    }
    Tally& tally_;
};

Tally one_pass(const std::vector<std::string>& paths, const IngestLimits& limits) {
    Tally tally;
    CeilingVisitor visitor(tally);
    auto expanded = mail::expand_inputs(paths);
    tally.rejected += expanded.errors.size();
    for (const auto& in : expanded.inputs) {
        ++tally.inputs;
        tally.file_bytes += in.size;
        auto file = mail::FileSource::open(in.path);
        if (!file) {
            visitor.on_rejected(file.error());
            continue;
        }
        unpack::unpack(*file, Location{.source = in.path.string()}, limits, visitor);
    }
    return tally;
}

void ceiling(benchmark::State& state, const std::vector<std::string>& paths) {
    const IngestLimits limits;  // the ingest's defaults
    Tally tally;
    for (auto _ : state) tally = one_pass(paths, limits);
    auto count = [](std::uint64_t v) { return benchmark::Counter(static_cast<double>(v)); };
    auto rate = [](std::uint64_t v) {
        return benchmark::Counter(static_cast<double>(v), benchmark::Counter::kIsRate);
    };
    state.counters["inputs"] = count(tally.inputs);
    state.counters["aggregates"] = count(tally.aggregates);
    state.counters["failure_reports"] = count(tally.failure_reports);
    state.counters["rejected"] = count(tally.rejected);
    state.counters["xml_errors"] = count(tally.xml_errors);
    state.counters["xml_bytes"] = count(tally.xml_bytes);
    state.counters["file_bytes"] = count(tally.file_bytes);
    state.counters["reports_per_s"] = rate(tally.aggregates);
    state.counters["xml_bytes_per_s"] = rate(tally.xml_bytes);
    if (tally.rejected != 0 || tally.xml_errors != 0)
        state.SkipWithError("some inputs were refused or did not parse (see stderr)");
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    std::vector<std::string> paths(argv + 1, argv + argc);
    if (paths.empty()) {
        std::fputs("usage: bench_ceiling [--benchmark_...] PATH...\n", stderr);
        return 2;
    }
    for (const auto& p : paths) {
        if (p.starts_with("--")) {
            fmt::print(stderr, "bench_ceiling: unknown option {}\n", p);
            return 2;
        }
    }
    benchmark::RegisterBenchmark("ceiling/unpack+expat", ceiling, paths)
        ->Iterations(1)
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
