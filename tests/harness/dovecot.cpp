#include "harness/dovecot.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace rampart::test {
namespace fs = std::filesystem;

namespace {

constexpr const char* dovecot_binary = "/usr/sbin/dovecot";

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::stringstream ss(dirs);
    for (std::string d; std::getline(ss, d, ':');)
        if (::access((fs::path(d) / name).c_str(), X_OK) == 0) return true;
    return false;
}

int connect_loopback(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// True once the plain-text listener sends its "* OK" greeting.
bool greets(std::uint16_t port) {
    int fd = connect_loopback(port);
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    std::string got;
    if (::poll(&p, 1, 2000) > 0) {
        char buf[256];
        auto n = ::read(fd, buf, sizeof buf);
        if (n > 0) got.assign(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return got.starts_with("* OK");
}

}  // namespace

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) ::close(fd);
        return 0;
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string Dovecot::missing() {
    if (::access(dovecot_binary, X_OK) != 0)
        return "Dovecot is not installed (/usr/sbin/dovecot; Debian package dovecot-imapd)";
    if (!find_on_path("openssl"))
        return "openssl is not installed (needed for the test certificate)";
    return {};
}

Dovecot::Dovecot(DovecotOptions options) : options_(std::move(options)) {
    std::string tmpl = (fs::temp_directory_path() / "rampart-dovecot-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
    // Dovecot's unprivileged processes must be able to reach their sockets in here.
    ::chmod(dir_.c_str(), 0755);
    root_ = ::geteuid() == 0;
    if (root_) {
        // Dovecot never serves mail as root: the mail belongs to nobody:nogroup.
        const passwd* nobody = ::getpwnam("nobody");
        mail_uid_ = nobody ? nobody->pw_uid : 65534;
        mail_gid_ = nobody ? nobody->pw_gid : 65534;
    } else {
        mail_uid_ = ::getuid();
        mail_gid_ = ::getgid();
    }
}

Dovecot::~Dovecot() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void Dovecot::own(const fs::path& p) const {
    if (root_) (void)::chown(p.c_str(), mail_uid_, mail_gid_);
}

fs::path Dovecot::folder(const std::string& name) const {
    auto root = dir_ / "mail" / options_.user;
    return name == "INBOX" ? root : root / ("." + name);
}

std::string Dovecot::url(const std::string& folder, bool implicit_tls,
                         std::optional<std::uint16_t> port) const {
    return (implicit_tls ? "imaps://" : "imap://") + options_.user +
           "@localhost:" + std::to_string(port.value_or(implicit_tls ? imaps_port_ : imap_port_)) +
           "/" + folder;
}

void Dovecot::deliver(const std::string& name, std::string_view bytes,
                      const std::string& folder_name) {
    auto f = folder(folder_name);
    for (const char* sub : {"", "tmp", "new", "cur"}) {
        fs::create_directories(f / sub);
        own(f / sub);
    }
    auto tmp = f / "tmp" / name;
    std::ofstream(tmp, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    own(tmp);
    fs::rename(tmp, f / "new" / name);
}

std::size_t Dovecot::count(const std::string& folder_name) const {
    std::size_t n = 0;
    std::error_code ec;
    for (const char* sub : {"new", "cur"})
        for (fs::directory_iterator it(folder(folder_name) / sub, ec), end; !ec && it != end;
             it.increment(ec))
            if (it->is_regular_file()) ++n;
    return n;
}

std::string Dovecot::log() const {
    return read_all(dir_ / "dovecot.log") + read_all(dir_ / "dovecot.out");
}

void Dovecot::write_config() const {
    auto d = dir_.string();
    std::string internal_user, internal_group, login_user;
    if (root_) {
        internal_user = internal_group = "dovecot";
        login_user = "dovenull";
    } else {
        const passwd* me = ::getpwuid(::getuid());
        const group* g = ::getgrgid(::getgid());
        internal_user = login_user = me ? me->pw_name : "nobody";
        internal_group = g ? g->gr_name : "nogroup";
    }
    std::ofstream c(dir_ / "dovecot.conf");
    c << "# Written by the Rampart test harness; a throw-away server on 127.0.0.1.\n"
      << "base_dir = " << d << "/run\n"
      << "state_dir = " << d << "/state\n"
      << "instance_name = rampart-test-" << ::getpid() << "-" << imaps_port_ << "\n"
      << "log_path = " << d << "/dovecot.log\n"
      << "protocols = imap\n"
      << "listen = 127.0.0.1\n"
      << "ssl = required\n"
      << "ssl_cert = <" << d << "/cert.pem\n"
      << "ssl_key = <" << d << "/key.pem\n"
      << "disable_plaintext_auth = yes\n"
      << "auth_mechanisms = plain login\n"
      << "auth_failure_delay = 0\n"

      << "mailbox_idle_check_interval = 1 secs\n"
      << "first_valid_uid = " << mail_uid_ << "\n"
      << "first_valid_gid = " << mail_gid_ << "\n"
      << "default_internal_user = " << internal_user << "\n"
      << "default_internal_group = " << internal_group << "\n"
      << "default_login_user = " << login_user << "\n"
      << "mail_location = maildir:" << d << "/mail/%u\n"
      << "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u " << d
      << "/users\n}\n"
      << "userdb {\n  driver = static\n  args = uid=" << mail_uid_ << " gid=" << mail_gid_
      << " home=" << d << "/home/%u\n}\n"
      << "service imap-login {\n"
      << "  chroot =\n"
      << "  inet_listener imap {\n    address = 127.0.0.1\n    port = " << imap_port_ << "\n  }\n"
      << "  inet_listener imaps {\n    address = 127.0.0.1\n    port = " << imaps_port_
      << "\n    ssl = yes\n  }\n}\n"
      << "service anvil {\n  chroot =\n}\n";
    if (root_) c << "service auth {\n  user = root\n}\n";
    if (!options_.idle_and_move)
        c << "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT "
             "THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
             "I18NLEVEL=1 ESEARCH SEARCHRES WITHIN LITERAL+\n";
}

std::string Dovecot::start() {
    // A port found free may be taken by a parallel test before Dovecot binds it: then start
    // again on other ports (only on a first start; a restart keeps the URLs the test holds).
    bool fresh = imaps_port_ == 0;
    for (int attempt = 0;; ++attempt) {
        auto error = launch();
        if (error.empty() || !fresh || attempt == 3 ||
            error.find("Address already in use") == std::string::npos)
            return error;
        imaps_port_ = imap_port_ = 0;
    }
}

std::string Dovecot::launch() {
    if (dir_.empty()) return "cannot create a temporary folder";
    if (imaps_port_ == 0) {
        imaps_port_ = free_port();
        imap_port_ = free_port();
        if (imaps_port_ == 0 || imap_port_ == 0 || imaps_port_ == imap_port_)
            return "no free port on 127.0.0.1";
    }
    if (!fs::exists(dir_ / "cert.pem")) {
        auto cmd = "cd '" + dir_.string() +
                   "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                   "-keyout key.pem -out cert.pem -days 2 -subj /CN=localhost "
                   "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >openssl.log 2>&1";
        if (std::system(cmd.c_str()) != 0)
            return "openssl could not make the test certificate: " + read_all(dir_ / "openssl.log");
        ::chmod((dir_ / "key.pem").c_str(), 0600);
        std::ofstream(dir_ / "users") << options_.user << ":{PLAIN}" << options_.password << "\n";
        ::chmod((dir_ / "users").c_str(), 0600);
        for (auto p : {dir_ / "mail", dir_ / "home", dir_ / "mail" / options_.user}) {
            fs::create_directories(p);
            own(p);
        }
        for (const char* sub : {"tmp", "new", "cur"}) {
            fs::create_directories(folder("INBOX") / sub);
            own(folder("INBOX") / sub);
        }
    }
    write_config();
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
        // Its own process group, so that stop() reaches every Dovecot process at once (the
        // master alone waits a second for its children); and it dies with the test process.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        int out = ::open((dir_ / "dovecot.out").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        }
        ::execl(dovecot_binary, "dovecot", "-F", "-c", (dir_ / "dovecot.conf").c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return "dovecot exited at start:\n" + log();
        }
        if (greets(imap_port_)) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return "dovecot did not answer within 15 s:\n" + log();
}

void Dovecot::stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
}

std::string Dovecot::reset_uids(const std::string& folder_name) {
    stop();
    std::error_code ec;
    for (const auto& dir : {folder(folder_name), folder("INBOX")})
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            // The UID list and the indexes go; dovecot-uidvalidity stays, so the next
            // UIDVALIDITY is a new value even within the same second.
            auto name = it->path().filename().string();
            if (name == "dovecot-uidlist" || name.starts_with("dovecot.index") ||
                name.starts_with("dovecot.list.index"))
                fs::remove(it->path(), ec);
        }
    return start();
}

CuttingProxy::CuttingProxy(std::uint16_t target, std::uint64_t cut_after, int cut_connections)
    : target_(target), cut_after_(cut_after), cut_connections_(cut_connections) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_, 8);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
}

