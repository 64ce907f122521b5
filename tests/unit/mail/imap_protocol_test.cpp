// mail/imap protocol: responses are read by RFC 9051's rules (a "{N}" at the end of a line is
// followed by exactly N bytes of literal), so message bytes can never pass for protocol; every
// line and literal is capped; and the Session commands are the ones RFC 6851 and RFC 2177
// prescribe. The server here is a script: each command line sent gets the bytes it returns, and
// those arrive a few bytes at a time, as TCP may deliver them.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>

#include "mail/imap/protocol.hpp"

namespace rampart::mail::imap::detail {
namespace {

using namespace std::chrono_literals;

class ScriptedServer final : public Transport {
public:
    using Handler = std::function<std::string(const std::string& tag, const std::string& command)>;
    explicit ScriptedServer(Handler handler, std::size_t chunk = 7)
        : handler_(std::move(handler)), chunk_(chunk) {}

    Result<void> send(std::string_view bytes, std::chrono::milliseconds) override {
        if (closed) return fail(Errc::transient, "closed");
        pending_ += bytes;
        for (auto nl = pending_.find("\r\n"); nl != std::string::npos; nl = pending_.find("\r\n")) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 2);
            sent.push_back(line);
            auto space = line.find(' ');
            std::string tag = space == std::string::npos ? line : line.substr(0, space);
            std::string cmd = space == std::string::npos ? "" : line.substr(space + 1);
            inbound_ += handler_(tag, cmd);
        }
        return {};
    }
    Result<std::size_t> receive(std::span<char> buffer, std::chrono::milliseconds) override {
        if (inbound_.empty()) {
            if (closed || hang_up_when_empty)
                return fail(Errc::transient, "the server closed the connection");
            return std::size_t{0};
        }
        auto n = std::min({buffer.size(), chunk_, inbound_.size()});
        std::copy_n(inbound_.begin(), n, buffer.begin());
        inbound_.erase(0, n);
        return n;
    }
    void push(std::string bytes) { inbound_ += bytes; }

    std::vector<std::string> sent;
    bool closed = false;
    bool hang_up_when_empty = false;

private:
    Handler handler_;
    std::size_t chunk_;
    std::string pending_, inbound_;
};

Response read_one(std::string bytes, std::uint64_t cap = Protocol::small_literal) {
    ScriptedServer server([](auto&, auto&) { return std::string(); });
    server.push(std::move(bytes));
    Protocol p(server, 1s);
    auto r = p.read(cap);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : Response{};
}

TEST(ImapProtocol, ALiteralIsReadByCountSoItsLinesNeverPassForResponses) {
    // A stranger's message that contains what looks like the end of the command.
    std::string body = "Subject: x\r\n\r\nR1 OK done\r\n* BYE\r\n";
    auto r = read_one(
        fmt::format("* 1 FETCH (UID 7 BODY[] {{{}}}\r\n{})\r\nR1 OK\r\n", body.size(), body));
    ASSERT_EQ(r.kind, Response::Kind::untagged);
    ASSERT_EQ(r.literals.size(), 1u);
    EXPECT_EQ(r.literals[0], body);
    auto f = parse_fetch(r);
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->uid, 7u);
    ASSERT_TRUE((*f)->body_literal);
    EXPECT_EQ(r.literals[*(*f)->body_literal], body);
}

TEST(ImapProtocol, ALiteralOverTheCapIsReadAndDroppedAndTheStreamStaysInStep) {
    std::string body(5000, 'x');
    ScriptedServer server([](auto&, auto&) { return std::string(); }, 512);
    server.push(
        fmt::format("* 1 FETCH (UID 7 BODY[] {{{}}}\r\n{})\r\n* 2 EXISTS\r\n", body.size(), body));
    Protocol p(server, 1s);
    auto r = p.read(1000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->dropped_literal, 5000u);
    EXPECT_TRUE(r->literals.at(0).empty());
    auto next = p.read();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->text, "2 EXISTS");
}

