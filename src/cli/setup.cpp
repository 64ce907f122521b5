// `rampart setup`: turns the command line into a setup::Request, opens DNS and the key
// directory, and prints the plan as zone-file lines or JSON. The private key never reaches
// this file: the plan carries only its path.
#include "cli/setup.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalogue/catalogue.hpp"
#include "cli/options.hpp"
#include "setup/setup.hpp"

namespace rampart::cli {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;

using nlohmann::json;

/// A TXT character-string in master-file form (RFC 1035 §5.1): quoted, '"' and '\' escaped.
std::string zone_quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string zone_line(const setup::DnsRecord& r) {
    std::string rdata;
    if (r.type == setup::RecordType::cname) {
        rdata = r.value + ".";
    } else {
        for (const auto& s : r.strings) {
            if (!rdata.empty()) rdata += ' ';
            rdata += zone_quoted(s);
        }
    }
    return fmt::format("{}. {} IN {} {}", r.name, r.ttl, to_string(r.type), rdata);
}

json record_json(const setup::DnsRecord& r) {
    json j = {{"name", r.name},   {"type", to_string(r.type)}, {"ttl", r.ttl},
              {"value", r.value}, {"purpose", r.purpose},      {"optional", r.optional}};
    if (r.type == setup::RecordType::txt) j["strings"] = r.strings;
    if (!r.zone.empty()) j["zone"] = r.zone;
    return j;
}

json spf_json(const setup::SpfPlan& spf) {
    json terms = json::array();
    for (const auto& t : spf.terms) {
        json j = {{"name", t.term}, {"lookups", t.lookups}, {"void_lookups", t.void_lookups},
                  {"source", t.source}};
        if (!t.provider.empty()) j["provider"] = t.provider;
        if (!t.problem.empty()) j["problem"] = t.problem;
        terms.push_back(std::move(j));
    }
    return {{"record", spf.record},       {"lookups", spf.lookups},
            {"void_lookups", spf.void_lookups}, {"measured", spf.measured},
            {"octets", spf.octets},       {"includes", std::move(terms)}};
}

json plan_json(const setup::Plan& plan) {
    json records = json::array(), authorisations = json::array();
    for (const auto& r : plan.records) records.push_back(record_json(r));
    for (const auto& r : plan.report_authorisations) authorisations.push_back(record_json(r));
    json dkim = {{"selector", plan.dkim.selector},
                 {"key_type", to_string(plan.dkim.key.algorithm)},
                 {"name", plan.dkim.name},
                 {"record", plan.dkim.record},
                 {"private_key_written", plan.dkim.written}};
    dkim["key_bits"] = plan.dkim.key.algorithm == setup::KeyAlgorithm::rsa ? plan.dkim.key.bits : 256u;
    dkim["private_key_file"] = plan.dkim.private_key_file.string();
    return {{"domain", plan.domain},
            {"organizational_domain", plan.organizational_domain},
            {"records", std::move(records)},
            {"spf", spf_json(plan.spf)},
            {"dkim", std::move(dkim)},
            {"dmarc", {{"record", plan.dmarc_record}}},
            {"report_authorisations", std::move(authorisations)},
            {"notes", plan.notes},
            {"warnings", plan.warnings}};
}

void print_list(std::FILE* out, std::string_view title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    fmt::print(out, "\n{}:\n", title);
    for (const auto& item : items) fmt::print(out, "  - {}\n", item);
}

void print_plan(std::FILE* out, const setup::Plan& plan) {
    fmt::print(out, "; rampart setup {}: publish these records\n", plan.domain);
    std::string zone;
    for (const auto& r : plan.records) {
        if (r.zone != zone) {
            zone = r.zone;
            if (!zone.empty()) fmt::print(out, ";\n; in the zone of {}:\n", zone);
        }
        fmt::print(out, "; {}{}\n{}\n", r.purpose, r.optional ? " (optional: see notes)" : "",
                   zone_line(r));
    }
    fmt::print(out, "\nSPF lookups: {}{}\n", plan.spf.breakdown(),
               plan.spf.measured ? "" : " (not all measured: see notes)");
    fmt::print(out, "DKIM private key: {}{}\n", plan.dkim.private_key_file.string(),
               plan.dkim.written ? " (written, mode 0600)" : " <not written: --dry-run>");
    print_list(out, "Notes", plan.notes);
    print_list(out, "Warnings", plan.warnings);
}

int report_refusal(const setup::Refusal& r, bool json_out, const Environment& env) {
    int code = r.kind == setup::Refusal::Kind::refused ? exit_refused : exit_usage;
    if (json_out) {
        json doc = {{"error", r.error.reason}, {"refused", r.kind == setup::Refusal::Kind::refused}};
        if (r.spf) doc["spf"] = spf_json(*r.spf);
        print_json(env.out, doc);
    }
    fmt::print(env.err, "rampart: setup {}: {}\n",
               r.kind == setup::Refusal::Kind::refused ? "refused" : "failed", r.error.reason);
    if (r.spf) fmt::print(env.err, "rampart: SPF lookups: {}\n", r.spf->breakdown());
    return code;
}

std::string spf_terms_text(const catalogue::SpfTerms& spf) {
    std::vector<std::string> terms;
    for (const auto& a : spf.a) terms.push_back("a:" + a);
    for (const auto& i : spf.includes) terms.push_back("include:" + i);
    return fmt::format("{}", fmt::join(terms, " "));
}

int list_providers(bool json_out, const Environment& env) {
    const auto& cat = catalogue::builtin();
    if (json_out) {
        json list = json::array();
        for (const auto& p : cat.providers()) {
            json regions = json::object();
            for (const auto& r : p.regions)
                regions[r.id] = {{"spf_includes", r.spf.includes}, {"spf_a", r.spf.a}};
            list.push_back({{"id", p.id},
                            {"name", p.name},
                            {"kind", to_string(p.kind)},
                            {"spf_includes", p.spf.includes},
                            {"spf_a", p.spf.a},
                            {"regions", std::move(regions)},
                            {"ptr_patterns", p.ptr_patterns},
                            {"dkim_domains", p.dkim_domains},
                            {"note", p.note}});
        }
        print_json(env.out, json{{"providers", std::move(list)}});
        return exit_ok;
    }
    for (const auto& p : cat.providers()) {
        std::string spf = spf_terms_text(p.spf);
        for (const auto& r : p.regions)
            spf += fmt::format("{}{}:{} {}", spf.empty() ? "" : "; ", p.id, r.id, spf_terms_text(r.spf));
        fmt::print(env.out, "{:<28} {:<17} {}\n", p.id, to_string(p.kind),
                   spf.empty() ? std::string("(no SPF include)") : spf);
    }
    return exit_ok;
}

Result<setup::Request> request_from(const SetupArgs& args) {
    setup::Request r{.domain = args.domain,
                     .ips = args.ips,
                     .includes = args.includes,
                     .providers = args.providers,
                     .rua = args.rua,
                     .ruf = args.ruf};
    if (args.mx) r.mx.emplace_back();
    if (args.a) r.a.emplace_back();
    if (!args.selector.empty()) r.selector = args.selector;
    if (args.key_type == "rsa") r.key = {.algorithm = setup::KeyAlgorithm::rsa, .bits = args.key_bits};
    else if (args.key_type == "ed25519") r.key = {.algorithm = setup::KeyAlgorithm::ed25519};
    else return fail(Errc::malformed, "--key-type must be rsa or ed25519");
    if (args.all == "softfail" || args.all == "~all") r.all = setup::AllQualifier::softfail;
    else if (args.all == "fail" || args.all == "-all") r.all = setup::AllQualifier::fail;
    else return fail(Errc::malformed, "--all must be softfail or fail");
    for (auto [text, field, flag] :
         {std::tuple{&args.bounce_cname, &r.bounce_cname, "--bounce-cname"},
          std::tuple{&args.click_cname, &r.click_cname, "--click-cname"}}) {
        if (text->empty()) continue;
        auto c = setup::parse_cname_request(*text);
        if (!c) return fail(Errc::malformed, fmt::format("{}: {}", flag, c.error().reason));
        *field = std::move(*c);
    }
    return r;
}

}  // namespace

