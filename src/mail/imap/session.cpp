// The Session operations as IMAP commands over a Protocol (see imap.hpp for each contract).
#include <algorithm>
#include <chrono>

#include "mail/imap/protocol.hpp"

namespace rampart::mail::imap::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string shown(std::string_view text) {
    constexpr std::size_t max = 200;
    auto s = printable(text.substr(0, max));
    if (text.size() > max) s += "...";
    return s;
}

std::unexpected<Error> refused(Errc code, std::string_view what, const Completion& c) {
    auto why = c.text.empty() ? c.code : c.text;
    return fail(code, fmt::format("the server refused {}: {}", what, shown(why)));
}

/// UID sets are sent in slices so that a command line stays short whatever the mailbox holds.
constexpr std::size_t uids_per_command = 500;

class ProtocolSession final : public Session {
public:
    ProtocolSession(std::unique_ptr<Transport> transport, milliseconds io_timeout)
        : transport_(std::move(transport)), proto_(*transport_, io_timeout) {}

    ~ProtocolSession() override {
        if (proto_.broken()) return;
        // Polite but bounded: a server that does not answer LOGOUT is simply left.
        proto_.set_io_timeout(milliseconds(2000));
        (void)proto_.command("LOGOUT", [](Response&) -> Result<void> { return {}; });
    }

    Result<void> start() {
        auto c = proto_.command("CAPABILITY", [this](Response& r) { return untagged(r); });
        if (!c) return std::unexpected(std::move(c.error()));
        if (c->status != Status::ok) return refused(Errc::io, "CAPABILITY", *c);
        return {};
    }

    const Capabilities& capabilities() const noexcept override { return caps_; }

    Result<FolderStatus> select(std::string_view folder, bool read_only) override {
        auto q = quote_folder(folder);
        if (!q) return std::unexpected(std::move(q.error()));
        FolderStatus st;
        st.read_only = read_only;
        exists_ = 0;
        selected_ = false;
        auto c = proto_.command(
            fmt::format("{} {}", read_only ? "EXAMINE" : "SELECT", *q),
            [&](Response& r) -> Result<void> {
                if (auto u = untagged(r); !u) return u;
                auto s = parse_status(r.text);
                if (s.status != Status::ok) return {};
                auto word = s.code.substr(0, s.code.find(' '));
                auto arg = s.code.size() > word.size() ? s.code.substr(word.size() + 1) : "";
                if (iequals(word, "UIDVALIDITY")) st.uidvalidity = to_u32(arg);
                if (iequals(word, "UIDNEXT")) st.uidnext = to_u32(arg);
                return {};
            });
        if (!c) return std::unexpected(std::move(c.error()));
        if (c->status != Status::ok)
            return refused(c->code.starts_with("NONEXISTENT") ? Errc::not_found : Errc::io,
                           fmt::format("to open the folder {}", printable(folder)), *c);
        if (st.uidvalidity == 0)
            return fail(Errc::malformed, fmt::format("the server did not state UIDVALIDITY for {}",
                                                     printable(folder)));
        st.exists = exists_;
        selected_ = true;
        news_ = false;  // EXISTS during SELECT is the folder's state, not news
        return st;
    }

