// The mailbox fetch use case (see service.hpp for the order that keeps it exact).
#include <algorithm>

#include <fmt/format.h>

#include "mail/imap/imap.hpp"
#include "service/service.hpp"

namespace rampart::service {

using std::chrono::milliseconds;
using store::MailOutcome;

MailboxFetcher::MailboxFetcher(Ingester& ingester, const IngestLimits& limits,
                               MailboxFetchOptions options, FetchLoop loop)
    : ingester_(ingester), limits_(limits), options_(std::move(options)), loop_(std::move(loop)) {}

void MailboxFetcher::log(std::string_view line) const {
    if (loop_.log) loop_.log(fmt::format("imap:{}: {}", options_.mailbox, line));
}

Result<void> MailboxFetcher::run() {
    int failures = 0;
    auto backoff = loop_.backoff_first;
    // Network failures are retried; anything else ends the run for this mailbox.
    auto retry = [&](const Error& e) -> bool {
        ++failures;
        if (!loop_.watch && failures >= loop_.attempts) return false;
        Error shown = e;
        if (shown.where.source.empty())
            shown.where.source = fmt::format("imap:{}", options_.mailbox);
        if (loop_.log)
            loop_.log(fmt::format("{}; trying again in {} ms", shown.describe(), backoff.count()));
        loop_.sleep(backoff);
        backoff = std::min(backoff * 2, loop_.backoff_max);
        ++outcome_.reconnects;
        return true;
    };
    while (!loop_.stop()) {
        auto session = loop_.connect();
        if (!session) {
            if (session.error().code == Errc::transient && retry(session.error())) continue;
            return std::unexpected(std::move(session.error()));
        }
        for (;;) {
            auto r = pass(**session);
            if (!r) {
                if (!fatal_ && r.error().code == Errc::transient && retry(r.error())) break;
                return r;
            }
            failures = 0;
            backoff = loop_.backoff_first;
            if (!loop_.watch || loop_.stop()) return {};
            auto news = (*session)->wait(loop_.poll_interval, loop_.stop);
            if (!news) {
                if (news.error().code == Errc::transient && retry(news.error())) break;
                return std::unexpected(std::move(news.error()));
            }
            if (loop_.stop()) return {};
        }
    }
    return {};
}

Result<void> MailboxFetcher::pass(mail::imap::Session& session) {
    fatal_ = false;
    // Errors from the server that are not about the network will not go away by reconnecting.
    auto server = [this](Error e) {
        if (e.code != Errc::transient) fatal_ = true;
        if (e.where.source.empty()) e.where.source = fmt::format("imap:{}", options_.mailbox);
        return std::unexpected(std::move(e));
    };
    auto status = session.select(options_.folder, !options_.move);
    if (!status) return server(std::move(status.error()));
    if (status->uidvalidity != uidvalidity_) {
        // RFC 9051 §2.3.1.1: UIDs are only meaningful with their UIDVALIDITY. A new value means
        // the folder was rebuilt; whatever was remembered under the old one no longer applies.
        std::vector<store::SeenMessage> seen;
        auto loaded = ingester_.with_store([&](store::Store& store) -> Result<void> {
            auto r = store.seen_messages(options_.mailbox, status->uidvalidity);
            if (!r) return std::unexpected(std::move(r.error()));
            seen = std::move(*r);
            return {};
        });
        if (!loaded) {
            fatal_ = true;
            return loaded;
        }
        seen_.clear();
        for (const auto& m : seen) seen_[m.uid] = m.outcome;
        uidvalidity_ = status->uidvalidity;
        next_uid_ = 1;
    }
    if (options_.move && !folders_ready_) {
        for (const auto& folder : {options_.archive, options_.invalid})
            if (auto r = session.ensure_folder(folder); !r) return server(std::move(r.error()));
        folders_ready_ = true;
    }
    auto listed = session.list(options_.move ? 1 : next_uid_);
    if (!listed) return server(std::move(listed.error()));

    std::vector<Done> batch;
    std::uint64_t batch_bytes = 0;
    for (const auto& m : *listed) {
        if (loop_.stop()) break;
        if (m.deleted) continue;  // someone deleted it; it is not ours to read or move
        if (!options_.move) next_uid_ = std::max(next_uid_, m.uid + 1);
        if (auto known = seen_.find(m.uid); known != seen_.end()) {
            if (options_.move)
                batch.push_back({m.uid, known->second, {}, false});
            else
                ++outcome_.messages_skipped;
        } else {
            auto r = process(session, m.uid, m.size, batch);
            if (!r) {
                // Keep what is already ingested and remembered; the connection is gone, so the
                // moves wait for the next pass, which finds these messages remembered.
                if (!fatal_) {
                    if (auto c = commit(nullptr, batch); !c) return c;
                }
                return r;
            }
            batch_bytes += m.size;
        }
        if (batch.size() >= options_.batch_messages || batch_bytes >= options_.batch_bytes) {
            if (auto c = commit(&session, batch); !c) return c;
            batch_bytes = 0;
        }
    }
    return commit(&session, batch);
}

Result<void> MailboxFetcher::process(mail::imap::Session& session, std::uint32_t uid,
                                     std::uint64_t size, std::vector<Done>& batch) {
    Location where{.source = fmt::format("imap:{} uid {}", options_.mailbox, uid)};
    auto refuse = [&](Error e) {
        e.where = where;
        ingester_.reject(e);
        return e.reason;
    };
    Done done{uid, MailOutcome::invalid, {}, true};
    // A message over the cap is refused on its announced size, before a byte of it is read.
    if (size > limits_.max_message) {
        done.reason =
            refuse(Error{Errc::limit_exceeded,
                         fmt::format("the message is {} bytes, larger than the limit of {} bytes",
                                     size, limits_.max_message)});
    } else {
        auto body = session.fetch(uid, limits_.max_message);
        if (!body) {
            auto& e = body.error();
            if (e.code == Errc::not_found) return {};  // expunged meanwhile: nothing to do
            if (e.code == Errc::transient) return std::unexpected(std::move(e));
            if (e.code == Errc::limit_exceeded) {
                // The server announced less than it sent.
                done.reason = refuse(std::move(e));
            } else {
                // The server would not send this one (a damaged message on its side): it stays
                // where it is, unremembered, and is tried again by the next run.
                log(fmt::format("uid {}: left in place: {}", uid, e.reason));
                return {};
            }
        } else {
            auto in = ingester_.ingest_message(as_bytes(*body), where);
            if (!in) {
                fatal_ = true;
                return std::unexpected(std::move(in.error()));
            }
            if (in->held_report()) {
                done.outcome = MailOutcome::report;
            } else {
                done.reason = in->rejected.empty() ? "the message holds no report"
                                                   : in->rejected.front().reason;
            }
        }
    }
    ++outcome_.messages_seen;
    if (done.outcome == MailOutcome::report) {
        ++outcome_.messages_archived;
    } else {
        ++outcome_.messages_invalid;
        log(fmt::format("uid {}: {}: {}", uid,
                        options_.move ? fmt::format("moving to {}", options_.invalid)
                                      : std::string("no report"),
                        done.reason));
    }
    batch.push_back(std::move(done));
    return {};
}

Result<void> MailboxFetcher::commit(mail::imap::Session* session, std::vector<Done>& batch) {
    if (batch.empty()) return {};
    // 1. Remember, queued behind the reports these messages held; 2. make both durable.
    auto now = loop_.now ? loop_.now() : Timestamp{};
    auto remembered = ingester_.with_store([&](store::Store& store) -> Result<void> {
        for (const auto& d : batch) {
            if (!d.fresh) continue;
            auto r = store.remember_message(
                {options_.mailbox, uidvalidity_, d.uid, d.outcome, d.reason, now});
            if (!r) return r;
        }
        return {};
    });
    if (!remembered) {
        fatal_ = true;
        return remembered;
    }
    if (auto r = ingester_.flush(); !r) {
        fatal_ = true;
        return r;
    }
    for (const auto& d : batch) seen_[d.uid] = d.outcome;
    // 3. Only now may the messages leave the folder.
    if (session != nullptr && options_.move) {
        for (auto [outcome, folder] : {std::pair{MailOutcome::report, &options_.archive},
                                       std::pair{MailOutcome::invalid, &options_.invalid}}) {
            std::vector<std::uint32_t> uids;
            for (const auto& d : batch)
                if (d.outcome == outcome) uids.push_back(d.uid);
            if (uids.empty()) continue;
            if (auto r = session->move(uids, *folder); !r) {
                if (r.error().code != Errc::transient) fatal_ = true;
                Error e = std::move(r.error());
                if (e.where.source.empty())
                    e.where.source = fmt::format("imap:{}", options_.mailbox);
                return std::unexpected(std::move(e));
            }
            outcome_.messages_moved += uids.size();
            for (auto uid : uids) seen_.erase(uid);
        }
    }
    batch.clear();
    return {};
}

}  // namespace rampart::service