CLI::App* add_setup_command(CLI::App& app, SetupArgs& args) {
    auto* cmd = app.add_subcommand(
        "setup", "Print the SPF, DKIM and DMARC records a new sender domain needs, and write its "
                 "DKIM private key (mode 0600)");
    cmd->add_option("domain", args.domain, "The sender domain (news.example.com)");
    cmd->add_option("--ip", args.ips, "A sending address or network (ip4/ip6), repeatable");
    cmd->add_option("--include", args.includes, "An SPF include, repeatable");
    cmd->add_flag("--mx", args.mx, "The domain's MX hosts send mail");
    cmd->add_flag("--a", args.a, "The domain's own address sends mail");
    cmd->add_option("--provider", args.providers,
                    "A provider from the catalogue (see --list-providers), ID or ID:REGION, repeatable");
    cmd->add_option("--rua", args.rua,
                    "Aggregate report address (default mailto:dmarc-reports@ the organizational domain)");
    cmd->add_option("--ruf", args.ruf, "Failure report address (adds fo=1)");
    cmd->add_option("--selector", args.selector, "DKIM selector (default s + YYYYMM)");
    cmd->add_option("--key-type", args.key_type, "rsa or ed25519")->capture_default_str();
    cmd->add_option("--key-bits", args.key_bits, "RSA key size: 2048, 3072 or 4096")->capture_default_str();
    cmd->add_option("--key-dir", args.key_dir, "Where the private key file goes")->capture_default_str();
    cmd->add_option("--bounce-cname", args.bounce_cname, "Return-Path domain: NAME=TARGET");
    cmd->add_option("--click-cname", args.click_cname, "Click-tracking domain: NAME=TARGET");
    cmd->add_option("--all", args.all, "SPF default: softfail (~all) or fail (-all)")->capture_default_str();
    cmd->add_flag("--dry-run", args.dry_run, "Generate and show, but write no key file");
    cmd->add_flag("--list-providers", args.list_providers, "List the provider catalogue and exit");
    cmd->add_flag("--json", args.json, "Print JSON");
    cmd->add_option("--config", args.config, "Configuration file (default $RAMPART_CONFIG or ./rampart.toml)");
    add_dns_option(*cmd, args.dns);
    return cmd;
}