TEST(ImapProtocol, LinesAreCappedAndNulIsRefused) {
    ScriptedServer server([](auto&, auto&) { return std::string(); }, 1 << 16);
    server.push("* " + std::string(Protocol::max_line + 10, 'a'));
    Protocol p(server, 1s);
    auto r = p.read();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::malformed);
    EXPECT_TRUE(p.broken());

    ScriptedServer nul([](auto&, auto&) { return std::string(); });
    nul.push(std::string("* OK a\0b\r\n", 10));
    Protocol q(nul, 1s);
    auto s = q.read();
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().reason.find("NUL"), std::string::npos);
}

TEST(ImapProtocol, SilenceIsATransientFailure) {
    ScriptedServer server([](auto&, auto&) { return std::string(); });
    server.push("* OK partial");
    Protocol p(server, 1ms);
    auto r = p.read();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::transient);
}

TEST(ImapProtocol, FetchAttributesAnyOrderFlagsAndSectionsWithSpaces) {
    Response r;
    r.text = std::string("12 FETCH (FLAGS (\\Seen \\Deleted) BODY[HEADER.FIELDS (FROM TO)] ") +
             '\0' + " RFC822.SIZE 2367 UID 5)";
    r.literals = {"From: a\r\n"};
    auto f = parse_fetch(r);
    ASSERT_TRUE(f && *f) << (f ? "" : f.error().reason);
    EXPECT_EQ((*f)->sequence, 12u);
    EXPECT_EQ((*f)->uid, 5u);
    EXPECT_EQ((*f)->size, 2367u);
    EXPECT_EQ((*f)->flags, (std::vector<std::string>{"\\Seen", "\\Deleted"}));
    EXPECT_FALSE((*f)->body_literal);

    Response other;
    other.text = "3 EXISTS";
    auto none = parse_fetch(other);
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);

    Response bad;
    bad.text = "1 FETCH (UID x)";
    EXPECT_FALSE(parse_fetch(bad));
}

