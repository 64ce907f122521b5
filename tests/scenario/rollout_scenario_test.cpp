// Rollout scenarios over simulated months: each simulated day, receivers send aggregate reports
// that show the DMARC record live that morning, `advance` judges every domain, and the operator
// applies what the manual publisher wrote (the zone then serves the new record). The clock is
// the scenario's; DNS is an in-memory zone; the store is a real SQLite database.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "autopilot/autopilot.hpp"
#include "dkim/dkim.hpp"
#include "dns/zone.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace rampart::autopilot {
namespace {

using report::AuthVerdict;
using report::DmarcVerdict;
using report::SpfScope;
using std::chrono::days;

const rollout::Day start_day = rollout::Day(std::chrono::year(2027) / 1 / 4);

/// One kind of mail a domain receives each day, as receivers report it.
struct Traffic {
    std::string ip;
    std::uint64_t per_day = 0;
    std::string header_from;     // "" = the domain itself
    std::string envelope_from;   // MAIL FROM domain
    bool spf_pass = true;
    std::string dkim_domain;     // "" = not signed
    bool dkim_pass = true;
    bool forwarded = false;      // reporters add the "forwarded" override
};

Traffic own_servers(std::string domain) {
    return Traffic{.ip = "192.0.2.10", .per_day = 1000, .header_from = "", .envelope_from = domain,
                   .spf_pass = true, .dkim_domain = domain, .dkim_pass = true};
}

/// The public key record every simulated domain publishes at s1._domainkey (one RSA-2048 key,
/// made once per process).
const std::string& dkim_key_record() {
    static const std::string record = [] {
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), &EVP_PKEY_free);
        unsigned char* der = nullptr;
        const int size = i2d_PUBKEY(key.get(), &der);
        std::vector<std::uint8_t> spki(der, der + size);
        OPENSSL_free(der);
        return *dkim::format_key_record(dkim::KeyType::rsa, spki);
    }();
    return record;
}

class Simulation {
public:
    explicit Simulation(std::string config_text) {
        auto parsed = config::parse(config_text, "rampart.toml", "/etc/rampart");
        EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().describe());
        config_ = std::move(*parsed);
        auto opened = store::open_sqlite(":memory:");
        EXPECT_TRUE(opened);
        store_ = std::move(*opened);
        outbox_ = std::filesystem::temp_directory_path() /
                  fmt::format("rampart-scenario-{}-{}", ::getpid(),
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(outbox_);
        publisher_ = std::make_unique<publish::ManualPublisher>(outbox_);
        desk_ = std::make_unique<publish::Desk>(publish::Desk{*publisher_, nullptr, *store_});
        today_ = start_day;
    }
    ~Simulation() { std::filesystem::remove_all(outbox_); }

    std::map<std::string, std::vector<Traffic>> traffic;  // by domain
    std::vector<Notice> notices;

    Context context() {
        return Context{.config = config_,
                       .store = *store_,
                       .resolver = resolver_.get(),
                       .desk_for = [this](std::string_view) { return desk_.get(); },
                       .now = Timestamp(today_) + std::chrono::hours(6),
                       .actor = "scenario",
                       .notify = [this](const Notice& n) -> Result<void> {
                           notices.push_back(n);
                           return {};
                       }};
    }

    /// One day: reports for yesterday's mail under this morning's records, then the tick, then
    /// the operator applies the outbox.
    std::vector<AdvanceResult> day() {
        rebuild_zone();
        for (const auto& domain : config_.domains()) send_reports(domain);
        auto ctx = context();
        auto results = advance(ctx, {});
        EXPECT_TRUE(results) << (results ? "" : results.error().describe());
        apply_changes();
        today_ += days(1);
        return results ? *results : std::vector<AdvanceResult>{};
    }

    DomainStatus status_of(const std::string& domain) {
        auto ctx = context();
        auto list = status(ctx, domain);
        EXPECT_TRUE(list && list->size() == 1);
        return list ? list->front() : DomainStatus{};
    }

    std::vector<store::RolloutEvent> history(const std::string& domain) {
        auto h = store_->rollout_history(domain);
        EXPECT_TRUE(h);
        return h ? *h : std::vector<store::RolloutEvent>{};
    }

    /// Runs days until `done` says stop or `limit` days passed; returns the days run.
    int run_until(int limit, const std::function<bool()>& done) {
        for (int i = 0; i < limit; ++i) {
            if (done()) return i;
            day();
        }
        return limit;
    }