int run_setup(const SetupArgs& args, const Environment& env) {
    if (args.list_providers) return list_providers(args.json, env);
    if (args.domain.empty()) {
        fmt::print(env.err, "rampart: setup needs a DOMAIN (or --list-providers)\n");
        return exit_usage;
    }
    auto request = request_from(args);
    if (!request) {
        fmt::print(env.err, "rampart: {}\n", request.error().reason);
        return exit_usage;
    }
    auto config = load_config(args.config);
    if (!config) {
        fmt::print(env.err, "rampart: {}\n", config.error().describe());
        return exit_usage;
    }
    auto server = dns_server(args.dns, *config);
    if (!server) {
        fmt::print(env.err, "rampart: {}\n", server.error().describe());
        return exit_usage;
    }
    // Without a resolver the plan is still made; it says what it could not measure.
    std::unique_ptr<dns::Resolver> resolver;
    if (env.open_resolver) {
        if (auto r = env.open_resolver(*server)) resolver = std::move(*r);
    }
    setup::DirectoryKeyStore store(args.key_dir);
    setup::World world{.resolver = resolver.get(),
                       .now = env.now ? env.now() : Timestamp{},
                       .key_store = args.dry_run ? nullptr : &store,
                       .key_dir = args.key_dir};
    auto plan = setup::plan(*request, world);
    if (!plan) return report_refusal(plan.error(), args.json, env);
    if (args.json) print_json(env.out, plan_json(*plan));
    else print_plan(env.out, *plan);
    return exit_ok;
}

}  // namespace rampart::cli
