#include "harness/smtp.hpp"

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

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "harness/dovecot.hpp"  // free_port

namespace rampart::test {
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// True once 127.0.0.1:port accepts, and sends a line starting with `greeting` if one is given.
bool answers(std::uint16_t port, const std::string& greeting) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (ok && !greeting.empty()) {
        pollfd p{fd, POLLIN, 0};
        std::string got;
        if (::poll(&p, 1, 2000) > 0) {
            char buf[256];
            auto n = ::read(fd, buf, sizeof buf);
            if (n > 0) got.assign(buf, static_cast<std::size_t>(n));
        }
        ok = got.starts_with(greeting);
    }
    ::close(fd);
    return ok;
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
}

ScriptProcess::~ScriptProcess() { stop(); }

std::string ScriptProcess::start(const fs::path& script, const std::vector<std::string>& args,
                                 const fs::path& log, std::uint16_t port,
                                 const std::string& greeting) {
    std::vector<std::string> argv = {system_python, script.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        }
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(system_python, cargv.data());
        ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return script.filename().string() + " exited at start:\n" + read_all(log);
        }
        if (answers(port, greeting)) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return script.filename().string() + " did not answer within 15 s:\n" + read_all(log);
}

void ScriptProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string make_test_certificate(const fs::path& dir) {
    auto cmd = "cd '" + dir.string() +
               "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
               "-keyout key.pem -out cert.pem -days 2 -subj /CN=localhost "
               "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >openssl.log 2>&1";
    if (std::system(cmd.c_str()) != 0)
        return "openssl could not make the test certificate: " + read_all(dir / "openssl.log");
    ::chmod((dir / "key.pem").c_str(), 0600);
    return {};
}

std::string SmtpServer::missing() {
    if (::access(system_python, X_OK) != 0) return "python3 is not installed (/usr/bin/python3)";
    std::string probe = std::string(system_python) + " -c 'import aiosmtpd' >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0)
        return "aiosmtpd is not installed (Debian package python3-aiosmtpd)";
    if (std::system("openssl version >/dev/null 2>&1") != 0)
        return "openssl is not installed (needed for the test certificate)";
    return {};
}

SmtpServer::SmtpServer(SmtpOptions options) : options_(std::move(options)), dir_("rampart-smtp") {}

SmtpServer::~SmtpServer() { process_.stop(); }

std::string SmtpServer::url() const { return "smtp://localhost:" + std::to_string(port_); }

std::string SmtpServer::start() {
    if (dir_.path.empty()) return "cannot create a temporary folder";
    if (auto error = make_test_certificate(dir_.path); !error.empty()) return error;
    fs::create_directories(dir_.path / "mail");
    std::vector<std::string> args = {"--out",  (dir_.path / "mail").string(),
                                     "--cert", (dir_.path / "cert.pem").string(),
                                     "--key",  (dir_.path / "key.pem").string()};
    if (!options_.password.empty()) {
        auto file = dir_.path / "server.pass";
        std::ofstream(file) << options_.password << "\n";
        ::chmod(file.c_str(), 0600);
        args.insert(args.end(), {"--user", options_.user, "--password-file", file.string()});
    }
    // A port found free may be taken before the server binds it: then try another.
    std::string error;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_port();
        auto with_port = args;
        with_port.insert(with_port.end(), {"--port", std::to_string(port_)});
        error = process_.start(fs::path(RAMPART_SOURCE_DIR) / "tests/harness/smtp_server.py",
                               with_port, dir_.path / "server.log", port_, "220");
        if (error.empty() || error.find("address already in use") == std::string::npos) break;
    }
    return error;
}

std::vector<ReceivedMail> SmtpServer::received() const {
    std::vector<ReceivedMail> out;
    for (int i = 1;; ++i) {
        auto base = dir_.path / "mail" / std::to_string(i);
        if (!fs::exists(base.string() + ".json")) break;
        auto doc = nlohmann::json::parse(read_all(base.string() + ".json"));
        ReceivedMail m;
        m.mail_from = doc.value("mail_from", "");
        m.rcpt_tos = doc.value("rcpt_tos", std::vector<std::string>{});
        m.tls = doc.value("tls", false);
        if (doc["login"].is_string()) m.login = doc["login"];
        m.data = read_all(base.string() + ".eml");
        out.push_back(std::move(m));
    }
    return out;
}

std::string SmtpServer::log() const { return read_all(dir_.path / "server.log"); }

}  // namespace rampart::test
