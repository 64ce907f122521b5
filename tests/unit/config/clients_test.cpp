// config: the client and sender inventory ([[client]], [[client.sender]]) is read as strictly as
// the rest of rampart.toml: every error names the line and column of the key, value or list
// element at fault. check_inventory() then finds what is well-formed but wrong or doubtful:
// overlapping ranges, unrecognisable senders, foreign d=/MAIL FROM domains, due dates without a
// decision.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "config/config.hpp"

namespace rampart::config {
namespace {

using namespace std::chrono_literals;

Result<Config> parse_text(std::string_view text) {
    return parse(text, "rampart.toml", "/etc/rampart");
}

void expect_error_at(std::string_view text, std::uint32_t line, std::uint32_t column,
                     std::string_view words) {
    auto c = parse_text(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().code, Errc::malformed);
    EXPECT_EQ(c.error().where.source, "rampart.toml");
    EXPECT_EQ(c.error().where.line, line) << c.error().describe();
    EXPECT_EQ(c.error().where.column, column) << c.error().describe();
    EXPECT_NE(c.error().reason.find(words), std::string::npos) << c.error().describe();
}

constexpr std::string_view full_example = R"(dns = "192.0.2.53:53"

[[mailbox]]
url = "imaps://dmarc@mail.example.net/INBOX"
client = "acme"

[[client]]
name = "acme"
contact = ["it@acme.example", "Security.Team@acme.example"]
domains = ["Acme.Example.", "news.acme.example"]

[[client.sender]]
name = "Office mail"
provider = "Microsoft-365"
ips = ["192.0.2.0/24", "2001:DB8:1::/48", "198.51.100.7"]
spf_includes = ["SPF.Protection.Outlook.com"]
dkim_domains = ["acme.example", "acme.onmicrosoft.com"]
return_path_domains = ["bounces.acme.example"]
status = "active"
decision = "moving to custom DKIM"
due = 2027-01-31

[[client.sender]]
name = "Old newsletter"
provider = "mailchimp"
status = "retired"

[[client]]
name = "globex"
domains = ["globex.example"]
)";

TEST(Clients, FullExampleReadsEveryField) {
    auto c = parse_text(full_example);
    ASSERT_TRUE(c) << c.error().describe();
    ASSERT_EQ(c->clients.size(), 2u);
    const auto& acme = c->clients[0];
    EXPECT_EQ(acme.name, "acme");
    EXPECT_EQ(acme.contact,
              (std::vector<std::string>{"it@acme.example", "Security.Team@acme.example"}));
    // Lower-cased, trailing dot gone.
    EXPECT_EQ(acme.domains, (std::vector<std::string>{"acme.example", "news.acme.example"}));
    EXPECT_EQ(acme.where.line, 7u);
    EXPECT_EQ(acme.where.column, 1u);
    ASSERT_EQ(acme.senders.size(), 2u);

    const auto& office = acme.senders[0];
    EXPECT_EQ(office.name, "Office mail");
    EXPECT_EQ(office.provider, "microsoft-365");
    EXPECT_EQ(office.provider_where.line, 14u);
    EXPECT_EQ(office.provider_where.column, 12u);
    ASSERT_EQ(office.ips.size(), 3u);
    EXPECT_EQ(office.ips[0].to_string(), "192.0.2.0/24");
    EXPECT_EQ(office.ips[1].to_string(), "2001:db8:1::/48");
    EXPECT_EQ(office.ips[2].to_string(), "198.51.100.7/32");  // a bare address is one host
    EXPECT_EQ(office.ips_where.line, 15u);
    EXPECT_EQ(office.ips_where.column, 7u);
    EXPECT_EQ(office.spf_includes, std::vector<std::string>{"spf.protection.outlook.com"});
    EXPECT_EQ(office.dkim_domains,
              (std::vector<std::string>{"acme.example", "acme.onmicrosoft.com"}));
    EXPECT_EQ(office.return_path_domains, std::vector<std::string>{"bounces.acme.example"});
    EXPECT_EQ(office.status, SenderStatus::active);
    EXPECT_EQ(office.decision, "moving to custom DKIM");
    ASSERT_TRUE(office.due);
    EXPECT_EQ(*office.due, std::chrono::year_month_day(2027y, std::chrono::January, 31d));
    EXPECT_EQ(office.where.line, 12u);

    const auto& old = acme.senders[1];
    EXPECT_EQ(old.status, SenderStatus::retired);
    EXPECT_TRUE(old.ips.empty());
    EXPECT_FALSE(old.decision);
    EXPECT_FALSE(old.due);
    EXPECT_EQ(old.where.line, 23u);

    const auto& globex = c->clients[1];
    EXPECT_EQ(globex.name, "globex");
    EXPECT_TRUE(globex.contact.empty());
    EXPECT_TRUE(globex.senders.empty());

    // Everything else in the file is still read.
    EXPECT_EQ(c->dns, "192.0.2.53:53");
    ASSERT_EQ(c->mailboxes.size(), 1u);
    EXPECT_EQ(c->mailboxes[0].client, "acme");
}

TEST(Clients, LookUpByDomainAndByName) {
    auto c = parse_text(full_example);
    ASSERT_TRUE(c) << c.error().describe();
    ASSERT_NE(c->client_of("news.acme.example"), nullptr);
    EXPECT_EQ(c->client_of("news.acme.example")->name, "acme");
    EXPECT_EQ(c->client_of("GLOBEX.example.")->name, "globex");  // as DNS compares names
    // Listed domains only: a subdomain that is not listed belongs to nobody.
    EXPECT_EQ(c->client_of("mail.globex.example"), nullptr);
    EXPECT_EQ(c->client_of("initech.example"), nullptr);
    EXPECT_EQ(c->client("globex"), &c->clients[1]);
    EXPECT_EQ(c->client("Globex"), nullptr);  // names are the operator's: exact
    EXPECT_EQ(to_string(SenderStatus::active), "active");
    EXPECT_EQ(to_string(SenderStatus::retired), "retired");
}

TEST(Clients, ClientErrorsAtTheirPosition) {
    expect_error_at("[[client]]\ncontact = [\"a@b.example\"]\n", 1, 1,
                    "this [[client]] has no name");
    expect_error_at("[[client]]\nname = \"a\"\n  domain = [\"a.example\"]\n", 3, 3,
                    "unknown key 'domain' in [[client]]");
    expect_error_at("[[client]]\nname = 7\n", 2, 8, "name must be a string");
    expect_error_at("[[client]]\nname = \"\"\n", 2, 8, "name must not be empty");
    expect_error_at("client = \"acme\"\n", 1, 10, "array of tables");
    expect_error_at("[[client]]\nname = \"a\"\n[[client]]\nname = \"a\"\n", 4, 8,
                    "two clients are named 'a' (the first at line 1)");
    expect_error_at("[[client]]\nname = \"a\"\ncontact = \"it@a.example\"\n", 3, 11,
                    "contact must be a list of strings");
    expect_error_at("[[client]]\nname = \"a\"\ncontact = [\"it@a.example\", \"it at a.example\"]\n",
                    3, 28, "'it at a.example' is not an e-mail address");
    expect_error_at("[[client]]\nname = \"a\"\ncontact = [\"@a.example\"]\n", 3, 12,
                    "not an e-mail address");
    expect_error_at("[[client]]\nname = \"a\"\ncontact = [\"it@a@b.example\"]\n", 3, 12,
                    "not an e-mail address");
    expect_error_at("[[client]]\nname = \"a\"\ncontact = [\"it@localhost\"]\n", 3, 12,
                    "not an e-mail address");
    expect_error_at("[[client]]\nname = \"a\"\ncontact = [42]\n", 3, 12,
                    "each of contact must be a string");
    expect_error_at("[[client]]\nname = \"a\"\ndomains = [\"a.example\", \"https://a.example\"]\n",
                    3, 25, "domains: 'https://a.example' is not a domain name");
    expect_error_at("[[client]]\nname = \"a\"\ndomains = [\"a..example\"]\n", 3, 12,
                    "domains: the domain name has an empty label");
    expect_error_at("[[client]]\nname = \"a\"\ndomains = [\"a.example\", \"A.example.\"]\n", 3, 25,
                    "'a.example' is listed twice");
}

TEST(Clients, DomainInTwoClientsNamesBoth) {
    expect_error_at(
        "[[client]]\nname = \"acme\"\ndomains = [\"shared.example\"]\n\n"
        "[[client]]\nname = \"globex\"\ndomains = [\"globex.example\", \"Shared.Example\"]\n",
        7, 30,
        "domain 'shared.example' is listed by client 'acme' (line 1) and by client 'globex'");
}

TEST(Clients, SenderErrorsAtTheirPosition) {
    const std::string head = "[[client]]\nname = \"acme\"\n[[client.sender]]\nname = \"mail\"\n";
    // Line 5 onwards is the sender's.
    expect_error_at(head + "ip = [\"192.0.2.1\"]\n", 5, 1, "unknown key 'ip' in [[client.sender]]");
    expect_error_at("[[client]]\nname = \"acme\"\n[[client.sender]]\nprovider = \"zoho\"\n", 3, 1,
                    "this [[client.sender]] of client 'acme' has no name");
    expect_error_at(head + "[[client.sender]]\nname = \"mail\"\n", 6, 8,
                    "client 'acme' has two senders named 'mail' (the first at line 3)");
    expect_error_at(head + "ips = \"192.0.2.0/24\"\n", 5, 7, "ips must be a list of strings");
    expect_error_at(head + "ips = [\"192.0.2.0/24\", \"192.0.2.1/24\"]\n", 5, 24,
                    "ips: '192.0.2.1/24' has host bits set beyond /24");
    expect_error_at(head + "ips = [\"192.0.2.0/33\"]\n", 5, 8, "has a bad prefix length");
    expect_error_at(head + "ips = [\"mail.acme.example\"]\n", 5, 8, "ips: ");
    expect_error_at(head + "ips = [\"2001:db8::/32\", \"2001:DB8::/32\"]\n", 5, 25,
                    "ips: 2001:db8::/32 is listed twice");
    expect_error_at(head + "ips = [24]\n", 5, 8, "each of ips must be a string");
    expect_error_at(head + "spf_includes = [\"_spf.google.com\", \"spf google.com\"]\n", 5, 36,
                    "spf_includes: the domain name has a space");
    expect_error_at(head + "dkim_domains = [\"acme.example/\"]\n", 5, 17,
                    "dkim_domains: 'acme.example/' is not a domain name");
    expect_error_at(head + "return_path_domains = [\"\"]\n", 5, 24,
                    "each of return_path_domains must not be empty");
    expect_error_at(head + "status = \"paused\"\n", 5, 10,
                    "status must be \"active\" or \"retired\", not \"paused\"");
    expect_error_at(head + "status = true\n", 5, 10, "status must be a string");
    expect_error_at(head + "decision = [\"x\"]\n", 5, 12, "decision must be a string");
    expect_error_at(head + "provider = \"\"\n", 5, 12, "provider must not be empty");
    expect_error_at("[[client]]\nname = \"acme\"\nsender = 3\n", 3, 10,
                    "sender must be an array of tables");
}

TEST(Clients, DueMustBeATomlDate) {
    const std::string head = "[[client]]\nname = \"acme\"\n[[client.sender]]\nname = \"mail\"\n";
    expect_error_at(head + "due = \"2027-01-31\"\n", 5, 7, "due must be a TOML date");
    expect_error_at(head + "due = 2027-01-31T10:00:00\n", 5, 7, "due must be a TOML date");
    expect_error_at(head + "due = 2027-01-31T10:00:00Z\n", 5, 7, "due must be a TOML date");
    expect_error_at(head + "due = 10:00:00\n", 5, 7, "due must be a TOML date");
    auto c = parse_text(head + "decision = \"x\"\ndue = 2026-12-01\n");
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->clients[0].senders[0].due,
              std::chrono::year_month_day(2026y, std::chrono::December, 1d));
}