    rollout::Day today() const { return today_; }
    config::Config& config() { return config_; }
    void set_config(std::string text) {
        auto parsed = config::parse(text, "rampart.toml", "/etc/rampart");
        ASSERT_TRUE(parsed) << parsed.error().describe();
        config_ = std::move(*parsed);
    }

private:
    void rebuild_zone() {
        zone_ = std::make_unique<dns::Zone>();
        for (const auto& domain : config_.domains()) {
            zone_->add_a(domain, "192.0.2.10");
            zone_->add_mx(domain, 10, fmt::format("mail.{}", domain));
            zone_->add_a(fmt::format("mail.{}", domain), "192.0.2.10");
            zone_->add_txt(domain, "v=spf1 ip4:192.0.2.0/24 -all");
            zone_->add_txt(fmt::format("s1._domainkey.{}", domain), dkim_key_record());
            // The MSP's report address accepts every client's reports (RFC 9990 §4).
            zone_->add_txt(fmt::format("{}._report._dmarc.msp.example", domain), "v=DMARC1");
            if (auto it = live_.find(domain); it != live_.end())
                zone_->add_txt(fmt::format("_dmarc.{}", domain), it->second);
        }
        resolver_ = std::make_unique<dns::ZoneResolver>(*zone_);
    }

    void send_reports(const std::string& domain) {
        auto it = traffic.find(domain);
        if (it == traffic.end()) return;
        const auto live = live_.find(domain);
        report::PolicyPublished published{.domain = domain};
        if (live != live_.end()) {
            auto record = dmarc::parse_record(live->second);
            if (record) {
                published.p = static_cast<report::Policy>(record->policy());
                published.sp = static_cast<report::Policy>(record->subdomain_policy());
                if (record->pct) published.pct = static_cast<std::uint32_t>(*record->pct);
            }
        } else {
            published.p = report::Policy::none;
        }
        // Three receivers, each reporting its share of yesterday's mail.
        const char* reporters[] = {"google.com", "Yahoo", "Outlook.com"};
        for (int r = 0; r < 3; ++r) {
            report::AggregateHeader h;
            h.schema = report::Schema::dmarc_0_1;
            h.version = "1.0";
            h.metadata.org_name = reporters[r];
            h.metadata.email = "noreply@example.net";
            h.metadata.report_id = fmt::format("{}-{}-{}", domain, format_day(today_), r);
            h.metadata.begin = Timestamp(today_ - days(1));
            h.metadata.end = Timestamp(today_) - std::chrono::seconds(1);
            h.policy = published;
            auto begun = store_->begin_aggregate(h, store::Provenance{"scenario", Timestamp(today_)});
            ASSERT_TRUE(begun && !begun->duplicate());
            store::ReportTotals totals{"sim", 0, 0, {}};
            for (const auto& t : it->second) {
                auto rec = record_of(domain, t, t.per_day / 3);
                ASSERT_TRUE(begun->writer->add(rec));
                totals.records++;
                totals.messages += rec.count;
            }
            ASSERT_TRUE(begun->writer->commit(totals));
        }
        ASSERT_TRUE(store_->flush());
    }

    static report::Record record_of(const std::string& domain, const Traffic& t, std::uint64_t count) {
        report::Record r;
        r.source_ip = *IpAddress::parse(t.ip);
        r.count = count;
        r.header_from = t.header_from.empty() ? domain : t.header_from;
        r.envelope_from = "bounce@" + t.envelope_from;
        const std::string& from = r.header_from;
        const bool spf_aligned = t.spf_pass && dns::is_subdomain(t.envelope_from, domain) &&
                                 dns::is_subdomain(from, domain);
        const bool dkim_aligned = !t.dkim_domain.empty() && t.dkim_pass && dns::is_subdomain(t.dkim_domain, domain) &&
                                  dns::is_subdomain(from, domain);
        r.spf = spf_aligned ? DmarcVerdict::pass : DmarcVerdict::fail;
        r.dkim = dkim_aligned ? DmarcVerdict::pass : DmarcVerdict::fail;
        r.disposition = report::Disposition::none;
        r.spf_results.push_back({t.envelope_from, SpfScope::mfrom, t.spf_pass ? AuthVerdict::pass : AuthVerdict::fail, ""});
        if (!t.dkim_domain.empty())
            r.dkim_results.push_back({t.dkim_domain, "s1", t.dkim_pass ? AuthVerdict::pass : AuthVerdict::fail, ""});
        if (t.forwarded) r.reasons.push_back({report::OverrideType::forwarded, "arc=pass"});
        return r;
    }

