// A real authoritative DNS server (Knot DNS, Debian package knot) for integration tests, and a
// server that never answers. In the manner of Knot's own tests-extra: a free port on 127.0.0.1,
// the configuration, zone files, database and run folder in a temporary folder, start in the
// foreground, wait until it answers a query for each zone, stop on destruction; the log is there
// to print when a test failed.
//
// With KnotOptions a server can also accept RFC 2136 UPDATE signed with a TSIG key, be a
// secondary of another KnotServer (AXFR/IXFR, NOTIFY), or notify its own secondaries; two servers
// can share a port on 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to loopback).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dns/dns.hpp"
#include "dns/update.hpp"

namespace rampart::test {

/// True when RAMPART_REQUIRE_REAL=1: a missing server binary is then a failure, not a skip.
bool require_real_servers();

struct KnotOptions {
    std::string address = "127.0.0.1";  // listen address (127.0.0.2 works too on Linux)
    std::uint16_t port = 0;              // 0: pick one free for UDP and TCP on `address`
    /// Every zone accepts UPDATE signed with this key (knot.conf `key:` + `acl: action update`).
    std::optional<dns::TsigKey> update_key;
    /// This server is a secondary of every zone, transferring from there (AXFR/IXFR) and
    /// accepting its NOTIFY. Its zones' texts may be empty: Knot creates them by transfer.
    std::optional<dns::Server> primary;
    /// Secondaries this server notifies of every change and allows to transfer.
    std::vector<dns::Server> notify;
};

/// A port free for both UDP and TCP on every one of `addresses` right now (0 if none found):
/// for a primary and a secondary on 127.0.0.1 and 127.0.0.2 that must know each other's port.
std::uint16_t free_dns_port(const std::vector<std::string>& addresses);

/// Writes `key` in BIND's key-file format to dir/<name>.key, mode 0600; returns the path.
std::filesystem::path write_tsig_key_file(const std::filesystem::path& dir,
                                          const dns::TsigKey& key);

class KnotServer {
public:
    /// Empty when knotd is installed; else why the tests cannot run.
    static std::string missing();

    /// `zones`: origin → master-file text (dns::Zone::to_master_file writes one).
    explicit KnotServer(std::map<std::string, std::string> zones);
    KnotServer(std::map<std::string, std::string> zones, KnotOptions options);
    /// The same, written in place: KnotServer server({{"example", zone.to_master_file("example")}}).
    KnotServer(std::initializer_list<std::pair<const std::string, std::string>> zones)
        : KnotServer(std::map<std::string, std::string>(zones)) {}
    ~KnotServer();
    KnotServer(const KnotServer&) = delete;
    KnotServer& operator=(const KnotServer&) = delete;

    /// Writes configuration and zones, starts knotd and waits until every zone answers its SOA
    /// (for a secondary: after the first transfer). Returns an empty string, or what went wrong
    /// (with the log).
    std::string start();
    /// SIGTERM, then waits for knotd to exit (SIGKILL after 10 s).
    void stop();
    /// SIGKILL at once: the server stops answering mid-flight.
    void kill();
    [[nodiscard]] bool running() const { return pid_ > 0; }

    [[nodiscard]] dns::Server server() const;
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    [[nodiscard]] std::string log() const;

private:
    std::string launch();
    void write_files() const;
    bool answers_soa(const std::string& origin) const;

    std::map<std::string, std::string> zones_;
    KnotOptions options_;
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
