// config: the rollout sections ([defaults], [[plan]], and the plan/target/rua/ruf/override keys
// of [[client]]) become validated plans, and each configured domain resolves to its plan, target
// and report destinations.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace rampart::config {
namespace {

Result<Config> parse_text(std::string_view text) { return parse(text, "rampart.toml", "/etc/rampart"); }

Config parse_ok(std::string_view text) {
    auto c = parse_text(text);
    EXPECT_TRUE(c) << (c ? "" : c.error().describe());
    return c ? *c : Config{};
}

void expect_error(std::string_view text, std::uint32_t line, std::string_view words) {
    auto c = parse_text(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().code, Errc::malformed);
    EXPECT_EQ(c.error().where.line, line) << c.error().describe();
    EXPECT_NE(c.error().reason.find(words), std::string::npos) << c.error().describe();
}

rollout::Day day(int y, unsigned m, unsigned d) {
    return rollout::Day(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
}

constexpr std::string_view msp = R"([defaults]
plan = "gradual"
rua = ["mailto:dmarc@msp.example"]

[[plan]]
name = "wave-a"
base = "dated"
[plan.gates]
max_failing_share = 0.02
min_reporters = 3
[[plan.step]]
p = "none"
min_days = 14
[[plan.step]]
date = 2027-01-11
p = "quarantine"
sp = "quarantine"
pct = 10
[[plan.step]]
date = 2027-02-01
p = "reject"
sp = "reject"
milestone = true

[[client]]
name = "acme"
domains = ["acme.example", "news.acme.example"]
plan = "wave-a"
target = "reject@2027-03-01"
rua = ["mailto:dmarc@acme.example", "mailto:copy@msp.example"]
[[client.override]]
domain = "news.acme.example"
plan = "ramp"
target = "reject@2027-06-01"

[[client]]
name = "globex"
domains = ["globex.example"]
)";

TEST(RolloutConfig, ReadsPlansDefaultsAndClients) {
    auto c = parse_ok(msp);
    ASSERT_EQ(c.plans.size(), 1U);
    const auto& wave = c.plans[0];
    EXPECT_EQ(wave.name, "wave-a");
    EXPECT_EQ(wave.base, "dated");
    EXPECT_DOUBLE_EQ(wave.gates.max_failing_share, 0.02);
    EXPECT_EQ(wave.gates.min_reporters, 3U);
    EXPECT_EQ(wave.gates.min_reports, 5U) << "gates not given keep their defaults";
    ASSERT_EQ(wave.steps.size(), 3U);
    EXPECT_EQ(wave.steps[0].name, "none");
    EXPECT_EQ(wave.steps[0].min_days, 14);
    EXPECT_EQ(wave.steps[0].typical_days, 14);
    EXPECT_EQ(wave.steps[1].name, "quarantine-10");
    EXPECT_EQ(wave.steps[1].date, day(2027, 1, 11));
    EXPECT_EQ(wave.steps[1].shape.pct, 10);
    EXPECT_TRUE(wave.steps[2].milestone);
    EXPECT_TRUE(wave.dated());

    EXPECT_EQ(c.defaults.plan, "gradual");
    EXPECT_EQ(c.domains(), (std::vector<std::string>{"acme.example", "news.acme.example", "globex.example"}));
}

TEST(RolloutConfig, ResolvesEachDomain) {
    auto c = parse_ok(msp);
    auto acme = c.rollout_for("acme.example");
    ASSERT_TRUE(acme) << acme.error().reason;
    EXPECT_EQ(acme->client->name, "acme");
    EXPECT_EQ(acme->plan.name, "wave-a");
    ASSERT_TRUE(acme->target);
    EXPECT_EQ(acme->target->by, day(2027, 3, 1));
    EXPECT_EQ(acme->destinations.rua.size(), 2U);

    auto news = c.rollout_for("news.acme.example");
    ASSERT_TRUE(news);
    EXPECT_EQ(news->plan.name, "ramp");
    EXPECT_EQ(news->target->by, day(2027, 6, 1));
    EXPECT_EQ(news->destinations.rua.size(), 2U) << "the client's destinations still apply";

    auto globex = c.rollout_for("globex.example");
    ASSERT_TRUE(globex);
    EXPECT_EQ(globex->plan.name, "gradual");
    EXPECT_FALSE(globex->target);
    EXPECT_EQ(globex->destinations.rua, (std::vector<std::string>{"mailto:dmarc@msp.example"}));

    auto stranger = c.rollout_for("other.example");
    ASSERT_FALSE(stranger);
    EXPECT_EQ(stranger.error().code, Errc::not_found);
}

TEST(RolloutConfig, AConfigWithoutRolloutSectionsStillResolves) {
    auto c = parse_ok("[[client]]\nname = \"a\"\ndomains = [\"a.example\"]\n");
    auto a = c.rollout_for("a.example");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->plan.name, "gradual");
    EXPECT_TRUE(a->destinations.rua.empty());
}

