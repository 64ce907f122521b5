#include "mail/mail.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace rampart::mail {

Result<FileSource> FileSource::open(const std::filesystem::path& path) {
    if (path == "-") return FileSource(STDIN_FILENO, false, "standard input");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(Errc::io, fmt::format("cannot open: {}", std::strerror(errno)),
                    Location{.source = path.string()});
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return FileSource(fd, true, path.string());
}

FileSource::FileSource(FileSource&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), owned_(other.owned_), name_(std::move(other.name_)),
      on_read_(std::move(other.on_read_)) {}

FileSource::~FileSource() {
    if (owned_ && fd_ >= 0) ::close(fd_);
}

Result<std::size_t> FileSource::read(std::span<std::byte> buffer) {
    for (;;) {
        auto n = ::read(fd_, buffer.data(), buffer.size());
        if (n >= 0) {
            if (on_read_ && n > 0) on_read_(static_cast<std::size_t>(n));
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR) continue;
        // EISDIR and friends: the reason names the file through the caller's Location.
        return fail(Errc::io, fmt::format("cannot read: {}", std::strerror(errno)));
    }
}

namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) {
    auto name = p.filename().string();
    return !name.empty() && name.front() == '.';
}

bool is_maildir(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir / "cur", ec) && fs::is_directory(dir / "new", ec);
}

std::vector<fs::directory_entry> sorted_entries(const fs::path& dir, Expanded& out) {
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    if (ec) {
        out.errors.push_back(Error{Errc::io, fmt::format("cannot list the directory: {}", ec.message()),
                                   Location{.source = dir.string()}});
        return entries;
    }
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        entries.push_back(*it);
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
    return entries;
}

void add_file(const fs::directory_entry& e, Expanded& out) {
    std::error_code ec;
    auto size = e.file_size(ec);
    out.inputs.push_back({e.path(), ec ? 0 : size});
}

void walk(const fs::path& dir, Expanded& out, int depth);

void walk_maildir(const fs::path& dir, Expanded& out, int depth) {
    for (const char* sub : {"new", "cur"})
        for (const auto& e : sorted_entries(dir / sub, out)) {
            std::error_code ec;
            if (!hidden(e.path()) && e.is_regular_file(ec)) add_file(e, out);
        }
    // Maildir++ keeps sub-folders as ".Name" next to cur/ and new/.
    for (const auto& e : sorted_entries(dir, out)) {
        std::error_code ec;
        if (hidden(e.path()) && e.is_directory(ec) && !e.is_symlink(ec) && is_maildir(e.path()))
            walk_maildir(e.path(), out, depth + 1);
    }
}

void walk(const fs::path& dir, Expanded& out, int depth) {
    if (depth > 64) {
        out.errors.push_back(Error{Errc::limit_exceeded, "directories are nested too deep",
                                   Location{.source = dir.string()}});
        return;
    }
    if (is_maildir(dir)) return walk_maildir(dir, out, depth);
    for (const auto& e : sorted_entries(dir, out)) {
        if (hidden(e.path())) continue;
        std::error_code ec;
        if (e.is_directory(ec)) {
            // Directory symlinks are not followed: they could loop.
            if (!e.is_symlink(ec)) walk(e.path(), out, depth + 1);
        } else if (e.is_regular_file(ec)) {
            add_file(e, out);
        }
    }
}

}  // namespace

Expanded expand_inputs(const std::vector<std::string>& arguments) {
    Expanded out;
    for (const auto& arg : arguments) {
        if (arg == "-") {
            out.inputs.push_back({"-", 0});
            continue;
        }
        fs::path p(arg);
        std::error_code ec;
        auto status = fs::status(p, ec);
        if (ec || !fs::exists(status)) {
            out.errors.push_back(Error{Errc::io, "no such file or directory", Location{.source = arg}});
        } else if (fs::is_directory(status)) {
            walk(p, out, 0);
        } else {
            auto size = fs::file_size(p, ec);
            out.inputs.push_back({p, ec ? 0 : size});
        }
    }
    return out;
}

}  // namespace rampart::mail