// ---- check_inventory ----------------------------------------------------------------------

Config parsed(std::string_view text) {
    auto c = parse_text(text);
    EXPECT_TRUE(c) << c.error().describe();
    return c ? std::move(*c) : Config{};
}

std::string listing(const std::vector<Problem>& problems) {
    std::string out;
    for (const auto& p : problems)
        out += std::to_string(p.where.line) + ":" + std::to_string(p.where.column) + ": " +
               (p.error ? "error: " : "warning: ") + p.message + "\n";
    return out;
}

TEST(Inventory, CleanInventoryHasNoProblems) {
    auto c = parsed(full_example);
    auto problems = check_inventory(c, [](std::string_view provider) {
        return provider == "microsoft-365" ? std::vector<std::string>{"onmicrosoft.com"}
                                           : std::vector<std::string>{};
    });
    EXPECT_TRUE(problems.empty()) << listing(problems);
}

TEST(Inventory, OverlappingRangesWithinAndAcrossClients) {
    auto c = parsed(R"([[client]]
name = "acme"
domains = ["acme.example"]
[[client.sender]]
name = "Office"
ips = ["192.0.2.0/24"]
[[client.sender]]
name = "CRM"
ips = ["198.51.100.0/24", "192.0.2.128/25"]

[[client]]
name = "globex"
domains = ["globex.example"]
[[client.sender]]
name = "Relay"
ips = ["2001:db8::/32", "192.0.2.200"]
)");
    auto problems = check_inventory(c);
    ASSERT_EQ(problems.size(), 3u) << listing(problems);
    // Within acme: the later sender is blamed, at its ips array, naming both.
    EXPECT_TRUE(problems[0].error);
    EXPECT_EQ(problems[0].where.line, 9u);
    EXPECT_EQ(problems[0].where.column, 7u);
    EXPECT_EQ(problems[0].message,
              "sender 'CRM' of client 'acme' range 192.0.2.128/25 overlaps sender 'Office' of "
              "client 'acme' range 192.0.2.0/24 (line 6): mail from the overlap cannot be told "
              "apart");
    // Across clients: globex's host inside both of acme's ranges.
    EXPECT_EQ(problems[1].where.line, 16u);
    EXPECT_NE(problems[1].message.find("sender 'Relay' of client 'globex' range 192.0.2.200/32 "
                                       "overlaps sender 'Office' of client 'acme' range "
                                       "192.0.2.0/24"),
              std::string::npos)
        << listing(problems);
    EXPECT_NE(
        problems[2].message.find("overlaps sender 'CRM' of client 'acme' range 192.0.2.128/25"),
        std::string::npos)
        << listing(problems);
    EXPECT_TRUE(problems[2].error);
}

