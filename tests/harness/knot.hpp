// A real authoritative DNS server (Knot DNS, Debian package knot) for integration tests, and a
// server that never answers. In the manner of Knot's own tests-extra: a free port on 127.0.0.1,
// the configuration, zone files, database and run folder in a temporary folder, start in the
// foreground, wait until it answers a query for each zone, stop on destruction; the log is there
// to print when a test failed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>

#include "dns/dns.hpp"

namespace rampart::test {

/// True when RAMPART_REQUIRE_REAL=1: a missing server binary is then a failure, not a skip.
bool require_real_servers();

class KnotServer {
public:
    /// Empty when knotd is installed; else why the tests cannot run.
    static std::string missing();

    /// `zones`: origin → master-file text (dns::Zone::to_master_file writes one).
    explicit KnotServer(std::map<std::string, std::string> zones);
    /// The same, written in place: KnotServer server({{"example", zone.to_master_file("example")}}).
    KnotServer(std::initializer_list<std::pair<const std::string, std::string>> zones)
        : KnotServer(std::map<std::string, std::string>(zones)) {}
    ~KnotServer();
    KnotServer(const KnotServer&) = delete;
    KnotServer& operator=(const KnotServer&) = delete;

    /// Writes configuration and zones, starts knotd and waits until every zone answers its SOA.
    /// Returns an empty string, or what went wrong (with the log).
    std::string start();
    void stop();

    [[nodiscard]] dns::Server server() const;
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    [[nodiscard]] std::string log() const;

private:
    std::string launch();
    void write_files() const;
    bool answers_soa(const std::string& origin) const;

    std::map<std::string, std::string> zones_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

/// A UDP and a TCP socket on the same port of 127.0.0.1 that never answer: UDP queries are never
/// read, TCP connections are accepted by the kernel and left waiting. For timeout tests.
class SilentServer {
public:
    SilentServer();
    ~SilentServer();
    SilentServer(const SilentServer&) = delete;
    SilentServer& operator=(const SilentServer&) = delete;

    /// Empty when both sockets are bound; else why not.
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] dns::Server server() const;
    /// True once a UDP query has arrived (it stays unread).
    [[nodiscard]] bool received_query() const;

private:
    int udp_ = -1, tcp_ = -1;
    std::uint16_t port_ = 0;
    std::string error_;
};

}  // namespace rampart::test
