#include "cli/options.hpp"

#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

namespace rampart::cli {

namespace fs = std::filesystem;

Result<std::optional<config::Config>> load_config(const std::string& flag) {
    fs::path path;
    if (!flag.empty()) {
        path = flag;
    } else if (const char* env = std::getenv("RAMPART_CONFIG"); env != nullptr && *env != '\0') {
        path = env;
    } else {
        std::error_code ec;
        if (!fs::exists("rampart.toml", ec)) return std::optional<config::Config>();
        path = "rampart.toml";
    }
    auto c = config::load(path);
    if (!c) return std::unexpected(std::move(c.error()));
    return std::optional<config::Config>(std::move(*c));
}

void add_dns_option(CLI::App& command, std::string& flag) {
    command.add_option("--dns", flag,
                       "Send every DNS query to this server (HOST[:PORT]) instead of the "
                       "system's resolvers; also $RAMPART_DNS or `dns` in rampart.toml");
}

Result<std::optional<dns::Server>> dns_server(const std::string& flag,
                                              const std::optional<config::Config>& config) {
    auto parse = [](std::string_view text, Location where) -> Result<std::optional<dns::Server>> {
        auto server = dns::parse_server(text);
        if (!server) return fail(Errc::malformed, server.error().reason, std::move(where));
        return std::optional<dns::Server>(*server);
    };
    if (!flag.empty()) return parse(flag, Location{.source = "--dns"});
    if (const char* env = std::getenv("RAMPART_DNS"); env != nullptr && *env != '\0')
        return parse(env, Location{.source = "RAMPART_DNS"});
    if (config && config->dns) return parse(*config->dns, config->dns_where);
    return std::optional<dns::Server>();
}

Result<std::unique_ptr<dns::Resolver>> open_dns(const std::string& flag,
                                                const std::optional<config::Config>& config,
                                                const Environment& env) {
    auto server = dns_server(flag, config);
    if (!server) return std::unexpected(std::move(server.error()));
    if (!env.open_resolver) return fail(Errc::unsupported, "no DNS resolver is available");
    return env.open_resolver(*server);
}

void error_line(const Environment& env, std::string_view message) {
    fmt::print(env.err, "rampart: {}\n", message);
}

Result<ConfigAndDns> open_config_and_dns(const std::string& config_flag, const std::string& dns_flag,
                                         const Environment& env) {
    auto config = load_config(config_flag);
    if (!config) return std::unexpected(std::move(config.error()));
    auto resolver = open_dns(dns_flag, *config, env);
    if (!resolver) return std::unexpected(std::move(resolver.error()));
    return ConfigAndDns{.config = std::move(*config), .resolver = std::move(*resolver)};
}

std::filesystem::path database_path(const std::string& flag) {
    if (!flag.empty()) return flag;
    if (const char* env = std::getenv("RAMPART_DB"); env != nullptr && *env != '\0') return env;
    return "rampart.db";
}

Result<std::unique_ptr<store::Store>> open_existing_store(const std::string& flag,
                                                          const Environment& env) {
    auto path = database_path(flag);
    std::error_code ec;
    if (path != ":memory:" && !std::filesystem::exists(path, ec)) {
        return fail(Errc::not_found,
                    fmt::format("no database at {}: run 'rampart ingest' first", path.string()));
    }
    return env.open_store(path);
}

namespace {
template <class Json>
void print_any_json(std::FILE* out, const Json& doc) {
    auto text = doc.dump(2, ' ', false, Json::error_handler_t::replace);
    std::fputs(text.c_str(), out);
    std::fputs("\n", out);
}
}  // namespace

void print_json(std::FILE* out, const nlohmann::json& doc) { print_any_json(out, doc); }
void print_json(std::FILE* out, const nlohmann::ordered_json& doc) { print_any_json(out, doc); }

Result<Timestamp> parse_start_day(std::string_view text, Timestamp anchor,
                                  std::string_view example) {
    text = trim(text);
    auto refuse = [&] {
        return fail(Errc::malformed,
                    fmt::format("\"{}\" is neither a date (YYYY-MM-DD) nor a number of days like {}",
                                printable(text), example));
    };
    if (text.size() >= 2 && text.back() == 'd') {
        unsigned days = 0;
        auto digits = text.substr(0, text.size() - 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), days);
        // Past ~270 years the difference would leave the calendar Timestamp covers.
        if (ec != std::errc{} || end != digits.data() + digits.size() || days > 100'000)
            return refuse();
        return std::chrono::floor<std::chrono::days>(anchor) - std::chrono::days{days};
    }
    auto t = parse_date(text);
    if (!t) return refuse();
    return std::chrono::floor<std::chrono::days>(*t);
}

}  // namespace rampart::cli