TEST(Inventory, OverlapWithARetiredSenderIsAWarning) {
    auto c = parsed(R"([[client]]
name = "acme"
domains = ["acme.example"]
[[client.sender]]
name = "Old relay"
ips = ["192.0.2.0/24"]
status = "retired"
[[client.sender]]
name = "New relay"
ips = ["192.0.2.0/24"]
)");
    auto problems = check_inventory(c);
    ASSERT_EQ(problems.size(), 1u) << listing(problems);
    EXPECT_FALSE(problems[0].error);
    EXPECT_NE(problems[0].message.find("'New relay'"), std::string::npos);
    EXPECT_NE(problems[0].message.find("'Old relay'"), std::string::npos);
}

TEST(Inventory, DisjointAndOtherFamilyRangesDoNotOverlap) {
    auto c = parsed(R"([[client]]
name = "acme"
[[client.sender]]
name = "A"
ips = ["192.0.2.0/25", "2001:db8::/64"]
[[client.sender]]
name = "B"
ips = ["192.0.2.128/25", "2001:db8:0:1::/64", "0.0.0.0/32"]
)");
    auto problems = check_inventory(c);
    EXPECT_TRUE(problems.empty()) << listing(problems);
}

TEST(Inventory, SenderNothingCanRecogniseIsAWarning) {
    auto c = parsed(R"([[client]]
name = "acme"
domains = ["acme.example"]
[[client.sender]]
name = "Mystery"
return_path_domains = ["acme.example"]
decision = "ask accounting who this is"
[[client.sender]]
name = "By include"
spf_includes = ["_spf.esp.example"]
)");
    auto problems = check_inventory(c);
    ASSERT_EQ(problems.size(), 1u) << listing(problems);
    EXPECT_FALSE(problems[0].error);
    EXPECT_EQ(problems[0].where.line, 4u);
    EXPECT_EQ(problems[0].message,
              "sender 'Mystery' of client 'acme' cannot be recognised in reports: give it ips, a "
              "provider, spf_includes or dkim_domains");
}

