// A real SMTP submission server (Debian python3-aiosmtpd, driven by tests/harness/smtp_server.py)
// for integration tests, and the small process runner it shares with the HTTP receiver. In the
// manner of dovecot.hpp: a free port on 127.0.0.1, a temporary folder with a self-signed
// certificate made by openssl at start and the password in a 0600 file, start, wait until it
// greets, stop on destruction; the log is there to print when a test failed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rampart::test {

/// Debian's interpreter, which is where python3-aiosmtpd lives (a pyenv python3 on PATH would
/// not see it).
inline constexpr const char* system_python = "/usr/bin/python3";

/// A Python script run as a server on 127.0.0.1 until stopped; its output goes to a log file.
class ScriptProcess {
public:
    ScriptProcess() = default;
    ~ScriptProcess();
    ScriptProcess(const ScriptProcess&) = delete;
    ScriptProcess& operator=(const ScriptProcess&) = delete;

    /// Starts `script` with `args`; waits until `port` accepts a connection (and, when `greeting`
    /// is not empty, sends a line starting with it). Empty string, or what went wrong.
    std::string start(const std::filesystem::path& script, const std::vector<std::string>& args,
                      const std::filesystem::path& log, std::uint16_t port,
                      const std::string& greeting);
    void stop();

private:
    pid_t pid_ = -1;
};

/// A temporary folder that removes itself.
struct TempDir {
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path path;
};

struct SmtpOptions {
    std::string user = "notify";
    std::string password;  // empty: no AUTH required
};

/// One message the server accepted.
struct ReceivedMail {
    std::string mail_from;
    std::vector<std::string> rcpt_tos;
    bool tls = false;
    std::string login;  // empty when nobody logged in
    std::string data;   // the message as received
};

class SmtpServer {
public:
    /// Empty when python3-aiosmtpd and openssl are there; else why the tests cannot run.
    static std::string missing();

    explicit SmtpServer(SmtpOptions options = {});
    ~SmtpServer();
    SmtpServer(const SmtpServer&) = delete;
    SmtpServer& operator=(const SmtpServer&) = delete;

    /// Makes the certificate, starts the server and waits for its 220 greeting.
    std::string start();

    std::uint16_t port() const { return port_; }
    /// "smtp://localhost:PORT" (the certificate is for localhost).
    std::string url() const;
    std::filesystem::path ca_file() const { return dir_.path / "cert.pem"; }
    /// The messages accepted so far, in order.
    std::vector<ReceivedMail> received() const;
    std::string log() const;

private:
    SmtpOptions options_;
    TempDir dir_;
    std::uint16_t port_ = 0;
    ScriptProcess process_;
};

/// "openssl req" for a self-signed localhost certificate (cert.pem, key.pem) in `dir`.
std::string make_test_certificate(const std::filesystem::path& dir);

}  // namespace rampart::test
