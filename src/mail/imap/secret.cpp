// Secret and password files. Style guide §7: secrets live in files with mode 0600 (checked at
// load), are never copied, printed or logged, are compared in constant time and wiped.
#include <fcntl.h>
#include <string.h>  // explicit_bzero
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "mail/imap/imap.hpp"

namespace rampart::mail::imap {

namespace {

/// Closes a descriptor on every path out.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

constexpr std::size_t max_password_file = 4096;

}  // namespace

Secret Secret::take(std::string& value) {
    Secret s;
    // The vector holds a NUL after the characters: libcurl wants a C string, and handing it one
    // from here means no temporary std::string copy that nobody wipes.
    s.bytes_.reserve(value.size() + 1);
    s.bytes_.assign(value.begin(), value.end());
    s.bytes_.push_back('\0');
    ::explicit_bzero(value.data(), value.size());
    value.clear();
    return s;
}

Secret::Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        wipe();
        bytes_ = std::move(other.bytes_);
        other.bytes_.clear();
    }
    return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() noexcept {
    if (bytes_.capacity() > 0) ::explicit_bzero(bytes_.data(), bytes_.capacity());
    bytes_.clear();
}

bool Secret::equals(const Secret& other) const noexcept {
    auto a = reveal();
    auto b = other.reveal();
    std::size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    for (std::size_t i = 0; i < n; ++i) {
        auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
        auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
        diff |= x ^ y;
    }
    return diff == 0;
}

Result<Secret> load_password_file(const std::filesystem::path& path) {
    Location where{.source = path.string()};
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (file.fd < 0)
        return fail(Errc::io,
                    fmt::format("cannot open the password file: {}", std::strerror(errno)), where);
    struct stat st {};
    if (::fstat(file.fd, &st) != 0)
        return fail(Errc::io,
                    fmt::format("cannot read the password file: {}", std::strerror(errno)), where);
    if (!S_ISREG(st.st_mode))
        return fail(Errc::io, "the password file is not a regular file", where);
    // The mode of the file actually opened (a symlink's target), so a link cannot hide it.
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return fail(Errc::io,
                    fmt::format("the password file has mode {:04o}: it must be readable by its "
                                "owner only (chmod 600 {})",
                                st.st_mode & 07777, path.string()),
                    where);
    std::array<char, max_password_file + 1> buf{};
    std::size_t used = 0;
    for (;;) {
        auto n = ::read(file.fd, buf.data() + used, buf.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::explicit_bzero(buf.data(), buf.size());
            return fail(Errc::io,
                        fmt::format("cannot read the password file: {}", std::strerror(errno)),
                        where);
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
        if (used > max_password_file) {
            ::explicit_bzero(buf.data(), buf.size());
            return fail(Errc::io,
                        fmt::format("the password file is larger than {} bytes", max_password_file),
                        where);
        }
    }
    // One trailing line end, as `echo` or an editor leaves it.
    if (used > 0 && buf[used - 1] == '\n') --used;
    if (used > 0 && buf[used - 1] == '\r') --used;
    std::string text(buf.data(), used);
    ::explicit_bzero(buf.data(), buf.size());
    if (text.empty()) return fail(Errc::io, "the password file is empty", where);
    if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        ::explicit_bzero(text.data(), text.size());
        return fail(Errc::io, "the password file holds more than one line", where);
    }
    return Secret::take(text);
}

}  // namespace rampart::mail::imap