    Result<std::vector<MessageInfo>> list(std::uint32_t first_uid) override {
        std::vector<MessageInfo> out;
        if (!selected_) return fail(Errc::malformed, "list() before select()");
        news_ = false;  // whatever arrived so far is in this listing
        if (exists_ == 0) return out;
        first_uid = std::max<std::uint32_t>(first_uid, 1);
        auto c = proto_.command(fmt::format("UID FETCH {}:* (UID RFC822.SIZE FLAGS)", first_uid),
                                [&](Response& r) -> Result<void> {
                                    if (auto u = untagged(r); !u) return u;
                                    auto f = parse_fetch(r);
                                    if (!f) return std::unexpected(std::move(f.error()));
                                    // "n:*" includes the highest UID even when it is below n (RFC
                                    // 9051 §6.4.8): filtered here. Unsolicited FETCHes (flag
                                    // changes) carry no size and are skipped.
                                    if (!*f || !(*f)->uid || !(*f)->size || *(*f)->uid < first_uid)
                                        return {};
                                    bool deleted = std::any_of(
                                        (*f)->flags.begin(), (*f)->flags.end(),
                                        [](const auto& fl) { return iequals(fl, "\\Deleted"); });
                                    out.push_back({*(*f)->uid, *(*f)->size, deleted});
                                    return {};
                                });
        if (!c) return std::unexpected(std::move(c.error()));
        if (c->status != Status::ok) return refused(Errc::io, "to list the messages", *c);
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.uid < b.uid; });
        out.erase(std::unique(out.begin(), out.end(),
                              [](const auto& a, const auto& b) { return a.uid == b.uid; }),
                  out.end());
        return out;
    }

    Result<std::string> fetch(std::uint32_t uid, std::uint64_t max_bytes) override {
        std::optional<std::string> body;
        std::uint64_t dropped = 0;
        auto c = proto_.command(
            fmt::format("UID FETCH {} (UID BODY.PEEK[])", uid),
            [&](Response& r) -> Result<void> {
                if (auto u = untagged(r); !u) return u;
                auto f = parse_fetch(r);
                if (!f) return std::unexpected(std::move(f.error()));
                if (!*f || (*f)->uid != uid) return {};
                auto& d = **f;
                if (d.body_literal) {
                    if (r.dropped_literal > 0)
                        dropped = r.dropped_literal;
                    else
                        body = std::move(r.literals[*d.body_literal]);
                } else if (d.body_string) {
                    body = std::move(*d.body_string);
                } else if (d.body_nil) {
                    body = std::string();
                }
                return {};
            },
            max_bytes);
        if (!c) return std::unexpected(std::move(c.error()));
        if (c->status != Status::ok)
            return refused(Errc::io, fmt::format("to send message uid {}", uid), *c);
        if (dropped > 0)
            return fail(Errc::limit_exceeded,
                        fmt::format("the message is {} bytes, larger than the limit of {} bytes",
                                    dropped, max_bytes));
        if (!body) return fail(Errc::not_found, fmt::format("message uid {} is gone", uid));
        return std::move(*body);
    }

    Result<void> ensure_folder(std::string_view folder) override {
        auto q = quote_folder(folder);
        if (!q) return std::unexpected(std::move(q.error()));
        auto ignore = [this](Response& r) { return untagged(r); };
        auto c = proto_.command(fmt::format("CREATE {}", *q), ignore);
        if (!c) return std::unexpected(std::move(c.error()));
        if (c->status != Status::ok) {
            // It may exist already: RFC 5530 says [ALREADYEXISTS], older servers just say NO.
            bool found = false;
            auto l =
                proto_.command(fmt::format("LIST \"\" {}", *q), [&](Response& r) -> Result<void> {
                    if (auto u = untagged(r); !u) return u;
                    if (list_names(r, folder)) found = true;
                    return {};
                });
            if (!l) return std::unexpected(std::move(l.error()));
            if (!found)
                return refused(Errc::io, fmt::format("to create the folder {}", printable(folder)),
                               *c);
            return {};
        }
        // So that mail clients show it; a server without subscriptions is no reason to stop.
        auto s = proto_.command(fmt::format("SUBSCRIBE {}", *q), ignore);
        if (!s) return std::unexpected(std::move(s.error()));
        return {};
    }

    Result<void> move(std::span<const std::uint32_t> uids, std::string_view folder) override {
        if (uids.empty()) return {};
        if (!selected_) return fail(Errc::malformed, "move() before select()");
        auto q = quote_folder(folder);
        if (!q) return std::unexpected(std::move(q.error()));
        std::vector<std::uint32_t> sorted(uids.begin(), uids.end());
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        auto ignore = [this](Response& r) { return untagged(r); };
        auto what = fmt::format("to move messages to {}", printable(folder));
        for (std::size_t i = 0; i < sorted.size(); i += uids_per_command) {
            auto set = uid_set(
                std::span(sorted).subspan(i, std::min(uids_per_command, sorted.size() - i)));
            if (caps_.move) {
                auto c = proto_.command(fmt::format("UID MOVE {} {}", set, *q), ignore);
                if (!c) return std::unexpected(std::move(c.error()));
                if (c->status != Status::ok) return refused(Errc::io, what, *c);
                continue;
            }
            // RFC 6851 §3.3's equivalent: copy, flag, and expunge exactly these UIDs.
            for (auto cmd : {fmt::format("UID COPY {} {}", set, *q),
                             fmt::format("UID STORE {} +FLAGS.SILENT (\\Deleted)", set)}) {
                auto c = proto_.command(cmd, ignore);
                if (!c) return std::unexpected(std::move(c.error()));
                if (c->status != Status::ok) return refused(Errc::io, what, *c);
            }
            if (caps_.uidplus) {
                auto c = proto_.command(fmt::format("UID EXPUNGE {}", set), ignore);
                if (!c) return std::unexpected(std::move(c.error()));
                if (c->status != Status::ok) return refused(Errc::io, what, *c);
            }
        }
        return {};
    }

    Result<bool> wait(milliseconds timeout, const std::function<bool()>& stop) override {
        auto deadline = Clock::now() + timeout;
        auto slice = [&] {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            return std::clamp(left, milliseconds(0), milliseconds(200));
        };
        // Reads whatever arrives until the deadline, `stop`, or news (with IDLE).
        auto listen = [&](bool until_news) -> Result<void> {
            while (Clock::now() < deadline && !stop() && !(until_news && news_)) {
                auto d = proto_.wait_for_data(slice());
                if (!d) return std::unexpected(std::move(d.error()));
                if (!*d) continue;
                auto r = proto_.read();
                if (!r) return std::unexpected(std::move(r.error()));
                if (r->kind != Response::Kind::untagged)
                    return fail(Errc::malformed, "unexpected server response while waiting");
                if (r->text.size() >= 3 && iequals(std::string_view(r->text).substr(0, 3), "BYE"))
                    return fail(Errc::transient,
                                fmt::format("the server ended the session: {}", shown(r->text)));
                if (auto u = untagged(*r); !u) return u;
            }
            return {};
        };
        // EXISTS seen since the last listing (during a MOVE, say) is news already.
        if (news_) return true;
        if (caps_.idle) {
            auto tag = proto_.start("IDLE");
            if (!tag) return std::unexpected(std::move(tag.error()));
            for (;;) {
                auto r = proto_.read();
                if (!r) return std::unexpected(std::move(r.error()));
                if (r->kind == Response::Kind::continuation) break;
                if (r->kind == Response::Kind::tagged) {
                    if (r->tag != *tag) return fail(Errc::malformed, "unexpected tag after IDLE");
                    caps_.idle = false;  // refused after all: poll from now on
                    return wait(timeout, stop);
                }
                if (auto u = untagged(*r); !u) return std::unexpected(std::move(u.error()));
            }
            if (auto l = listen(true); !l) return std::unexpected(std::move(l.error()));
            if (auto s = proto_.send_raw("DONE\r\n"); !s)
                return std::unexpected(std::move(s.error()));
            auto c = proto_.finish(*tag, [this](Response& r) { return untagged(r); });
            if (!c) return std::unexpected(std::move(c.error()));
            if (c->status != Status::ok) return refused(Errc::io, "IDLE", *c);
            return news_;
        }
        if (auto l = listen(false); !l) return std::unexpected(std::move(l.error()));
        if (stop()) return false;
        auto c = proto_.command("NOOP", [this](Response& r) { return untagged(r); });
        if (!c) return std::unexpected(std::move(c.error()));
        if (c->status != Status::ok) return refused(Errc::io, "NOOP", *c);
        return true;
    }

