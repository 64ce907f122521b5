// The Rampart side of the SPF benchmark (bench/spf/bench_spf.py): check_host() for every line
// "ip sender helo" of an input file, on `--threads` workers sharing one CachingResolver in front
// of one AresResolver, as a receiver evaluating a stream of connections would. Writes one result
// per input line, in input order, and a one-line JSON summary on stdout.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dns/ares.hpp"
#include "dns/cache.hpp"
#include "spf/spf.hpp"

namespace {

struct Input {
    rampart::IpAddress ip;
    std::string sender, helo;
};

int usage() {
    std::cerr << "usage: bench_spf --dns HOST[:PORT] [--threads N] [--out FILE] INPUTS\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dns_text, out_path, input_path;
    unsigned threads = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--dns" && i + 1 < argc) {
            dns_text = argv[++i];
        } else if (arg == "--threads" && i + 1 < argc) {
            threads = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--out" && i + 1 < argc) {
            out_path = argv[++i];
        } else if (input_path.empty()) {
            input_path = arg;
        } else {
            return usage();
        }
    }
    if (dns_text.empty() || input_path.empty() || threads == 0) return usage();
    auto server = rampart::dns::parse_server(dns_text);
    if (!server) {
        std::cerr << "bench_spf: " << server.error().reason << "\n";
        return 2;
    }

    std::vector<Input> inputs;
    std::ifstream in(input_path);
    // Split by hand: an istringstream per line costs more than a warm evaluation, and the
    // harness times the whole process.
    const auto next_field = [](std::string_view& rest) {
        const auto begin = rest.find_first_not_of(" \t");
        if (begin == std::string_view::npos) return std::string_view{};
        rest.remove_prefix(begin);
        const auto end = std::min(rest.find_first_of(" \t"), rest.size());
        const auto field = rest.substr(0, end);
        rest.remove_prefix(end);
        return field;
    };
    for (std::string line; std::getline(in, line);) {
        std::string_view rest = line;
        const auto ip = next_field(rest), sender = next_field(rest), helo = next_field(rest);
        if (helo.empty()) continue;
        auto address = rampart::IpAddress::parse(ip);
        if (!address) {
            std::cerr << "bench_spf: bad address " << ip << "\n";
            return 2;
        }
        inputs.push_back({*address, std::string(sender), std::string(helo)});
    }

    rampart::dns::AresOptions options;
    options.server = *server;
    auto ares = rampart::dns::AresResolver::open(options);
    if (!ares) {
        std::cerr << "bench_spf: " << ares.error().describe() << "\n";
        return 1;
    }
    rampart::dns::CachingResolver resolver(std::move(*ares));

    std::vector<rampart::spf::SpfResult> results(inputs.size());
    std::atomic<std::size_t> next{0};
    rampart::spf::Options check_options;
    check_options.trace = false;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (std::size_t i = next++; i < inputs.size(); i = next++) {
                const auto request =
                    rampart::spf::mail_from(inputs[i].ip, inputs[i].sender, inputs[i].helo);
                results[i] = rampart::spf::check_host(resolver, request, check_options).result;
            }
        });
    }
    for (auto& w : workers) w.join();
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;

    std::map<std::string, std::size_t> counts;
    std::FILE* out = out_path.empty() ? nullptr : std::fopen(out_path.c_str(), "w");
    for (const auto r : results) {
        const auto name = std::string(rampart::spf::to_string(r));
        ++counts[name];
        if (out != nullptr) std::fprintf(out, "%s\n", name.c_str());
    }
    if (out != nullptr) std::fclose(out);
    const auto stats = resolver.stats();
    std::printf("{\"evaluations\": %zu, \"threads\": %u, \"wall_s\": %.4f, \"upstream_queries\": %llu",
                inputs.size(), threads, wall.count(),
                static_cast<unsigned long long>(stats.upstream_queries));
    for (const auto& [name, count] : counts) std::printf(", \"%s\": %zu", name.c_str(), count);
    std::printf("}\n");
    return 0;
}