TEST(Inventory, ForeignDkimAndReturnPathDomainsAreWarnings) {
    auto c = parsed(R"([[client]]
name = "acme"
domains = ["acme.example"]
[[client.sender]]
name = "ESP"
provider = "sendgrid"
dkim_domains = ["mail.acme.example", "sendgrid.info", "globex.example"]
return_path_domains = ["em123.acme.example", "bounce.sendgrid.net", "notacme.example"]
)");
    auto provider = [](std::string_view id) {
        return id == "sendgrid" ? std::vector<std::string>{"sendgrid.net", "sendgrid.info"}
                                : std::vector<std::string>{};
    };
    auto problems = check_inventory(c, provider);
    ASSERT_EQ(problems.size(), 2u) << listing(problems);
    EXPECT_FALSE(problems[0].error);
    EXPECT_EQ(problems[0].where.line, 4u);
    EXPECT_EQ(problems[0].message,
              "sender 'ESP' of client 'acme': dkim domain 'globex.example' is neither one of the "
              "client's domains (acme.example) nor below one, nor the provider's (sendgrid)");
    // "notacme.example" ends with "acme.example" but is not below it.
    EXPECT_NE(problems[1].message.find("return-path domain 'notacme.example'"), std::string::npos);

    // Without the catalogue's help the provider's own domains are foreign too.
    EXPECT_EQ(check_inventory(c).size(), 4u);
}