    /// The operator applies every change the manual publisher queued: the zone serves it.
    void apply_changes() {
        auto states = store_->rollout_states();
        ASSERT_TRUE(states);
        for (const auto& s : *states) live_[s.domain] = s.record;
    }

    config::Config config_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<dns::Zone> zone_;
    std::unique_ptr<dns::ZoneResolver> resolver_;
    std::filesystem::path outbox_;
    std::unique_ptr<publish::ManualPublisher> publisher_;
    // No authoritative checker: the scenario's resolver is the zone, read by the live check.
    std::unique_ptr<publish::Desk> desk_;
    std::map<std::string, std::string> live_;
    rollout::Day today_;
};

/// One client, one domain, its own servers declared; `defaults` adds keys to [defaults].
std::string client_config(const std::string& defaults = "") {
    return R"([defaults]
rua = ["mailto:dmarc@acme.example"]
)" + defaults + R"(
[[client]]
name = "acme"
domains = ["acme.example"]
[[client.sender]]
name = "Office mail"
ips = ["192.0.2.0/24"]
dkim_domains = ["acme.example"]
return_path_domains = ["acme.example"]
)";
}

std::vector<std::string> actions(const std::vector<store::RolloutEvent>& history) {
    std::vector<std::string> out;
    for (const auto& e : history) out.push_back(e.action);
    return out;
}

TEST(RolloutScenario, ACleanDomainWalksToRejectOnSchedule) {
    Simulation sim(client_config());
    sim.traffic["acme.example"] = {own_servers("acme.example")};
    const int days_run = sim.run_until(200, [&] { return sim.status_of("acme.example").state == "done"; });
    const auto status = sim.status_of("acme.example");
    EXPECT_EQ(status.state, "done") << status.reason;
    EXPECT_EQ(status.step, "steady");
    EXPECT_EQ(status.record, "v=DMARC1; p=reject; sp=reject; np=reject; rua=mailto:dmarc@acme.example");
    // Minimum durations: 28 days monitoring + 7 × 7 days; each change goes live the next morning.
    EXPECT_GE(days_run, 28 + 7 * 7);
    EXPECT_LE(days_run, 28 + 7 * 7 + 8 * 2 + 2) << "it should not dawdle either";

    std::vector<std::string> steps;
    for (const auto& e : sim.history("acme.example"))
        if (e.action == "advance") steps.push_back(e.to_step);
    EXPECT_EQ(steps, (std::vector<std::string>{"sp-quarantine", "quarantine-10", "quarantine-50", "quarantine-100",
                                               "reject-10", "reject-50", "reject-100", "steady"}));
    std::set<std::string> milestones;
    for (const auto& n : sim.notices) {
        EXPECT_EQ(n.client, "acme");
        if (n.event == "milestone") milestones.insert(n.step);
    }
    EXPECT_EQ(milestones, (std::set<std::string>{"quarantine-50", "quarantine-100", "reject-100"}));
    // Every step's record went through the publisher before it went live.
    const auto history = sim.history("acme.example");
    for (std::size_t i = 0; i < history.size(); ++i) {
        if (history[i].action != "live") continue;
        bool published = false;
        for (std::size_t j = 0; j < i; ++j)
            published = published || (history[j].action == "publish" && history[j].new_record == history[i].new_record);
        EXPECT_TRUE(published) << history[i].new_record;
    }
}

