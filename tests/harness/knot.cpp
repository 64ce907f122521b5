#include "harness/knot.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string_view>
#include <thread>

#include "dns/wire.hpp"

namespace rampart::test {
namespace fs = std::filesystem;

namespace {

constexpr const char* knotd_binary = "/usr/sbin/knotd";

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

sockaddr_in ipv4(const std::string& address, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/// Binds a socket of `type` on address:port (0: any free port); returns the descriptor or -1.
int bind_at(int type, const std::string& address, std::uint16_t port) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    auto a = ipv4(address, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int bind_loopback(int type, std::uint16_t port) { return bind_at(type, "127.0.0.1", port); }

std::uint16_t port_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    return ntohs(a.sin_port);
}

/// A port free for both UDP and TCP on `address` (bound, read, released).
std::uint16_t free_dns_port(const std::string& address) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        int udp = bind_at(SOCK_DGRAM, address, 0);
        if (udp < 0) return 0;
        const auto port = port_of(udp);
        int tcp = bind_at(SOCK_STREAM, address, port);
        ::close(udp);
        if (tcp >= 0) {
            ::close(tcp);
            return port;
        }
    }
    return 0;
}

std::string remote_text(const dns::Server& server) {
    return server.address.to_string() + "@" + std::to_string(server.port);
}

}  // namespace

std::uint16_t free_dns_port(const std::vector<std::string>& addresses) {
    if (addresses.empty()) return 0;
    for (int attempt = 0; attempt < 50; ++attempt) {
        const auto port = free_dns_port(addresses.front());
        if (port == 0) return 0;
        bool all = true;
        for (std::size_t i = 1; i < addresses.size() && all; ++i) {
            const int udp = bind_at(SOCK_DGRAM, addresses[i], port);
            const int tcp = bind_at(SOCK_STREAM, addresses[i], port);
            all = udp >= 0 && tcp >= 0;
            if (udp >= 0) ::close(udp);
            if (tcp >= 0) ::close(tcp);
        }
        if (all) return port;
    }
    return 0;
}

bool require_real_servers() {
    const char* v = std::getenv("RAMPART_REQUIRE_REAL");
    return v != nullptr && std::string_view(v) == "1";
}

std::string KnotServer::missing() {
    if (::access(knotd_binary, X_OK) != 0)
        return "Knot DNS is not installed (/usr/sbin/knotd; Debian package knot)";
    return {};
}

fs::path write_tsig_key_file(const fs::path& dir, const dns::TsigKey& key) {
    const auto path = dir / (key.name() + ".key");
    std::error_code ec;
    fs::remove(path, ec);
    // Created 0600 from the start: the secret is never readable by others, not even briefly.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return path;
    const std::string text = "# Written by the Rampart test harness; a throw-away test key.\n"
                             "key \"" + key.name() + "\" {\n"
                             "\talgorithm " + std::string(dns::to_string(key.algorithm())) + ";\n"
                             "\tsecret \"" + key.secret_base64() + "\";\n"
                             "};\n";
    const auto written = ::write(fd, text.data(), text.size());
    (void)written;
    ::fchmod(fd, 0600);
    ::close(fd);
    return path;
}

KnotServer::KnotServer(std::map<std::string, std::string> zones)
    : KnotServer(std::move(zones), KnotOptions{}) {}

KnotServer::KnotServer(std::map<std::string, std::string> zones, KnotOptions options)
    : zones_(std::move(zones)), options_(std::move(options)) {
    std::string tmpl = (fs::temp_directory_path() / "rampart-knot-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
}

KnotServer::~KnotServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
}

dns::Server KnotServer::server() const {
    auto address = IpAddress::parse(options_.address);
    return dns::Server{address ? *address : *IpAddress::parse("127.0.0.1"), port_};
}

std::string KnotServer::log() const { return read_all(dir_ / "knotd.log"); }