CuttingProxy::~CuttingProxy() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
}

void CuttingProxy::serve() {
    // One connection at a time is all a fetch opens; each is relayed to its end before the next
    // is accepted.
    while (!stopping_) {
        pollfd l{listener_, POLLIN, 0};
        if (::poll(&l, 1, 50) <= 0) continue;
        int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        int server = connect_loopback(target_);
        int index = connections_++;
        bool cutting = index < cut_connections_;
        std::uint64_t from_server = 0;
        char buf[16 * 1024];
        while (server >= 0 && !stopping_) {
            pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
            if (::poll(p, 2, 50) <= 0) continue;
            if (p[0].revents != 0) {
                auto n = ::read(client, buf, sizeof buf);
                if (n <= 0 || ::write(server, buf, static_cast<std::size_t>(n)) != n) break;
            }
            if (p[1].revents != 0) {
                auto n = ::read(server, buf, sizeof buf);
                if (n <= 0) break;
                auto give = static_cast<std::uint64_t>(n);
                if (cutting && from_server + give > cut_after_) give = cut_after_ - from_server;
                if (give > 0 && ::write(client, buf, give) != static_cast<ssize_t>(give)) break;
                from_server += give;
                server_bytes_ += give;
                if (cutting && from_server >= cut_after_) {
                    ++cuts_;
                    break;
                }
            }
        }
        ::close(client);
        if (server >= 0) ::close(server);
    }
}

}  // namespace rampart::test
