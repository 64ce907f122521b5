// `rampart fetch` against a real Dovecot on 127.0.0.1 (tests/harness/dovecot.hpp): everything
// in the mailbox ingests exactly as `rampart ingest` of the same messages would store it; every
// message ends in Archive or Invalid and none is deleted; a second fetch finds nothing; a
// connection cut anywhere, or a killed fetch, loses nothing and counts nothing twice; --no-move
// relies on the store's memory of UIDVALIDITY/UID; --watch picks up new mail (IDLE, or polling
// on a server without IDLE and MOVE) and stops cleanly on SIGTERM; passwords never show and
// password files must be owner-only; certificates are verified; rampart.toml lists mailboxes.
// Skipped when Dovecot is not installed, unless RAMPART_REQUIRE_REAL=1 (CI), which fails instead.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <thread>

#include "harness/dovecot.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rampart::test::CuttingProxy;
using rampart::test::Dovecot;
using rampart::test::DovecotOptions;

namespace {

using namespace std::chrono_literals;

struct Outcome {
    int status = -1;
    std::string out, err;
};

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
const std::string rampart = quote(RAMPART_BINARY);

/// Runs a shell command line; standard output and standard error are captured apart.
Outcome sh(const std::string& command, const fs::path& err_file) {
    auto run = rampart::test::shell(command + " 2>" + quote(err_file));
    Outcome r{run.status, std::move(run.out), rampart::test::read_file(err_file)};
    return r;
}

json parse(const Outcome& r) {
    auto doc = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << "not JSON: " << r.out << "\nstderr: " << r.err;
    return doc.is_discarded() ? json::object() : doc;
}

struct Message {
    std::string name, bytes;
};

/// The sample reports that arrive by e-mail: every .eml, the e-mail saved as .txt, the Maildir's
/// messages and the three messages of the mbox.
std::vector<Message> report_messages() {
    auto dir = rampart::test::source_dir() / "examples" / "reports";
    std::vector<Message> out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".eml" || e.path().filename() == "outlook-acme-20261102.txt")
            files.push_back(e.path());
    for (const char* sub : {"Maildir/cur", "Maildir/new"})
        for (const auto& e : fs::directory_iterator(dir / sub)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    // Delivered as new mail: a Maildir sample's ":2,S" (seen) flags are not part of its name.
    for (const auto& f : files) {
        auto name = f.filename().string();
        out.push_back({name.substr(0, name.find(':')), rampart::test::read_file(f)});
    }
    // mbox: a line "From " at the start or after an empty line begins the next message.
    auto mbox = rampart::test::read_file(dir / "mailbox.mbox");
    std::string current;
    bool in_message = false, prev_empty = true;
    int index = 0;
    std::size_t pos = 0;
    while (pos < mbox.size()) {
        auto nl = mbox.find('\n', pos);
        auto line = mbox.substr(pos, nl == std::string::npos ? std::string::npos : nl + 1 - pos);
        pos = nl == std::string::npos ? mbox.size() : nl + 1;
        if (prev_empty && line.starts_with("From ")) {
            if (in_message) out.push_back({"mbox-" + std::to_string(++index), current});
            current.clear();
            in_message = true;
            prev_empty = false;
            continue;
        }
        prev_empty = line == "\n" || line == "\r\n";
        current += line;
    }
    if (in_message) out.push_back({"mbox-" + std::to_string(++index), current});
    return out;
}

/// What strangers also send to a report address.
std::vector<Message> junk_messages() {
    std::vector<Message> out;
    out.push_back({"spam",
                   "From: deals@spam.example\r\nTo: dmarc@acme.example\r\nSubject: You won\r\n"
                   "Content-Type: text/html\r\n\r\n<html><body>Click</body></html>\r\n"});
    out.push_back(
        {"bounce",
         "From: MAILER-DAEMON@mx.example\r\nTo: dmarc@acme.example\r\nSubject: Undelivered\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
         "boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe message could not "
         "be delivered.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: "
         "dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@acme.example\r\nAction: failed\r\n"
         "Status: 5.1.1\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@acme.example\r\n"
         "Subject: hi\r\n\r\nhello\r\n--b1--\r\n"});
    out.push_back(
        {"malformed-mime",
         "From: r@broken.example\r\nSubject: Report domain: acme.example\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: "
         "application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAAA+3OMQ6C"
         "\r\n@@@@ not base64 @@@@\r\n"});
    // A report-sized attachment far over the --max-message the tests pass (200 000 bytes).
    std::string huge =
        "From: r@big.example\r\nSubject: Report domain: acme.example\r\nMIME-Version: 1.0\r\n"
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    for (int i = 0; i < 4000; ++i) huge += std::string(76, 'A') + "\r\n";
    out.push_back({"huge", huge});
    return out;
}

std::vector<std::string> rows(const fs::path& db, const std::string& sql) {
    std::vector<std::string> out;
    sqlite3* h = nullptr;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(h);
        return out;
    }
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr);
    while (s != nullptr && sqlite3_step(s) == SQLITE_ROW) {
        auto* t = sqlite3_column_text(s, 0);
        out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    return out;
}