TEST(ImapProtocol, StatusCodesAndQuotedFolders) {
    auto c = parse_status("NO [NONEXISTENT] Mailbox doesn't exist: X");
    EXPECT_EQ(c.status, Status::no);
    EXPECT_EQ(c.code, "NONEXISTENT");
    EXPECT_EQ(c.text, "Mailbox doesn't exist: X");
    EXPECT_EQ(parse_status("OK [UIDVALIDITY 42] x").code, "UIDVALIDITY 42");

    EXPECT_EQ(*quote_folder("INBOX"), "\"INBOX\"");
    EXPECT_EQ(*quote_folder("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(quote_folder("Rapports reçus").error().code, Errc::unsupported);
    EXPECT_EQ(quote_folder("a\r\nB LOGOUT").error().code, Errc::malformed);
    EXPECT_EQ(quote_folder("").error().code, Errc::malformed);

    std::vector<std::uint32_t> uids{1, 2, 3, 5, 7, 8, 10};
    EXPECT_EQ(uid_set(uids), "1:3,5,7:8,10");
    EXPECT_EQ(uid_set({}), "");
}

/// A server that knows one folder of messages, in the shape Dovecot answers.
struct FakeImap {
    bool move = true, idle = true, uidplus = true;
    std::map<std::uint32_t, std::string> messages{{3, "Subject: a\r\n\r\nA\r\n"},
                                                  {4, "Subject: b\r\n\r\nB\r\n"},
                                                  {9, "Subject: c\r\n\r\nC\r\n"}};
    std::vector<std::string> commands;
    std::string idle_tag;

    std::string operator()(const std::string& tag, const std::string& cmd) {
        commands.push_back(cmd);
        auto ok = tag + " OK done\r\n";
        if (cmd == "CAPABILITY") {
            std::string caps = "* CAPABILITY IMAP4rev1 LITERAL+";
            if (move) caps += " MOVE";
            if (idle) caps += " IDLE";
            if (uidplus) caps += " UIDPLUS";
            return caps + "\r\n" + ok;
        }
        if (cmd.starts_with("SELECT") || cmd.starts_with("EXAMINE")) {
            if (cmd.find("Missing") != std::string::npos)
                return tag + " NO [NONEXISTENT] Mailbox doesn't exist: Missing\r\n";
            return fmt::format(
                "* {} EXISTS\r\n* OK [UIDVALIDITY 77] ok\r\n* OK [UIDNEXT 10] ok\r\n{}",
                messages.size(), ok);
        }
        if (cmd.starts_with("UID FETCH") && cmd.find("RFC822.SIZE") != std::string::npos) {
            std::string out;
            std::uint32_t seq = 0;
            for (const auto& [uid, body] : messages)
                out += fmt::format("* {} FETCH (UID {} RFC822.SIZE {} FLAGS ({}))\r\n", ++seq, uid,
                                   body.size(), uid == 4 ? "\\Deleted" : "");
            // A flag change of another message, unsolicited.
            out += "* 1 FETCH (FLAGS (\\Seen))\r\n";
            return out + ok;
        }
        if (cmd.starts_with("UID FETCH")) {
            auto uid = static_cast<std::uint32_t>(std::stoul(cmd.substr(10)));
            auto it = messages.find(uid);
            if (it == messages.end()) return ok;
            return fmt::format("* 1 FETCH (UID {} BODY[] {{{}}}\r\n{})\r\n{}", uid,
                               it->second.size(), it->second, ok);
        }
        if (cmd.starts_with("CREATE"))
            return tag + " NO [ALREADYEXISTS] Mailbox already exists\r\n";
        if (cmd.starts_with("LIST")) return "* LIST (\\HasNoChildren) \".\" Archive\r\n" + ok;
        if (cmd == "IDLE") {
            idle_tag = tag;
            return "+ idling\r\n";
        }
        if (tag == "DONE") return idle_tag + " OK Idle completed\r\n";
        if (cmd == "LOGOUT") return "* BYE Logging out\r\n" + ok;
        return ok;
    }
};

std::unique_ptr<Session> session_over(FakeImap& imap, ScriptedServer** out = nullptr) {
    auto transport = std::make_unique<ScriptedServer>(std::ref(imap));
    if (out) *out = transport.get();
    auto s = open_session(std::move(transport), 1s);
    EXPECT_TRUE(s) << s.error().describe();
    return s ? std::move(*s) : nullptr;
}

TEST(ImapSession, SelectListAndFetchPeekWithoutTouchingFlags) {
    FakeImap imap;
    auto s = session_over(imap);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->capabilities().move);
    auto st = s->select("INBOX", true);
    ASSERT_TRUE(st) << st.error().describe();
    EXPECT_EQ(st->uidvalidity, 77u);
    EXPECT_EQ(st->uidnext, 10u);
    EXPECT_EQ(st->exists, 3u);
    EXPECT_EQ(imap.commands.back(), "EXAMINE \"INBOX\"");
    auto list = s->list(4);
    ASSERT_TRUE(list) << list.error().describe();
    ASSERT_EQ(list->size(), 2u);  // uid 3 is below 4; the unsolicited FETCH is not a message
    EXPECT_EQ((*list)[0].uid, 4u);
    EXPECT_TRUE((*list)[0].deleted);
    EXPECT_EQ((*list)[1].uid, 9u);
    EXPECT_EQ((*list)[1].size, imap.messages[9].size());
    auto body = s->fetch(9, 1000);
    ASSERT_TRUE(body) << body.error().describe();
    EXPECT_EQ(*body, imap.messages[9]);
    EXPECT_EQ(imap.commands.back(), "UID FETCH 9 (UID BODY.PEEK[])");
    auto gone = s->fetch(5, 1000);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::not_found);
    auto big = s->fetch(9, 4);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, Errc::limit_exceeded);
    // The connection is still in step after the dropped literal.
    EXPECT_TRUE(s->fetch(3, 1000));
    auto missing = s->select("Missing", false);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(ImapSession, MoveUsesMoveOrCopyStoreAndUidExpungeOfExactlyThoseUids) {
    FakeImap with_move;
    auto a = session_over(with_move);
    ASSERT_TRUE(a && a->select("INBOX", false));
    std::vector<std::uint32_t> uids{9, 3, 4};
    ASSERT_TRUE(a->move(uids, "Archive"));
    EXPECT_EQ(with_move.commands.back(), "UID MOVE 3:4,9 \"Archive\"");

    FakeImap without;
    without.move = false;
    auto b = session_over(without);
    ASSERT_TRUE(b && b->select("INBOX", false));
    ASSERT_TRUE(b->move(uids, "Archive"));
    std::vector<std::string> tail(without.commands.end() - 3, without.commands.end());
    EXPECT_EQ(tail, (std::vector<std::string>{"UID COPY 3:4,9 \"Archive\"",
                                              "UID STORE 3:4,9 +FLAGS.SILENT (\\Deleted)",
                                              "UID EXPUNGE 3:4,9"}));

    // Without UIDPLUS no EXPUNGE at all: a plain one would remove others' \Deleted messages.
    FakeImap old;
    old.move = false;
    old.uidplus = false;
    auto c = session_over(old);
    ASSERT_TRUE(c && c->select("INBOX", false));
    ASSERT_TRUE(c->move(uids, "Archive"));
    for (const auto& cmd : old.commands) EXPECT_EQ(cmd.find("EXPUNGE"), std::string::npos) << cmd;
}