TEST(RolloutScenario, ATargetDateSpreadsTheStepsToArriveOnTime) {
    // 200 days to the target: more than the typical durations (42 + 7 × 14 = 140 days), so
    // every step runs its typical length and reject is reached before the target, not at the
    // minimum pace (about 85 days).
    Simulation sim(client_config(R"(target = "reject@2027-07-23"
)"));
    sim.traffic["acme.example"] = {own_servers("acme.example")};
    rollout::Day reject_day{};
    const int days_run = sim.run_until(260, [&] {
        const auto s = sim.status_of("acme.example");
        if (s.step == "reject-100" && !s.pending && reject_day == rollout::Day{}) reject_day = sim.today();
        return s.state == "done";
    });
    EXPECT_EQ(sim.status_of("acme.example").state, "done");
    ASSERT_NE(reject_day, rollout::Day{});
    EXPECT_LE(reject_day, rollout::Day(std::chrono::year(2027) / 7 / 23)) << "on time";
    EXPECT_GE(reject_day, start_day + days(130)) << "not rushed: " << format_day(reject_day);
    EXPECT_GT(days_run, 130);
    bool waited_on_schedule = false;
    for (const auto& e : sim.history("acme.example"))
        waited_on_schedule = waited_on_schedule || e.reason.find("on schedule for reject") != std::string::npos;
    EXPECT_TRUE(waited_on_schedule);
}

TEST(RolloutScenario, AForgottenSenderAtQuarantine50HoldsTheDomain) {
    Simulation sim(client_config());
    sim.traffic["acme.example"] = {own_servers("acme.example")};
    sim.run_until(200, [&] {
        const auto s = sim.status_of("acme.example");
        return s.step == "quarantine-50" && !s.pending;
    });
    ASSERT_EQ(sim.status_of("acme.example").step, "quarantine-50");
    // A CRM nobody declared starts sending as the domain: authenticated, but as crm.example.
    sim.traffic["acme.example"].push_back(Traffic{.ip = "198.51.100.20", .per_day = 600, .header_from = "",
                                                  .envelope_from = "mail.crm.example", .spf_pass = true,
                                                  .dkim_domain = "crm.example", .dkim_pass = true});
    for (int i = 0; i < 20; ++i) sim.day();
    const auto status = sim.status_of("acme.example");
    EXPECT_EQ(status.step, "quarantine-50");
    EXPECT_EQ(status.state, "holding") << status.reason;
    EXPECT_NE(status.reason.find("198.51.100"), std::string::npos) << status.reason;
    bool told = false;
    for (const auto& n : sim.notices) told = told || n.event == "new_unknown_sender";
    EXPECT_TRUE(told);

    // The operator looks at the forecast before anything else: the CRM's mail is what would be hit.
    auto ctx = sim.context();
    auto forecast_now = forecast(ctx, "acme.example", std::string("quarantine-100"),
                                 Timestamp(sim.today() - days(7)));
    ASSERT_TRUE(forecast_now) << forecast_now.error().describe();
    ASSERT_FALSE(forecast_now->senders.empty());
    EXPECT_NE(forecast_now->senders.front().name.find("198.51.100"), std::string::npos);
    EXPECT_GT(forecast_now->senders.front().quarantined, 0.0);

    // The operator looks into it and accepts the source for now: it no longer holds the domain.
    const std::string reviewed_name = forecast_now->senders.front().name;
    std::string reviewed_config = client_config();
    const std::string domains_line = "domains = [\"acme.example\"]\n";
    reviewed_config.insert(reviewed_config.find(domains_line) + domains_line.size(),
                           "reviewed_sources = [\"" + reviewed_name + "\"]\n");
    sim.set_config(reviewed_config);
    for (int i = 0; i < 3; ++i) sim.day();
    EXPECT_NE(sim.status_of("acme.example").state, "holding") << sim.status_of("acme.example").reason;
}

TEST(RolloutScenario, ABrokenDkimRotationRollsTheDomainBack) {
    Simulation sim(client_config());
    // The office mail relies on DKIM: its Return-Path is a vendor's.
    Traffic office = own_servers("acme.example");
    office.envelope_from = "bounces.vendor.example";
    sim.traffic["acme.example"] = {office};
    sim.run_until(200, [&] {
        const auto s = sim.status_of("acme.example");
        return s.step == "quarantine-50" && !s.pending;
    });
    ASSERT_EQ(sim.status_of("acme.example").step, "quarantine-50");
    for (int i = 0; i < 3; ++i) sim.day();
    // The new key was published with a typo: every signature fails from today.
    sim.traffic["acme.example"][0].dkim_pass = false;
    std::vector<AdvanceResult> last;
    for (int i = 0; i < 5; ++i) {
        last = sim.day();
        if (!last.empty() && last[0].decision.action == rollout::Action::roll_back) break;
    }
    ASSERT_FALSE(last.empty());
    EXPECT_EQ(last[0].decision.action, rollout::Action::roll_back) << last[0].decision.reason;
    EXPECT_EQ(last[0].step, "quarantine-10");
    EXPECT_NE(last[0].decision.reason.find("Office mail"), std::string::npos) << last[0].decision.reason;
    const auto status = sim.status_of("acme.example");
    EXPECT_EQ(status.state, "rolled_back");
    bool told = false;
    for (const auto& n : sim.notices) told = told || (n.event == "rollback" && n.step == "quarantine-10");
    EXPECT_TRUE(told);
    const auto history = sim.history("acme.example");
    ASSERT_FALSE(history.empty());
    EXPECT_NE(std::find(actions(history).begin(), actions(history).end(), "roll_back"), actions(history).end());
}

TEST(RolloutScenario, ForwardingFailuresDoNotBlockTheDomain) {
    Simulation sim(client_config());
    sim.traffic["acme.example"] = {
        own_servers("acme.example"),
        // A mailing list re-sends a quarter of the mail: DKIM broken by its footer, SPF its own.
        Traffic{.ip = "198.51.100.7", .per_day = 300, .header_from = "", .envelope_from = "lists.example",
                .spf_pass = false, .dkim_domain = "acme.example", .dkim_pass = false, .forwarded = true},
    };
    sim.run_until(200, [&] { return sim.status_of("acme.example").state == "done"; });
    EXPECT_EQ(sim.status_of("acme.example").state, "done") << sim.status_of("acme.example").reason;
}

TEST(RolloutScenario, SubdomainSpoofingIsCaughtBySpQuarantine) {
    Simulation sim(client_config());
    sim.traffic["acme.example"] = {
        own_servers("acme.example"),
        Traffic{.ip = "203.0.113.66", .per_day = 90, .header_from = "billing.acme.example",
                .envelope_from = "billing.acme.example", .spf_pass = false, .dkim_domain = "", .dkim_pass = false},
    };
    for (int i = 0; i < 10; ++i) sim.day();
    auto ctx = sim.context();
    // The ten days simulated sent the reports of nine days (the first morning reports the day
    // before the simulation began).
    auto f = forecast(ctx, "acme.example", std::string("sp-quarantine"), Timestamp(sim.today() - days(10)));
    ASSERT_TRUE(f) << f.error().describe();
    EXPECT_EQ(f->record, "v=DMARC1; p=none; sp=quarantine; rua=mailto:dmarc@acme.example");
    EXPECT_NEAR(f->unauthorised_quarantined, 90.0 * 9, 1.0) << "every spoofed message, quarantined";
    EXPECT_DOUBLE_EQ(f->legitimate_quarantined, 0.0);
    EXPECT_DOUBLE_EQ(f->legitimate_rejected, 0.0);
    // And the next step is the one that catches it.
    auto next = forecast(ctx, "acme.example", std::nullopt, Timestamp(sim.today() - days(10)));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->step, "sp-quarantine");
}