TEST(RolloutConfig, RefusesMistakesWithTheirLine) {
    expect_error("[[client]]\nname = \"a\"\ndomains = [\"a.example\"]\nplan = \"fast\"\n", 1,
                 "names plan \"fast\", which does not exist");
    expect_error("[[client]]\nname = \"a\"\ndomains = [\"a.example\"]\ntarget = \"reject by march\"\n", 4,
                 "target");
    expect_error("[[client]]\nname = \"a\"\ndomains = [\"a.example\"]\nrua = [\"dmarc@a.example\"]\n", 4,
                 "is not a report URI");
    expect_error("[[client]]\nname = \"a\"\ndomains = [\"a.example\"]\n[[client.override]]\ndomain = \"b.example\"\n",
                 4, "not in its domains");
    expect_error("[[plan]]\nname = \"x\"\nbase = \"fastest\"\n", 3, "base must be a shipped plan");
    expect_error("[[plan]]\nname = \"ramp\"\n", 2, "shipped plan's name");
    expect_error("[[plan]]\nname = \"x\"\n[[plan.step]]\np = \"block\"\n", 4, "must be \"none\"");
    expect_error("[[plan]]\nname = \"x\"\n[[plan.step]]\np = \"reject\"\npct = 0\n", 5, "from 1 to 100");
    expect_error("[[plan]]\nname = \"x\"\n[[plan.step]]\nsp = \"reject\"\n", 3, "has no p");
    expect_error("[[plan]]\nname = \"x\"\nbase = \"dated\"\n[[plan.step]]\np = \"none\"\n", 1,
                 "none of its steps has a date");
    expect_error("[[plan]]\nname = \"x\"\n[[plan.step]]\np = \"none\"\n[[plan.step]]\np = \"none\"\n", 1,
                 "used twice");
    expect_error("[[plan]]\nname = \"x\"\n[plan.gates]\nmax_failing_share = 5\n", 4, "share from 0 to 1");
    expect_error("[[plan]]\nname = \"x\"\nmilestones = [\"nope\"]\n", 3, "has no step \"nope\"");
    expect_error("[defaults]\nplan = \"nope\"\n", 0, "[defaults] names plan \"nope\"");
    expect_error("[[plan]]\nname = \"x\"\n[[plan]]\nname = \"x\"\n", 3, "two plans are named");
}

TEST(RolloutConfig, MilestonesCanBeChosen) {
    auto c = parse_ok("[[plan]]\nname = \"x\"\nbase = \"ramp\"\nmilestones = [\"reject-50\", \"steady\"]\n");
    ASSERT_EQ(c.plans.size(), 1U);
    std::vector<std::string> marked;
    for (const auto& s : c.plans[0].steps)
        if (s.milestone) marked.push_back(s.name);
    EXPECT_EQ(marked, (std::vector<std::string>{"reject-50", "steady"}));
    EXPECT_EQ(c.plans[0].steps.size(), 16U) << "no [[plan.step]]: the base plan's steps";
}

TEST(NotifyConfig, ReadsSmtpAndClientWebhooks) {
    auto c = parse_ok(R"([notify.smtp]
url = "smtp://mail.msp.example:587"
from = "Rampart <rampart@msp.example>"
username = "rampart"
password_file = "secrets/smtp.pass"

[[client]]
name = "acme"
contact = ["it@acme.example"]
domains = ["acme.example"]
webhook = "https://hooks.acme.example/dmarc"
webhook_token_file = "secrets/acme.token"
)");
    ASSERT_TRUE(c.smtp);
    EXPECT_EQ(c.smtp->url, "smtp://mail.msp.example:587");
    EXPECT_EQ(c.smtp->from, "Rampart <rampart@msp.example>");
    EXPECT_EQ(c.smtp->password_file, std::filesystem::path("/etc/rampart/secrets/smtp.pass"));
    EXPECT_TRUE(c.smtp->starttls);
    ASSERT_EQ(c.clients.size(), 1U);
    ASSERT_TRUE(c.clients[0].webhook);
    EXPECT_EQ(c.clients[0].webhook->url, "https://hooks.acme.example/dmarc");
    EXPECT_EQ(c.clients[0].webhook->token_file, std::filesystem::path("/etc/rampart/secrets/acme.token"));
}

TEST(NotifyConfig, RefusesIncompleteOrUnsafeSettings) {
    expect_error("[notify.smtp]\nurl = \"http://mail.example\"\nfrom = \"a@b.example\"\n", 2, "smtp://");
    expect_error("[notify.smtp]\nurl = \"smtp://mail.example\"\n", 1, "needs url and from");
    expect_error("[notify.smtp]\nurl = \"smtp://mail.example\"\nfrom = \"a@b.example\"\nusername = \"u\"\n", 1,
                 "username and password_file together");
    expect_error("[notify.smtp]\nurl = \"smtp://mail.example\"\nfrom = \"a@b.example\"\npassword = \"x\"\n", 4,
                 "unknown key 'password'");
    expect_error("[[client]]\nname = \"a\"\ndomains = [\"a.example\"]\nwebhook = \"ftp://x\"\n", 4, "http");
}

}  // namespace
}  // namespace rampart::config