TEST(Inventory, DueDateWithoutDecisionIsAWarning) {
    auto c = parsed(R"([[client]]
name = "acme"
[[client.sender]]
name = "Legacy relay"
ips = ["192.0.2.1"]
due = 2027-01-31
)");
    auto problems = check_inventory(c);
    ASSERT_EQ(problems.size(), 1u) << listing(problems);
    EXPECT_FALSE(problems[0].error);
    EXPECT_EQ(problems[0].where.line, 3u);
    EXPECT_EQ(problems[0].message,
              "sender 'Legacy relay' of client 'acme' has a due date (2027-01-31) but no "
              "decision: say what is due");
}

TEST(Inventory, MailboxNamingAnUndeclaredClientIsAWarning) {
    auto c = parsed(R"([[mailbox]]
url = "imaps://u@h/"
client = "acme"
[[mailbox]]
url = "imaps://v@h/"
client = "initech"
[[client]]
name = "acme"
)");
    auto problems = check_inventory(c);
    ASSERT_EQ(problems.size(), 1u) << listing(problems);
    EXPECT_FALSE(problems[0].error);
    EXPECT_EQ(problems[0].where.line, 4u);
    EXPECT_NE(problems[0].message.find("client 'initech'"), std::string::npos);
    // Without any [[client]] the name is just a label, as it was before clients existed.
    auto labels = parsed("[[mailbox]]\nurl = \"imaps://u@h/\"\nclient = \"initech\"\n");
    EXPECT_TRUE(check_inventory(labels).empty());
}

}  // namespace
}  // namespace rampart::config
