// A real Dovecot (Debian dovecot-imapd) for integration tests, and a loopback proxy that cuts
// connections. In the manner of Knot's tests-extra and PowerDNS's startAuth: a free port on
// 127.0.0.1, a configuration written into a temporary folder (plain-text passdb, Maildir under
// the folder, a self-signed certificate made with openssl at start), start, wait until it
// answers, stop on destruction; the log is there to print when a test failed.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace rampart::test {

struct DovecotOptions {
    std::string user = "dmarc";
    std::string password = "Tr0ub4dor&3 horse";
    bool idle_and_move = true;  // false: advertise neither IDLE nor MOVE (poll, COPY fallback)
};

class Dovecot {
public:
    /// Empty when the binaries are there; else why the tests cannot run.
    static std::string missing();

    explicit Dovecot(DovecotOptions options = {});
    ~Dovecot();
    Dovecot(const Dovecot&) = delete;
    Dovecot& operator=(const Dovecot&) = delete;

    /// Writes the configuration (first time: also the certificate), starts the server and waits
    /// until it greets. Returns an empty string, or what went wrong.
    std::string start();
    void stop();
    /// Stops, makes the server forget the folder's UIDs (new UIDVALIDITY), starts again.
    std::string reset_uids(const std::string& folder = "INBOX");

    std::uint16_t imaps_port() const { return imaps_port_; }
    std::uint16_t imap_port() const { return imap_port_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path ca_file() const { return dir_ / "cert.pem"; }
    const DovecotOptions& options() const { return options_; }
    /// "imaps://user@localhost:port/folder" (or imap:// on the STARTTLS port).
    std::string url(const std::string& folder = "INBOX", bool implicit_tls = true,
                    std::optional<std::uint16_t> port = std::nullopt) const;

    /// The Maildir++ folder on disk ("INBOX" is the root).
    std::filesystem::path folder(const std::string& name) const;
    /// Delivers a message the way an MDA does: written in tmp/, renamed into new/.
    void deliver(const std::string& name, std::string_view bytes,
                 const std::string& folder = "INBOX");
    /// Messages in a folder (cur/ and new/), counted on disk.
    std::size_t count(const std::string& folder) const;
    std::string log() const;

private:
    std::string launch();
    void write_config() const;
    void own(const std::filesystem::path& p) const;

    DovecotOptions options_;
    std::filesystem::path dir_;
    std::uint16_t imaps_port_ = 0, imap_port_ = 0;
    pid_t pid_ = -1;
    unsigned mail_uid_ = 0, mail_gid_ = 0;
    bool root_ = false;
};

/// Forwards 127.0.0.1:port() to a target port, and cuts the first `cut_connections` connections
/// after `cut_after` bytes from the server. Counts the bytes it passed from the server.
class CuttingProxy {
public:
    CuttingProxy(std::uint16_t target, std::uint64_t cut_after, int cut_connections);
    ~CuttingProxy();
    CuttingProxy(const CuttingProxy&) = delete;
    CuttingProxy& operator=(const CuttingProxy&) = delete;

    std::uint16_t port() const { return port_; }
    std::uint64_t server_bytes() const { return server_bytes_.load(); }
    int connections() const { return connections_.load(); }
    int cuts() const { return cuts_.load(); }

private:
    void serve();
    int listener_ = -1;
    std::uint16_t port_ = 0, target_;
    std::uint64_t cut_after_;
    int cut_connections_;
    std::atomic<std::uint64_t> server_bytes_{0};
    std::atomic<int> connections_{0}, cuts_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// A free TCP port on 127.0.0.1 (bound, read, released).
std::uint16_t free_port();

}  // namespace rampart::test