private:
    static std::uint32_t to_u32(std::string_view text) {
        std::uint32_t v = 0;
        for (char ch : text) {
            if (ch < '0' || ch > '9' || v > (UINT32_MAX - 9) / 10) return 0;
            v = v * 10 + static_cast<std::uint32_t>(ch - '0');
        }
        return v;
    }

    /// Untagged responses any command may carry: EXISTS/EXPUNGE (RFC 9051 §7.4.1, §7.5.1) and
    /// CAPABILITY.
    Result<void> untagged(const Response& r) {
        std::string_view text = r.text;
        auto space = text.find(' ');
        auto first = text.substr(0, space);
        auto second = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
        if (iequals(first, "CAPABILITY")) {
            caps_ = {};
            for (std::size_t pos = 0; pos < second.size();) {
                auto end = second.find(' ', pos);
                auto word = second.substr(pos, end == std::string_view::npos ? end : end - pos);
                if (iequals(word, "MOVE")) caps_.move = true;
                if (iequals(word, "UIDPLUS")) caps_.uidplus = true;
                if (iequals(word, "IDLE")) caps_.idle = true;
                if (end == std::string_view::npos) break;
                pos = end + 1;
            }
            return {};
        }
        if (first.empty() || first.find_first_not_of("0123456789") != std::string_view::npos)
            return {};
        auto n = to_u32(first);
        if (iequals(second, "EXISTS")) {
            if (n > exists_) news_ = true;
            exists_ = n;
        } else if (iequals(second, "EXPUNGE")) {
            if (exists_ > 0) --exists_;
        }
        return {};
    }

    /// True when `r` is "LIST (flags) delimiter name" naming `folder`.
    static bool list_names(const Response& r, std::string_view folder) {
        Tokenizer tok(r.text);
        auto word = tok.next();
        if (!word || word->kind != Token::Kind::atom || !iequals(word->text, "LIST")) return false;
        auto open = tok.next();
        if (!open || open->kind != Token::Kind::open) return false;
        for (;;) {
            auto t = tok.next();
            if (!t || t->kind == Token::Kind::end) return false;
            if (t->kind == Token::Kind::close) break;
        }
        auto delimiter = tok.next();
        if (!delimiter) return false;
        auto name = tok.next();
        if (!name) return false;
        std::string text;
        if (name->kind == Token::Kind::atom || name->kind == Token::Kind::string)
            text = name->text;
        else if (name->kind == Token::Kind::literal && name->literal < r.literals.size())
            text = r.literals[name->literal];
        else
            return false;
        return text == folder || (iequals(text, "INBOX") && iequals(folder, "INBOX"));
    }

    std::unique_ptr<Transport> transport_;
    Protocol proto_;
    Capabilities caps_;
    std::uint32_t exists_ = 0;
    bool news_ = false;
    bool selected_ = false;
};

}  // namespace

Result<std::unique_ptr<Session>> open_session(std::unique_ptr<Transport> transport,
                                              milliseconds io_timeout) {
    auto session = std::make_unique<ProtocolSession>(std::move(transport), io_timeout);
    if (auto r = session->start(); !r) return std::unexpected(std::move(r.error()));
    return std::unique_ptr<Session>(std::move(session));
}

}  // namespace rampart::mail::imap::detail