TEST(RolloutScenario, DatedCalendarsForTwoGroupsWithOneDomainHeldBack) {
    const std::string config = R"([defaults]
rua = ["mailto:dmarc@msp.example"]

[[plan]]
name = "wave-a"
base = "dated"
[[plan.step]]
p = "none"
min_days = 3
[[plan.step]]
date = 2027-01-18
p = "quarantine"
sp = "quarantine"
min_days = 3
[[plan.step]]
date = 2027-02-01
p = "reject"
sp = "reject"

[[plan]]
name = "wave-b"
base = "dated"
[[plan.step]]
p = "none"
min_days = 3
[[plan.step]]
date = 2027-02-08
p = "quarantine"
sp = "quarantine"
min_days = 3
[[plan.step]]
date = 2027-02-22
p = "reject"
sp = "reject"

[[client]]
name = "alpha"
domains = ["alpha.example", "alpha-shop.example"]
plan = "wave-a"
[[client.sender]]
name = "Alpha servers"
ips = ["192.0.2.0/24"]
dkim_domains = ["alpha.example", "alpha-shop.example"]

[[client]]
name = "beta"
domains = ["beta.example"]
plan = "wave-b"
[[client.sender]]
name = "Beta servers"
ips = ["192.0.2.0/24"]
dkim_domains = ["beta.example"]
)";
    Simulation sim(config);
    sim.traffic["alpha.example"] = {own_servers("alpha.example")};
    sim.traffic["beta.example"] = {own_servers("beta.example")};
    // The shop also sends through an undeclared helpdesk: its data holds it back.
    sim.traffic["alpha-shop.example"] = {
        own_servers("alpha-shop.example"),
        Traffic{.ip = "198.51.100.33", .per_day = 450, .header_from = "", .envelope_from = "helpdesk.example",
                .spf_pass = true, .dkim_domain = "helpdesk.example", .dkim_pass = true},
    };
    std::map<std::string, std::map<std::string, rollout::Day>> entered;  // domain → step → first day live
    for (int i = 0; i < 60; ++i) {
        sim.day();
        for (const char* d : {"alpha.example", "alpha-shop.example", "beta.example"}) {
            const auto s = sim.status_of(d);
            if (!s.pending && !entered[d].contains(s.step)) entered[d][s.step] = sim.today();
        }
    }
    auto day = [](int y, unsigned m, unsigned d) {
        return rollout::Day(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
    };
    // Alpha moves with wave A's calendar, not before its dates.
    ASSERT_TRUE(entered["alpha.example"].contains("quarantine")) << sim.status_of("alpha.example").reason;
    EXPECT_GE(entered["alpha.example"]["quarantine"], day(2027, 1, 18));
    EXPECT_LE(entered["alpha.example"]["quarantine"], day(2027, 1, 21));
    ASSERT_TRUE(entered["alpha.example"].contains("reject"));
    EXPECT_GE(entered["alpha.example"]["reject"], day(2027, 2, 1));
    // Beta follows wave B.
    ASSERT_TRUE(entered["beta.example"].contains("quarantine"));
    EXPECT_GE(entered["beta.example"]["quarantine"], day(2027, 2, 8));
    EXPECT_LE(entered["beta.example"]["quarantine"], day(2027, 2, 11));
    ASSERT_TRUE(entered["beta.example"].contains("reject"));
    EXPECT_GE(entered["beta.example"]["reject"], day(2027, 2, 22));
    // The shop is held at monitoring by its data while its client's other domain moves on.
    const auto shop = sim.status_of("alpha-shop.example");
    EXPECT_EQ(shop.step, "none");
    EXPECT_EQ(shop.state, "holding") << shop.reason;
    EXPECT_NE(shop.reason.find("198.51.100"), std::string::npos) << shop.reason;

    // The plan view says the shop's target date... it has none; the calendar still shows dates.
    auto ctx = sim.context();
    auto view = plan_view(ctx, "alpha-shop.example");
    ASSERT_TRUE(view);
    EXPECT_EQ(view->plan.name, "wave-a");
}

