#include "publish/publish.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "dmarc/dmarc.hpp"

namespace rampart::publish {

namespace {

constexpr std::size_t max_string = 255;  // RFC 1035 §3.3: one character-string

std::string fqdn(std::string_view name) {
    std::string out(name);
    if (out.empty() || out.back() != '.') out += '.';
    return out;
}

std::string comment(std::string_view text) {
    std::string out;
    std::size_t from = 0;
    while (from <= text.size()) {
        const auto eol = text.find('\n', from);
        const auto line = text.substr(from, eol == std::string_view::npos ? std::string_view::npos : eol - from);
        out += fmt::format("; {}\n", printable(line));
        if (eol == std::string_view::npos) break;
        from = eol + 1;
    }
    return out;
}

}  // namespace

namespace {
std::unexpected<Error> io_error(std::string_view what, const std::filesystem::path& path, int err) {
    return fail(Errc::io, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)));
}
}  // namespace

Result<void> write_whole(const std::filesystem::path& path, std::string_view text) {
    static std::atomic<unsigned> counter{0};
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    struct stat old {};
    const bool existed = ::stat(path.c_str(), &old) == 0;
    const auto temp = dir / fmt::format(".{}.rampart-{}-{}.tmp", path.filename().string(),
                                        ::getpid(), counter.fetch_add(1));
    int fd = ::open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("create", temp, errno);
    auto abandon = [&](std::string_view what, int err) {
        ::close(fd);
        ::unlink(temp.c_str());
        return io_error(what, temp, err);
    };
    // The table keeps its owner and mode (OpenDKIM may run as its own user and refuse a table
    // others can write); a new one is 0644.
    if (::fchmod(fd, existed ? (old.st_mode & 07777) : 0644) != 0)
        return abandon("set the mode of", errno);
    if (existed && ::geteuid() == 0 && ::fchown(fd, old.st_uid, old.st_gid) != 0)
        return abandon("set the owner of", errno);
    std::string_view rest = text;
    while (!rest.empty()) {
        auto n = ::write(fd, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon("write", errno);
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd) != 0) return abandon("flush", errno);
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return io_error("close", temp, err);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return io_error("replace", path, err);
    }
    // The rename is durable once the folder is.
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return io_error("open", dir, errno);
    int synced = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (synced != 0) return io_error("flush", dir, err);
    return {};
}

std::string_view to_string(Outcome::Status status) noexcept {
    switch (status) {
        case Outcome::Status::published: return "published";
        case Outcome::Status::queued: return "queued";
        case Outcome::Status::conflict: return "conflict";
        case Outcome::Status::failed: return "failed";
        case Outcome::Status::uncertain: return "uncertain";
    }
    return "failed";
}

std::string quoted_txt(std::string_view text) {
    std::string out;
    for (std::size_t from = 0; from < text.size() || from == 0; from += max_string) {
        if (!out.empty()) out += ' ';
        out += '"';
        for (char c : text.substr(from, max_string)) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (u < 0x20 || u >= 0x7f) {
                out += fmt::format("\\{:03d}", u);
            } else {
                out += c;
            }
        }
        out += '"';
        if (text.empty()) break;
    }
    return out;
}

std::string zone_lines(const Change& change) {
    std::string out = comment(fmt::format("Rampart, {}: {}", format_timestamp(change.at), change.reason));
    if (!change.old_record.empty()) out += comment(fmt::format("replaces: {}", change.old_record));
    out += fmt::format("{} {} IN TXT {}\n", fqdn(change.name), change.ttl, quoted_txt(change.new_record));
    return out;
}

std::string nsupdate_script(const Change& change) {
    std::string out = comment(fmt::format("Rampart, {}: {}", format_timestamp(change.at), change.reason));
    out += comment("Run with: nsupdate -k <your key file> <this file> (add a 'server' line if needed)");
    // Deleting exactly the record believed live, not the whole RRset: another TXT at the name is
    // left alone, and a record someone changed by hand makes the delete a no-op that shows.
    if (!change.old_record.empty()) {
        out += fmt::format("prereq yxrrset {} TXT {}\n", fqdn(change.name), quoted_txt(change.old_record));
        out += fmt::format("update delete {} TXT {}\n", fqdn(change.name), quoted_txt(change.old_record));
    }
    out += fmt::format("update add {} {} TXT {}\n", fqdn(change.name), change.ttl, quoted_txt(change.new_record));
    out += "send\n";
    return out;
}

Result<Outcome> ManualPublisher::publish(const Change& change) {
    auto domain = dns::normalize_name(change.domain);
    if (!domain) return std::unexpected(domain.error());
    std::error_code ec;
    std::filesystem::create_directories(outbox_, ec);
    if (ec)
        return fail(Errc::io, fmt::format("cannot create the outbox {}: {}", outbox_.string(), ec.message()));
    const std::string stem = fmt::format("{:%Y%m%dT%H%M%SZ}-{}", change.at, *domain);
    Outcome outcome{.status = Outcome::Status::queued, .detail = {}, .files = {}};
    const std::filesystem::path zone = outbox_ / (stem + ".zone");
    const std::filesystem::path script = outbox_ / (stem + ".nsupdate");
    if (auto r = write_whole(zone, zone_lines(change)); !r) return std::unexpected(r.error());
    if (auto r = write_whole(script, nsupdate_script(change)); !r) return std::unexpected(r.error());
    outcome.files = {zone, script};
    outcome.detail = fmt::format("written to {} for an operator to apply", script.string());
    return outcome;
}

Live live_record(dns::Resolver& resolver, std::string_view domain) {
    Live live;
    auto name = dmarc::dmarc_query_name(domain);
    if (!name) {
        live.status = Live::Status::failed;
        live.detail = name.error().reason;
        return live;
    }
    const auto answer = resolver.query(*name, dns::RrType::txt);
    if (answer.failed()) {
        live.status = Live::Status::failed;
        live.detail = fmt::format("{} could not be read: {}", *name, dns::to_string(answer.status));
        return live;
    }
    for (const auto& txt : answer.txt()) {
        const std::string text = txt.joined();
        if (dmarc::is_dmarc_record(text)) live.others.push_back(text);
    }
    if (live.others.size() == 1) {
        live.status = Live::Status::one;
        live.record = live.others.front();
        live.others.clear();
    } else if (live.others.empty()) {
        live.status = Live::Status::none;
        live.detail = fmt::format("{} has no DMARC record", *name);
    } else {
        live.status = Live::Status::several;
        live.detail = fmt::format("{} has {} DMARC records", *name, live.others.size());
    }
    return live;
}

bool same_record(std::string_view a, std::string_view b) {
    if (a == b) return true;
    auto pa = dmarc::parse_record(a);
    auto pb = dmarc::parse_record(b);
    if (!pa || !pb) return false;
    return dmarc::format_record(*pa) == dmarc::format_record(*pb);
}

}  // namespace rampart::publish