const char* report_rows =
    "SELECT org_name || '|' || report_id || '|' || policy_domain || '|' || record_count || '|' || "
    "message_count FROM reports ORDER BY 1";
const char* failure_rows = "SELECT dedup_key FROM failure_reports ORDER BY 1";

bool require_real() {
    const char* v = std::getenv("RAMPART_REQUIRE_REAL");
    return v != nullptr && std::string_view(v) == "1";
}

/// Waits for a condition on the world outside (a mailbox on disk), up to a deadline.
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

class Imap : public ::testing::Test {
protected:
    virtual DovecotOptions server_options() { return {}; }

    void SetUp() override {
        if (auto why = Dovecot::missing(); !why.empty()) {
            if (require_real()) FAIL() << why << ", and RAMPART_REQUIRE_REAL=1 forbids skipping";
            GTEST_SKIP() << why << ": IMAP integration tests skipped";
        }
        server_ = std::make_unique<Dovecot>(server_options());
        ASSERT_EQ(server_->start(), "");
        dir_ = server_->dir() / "client";
        fs::create_directories(dir_);
        db_ = dir_ / "rampart.db";
        password_file_ = dir_ / "password";
        write_password(password_file_, server_->options().password, 0600);
    }

    void TearDown() override {
        if (HasFailure() && server_)
            std::cerr << "---- dovecot log ----\n" << server_->log() << "----\n";
    }

    static void write_password(const fs::path& p, const std::string& password, mode_t mode) {
        std::ofstream(p) << password << "\n";
        ::chmod(p.c_str(), mode);
    }

    /// `rampart fetch --json` with the database, password file and CA of this test, from a
    /// folder without rampart.toml, with no password or configuration in the environment.
    Outcome fetch(const std::string& args, const std::string& credentials = "") {
        auto creds = credentials.empty() ? "--password-file " + quote(password_file_) +
                                               " --ca-file " + quote(server_->ca_file())
                                         : credentials;
        return sh("cd " + quote(dir_) +
                      " && env -u RAMPART_IMAP_PASSWORD -u RAMPART_CONFIG -u RAMPART_DB " +
                      rampart + " fetch --json --db " + quote(db_) + " " + creds + " " + args,
                  dir_ / "stderr.txt");
    }

    void deliver(const std::vector<Message>& messages, const std::string& folder = "INBOX") {
        for (const auto& m : messages) server_->deliver(m.name, m.bytes, folder);
    }