TEST(RolloutScenario, ManualControlIsRecordedAndRespected) {
    Simulation sim(client_config());
    sim.traffic["acme.example"] = {own_servers("acme.example")};
    for (int i = 0; i < 3; ++i) sim.day();
    auto ctx = sim.context();
    auto held = hold(ctx, "acme.example", "waiting for the CRM vendor");
    ASSERT_TRUE(held);
    EXPECT_EQ(held->state, "holding");
    for (int i = 0; i < 40; ++i) sim.day();
    EXPECT_EQ(sim.status_of("acme.example").step, "monitor") << "a held domain does not move";
    auto resumed_ctx = sim.context();
    ASSERT_TRUE(resume(resumed_ctx, "acme.example"));
    sim.day();
    sim.day();
    EXPECT_EQ(sim.status_of("acme.example").step, "sp-quarantine");

    auto set_ctx = sim.context();
    auto set = set_step(set_ctx, "acme.example", "reject-10", "the client asked to go faster");
    ASSERT_TRUE(set) << set.error().describe();
    EXPECT_EQ(set->step, "reject-10");
    EXPECT_TRUE(set->pending);
    EXPECT_FALSE(set_step(set_ctx, "acme.example", "no-such-step", "typo"));
    EXPECT_FALSE(hold(set_ctx, "other.example", "not ours"));
    const auto history = sim.history("acme.example");
    std::vector<std::string> manual;
    for (const auto& e : history)
        if (e.action == "hold" || e.action == "resume" || e.action == "set") manual.push_back(e.action + ":" + e.reason);
    ASSERT_GE(manual.size(), 3U);
    EXPECT_EQ(manual.front(), "hold:waiting for the CRM vendor");
    EXPECT_EQ(manual.back(), "set:the client asked to go faster");
}

TEST(RolloutScenario, DryRunChangesNothing) {
    Simulation sim(client_config());
    sim.traffic["acme.example"] = {own_servers("acme.example")};
    auto ctx = sim.context();
    auto results = advance(ctx, AdvanceOptions{.domain = std::string("acme.example"), .dry_run = true});
    ASSERT_TRUE(results);
    ASSERT_EQ(results->size(), 1U);
    EXPECT_TRUE(sim.history("acme.example").empty()) << "not even the enrolment is stored";
    EXPECT_FALSE((*results)[0].published);
}

}  // namespace
}  // namespace rampart::autopilot