TEST(ImapSession, EnsureFolderAcceptsOneThatExists) {
    FakeImap imap;
    auto s = session_over(imap);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->ensure_folder("Archive"));
    auto r = s->ensure_folder("Elsewhere");  // CREATE refused and LIST does not name it
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().reason.find("create the folder Elsewhere"), std::string::npos);
}

TEST(ImapSession, IdleEndsOnExistsOrStopAndSaysDone) {
    FakeImap imap;
    ScriptedServer* server = nullptr;
    auto s = session_over(imap, &server);
    ASSERT_TRUE(s && s->select("INBOX", false));
    ASSERT_TRUE(s->list(1));
    // News during IDLE.
    server->push("* 4 EXISTS\r\n");
    auto news = s->wait(1s, [] { return false; });
    ASSERT_TRUE(news) << news.error().describe();
    EXPECT_TRUE(*news);
    EXPECT_EQ(imap.commands.back(), "");  // DONE carries no tag or command
    EXPECT_EQ(server->sent.back(), "DONE");
    // stop() ends the wait without news.
    ASSERT_TRUE(s->list(1));
    int asked = 0;
    auto stopped = s->wait(10s, [&] { return ++asked > 2; });
    ASSERT_TRUE(stopped);
    EXPECT_FALSE(*stopped);
    EXPECT_EQ(server->sent.back(), "DONE");
}

TEST(ImapSession, WithoutIdleWaitPollsWithNoop) {
    FakeImap imap;
    imap.idle = false;
    auto s = session_over(imap);
    ASSERT_TRUE(s && s->select("INBOX", false));
    auto r = s->wait(1ms, [] { return false; });
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);
    EXPECT_EQ(imap.commands.back(), "NOOP");
}

TEST(ImapSession, AByeOrAHangUpIsTransient) {
    FakeImap imap;
    ScriptedServer* server = nullptr;
    auto s = session_over(imap, &server);
    ASSERT_TRUE(s);
    server->push("* BYE shutting down\r\n");
    auto r = s->select("INBOX", false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::transient);
    // The connection is unusable from then on, and says so without touching the wire.
    auto sent = server->sent.size();
    auto again = s->select("INBOX", false);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::transient);
    EXPECT_EQ(server->sent.size(), sent);

    FakeImap quiet;
    ScriptedServer* hang = nullptr;
    auto t = session_over(quiet, &hang);
    ASSERT_TRUE(t);
    hang->closed = true;
    auto cut = t->select("INBOX", false);
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().code, Errc::transient);
}

}  // namespace
}  // namespace rampart::mail::imap::detail