    /// What `rampart ingest` stores from the same messages, as files.
    struct Expected {
        json outcome;
        std::vector<std::string> reports, failures;
    };
    Expected ingest_of(const std::vector<Message>& messages) {
        auto in = dir_ / "as-files";
        fs::create_directories(in);
        for (const auto& m : messages) std::ofstream(in / m.name, std::ios::binary) << m.bytes;
        auto db = dir_ / "ingest.db";
        auto r = sh(rampart + " ingest --json --db " + quote(db) + " " + quote(in),
                    dir_ / "ingest-err.txt");
        EXPECT_LE(r.status, 1) << r.err;
        return {parse(r), rows(db, report_rows), rows(db, failure_rows)};
    }

    std::unique_ptr<Dovecot> server_;
    fs::path dir_, db_, password_file_;
};

constexpr const char* contract_keys[] = {"reports_new",
                                         "reports_duplicate",
                                         "failure_reports_new",
                                         "failure_reports_duplicate",
                                         "records",
                                         "messages",
                                         "emails",
                                         "inputs",
                                         "files_rejected",
                                         "messages_seen",
                                         "messages_moved"};

TEST_F(Imap, FetchStoresWhatIngestStoresAndFilesEveryMessage) {
    auto reports = report_messages();
    auto junk = junk_messages();
    ASSERT_EQ(reports.size(), 17u);
    deliver(reports);
    deliver(junk);
    auto want = ingest_of(reports);
    ASSERT_FALSE(want.reports.empty());

    auto r = fetch(server_->url() + " --max-message 200000");
    EXPECT_EQ(r.status, 1) << r.err;  // some messages held no report
    auto got = parse(r);
    for (auto key : contract_keys) EXPECT_TRUE(got.contains(key)) << key;
    EXPECT_EQ(got["messages_seen"], reports.size() + junk.size());
    EXPECT_EQ(got["messages_moved"], reports.size() + junk.size());
    for (auto key : {"reports_new", "failure_reports_new", "records", "messages"})
        EXPECT_EQ(got[key], want.outcome[key]) << key;
    EXPECT_EQ(rows(db_, report_rows), want.reports);
    EXPECT_EQ(rows(db_, failure_rows), want.failures);

    // Filed, never deleted: reports to Archive, the rest to Invalid, each with its reason.
    EXPECT_EQ(server_->count("INBOX"), 0u);
    EXPECT_EQ(server_->count("Archive"), reports.size());
    EXPECT_EQ(server_->count("Invalid"), junk.size());
    ASSERT_EQ(got["files_rejected"].size(), junk.size()) << got["files_rejected"].dump(2);
    std::string reasons = got["files_rejected"].dump();
    EXPECT_NE(reasons.find("larger than the limit of 200000 bytes"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("no DMARC report found"), std::string::npos) << reasons;
    for (const auto& j : junk)
        EXPECT_NE(r.err.find("moving to Invalid"), std::string::npos) << j.name;

    // A second fetch finds nothing new.
    auto again = fetch(server_->url());
    EXPECT_EQ(again.status, 0) << again.err;
    auto second = parse(again);
    EXPECT_EQ(second["messages_seen"], 0);
    EXPECT_EQ(second["reports_new"], 0);
    EXPECT_EQ(second["reports_duplicate"], 0);
    EXPECT_EQ(rows(db_, report_rows), want.reports);
}

TEST_F(Imap, NoMoveLeavesMessagesUnreadAndTheStoreRemembersThemAcrossUidValidity) {
    auto reports = report_messages();
    deliver(reports);
    auto first = fetch(server_->url() + " --no-move");
    ASSERT_EQ(first.status, 0) << first.err;
    auto a = parse(first);
    EXPECT_EQ(a["messages_seen"], reports.size());
    EXPECT_EQ(a["messages_moved"], 0);
    EXPECT_EQ(server_->count("INBOX"), reports.size());
    EXPECT_FALSE(fs::exists(server_->folder("Archive")));
    // BODY.PEEK[] and EXAMINE: not one message was marked \Seen.
    for (const char* sub : {"cur", "new"})
        for (const auto& e : fs::directory_iterator(server_->folder("INBOX") / sub)) {
            auto name = e.path().filename().string();
            auto info = name.find(":2,");
            EXPECT_TRUE(info == std::string::npos || name.find('S', info) == std::string::npos)
                << name;
        }

    auto second = fetch(server_->url() + " --no-move");
    ASSERT_EQ(second.status, 0) << second.err;
    auto b = parse(second);
    EXPECT_EQ(b["messages_seen"], 0);
    EXPECT_EQ(b["messages_skipped"], reports.size());
    EXPECT_EQ(b["reports_new"], 0);
    EXPECT_EQ(b["reports_duplicate"], 0);

    // The server forgets its UIDs: every message is new to Rampart again, and report identity
    // keeps anything from being counted twice.
    auto stored = rows(db_, report_rows);
    ASSERT_EQ(server_->reset_uids(), "");
    auto third = fetch(server_->url() + " --no-move");
    ASSERT_EQ(third.status, 0) << third.err;
    auto c = parse(third);
    EXPECT_EQ(c["messages_seen"], reports.size());
    EXPECT_EQ(c["reports_new"], 0);
    EXPECT_EQ(c["failure_reports_new"], 0);
    EXPECT_EQ(c["reports_duplicate"].get<std::size_t>(), stored.size());
    EXPECT_EQ(rows(db_, report_rows), stored);
}

TEST_F(Imap, AConnectionCutAnywhereLosesNothingAndCountsNothingTwice) {
    auto reports = report_messages();
    auto want = ingest_of(reports);
    // How many bytes a whole fetch takes from the server, through a proxy that cuts nothing.
    std::uint64_t total = 0;
    {
        Dovecot probe(server_options());
        ASSERT_EQ(probe.start(), "");
        for (const auto& m : reports) probe.deliver(m.name, m.bytes);
        CuttingProxy proxy(probe.imaps_port(), 0, 0);
        auto r = sh(rampart + " fetch --json --db " + quote(dir_ / "probe.db") +
                        " --password-file " + quote(password_file_) + " --ca-file " +
                        quote(probe.ca_file()) + " " + probe.url("INBOX", true, proxy.port()),
                    dir_ / "probe-err.txt");
        ASSERT_EQ(r.status, 0) << r.err;
        total = proxy.server_bytes();
    }
    ASSERT_GT(total, 20'000u);
    // Cut in the TLS handshake, in the listing, inside a message, and among the moves.
    for (std::uint64_t cut : {std::uint64_t{600}, total / 10, total / 2, total - 400}) {
        SCOPED_TRACE("cut after " + std::to_string(cut) + " of " + std::to_string(total) +
                     " bytes");
        Dovecot server(server_options());
        ASSERT_EQ(server.start(), "");
        for (const auto& m : reports) server.deliver(m.name, m.bytes);
        CuttingProxy proxy(server.imaps_port(), cut, 1);
        auto db = dir_ / ("cut-" + std::to_string(cut) + ".db");
        auto r = sh(rampart + " fetch --json --db " + quote(db) + " --password-file " +
                        quote(password_file_) + " --ca-file " + quote(server.ca_file()) + " " +
                        server.url("INBOX", true, proxy.port()),
                    dir_ / "cut-err.txt");
        EXPECT_EQ(r.status, 0) << r.err << server.log();
        EXPECT_EQ(proxy.cuts(), 1);
        auto got = parse(r);
        EXPECT_EQ(got["reports_new"], want.outcome["reports_new"]);
        EXPECT_EQ(got["failure_reports_new"], want.outcome["failure_reports_new"]);
        EXPECT_EQ(rows(db, report_rows), want.reports);
        EXPECT_EQ(rows(db, failure_rows), want.failures);
        EXPECT_EQ(server.count("INBOX"), 0u);
        EXPECT_EQ(server.count("Archive"), reports.size());
        EXPECT_EQ(server.count("Invalid"), 0u);
    }
}

TEST_F(Imap, AFetchKilledAnywhereIsCompletedExactlyByTheNextOne) {
    auto reports = report_messages();
    auto want = ingest_of(reports);
    std::mt19937 rng(11);
    for (int attempt = 0; attempt < 3; ++attempt) {
        Dovecot server(server_options());
        ASSERT_EQ(server.start(), "");
        for (const auto& m : reports) server.deliver(m.name, m.bytes);
        auto db = dir_ / ("killed-" + std::to_string(attempt) + ".db");
        auto url = server.url();
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, STDOUT_FILENO);
            ::dup2(null, STDERR_FILENO);
            ::execl(RAMPART_BINARY, "rampart", "fetch", "--db", db.c_str(), "--password-file",
                    password_file_.c_str(), "--ca-file", server.ca_file().c_str(), url.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 250)(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        auto r = sh(rampart + " fetch --json --db " + quote(db) + " --password-file " +
                        quote(password_file_) + " --ca-file " + quote(server.ca_file()) + " " + url,
                    dir_ / "rerun-err.txt");
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(rows(db, report_rows), want.reports);
        EXPECT_EQ(rows(db, failure_rows), want.failures);
        EXPECT_EQ(server.count("INBOX"), 0u);
        EXPECT_EQ(server.count("Archive"), reports.size());
    }
}

/// Runs `rampart fetch --watch --json`, delivers a message once the first ones are filed, waits
/// for it to be filed too, then stops the process with SIGTERM.
void watch_and_stop(Dovecot& server, const fs::path& db, const fs::path& password) {
    auto reports = report_messages();
    std::vector<Message> first(reports.begin(), reports.begin() + 5);
    for (const auto& m : first) server.deliver(m.name, m.bytes);
    auto out = server.dir() / "watch.json";
    auto err = server.dir() / "watch.err";
    auto url = server.url();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, STDOUT_FILENO);
        ::dup2(e, STDERR_FILENO);
        ::execl(RAMPART_BINARY, "rampart", "fetch", "--watch", "--json", "--poll-interval", "1",
                "--db", db.c_str(), "--password-file", password.c_str(), "--ca-file",
                server.ca_file().c_str(), url.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    bool filed = eventually([&] { return server.count("Archive") == first.size(); });
    EXPECT_TRUE(filed) << rampart::test::read_file(err);
    server.deliver("late-arrival", reports.back().bytes);
    bool picked_up = eventually([&] { return server.count("Archive") == first.size() + 1; });
    EXPECT_TRUE(picked_up) << rampart::test::read_file(err);
    // Without MOVE the copy shows before the original goes: wait for the expunge too.
    EXPECT_TRUE(eventually([&] { return server.count("INBOX") == 0; }));
    ::kill(pid, SIGTERM);
    int status = 0;
    bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s);
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    ASSERT_TRUE(exited) << "rampart fetch --watch did not stop on SIGTERM";
    ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0) << rampart::test::read_file(err);
    auto doc = json::parse(rampart::test::read_file(out), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << rampart::test::read_file(out);
    EXPECT_EQ(doc["messages_seen"], first.size() + 1);
    EXPECT_EQ(doc["messages_moved"], first.size() + 1);
    // Flushed before exiting: everything it counted is in the database.
    EXPECT_EQ(rows(db, "SELECT COUNT(*) FROM mailbox_messages"),
              std::vector<std::string>{std::to_string(first.size() + 1)});
}

TEST_F(Imap, WatchPicksUpANewMessageWithIdleAndStopsCleanlyOnSigterm) {
    watch_and_stop(*server_, db_, password_file_);
}

class ImapWithoutIdleOrMove : public Imap {
protected:
    DovecotOptions server_options() override {
        DovecotOptions o;
        o.idle_and_move = false;
        return o;
    }
};

TEST_F(ImapWithoutIdleOrMove, WatchPollsAndMovesByCopyStoreAndExpunge) {
    watch_and_stop(*server_, db_, password_file_);
}

TEST_F(Imap, AWrongPasswordExitsTwoAndIsNeverShown) {
    const std::string wrong = "wrong-Pa55word-7f3a";
    write_password(password_file_, wrong, 0600);
    auto r = fetch(server_->url());
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("refused the login for user dmarc"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(wrong), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find(wrong), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(server_->options().password), std::string::npos);

    // The same through the environment. (A fresh server: Dovecot makes a second failed login
    // from the same address wait seconds, its auth penalty, which lives as long as the server.)
    server_->stop();
    ASSERT_EQ(server_->start(), "");
    auto e = sh("cd " + quote(dir_) + " && RAMPART_IMAP_PASSWORD='" + wrong + "' " + rampart +
                    " fetch --db " + quote(db_) + " --ca-file " + quote(server_->ca_file()) + " " +
                    server_->url(),
                dir_ / "env-err.txt");
    EXPECT_EQ(e.status, 2);
    EXPECT_EQ((e.out + e.err).find(wrong), std::string::npos) << e.err;

    // A password in the URL is refused before anything is sent.
    auto u = fetch("imaps://dmarc:" + wrong +
                   "@localhost:" + std::to_string(server_->imaps_port()) + "/INBOX");
    EXPECT_EQ(u.status, 2);
    EXPECT_NE(u.err.find("must not contain a password"), std::string::npos) << u.err;
    EXPECT_EQ((u.out + u.err).find(wrong), std::string::npos) << u.err;
}

TEST_F(Imap, APasswordFileOthersCanReadIsRefused) {
    ::chmod(password_file_.c_str(), 0644);
    auto r = fetch(server_->url());
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(password_file_.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("mode 0644"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(db_));
}

TEST_F(Imap, ThePasswordComesFromAFileOrTheEnvironmentAndIsRequired) {
    deliver({report_messages().front()});
    auto none = fetch(server_->url(), "--ca-file " + quote(server_->ca_file()));
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.err.find("no password for dmarc@localhost"), std::string::npos) << none.err;
    auto env = sh("cd " + quote(dir_) + " && RAMPART_IMAP_PASSWORD='" +
                      server_->options().password + "' " + rampart + " fetch --json --db " +
                      quote(db_) + " --ca-file " + quote(server_->ca_file()) + " " + server_->url(),
                  dir_ / "env-err.txt");
    EXPECT_EQ(env.status, 0) << env.err;
    EXPECT_EQ(parse(env)["messages_seen"], 1);
}

TEST_F(Imap, CertificatesAreVerifiedUnlessTurnedOffExplicitly) {
    auto unverified = fetch(server_->url(), "--password-file " + quote(password_file_));
    EXPECT_EQ(unverified.status, 2);
    EXPECT_NE(unverified.err.find("certificate could not be verified"), std::string::npos)
        << unverified.err;
    EXPECT_NE(unverified.err.find("--ca-file"), std::string::npos);
    EXPECT_EQ(fetch(server_->url()).status, 0);
    EXPECT_EQ(
        fetch(server_->url(), "--password-file " + quote(password_file_) + " --insecure").status,
        0);
    // imap:// upgrades with STARTTLS, and is verified the same way.
    EXPECT_EQ(fetch(server_->url("INBOX", false)).status, 0);
    auto starttls = fetch(server_->url("INBOX", false), "--password-file " + quote(password_file_));
    EXPECT_EQ(starttls.status, 2);
    EXPECT_NE(starttls.err.find("certificate could not be verified"), std::string::npos)
        << starttls.err;
}

TEST_F(Imap, TheConfigurationFileListsMailboxesWithTheirOwnFolders) {
    auto reports = report_messages();
    std::vector<Message> a(reports.begin(), reports.begin() + 4),
        b(reports.begin() + 4, reports.begin() + 7);
    deliver(a);
    deliver(b, "Reports");
    std::ofstream(dir_ / "rampart.toml")
        << "# two mailboxes of one account\n"
        << "[[mailbox]]\nurl = \"" << server_->url() << "\"\npassword_file = \"password\"\n"
        << "ca_file = \"" << server_->ca_file().string()
        << "\"\narchive = \"Done\"\nclient = \"acme\"\n\n"
        << "[[mailbox]]\nurl = \"" << server_->url("Reports")
        << "\"\npassword_file = \"password\"\n"
        << "ca_file = \"" << server_->ca_file().string() << "\"\n";
    // ./rampart.toml is read when no URL is given.
    auto r = sh("cd " + quote(dir_) + " && env -u RAMPART_IMAP_PASSWORD -u RAMPART_CONFIG " +
                    rampart + " fetch --json --db " + quote(db_),
                dir_ / "stderr.txt");
    ASSERT_EQ(r.status, 0) << r.err;
    auto got = parse(r);
    EXPECT_EQ(got["messages_seen"], a.size() + b.size());
    ASSERT_EQ(got["mailboxes"].size(), 2u);
    EXPECT_EQ(got["mailboxes"][0]["client"], "acme");
    EXPECT_EQ(server_->count("Done"), a.size());
    EXPECT_EQ(server_->count("Archive"), b.size());
    EXPECT_EQ(server_->count("INBOX"), 0u);
    EXPECT_EQ(server_->count("Reports"), 0u);

    // A mistake in the file is reported with its place, and nothing is fetched.
    std::ofstream(dir_ / "bad.toml")
        << "[[mailbox]]\nurl = \"" << server_->url() << "\"\narchiv = \"X\"\n";
    auto bad =
        sh("cd " + quote(dir_) + " && " + rampart + " fetch --config bad.toml --db " + quote(db_),
           dir_ / "stderr.txt");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("bad.toml: line 3 col 1"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("unknown key 'archiv'"), std::string::npos) << bad.err;
}

TEST_F(Imap, WatchingSeveralConfiguredMailboxesAtOnce) {
    auto reports = report_messages();
    std::ofstream(dir_ / "watch.toml")
        << "[[mailbox]]\nurl = \"" << server_->url() << "\"\npassword_file = \"password\"\n"
        << "ca_file = \"" << server_->ca_file().string() << "\"\n"
        << "[[mailbox]]\nurl = \"" << server_->url("Reports")
        << "\"\npassword_file = \"password\"\n"
        << "ca_file = \"" << server_->ca_file().string() << "\"\narchive = \"Reports-done\"\n";
    deliver({reports[0]});
    deliver({reports[1]}, "Reports");
    auto out = dir_ / "watch.json", err = dir_ / "watch.err";
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, STDOUT_FILENO);
        ::dup2(e, STDERR_FILENO);
        ::execl(RAMPART_BINARY, "rampart", "fetch", "--watch", "--json", "--config",
                (dir_ / "watch.toml").c_str(), "--db", db_.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    EXPECT_TRUE(eventually([&] {
        return server_->count("Archive") == 1 && server_->count("Reports-done") == 1;
    })) << rampart::test::read_file(err);
    deliver({reports[2]}, "Reports");
    deliver({reports[3]});
    EXPECT_TRUE(eventually([&] {
        return server_->count("Archive") == 2 && server_->count("Reports-done") == 2;
    })) << rampart::test::read_file(err);
    ::kill(pid, SIGTERM);
    int status = 0;
    bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s);
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    ASSERT_TRUE(exited);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << rampart::test::read_file(err);
    auto doc = json::parse(rampart::test::read_file(out), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << rampart::test::read_file(out);
    EXPECT_EQ(doc["messages_seen"], 4);
    EXPECT_EQ(doc["mailboxes"].size(), 2u);
    EXPECT_EQ(rows(db_, "SELECT COUNT(*) FROM mailbox_messages"), std::vector<std::string>{"4"});
}

}  // namespace
