#include "harness/knot.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/// Binds a socket of `type` on 127.0.0.1:port (0: any free port); returns the descriptor or -1.
int bind_loopback(int type, std::uint16_t port) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    auto a = loopback(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::uint16_t port_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    return ntohs(a.sin_port);
}

/// A port free for both UDP and TCP on 127.0.0.1 (bound, read, released).
std::uint16_t free_dns_port() {
    for (int attempt = 0; attempt < 20; ++attempt) {
        int udp = bind_loopback(SOCK_DGRAM, 0);
        if (udp < 0) return 0;
        const auto port = port_of(udp);
        int tcp = bind_loopback(SOCK_STREAM, port);
        ::close(udp);
        if (tcp >= 0) {
            ::close(tcp);
            return port;
        }
    }
    return 0;
}

}  // namespace

bool require_real_servers() {
    const char* v = std::getenv("RAMPART_REQUIRE_REAL");
    return v != nullptr && std::string_view(v) == "1";
}

std::string KnotServer::missing() {
    if (::access(knotd_binary, X_OK) != 0)
        return "Knot DNS is not installed (/usr/sbin/knotd; Debian package knot)";
    return {};
}

KnotServer::KnotServer(std::map<std::string, std::string> zones) : zones_(std::move(zones)) {
    std::string tmpl = (fs::temp_directory_path() / "rampart-knot-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
}

KnotServer::~KnotServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
}

dns::Server KnotServer::server() const {
    return dns::Server{*IpAddress::parse("127.0.0.1"), port_};
}

std::string KnotServer::log() const { return read_all(dir_ / "knotd.log"); }

void KnotServer::write_files() const {
    for (const char* sub : {"run", "db", "zones"}) fs::create_directories(dir_ / sub);
    const auto d = dir_.string();
    std::ofstream c(dir_ / "knot.conf");
    c << "# Written by the Rampart test harness; a throw-away server on 127.0.0.1.\n"
      << "server:\n"
      << "    rundir: \"" << d << "/run\"\n";
    // knotd refuses to start as root without being told which user to stay.
    if (::geteuid() == 0) c << "    user: root:root\n";
    c << "    listen: 127.0.0.1@" << port_ << "\n"
      << "    udp-workers: 2\n"
      << "    tcp-workers: 2\n"
      << "    background-workers: 1\n"
      << "database:\n"
      << "    storage: \"" << d << "/db\"\n"
      << "log:\n"
      << "  - target: stderr\n"
      << "    any: info\n"
      << "template:\n"
      << "  - id: default\n"
      << "    storage: \"" << d << "/zones\"\n"
      << "    zonefile-sync: -1\n"
      << "    journal-content: none\n"
      << "zone:\n";
    for (const auto& [origin, text] : zones_) {
        c << "  - domain: \"" << origin << "\"\n"
          << "    file: \"" << origin << ".zone\"\n";
        std::ofstream(dir_ / "zones" / (origin + ".zone")) << text;
    }
}

bool KnotServer::answers_soa(const std::string& origin) const {
    const std::uint16_t id = 0x5a5a;
    auto query = dns::wire::build_query(origin, static_cast<std::uint16_t>(dns::RrType::soa), id);
    if (!query) return false;
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    auto a = loopback(port_);
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
        port_ = 0;
        auto error = launch();
        if (error.empty() || attempt == 3 || error.find("in use") == std::string::npos)
            return error;
    }
}

std::string KnotServer::launch() {
    if (dir_.empty()) return "cannot create a temporary folder";
    port_ = free_dns_port();
    if (port_ == 0) return "no free port on 127.0.0.1";
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