void KnotServer::write_files() const {
    for (const char* sub : {"run", "db", "zones"}) fs::create_directories(dir_ / sub);
    const auto d = dir_.string();
    const bool dynamic = options_.update_key || options_.primary || !options_.notify.empty();
    std::ofstream c(dir_ / "knot.conf");
    c << "# Written by the Rampart test harness; a throw-away server on " << options_.address
      << ".\n"
      << "server:\n"
      << "    rundir: \"" << d << "/run\"\n";
    // knotd refuses to start as root without being told which user to stay.
    if (::geteuid() == 0) c << "    user: root:root\n";
    c << "    listen: " << options_.address << "@" << port_ << "\n"
      << "    udp-workers: 2\n"
      << "    tcp-workers: 2\n"
      << "    background-workers: 1\n"
      << "database:\n"
      << "    storage: \"" << d << "/db\"\n"
      << "log:\n"
      << "  - target: stderr\n"
      << "    any: info\n";
    if (options_.update_key) {
        c << "key:\n"
          << "  - id: \"" << options_.update_key->name() << "\"\n"
          << "    algorithm: " << dns::to_string(options_.update_key->algorithm()) << "\n"
          << "    secret: \"" << options_.update_key->secret_base64() << "\"\n";
    }
    if (options_.primary || !options_.notify.empty()) {
        // `via`: transfers and NOTIFY leave from our own address, so the peer's address-based
        // ACL sees 127.0.0.2 rather than the 127.0.0.1 the kernel would pick.
        c << "remote:\n";
        if (options_.primary)
            c << "  - id: primary\n"
              << "    address: " << remote_text(*options_.primary) << "\n"
              << "    via: " << options_.address << "\n";
        for (std::size_t i = 0; i < options_.notify.size(); ++i)
            c << "  - id: secondary" << i << "\n"
              << "    address: " << remote_text(options_.notify[i]) << "\n"
              << "    via: " << options_.address << "\n";
    }
    std::vector<std::string> acls;
    if (dynamic) {
        c << "acl:\n";
        if (options_.update_key) {
            c << "  - id: update\n"
              << "    key: \"" << options_.update_key->name() << "\"\n"
              << "    action: update\n";
            acls.emplace_back("update");
        }
        if (options_.primary) {
            c << "  - id: notify_from_primary\n"
              << "    address: " << options_.primary->address.to_string() << "\n"
              << "    action: notify\n";
            acls.emplace_back("notify_from_primary");
        }
        for (std::size_t i = 0; i < options_.notify.size(); ++i) {
            c << "  - id: transfer_to_secondary" << i << "\n"
              << "    address: " << options_.notify[i].address.to_string() << "\n"
              << "    action: transfer\n";
            acls.push_back("transfer_to_secondary" + std::to_string(i));
        }
    }
    c << "template:\n"
      << "  - id: default\n"
      << "    storage: \"" << d << "/zones\"\n"
      << "    zonefile-sync: -1\n"
      // UPDATE and IXFR need the journal (in the database folder); a static server does not.
      << "    journal-content: " << (dynamic ? "changes" : "none") << "\n";
    if (!acls.empty()) {
        c << "    acl: [";
        for (std::size_t i = 0; i < acls.size(); ++i) c << (i ? ", " : "") << acls[i];
        c << "]\n";
    }
    if (options_.primary) c << "    master: primary\n";
    if (!options_.notify.empty()) {
        c << "    notify: [";
        for (std::size_t i = 0; i < options_.notify.size(); ++i)
            c << (i ? ", " : "") << "secondary" << i;
        c << "]\n";
    }
    c << "zone:\n";
    for (const auto& [origin, text] : zones_) {
        c << "  - domain: \"" << origin << "\"\n"
          << "    file: \"" << origin << ".zone\"\n";
        // A secondary with no text starts empty and is filled by the first transfer.
        if (!text.empty() || !options_.primary)
            std::ofstream(dir_ / "zones" / (origin + ".zone")) << text;
    }
}

bool KnotServer::answers_soa(const std::string& origin) const {
    const std::uint16_t id = 0x5a5a;
    auto query = dns::wire::build_query(origin, static_cast<std::uint16_t>(dns::RrType::soa), id);
    if (!query) return false;
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    auto a = ipv4(options_.address, port_);
    bool ok = false;
    if (::sendto(fd, query->data(), query->size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
        static_cast<ssize_t>(query->size())) {
        pollfd p{fd, POLLIN, 0};
        std::array<std::byte, 4096> buf{};
        if (::poll(&p, 1, 200) > 0) {
            const auto n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n > 0) {
                auto m = dns::wire::parse_message(std::span(buf.data(), static_cast<std::size_t>(n)));
                ok = m && m->header.id == id && m->header.rcode == 0 && m->header.aa &&
                     !m->answers.empty();
            }
        }
    }
    ::close(fd);
    return ok;
}

std::string KnotServer::start() {
    // A port found free may be taken by a parallel test before knotd binds it: try others.
    for (int attempt = 0;; ++attempt) {
        port_ = options_.port;
        auto error = launch();
        if (error.empty() || attempt == 3 || options_.port != 0 ||
            error.find("in use") == std::string::npos)
            return error;
    }
}

std::string KnotServer::launch() {
    if (dir_.empty()) return "cannot create a temporary folder";
    if (port_ == 0) port_ = free_dns_port(options_.address);
    if (port_ == 0) return "no free port on " + options_.address;
    write_files();
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
        // Dies with the test process, so a crashed test leaves no server behind.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        int out = ::open((dir_ / "knotd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        }
        ::execl(knotd_binary, "knotd", "-c", (dir_ / "knot.conf").c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return "knotd exited at start:\n" + log();
        }
        bool all = true;
        for (const auto& [origin, text] : zones_) all = all && answers_soa(origin);
        if (all) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return "knotd did not answer within 15 s:\n" + log();
}

void KnotServer::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void KnotServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
}

SilentServer::SilentServer() {
    for (int attempt = 0; attempt < 20 && tcp_ < 0; ++attempt) {
        if (udp_ >= 0) ::close(udp_);
        udp_ = bind_loopback(SOCK_DGRAM, 0);
        if (udp_ < 0) break;
        port_ = port_of(udp_);
        tcp_ = bind_loopback(SOCK_STREAM, port_);
    }
    if (udp_ < 0 || tcp_ < 0 || ::listen(tcp_, 64) != 0) error_ = "cannot bind a silent server";
}

SilentServer::~SilentServer() {
    if (udp_ >= 0) ::close(udp_);
    if (tcp_ >= 0) ::close(tcp_);
}

bool SilentServer::received_query() const {
    pollfd p{udp_, POLLIN, 0};
    return udp_ >= 0 && ::poll(&p, 1, 0) > 0;
}

dns::Server SilentServer::server() const {
    return dns::Server{*IpAddress::parse("127.0.0.1"), port_};
}

}  // namespace rampart::test
