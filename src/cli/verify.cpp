// `rampart verify`: see verify.hpp for the contract.
#include "cli/verify.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "mail/mail.hpp"
#include "receiver/receiver.hpp"

namespace rampart::cli {
namespace {

constexpr int exit_pass = 0;
constexpr int exit_not_pass = 1;
constexpr int exit_usage = 2;

using json = nlohmann::ordered_json;

/// "<>" and "" are the null reverse-path; "<a@b>" loses its angle brackets.
std::string reverse_path(std::string_view text) {
    text = trim(text);
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>')
        text = text.substr(1, text.size() - 2);
    return std::string(text);
}

json nullable(const std::string& text) { return text.empty() ? json() : json(text); }

json spf_json(const receiver::SpfCheck& spf) {
    const auto& e = spf.evaluation;
    return {{"result", spf::to_string(e.result)},
            {"domain", nullable(e.domain)},
            {"identity", spf.evaluated ? json(spf.helo_identity ? "helo" : "mailfrom") : json()},
            {"sender", nullable(spf.sender)},
            {"reason", e.reason}};
}

std::string algorithm_name(const dkim::SignatureResult& s) {
    return s.algorithm_text.empty() ? std::string(dkim::to_string(s.algorithm)) : s.algorithm_text;
}

json dkim_json(const std::vector<dkim::SignatureResult>& signatures) {
    auto out = json::array();
    for (const auto& s : signatures)
        out.push_back({{"domain", s.domain},
                       {"selector", s.selector},
                       {"algorithm", algorithm_name(s)},
                       {"result", dkim::to_string(s.result)},
                       {"code", s.code},
                       {"reason", s.reason}});
    return out;
}

json dmarc_json(const receiver::DmarcEvaluation& d) {
    return {{"result", receiver::to_string(d.result)},
            {"from_domain", nullable(d.from_domain)},
            {"spf_aligned", d.spf_aligned},
            {"dkim_aligned", d.dkim_aligned},
            {"policy", d.policy ? json(dmarc::to_string(*d.policy)) : json()},
            {"disposition", dmarc::to_string(d.disposition)},
            {"policy_tag", d.policy_tag ? json(dmarc::to_string(*d.policy_tag)) : json()},
            {"policy_domain", nullable(d.policy_domain)},
            {"test_mode", d.test_mode},
            {"adkim", dmarc::to_string(d.adkim)},
            {"aspf", dmarc::to_string(d.aspf)},
            {"reason", d.reason}};
}

json verdict_json(const receiver::Verdict& v) {
    return {{"spf", spf_json(v.spf)},
            {"dkim", dkim_json(v.dkim)},
            {"arc",
             {{"result", arc::to_string(v.arc.status)},
              {"instances", v.arc.instances},
              {"oldest_pass", v.arc.oldest_pass},
              {"first_hop_results", v.arc.first_hop_results.empty() ? json() : json(v.arc.first_hop_results)},
              {"reason", v.arc.reason}}},
            {"dmarc", dmarc_json(v.dmarc)},
            {"authentication_results",
             authres::format(v.authentication_results, authres::Layout::single_line)}};
}

std::string line(std::string_view what, std::string_view result, std::string_view text) {
    return fmt::format("{:<6} {:<10} {}\n", what, result, printable(text));
}

std::string spf_text(const receiver::SpfCheck& spf) {
    const auto& e = spf.evaluation;
    if (!spf.evaluated) return line("SPF", spf::to_string(e.result), e.reason);
    return line(
        "SPF", spf::to_string(e.result),
        fmt::format("{} ({}): {}", e.domain, spf.helo_identity ? "HELO" : "MAIL FROM", e.reason));
}

std::string dkim_text(const std::vector<dkim::SignatureResult>& signatures) {
    if (signatures.empty()) return line("DKIM", "none", "the message is not signed");
    std::string out;
    for (const auto& s : signatures) {
        out += line(
            "DKIM", dkim::to_string(s.result),
            fmt::format("d={} s={} {}: {}", s.domain, s.selector, algorithm_name(s), s.reason));
    }
    return out;
}

std::string dmarc_text(const receiver::DmarcEvaluation& d) {
    std::string out =
        line("DMARC", receiver::to_string(d.result),
             fmt::format("From {}: {}", d.from_domain.empty() ? "?" : d.from_domain, d.reason));
    if (d.policy && d.policy_tag) {
        out += line("", "policy",
                    fmt::format("{}={} at _dmarc.{}{}; disposition {}",
                                dmarc::to_string(*d.policy_tag), dmarc::to_string(*d.policy),
                                d.policy_domain, d.test_mode ? " (t=y: one level lower)" : "",
                                dmarc::to_string(d.disposition)));
    }
    return out;
}

std::string verdict_text(const receiver::Verdict& v) {
    std::string out = spf_text(v.spf) + dkim_text(v.dkim);
    out += line("ARC", arc::to_string(v.arc.status),
                v.arc.reason.empty() ? "no ARC sets" : v.arc.reason);
    // What the first forwarder found before it changed anything: the forwarding analysis's key.
    if (!v.arc.first_hop_results.empty())
        out += line("", "", fmt::format("the first hop recorded: {}", v.arc.first_hop_results));
    out += dmarc_text(v.dmarc);
    // Folded as in a header, with plain newlines: this goes to a terminal, not into a message.
    std::string folded = authres::format(v.authentication_results);
    for (auto at = folded.find("\r\n"); at != std::string::npos; at = folded.find("\r\n", at))
        folded.erase(at, 1);
    out += "Authentication-Results: " + folded + "\n";
    return out;
}

/// Options from the command line; the error is the usage message.
Result<receiver::Options> options_from(const VerifyArgs& args, const Environment& env) {
    receiver::Options options;
    if (!args.ip.empty()) {
        auto ip = IpAddress::parse(args.ip);
        if (!ip) return fail(Errc::malformed, fmt::format("--ip: {}", ip.error().reason));
        options.ip = *ip;
    }
    options.helo = args.helo;
    options.mail_from = reverse_path(args.mail_from);
    if (options.ip && options.mail_from.empty() && options.helo.empty())
        return fail(Errc::malformed,
                    "--ip needs --mail-from, or --helo for the null reverse-path (SPF then "
                    "checks postmaster@HELO)");
    options.authserv_id = args.authserv_id;
    if (!args.now.empty()) {
        auto now = parse_date(args.now);
        if (!now) return fail(Errc::malformed, fmt::format("--now: {}", now.error().reason));
        options.now = *now;
    } else if (env.now) {
        options.now = env.now();
    }
    return options;
}

}  // namespace

CLI::App* add_verify_command(CLI::App& app, VerifyArgs& args) {
    auto* cmd = app.add_subcommand(
        "verify",
        "Evaluate a message like a receiver: SPF, DKIM, ARC and DMARC with the policy that "
        "would apply.\nExit 0 when DMARC passes, 1 when it does not (fail, none, temperror, "
        "permerror), 2 for unusable input.");
    cmd->add_option("message", args.message, "The message file, or - for standard input")
        ->capture_default_str();
    cmd->add_option("--ip", args.ip, "The SMTP client's address (SPF is not evaluated without it)");
    cmd->add_option("--helo", args.helo, "The HELO/EHLO name");
    cmd->add_option("--mail-from", args.mail_from,
                    "The MAIL FROM address; absent, \"\" or \"<>\" is the null reverse-path "
                    "(SPF then checks postmaster@HELO)");
    cmd->add_option("--authserv-id", args.authserv_id,
                    "The authserv-id of the Authentication-Results (default: this host's name)");
    cmd->add_flag("--json", args.json, "Print JSON");
    cmd->add_option("--config", args.config,
                    "rampart.toml (default $RAMPART_CONFIG or ./rampart.toml)");
    // For reproducible runs (tests): the time DKIM t= and x= are judged against.
    cmd->add_option("--now", args.now, "The current time, YYYY-MM-DD[THH:MM:SSZ]")->group("");
    add_dns_option(*cmd, args.dns);
    return cmd;
}

int run_verify(const VerifyArgs& args, const Environment& env) {
    auto options = options_from(args, env);
    if (!options) {
        error_line(env, options.error().reason);
        return exit_usage;
    }
    auto opened = open_config_and_dns(args.config, args.dns, env);
    if (!opened) {
        error_line(env, opened.error().describe());
        return exit_usage;
    }
    auto source = mail::FileSource::open(args.message);
    if (!source) {
        error_line(env, source.error().describe());
        return exit_usage;
    }
    auto verdict = receiver::check_message(*source, *opened->resolver, *options);
    if (!verdict) {
        error_line(env, fmt::format("{}: {}", printable(args.message), verdict.error().describe()));
        return exit_usage;
    }
    if (args.json) {
        print_json(env.out, verdict_json(*verdict));
    } else {
        std::fputs(verdict_text(*verdict).c_str(), env.out);
    }
    return verdict->dmarc.result == receiver::DmarcResult::pass ? exit_pass : exit_not_pass;
}

}  // namespace rampart::cli
