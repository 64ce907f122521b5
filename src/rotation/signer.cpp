// The signer switch: OpenDKIM's KeyTable and SigningTable rewritten whole, and the switch or
// reload command run without a shell.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "rotation/rotation.hpp"

extern char** environ;  // NOLINT: POSIX declares it for the caller to see

namespace rampart::rotation {
namespace {

/// The tables are small text files; anything bigger is not an OpenDKIM table.
constexpr std::uintmax_t max_table_size = 16U << 20U;

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto end = text.find('\n');
        if (end == std::string_view::npos) {
            lines.push_back(text);
            break;
        }
        lines.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    return lines;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/// A whitespace-separated field of a line, with where it is.
struct Field {
    std::string_view text;
    std::size_t offset = 0;
};

std::vector<Field> fields(std::string_view line) {
    std::vector<Field> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i >= line.size()) break;
        std::size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        out.push_back({line.substr(start, i - start), start});
    }
    return out;
}

bool comment_or_blank(std::string_view line) {
    auto t = trim(line);
    return t.empty() || t.front() == '#';
}

/// A key name of `domain` ("<anything>._domainkey.<domain>"), compared as DNS compares.
bool key_of(std::string_view key_name, std::string_view domain) {
    auto lower = ascii_lower(key_name);
    if (!lower.empty() && lower.back() == '.') lower.pop_back();
    const auto suffix = "._domainkey." + ascii_lower(domain);
    return lower.size() > suffix.size() && lower.ends_with(suffix);
}

std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) {
        out += line;
        out += '\n';
    }
    return out;
}

std::unexpected<Error> io_error(std::string_view what, const std::filesystem::path& path, int err) {
    return fail(Errc::io, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
}

Result<std::string> read_table(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::string();
    auto size = std::filesystem::file_size(path, ec);
    if (ec) return fail(Errc::io, fmt::format("cannot read {}: {}", path.string(), ec.message()));
    if (size > max_table_size)
        return fail(Errc::limit_exceeded,
                    fmt::format("{} is over 16 MiB: not an OpenDKIM table", path.string()));
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(Errc::io, fmt::format("cannot read {}", path.string()));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string command_name(const Command& command) {
    return command.argv.empty() ? std::string("the command") : printable(command.argv.front());
}

}  // namespace

std::string rewrite_key_table(std::string_view text, std::string_view domain,
                              std::string_view selector, const std::filesystem::path& key_file) {
    const auto ours = fmt::format("{}._domainkey.{} {}:{}:{}", selector, domain, domain, selector,
                                  key_file.string());
    std::vector<std::string> out;
    bool placed = false;
    for (auto line : split_lines(text)) {
        if (!comment_or_blank(line)) {
            auto f = fields(line);
            if (!f.empty() && key_of(f.front().text, domain)) {
                if (!placed) out.push_back(ours);
                placed = true;
                continue;
            }
        }
        out.emplace_back(line);
    }
    if (!placed) out.push_back(ours);
    return join(out);
}

std::string rewrite_signing_table(std::string_view text, std::string_view domain,
                                  std::string_view selector) {
    const auto key_name = fmt::format("{}._domainkey.{}", selector, domain);
    const auto pattern = "*@" + ascii_lower(domain);
    std::vector<std::string> out;
    std::optional<std::size_t> first_ours;
    bool has_pattern = false;
    for (auto line : split_lines(text)) {
        if (!comment_or_blank(line)) {
            auto f = fields(line);
            const bool our_pattern = !f.empty() && ascii_lower(f[0].text) == pattern;
            if (f.size() >= 2 && (our_pattern || key_of(f[1].text, domain))) {
                has_pattern = has_pattern || our_pattern;
                if (!first_ours) first_ours = out.size();
                std::string rewritten(line.substr(0, f[1].offset));
                rewritten += key_name;
                rewritten += line.substr(f[1].offset + f[1].text.size());
                out.push_back(std::move(rewritten));
                continue;
            }
        }
        out.emplace_back(line);
    }
    if (!has_pattern) {
        auto at = first_ours.value_or(out.size());
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(at),
                   fmt::format("{} {}", pattern, key_name));
    }
    return join(out);
}

Result<int> run_command(const Command& command) {
    if (command.argv.empty()) return fail(Errc::malformed, "the command is empty");
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        bool replaced = std::ranges::any_of(command.environment, [&](const auto& kv) {
            return entry.size() > kv.first.size() && entry.starts_with(kv.first) &&
                   entry[kv.first.size()] == '=';
        });
        if (!replaced) env.emplace_back(entry);
    }
    for (const auto& [name, value] : command.environment) env.push_back(name + "=" + value);
    std::vector<char*> argv, envp;
    for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
    if (rc != 0)
        return fail(Errc::io,
                    fmt::format("cannot run {}: {}", command_name(command), std::strerror(rc)));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return io_error("wait for", command.argv.front(), errno);
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

Result<void> ConfiguredSwitch::switch_to(const SwitchTo& to) {
    std::error_code ec;
    auto key_file = std::filesystem::absolute(to.key_file, ec);
    if (ec) key_file = to.key_file;
    Command command{.argv = config_.command,
                    .environment = {{"RAMPART_DOMAIN", to.domain},
                                    {"RAMPART_SELECTOR", to.selector},
                                    {"RAMPART_KEY_FILE", key_file.string()}}};
    if (config_.signer == "opendkim") {
        if (!config_.key_table || !config_.signing_table)
            return fail(Errc::malformed, "signer \"opendkim\" needs key_table and signing_table");
        auto keys = read_table(*config_.key_table);
        if (!keys) return std::unexpected(std::move(keys.error()));
        auto signing = read_table(*config_.signing_table);
        if (!signing) return std::unexpected(std::move(signing.error()));
        // KeyTable first: the SigningTable then never names a key the KeyTable lacks.
        if (auto w = write_whole(*config_.key_table,
                                 rewrite_key_table(*keys, to.domain, to.selector, key_file));
            !w)
            return w;
        if (auto w = write_whole(*config_.signing_table,
                                 rewrite_signing_table(*signing, to.domain, to.selector));
            !w)
            return w;
        if (command.argv.empty()) return {};
    } else if (config_.signer != "command") {
        return fail(Errc::unsupported,
                    fmt::format("unknown signer \"{}\"", printable(config_.signer)));
    } else if (command.argv.empty()) {
        return fail(Errc::malformed, "signer \"command\" needs a command");
    }
    auto status = (run_ ? run_ : CommandRunner(run_command))(command);
    if (!status) return std::unexpected(std::move(status.error()));
    if (*status != 0)
        return fail(Errc::io,
                    fmt::format("{} exited with status {}", command_name(command), *status));
    return {};
}

}  // namespace rampart::rotation
