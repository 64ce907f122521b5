// `rampart spf`: see spf.hpp for the contract.
#include "cli/spf.hpp"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "spf/spf.hpp"

namespace rampart::cli {
namespace {

constexpr int exit_pass = 0;
constexpr int exit_other = 1;
constexpr int exit_usage = 2;

nlohmann::json trace_json(const std::vector<spf::TraceStep>& trace) {
    auto out = nlohmann::json::array();
    for (const auto& s : trace)
        out.push_back({{"depth", s.depth},
                       {"domain", s.domain},
                       {"term", s.term},
                       {"lookups", s.lookups},
                       {"total_lookups", s.total_lookups},
                       {"matched", s.matched},
                       {"outcome", s.outcome}});
    return out;
}

nlohmann::json evaluation_json(const spf::Request& request, const spf::Evaluation& e) {
    return {{"domain", e.domain},
            {"ip", request.ip.to_string()},
            {"sender", request.sender},
            {"helo", request.helo},
            {"result", spf::to_string(e.result)},
            {"reason", e.reason},
            {"explanation", e.explanation ? nlohmann::json(*e.explanation) : nlohmann::json()},
            {"record", e.record.empty() ? nlohmann::json() : nlohmann::json(e.record)},
            {"lookups", e.lookups},
            {"void_lookups", e.void_lookups},
            {"trace", trace_json(e.trace)}};
}

/// The trace as an indented tree: one line per term, includes and redirects nesting. The total
/// shown on a line is the count when that term was evaluated, summed in evaluation order; the
/// JSON's total_lookups of an include is the count after its whole subtree, which would print
/// a larger number above the lines of the subtree.
std::string trace_text(const spf::Evaluation& e) {
    std::string out;
    std::string_view domain;
    int depth = -1;
    int running = 0;
    for (const auto& s : e.trace) {
        running += s.lookups;
        const std::string indent(static_cast<std::size_t>(s.depth) * 2 + 2, ' ');
        if (s.depth != depth || s.domain != domain) {
            out += fmt::format("{}{}:\n", indent.substr(2), printable(s.domain));
            depth = s.depth;
            domain = s.domain;
        }
        const auto cost = s.lookups == 0 ? std::string("")
                                         : fmt::format("+{} = {}", s.lookups, running);
        out += fmt::format("{}{:<34} {:>8}  {}\n", indent, printable(s.term), cost,
                           printable(s.outcome));
    }
    return out;
}

std::string text(const spf::Request& request, const spf::Evaluation& e) {
    std::string out = fmt::format("{}: {} for {} ({})\n", printable(e.domain),
                                  spf::to_string(e.result), request.ip.to_string(),
                                  printable(e.reason));
    if (e.explanation) out += fmt::format("explanation: {}\n", printable(*e.explanation));
    if (!e.record.empty()) out += fmt::format("record: {}\n", printable(e.record));
    out += fmt::format("DNS look-ups: {} of 10, void look-ups: {} of 2\n", e.lookups,
                       e.void_lookups);
    if (!e.trace.empty()) out += "trace:\n" + trace_text(e);
    return out;
}

}  // namespace

CLI::App* add_spf_command(CLI::App& app, SpfArgs& args) {
    auto* cmd = app.add_subcommand(
        "spf", "Evaluate SPF (RFC 7208 check_host) for a client address and show every term");
    cmd->add_option("domain", args.domain, "The MAIL FROM domain (or HELO name) to check")
        ->required();
    cmd->add_option("--ip", args.ip, "The SMTP client's address")->required();
    cmd->add_option("--helo", args.helo, "The HELO/EHLO name (%{h}; the sender when none)");
    cmd->add_option("--sender", args.sender,
                    "The MAIL FROM address (default postmaster@DOMAIN)");
    cmd->add_flag("--json", args.json, "Print JSON");
    cmd->add_option("--config", args.config, "rampart.toml (default $RAMPART_CONFIG or ./rampart.toml)");
    add_dns_option(*cmd, args.dns);
    return cmd;
}

int run_spf(const SpfArgs& args, const Environment& env) {
    auto ip = IpAddress::parse(args.ip);
    if (!ip) {
        error_line(env, fmt::format("--ip: {}", ip.error().reason));
        return exit_usage;
    }
    auto domain = dns::normalize_name(args.domain);
    if (!domain || domain->find('.') == std::string::npos) {
        error_line(env, fmt::format("\"{}\" is not a domain name{}", printable(args.domain),
                                    domain ? ": it has a single label" : ": " + domain.error().reason));
        return exit_usage;
    }
    auto opened = open_config_and_dns(args.config, args.dns, env);
    if (!opened) {
        error_line(env, opened.error().describe());
        return exit_usage;
    }

    spf::Request request = spf::mail_from(
        *ip, args.sender.empty() ? "postmaster@" + *domain : args.sender,
        args.helo.empty() ? *domain : args.helo);
    request.domain = *domain;
    if (env.now) request.now = env.now();
    spf::Options options;
    const auto start = std::chrono::steady_clock::now();
    options.elapsed = [start] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
    };
    const auto evaluation = spf::check_host(*opened->resolver, request, options);

    if (args.json) {
        auto doc = evaluation_json(request, evaluation).dump(
            2, ' ', false, nlohmann::json::error_handler_t::replace);
        fmt::print(env.out, "{}\n", doc);
    } else {
        std::fputs(text(request, evaluation).c_str(), env.out);
    }
    return evaluation.result == spf::SpfResult::pass ? exit_pass : exit_other;
}

}  // namespace rampart::cli
