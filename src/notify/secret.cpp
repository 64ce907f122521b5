// Secret files (style guide §7): owner-only, bounded, one line.
#include "notify/notify.hpp"

#include <fcntl.h>
#include <string.h>  // explicit_bzero
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace rampart::notify {

namespace {

constexpr std::size_t max_secret = 4096;

/// Closes a descriptor on every path out.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::unexpected<Error> open_error(const std::filesystem::path& path, int err) {
    Location where{.source = path.string()};
    if (err == ENOENT)
        return fail(Errc::not_found,
                    fmt::format("the secret file {} does not exist", path.string()), where);
    return fail(
        Errc::io,
        fmt::format("cannot open the secret file {}: {}", path.string(), std::strerror(err)),
        where);
}

/// Refuses what anyone but the owner may touch. The mode is that of the file actually opened (a
/// symlink's target), so a link cannot hide an open file.
Result<void> check_owner_only(int fd, const std::filesystem::path& path) {
    Location where{.source = path.string()};
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return fail(Errc::io, fmt::format("cannot read the secret file {}", path.string()), where);
    if (!S_ISREG(st.st_mode))
        return fail(Errc::io,
                    fmt::format("the secret file {} is not a regular file", path.string()), where);
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return fail(Errc::denied,
                    fmt::format("the secret file {} has mode {:04o}: it must be readable by its "
                                "owner only (chmod 600 {})",
                                path.string(), st.st_mode & 07777, path.string()),
                    where);
    return {};
}

/// Up to max_secret + 1 bytes, so that "too large" can be told apart from "exactly the limit".
Result<std::string> read_bounded(int fd, const std::filesystem::path& path) {
    std::string text(max_secret + 1, '\0');
    std::size_t used = 0;
    while (used < text.size()) {
        auto n = ::read(fd, text.data() + used, text.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::explicit_bzero(text.data(), text.size());
            return fail(Errc::io, fmt::format("cannot read the secret file {}", path.string()),
                        Location{.source = path.string()});
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    text.resize(used);
    return text;
}

}  // namespace

Result<std::string> read_secret(const std::filesystem::path& path) {
    Location where{.source = path.string()};
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (file.fd < 0) return open_error(path, errno);
    if (auto ok = check_owner_only(file.fd, path); !ok) return std::unexpected(ok.error());
    auto text = read_bounded(file.fd, path);
    if (!text) return text;
    auto wipe = [&text] { ::explicit_bzero(text->data(), text->size()); };
    if (text->size() > max_secret) {
        wipe();
        return fail(
            Errc::limit_exceeded,
            fmt::format("the secret file {} is larger than {} bytes", path.string(), max_secret),
            where);
    }
    // One trailing line end, as `echo` or an editor leaves it.
    if (!text->empty() && text->back() == '\n') text->pop_back();
    if (!text->empty() && text->back() == '\r') text->pop_back();
    if (text->empty())
        return fail(Errc::malformed, fmt::format("the secret file {} is empty", path.string()),
                    where);
    if (text->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        wipe();
        return fail(Errc::malformed,
                    fmt::format("the secret file {} holds more than one line", path.string()),
                    where);
    }
    return text;
}

}  // namespace rampart::notify
