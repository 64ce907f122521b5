// inspect(): the static walk of a published SPF policy for audits and setup.
//
// It costs terms as RFC 7208 §4.6.4 counts them for a message that matches nothing (the worst
// case, and the one receivers hit for spoofed mail): include, a, mx, ptr, exists and redirect
// each cost one, an include adds its target's whole tree. Unlike check_host() it does not stop
// at the limits: the user needs to see the whole tree and where it goes over.
#include <algorithm>

#include <fmt/format.h>

#include "spf/detail.hpp"

namespace rampart::spf {
namespace {

using dns::RrType;
using Severity = Issue::Severity;

/// The look-ups one node needs before walking its terms, asked together.
struct Prefetch {
    std::vector<dns::Resolver::Question> questions;
    std::vector<std::size_t> first;  // per term: index of its first question, or npos
};

constexpr std::size_t none = static_cast<std::size_t>(-1);
// Above this, a TXT RRset plus the rest of the DNS message risks exceeding 512 octets of UDP
// (RFC 7208 §3.4), and so truncation and a TCP retry some receivers never make.
constexpr std::size_t udp_safe_txt = 450;

Issue issue(Severity severity, std::string code, std::string message, std::string term = {}) {
    return Issue{severity, std::move(code), std::move(message), std::move(term)};
}

/// A domain-spec without macros as a name; nullopt when it has macros or is not a name.
std::optional<std::string> static_target(const std::string& spec, const std::string& domain) {
    if (spec.empty()) return domain;
    if (spec.find('%') != std::string::npos) return std::nullopt;
    return detail::target_name(spec);
}

class Inspector {
public:
    Inspector(dns::Resolver& resolver, const Limits& limits, Tree& tree)
        : resolver_(resolver), limits_(limits), tree_(tree) {}

    void run(std::string_view domain, std::optional<std::string_view> record) {
        auto name = detail::target_name(domain);
        TreeNode& root = tree_.root;
        root.domain = name ? *name : std::string(domain);
        root.via = Via::root;
        if (!name || name->find('.') == std::string::npos) {
            root.status = dns::Status::error;
            root.issues.push_back(issue(Severity::error, "spf-syntax",
                                        fmt::format("\"{}\" is not a usable domain name",
                                                    printable(domain))));
        } else if (record) {
            dns::Answer given;
            given.status = dns::Status::ok;
            given.records.push_back(dns::Record{*name, RrType::txt, 0,
                                                dns::Txt{{std::string(*record)}}});
            visit(root, 0, std::move(given));
        } else {
            visit(root, 0, query(*name, RrType::txt));
        }
        tree_.total_lookups = running_;
        tree_.total_void_lookups = voids_;
        tree_.over_limit = running_ > limits_.dns_mechanisms;
        tree_.void_over_limit = voids_ > limits_.void_lookups;
        tree_.nodes = nodes_;
        collect(tree_.root);
    }

private:
    void visit(TreeNode& node, int depth, dns::Answer txt) {
        ++nodes_;
        node.running_total_before = running_;
        node.status = txt.status;
        node.truncated_answer = txt.truncated;
        if (read_records(node, txt)) {
            path_.push_back(node.domain);
            walk(node, depth);
            path_.pop_back();
        }
        node.running_total_after = running_;
        node.subtree_lookups = running_ - node.running_total_before;
    }

    /// Fills records/parsed; false when there is nothing to walk.
    bool read_records(TreeNode& node, const dns::Answer& txt) {
        const bool child = node.via != Via::root;
        if (txt.failed()) {
            node.issues.push_back(issue(Severity::error, "spf-temperror",
                                        fmt::format("the TXT look-up of {} failed ({}): receivers "
                                                    "return temperror",
                                                    printable(node.domain), to_string(txt.status)),
                                        node.term));
            return false;
        }
        for (const auto& r : txt.records) {
            const auto* t = std::get_if<dns::Txt>(&r.data);
            if (t == nullptr) continue;
            for (const auto& s : t->strings) node.txt_octets += s.size();
            auto joined = t->joined();
            if (is_spf_record(joined)) node.records.push_back(std::move(joined));
        }
        if (node.txt_octets > udp_safe_txt || node.truncated_answer)
            node.issues.push_back(issue(
                Severity::warning, "spf-record-too-long-udp",
                fmt::format("{} has {} octets of TXT data; answers over 512 octets need TCP, "
                            "which some receivers do not retry with (RFC 7208 §3.4)",
                            printable(node.domain), node.txt_octets)));
        if (node.records.empty()) {
            if (child)
                node.issues.push_back(issue(
                    Severity::error, "spf-include-missing",
                    fmt::format("{} leads to {}, which has no SPF record ({}): receivers return "
                                "permerror",
                                printable(node.term), printable(node.domain),
                                txt.empty() ? to_string(txt.status) : "no v=spf1 TXT"),
                    node.term));
            else
                node.issues.push_back(issue(Severity::error, "spf-none",
                                            fmt::format("{} publishes no SPF record",
                                                        printable(node.domain))));
            return false;
        }
        if (node.records.size() > 1) {
            node.issues.push_back(issue(
                Severity::error, "spf-multiple-records",
                fmt::format("{} publishes {} SPF records; receivers return permerror (RFC 7208 "
                            "§4.5)",
                            printable(node.domain), node.records.size())));
            return false;
        }
        auto parsed = parse_record(node.records.front());
        if (!parsed) {
            node.issues.push_back(issue(Severity::error, "spf-syntax",
                                        fmt::format("the SPF record of {} is malformed: {}",
                                                    printable(node.domain),
                                                    parsed.error().reason)));
            return false;
        }
        node.parsed = std::move(*parsed);
        node.own_lookups = node.parsed->own_lookups();
        return true;
    }

    void walk(TreeNode& node, int depth) {
        const Record& record = *node.parsed;
        record_issues(node, record);
        auto prefetch = plan(record, node.domain);
        auto answers = resolver_.query_all(prefetch.questions);
        for (std::size_t i = 0; i < record.mechanisms.size(); ++i) {
            const auto& m = record.mechanisms[i];
            if (!m.queries_dns()) continue;
            const dns::Answer* first =
                prefetch.first[i] == none ? nullptr : &answers[prefetch.first[i]];
            cost_term(node, depth, m, first);
        }
        if (record.redirect && !record.has_all()) {
            const std::size_t at = prefetch.first[record.mechanisms.size()];
            follow(node, depth, Via::redirect, record.redirect->text, record.redirect->value,
                   at == none ? nullptr : &answers[at]);
        }
    }

    /// The questions of every term whose target is known without a message.
    Prefetch plan(const Record& record, const std::string& domain) const {
        Prefetch p;
        auto add = [&](std::optional<std::string> target, std::initializer_list<RrType> types) {
            if (!target) {
                p.first.push_back(none);
                return;
            }
            p.first.push_back(p.questions.size());
            for (auto t : types) p.questions.push_back({*target, t});
        };
        for (const auto& m : record.mechanisms) {
            const auto target = static_target(m.domain_spec, domain);
            switch (m.kind) {
                case MechanismKind::include: add(target, {RrType::txt}); break;
                case MechanismKind::a: add(target, {RrType::a, RrType::aaaa}); break;
                case MechanismKind::mx: add(target, {RrType::mx}); break;
                case MechanismKind::exists: add(target, {RrType::a}); break;
                default: add(std::nullopt, {}); break;
            }
        }
        if (record.redirect && !record.has_all())
            add(static_target(record.redirect->value, domain), {RrType::txt});
        else
            add(std::nullopt, {});
        return p;
    }

    void record_issues(TreeNode& node, const Record& record) {
        const bool effective = node.via != Via::include;
        bool has_all = false;
        for (const auto& m : record.mechanisms) {
            if (m.kind == MechanismKind::ptr)
                node.issues.push_back(issue(Severity::warning, "spf-ptr",
                                            fmt::format("{} in {} uses ptr, which RFC 7208 §5.5 "
                                                        "says not to use: slow, and many "
                                                        "receivers skip it",
                                                        printable(m.text), printable(node.domain)),
                                            m.text));
            if (m.kind != MechanismKind::all) continue;
            has_all = true;
            if (m.qualifier == Qualifier::pass)
                node.issues.push_back(issue(Severity::error, "spf-plus-all",
                                            fmt::format("{} in {} lets every host on the Internet "
                                                        "pass",
                                                        printable(m.text), printable(node.domain)),
                                            m.text));
            else if (m.qualifier == Qualifier::neutral && effective)
                node.issues.push_back(issue(Severity::warning, "spf-neutral-all",
                                            fmt::format("{} in {} says nothing about other hosts; "
                                                        "use ~all or -all",
                                                        printable(m.text), printable(node.domain)),
                                            m.text));
        }
        if (has_all && record.redirect)
            node.issues.push_back(issue(Severity::info, "spf-redirect-ignored",
                                        fmt::format("{} in {} is never used because the record "
                                                    "has an all mechanism (RFC 7208 §6.1)",
                                                    printable(record.redirect->text),
                                                    printable(node.domain)),
                                        record.redirect->text));
        if (!has_all && !record.redirect && effective)
            node.issues.push_back(issue(Severity::warning, "spf-no-all",
                                        fmt::format("the record of {} ends without an all "
                                                    "mechanism: unlisted hosts get neutral",
                                                    printable(node.domain))));
    }

    void cost_term(TreeNode& node, int depth, const Mechanism& m, const dns::Answer* answer) {
        if (m.kind == MechanismKind::include) {
            follow(node, depth, Via::include, m.text, m.domain_spec, answer);
            return;
        }
        TermCost cost = count(node, m.text);
        if (m.has_macros()) {
            cost.note = "target depends on macros; not resolved";
            node.issues.push_back(issue(Severity::info, "spf-macro",
                                        fmt::format("{} in {} depends on the message; its cost "
                                                    "is counted as one look-up",
                                                    printable(m.text), printable(node.domain)),
                                        m.text));
        } else if (m.kind == MechanismKind::ptr) {
            cost.note = "depends on the client's address";
        } else if (answer == nullptr) {
            cost.note = "target is not a valid domain name";
        } else {
            cost_answers(node, m, answer, cost);
        }
        node.terms.push_back(std::move(cost));
    }

    void cost_answers(TreeNode& node, const Mechanism& m, const dns::Answer* answer,
                      TermCost& cost) {
        // a: A then AAAA; the term is void only when neither has an address.
        const bool dual = m.kind == MechanismKind::a;
        const bool failed = answer[0].failed() || (dual && answer[1].failed());
        const bool empty = answer[0].empty() && (!dual || answer[1].empty());
        if (failed) {
            cost.note = "look-up failed";
            node.issues.push_back(issue(Severity::warning, "spf-temperror",
                                        fmt::format("the look-up for {} in {} failed ({}): "
                                                    "receivers may return temperror",
                                                    printable(m.text), printable(node.domain),
                                                    to_string(answer[0].status)),
                                        m.text));
            return;
        }
        if (empty) {
            cost.void_lookups = 1;
            cost.note = fmt::format("void lookup ({})", to_string(answer[0].status));
            add_void(node, m.text);
            return;
        }
        if (m.kind != MechanismKind::mx) return;
        cost.mx_names = static_cast<int>(answer[0].records.size());
        if (cost.mx_names > limits_.mx_names)
            node.issues.push_back(issue(Severity::error, "spf-mx-too-many-names",
                                        fmt::format("{} in {} has {} MX names; more than {} is a "
                                                    "permerror (RFC 7208 §4.6.4)",
                                                    printable(m.text), printable(node.domain),
                                                    cost.mx_names, limits_.mx_names),
                                        m.text));
        const auto mx = answer[0].mx();
        if (mx.size() == 1 && mx.front().exchange.empty()) cost.note = "null MX";
    }

    /// include or redirect: one look-up here, then the target's tree.
    void follow(TreeNode& node, int depth, Via via, const std::string& term,
                const std::string& spec, const dns::Answer* txt) {
        TermCost cost = count(node, term);
        const std::size_t index = node.terms.size();
        node.terms.push_back(cost);
        auto target = static_target(spec, node.domain);
        if (spec.find('%') != std::string::npos) {
            node.terms[index].note = "target depends on macros; not resolved";
            node.issues.push_back(issue(Severity::info, "spf-macro",
                                        fmt::format("{} in {} depends on the message; its tree "
                                                    "cannot be walked",
                                                    printable(term), printable(node.domain)),
                                        term));
            return;
        }
        if (!target || txt == nullptr) {
            node.terms[index].note = "target is not a valid domain name";
            node.issues.push_back(issue(Severity::error, "spf-syntax",
                                        fmt::format("{} in {} names no valid domain: receivers "
                                                    "return permerror",
                                                    printable(term), printable(node.domain)),
                                        term));
            return;
        }
        if (std::find(path_.begin(), path_.end(), *target) != path_.end()) {
            node.terms[index].note = "loop";
            node.issues.push_back(issue(Severity::error, "spf-loop",
                                        fmt::format("{} in {} leads back to {}: receivers run "
                                                    "into the look-up limit and return permerror",
                                                    printable(term), printable(node.domain),
                                                    printable(*target)),
                                        term));
            return;
        }
        if (depth + 1 > limits_.max_depth || nodes_ >= limits_.max_nodes) {
            const bool deep = depth + 1 > limits_.max_depth;
            node.terms[index].note = deep ? "too deep; not walked" : "too many nodes; not walked";
            node.issues.push_back(issue(Severity::error, deep ? "spf-depth" : "spf-too-many-nodes",
                                        fmt::format("{} in {} was not walked: the tree is {}",
                                                    printable(term), printable(node.domain),
                                                    deep ? "too deep" : "too large"),
                                        term));
            return;
        }
        TreeNode child;
        child.domain = *target;
        child.via = via;
        child.term = term;
        visit(child, depth + 1, *txt);
        node.terms[index].running_total = running_;
        node.children.push_back(std::move(child));
    }

    /// Counts one DNS-querying term and notes where the §4.6.4 limit is first passed.
    TermCost count(TreeNode& node, const std::string& term) {
        TermCost cost;
        cost.term = term;
        cost.lookups = 1;
        cost.running_total = ++running_;
        cost.over_limit = running_ > limits_.dns_mechanisms;
        if (cost.over_limit && tree_.limit_exceeded_at.empty()) {
            tree_.limit_exceeded_at = fmt::format("{}: {}", node.domain, term);
            node.issues.push_back(issue(
                Severity::error, "spf-too-many-lookups",
                fmt::format("{} in {} is DNS-querying term number {}; receivers stop at {} and "
                            "return permerror (RFC 7208 §4.6.4)",
                            printable(term), printable(node.domain), running_,
                            limits_.dns_mechanisms),
                term));
        }
        return cost;
    }

    void add_void(TreeNode& node, const std::string& term) {
        ++node.void_lookups;
        if (++voids_ == limits_.void_lookups + 1)
            node.issues.push_back(issue(Severity::error, "spf-void-lookups",
                                        fmt::format("{} in {} is void look-up number {}; "
                                                    "receivers stop at {} and return permerror "
                                                    "(RFC 7208 §4.6.4)",
                                                    printable(term), printable(node.domain),
                                                    voids_, limits_.void_lookups),
                                        term));
        else
            node.issues.push_back(issue(Severity::warning, "spf-void-lookup",
                                        fmt::format("{} in {} finds nothing: a stale entry "
                                                    "that still costs a look-up",
                                                    printable(term), printable(node.domain)),
                                        term));
    }

    void collect(const TreeNode& node) {
        tree_.issues.insert(tree_.issues.end(), node.issues.begin(), node.issues.end());
        for (const auto& c : node.children) collect(c);
    }

    dns::Answer query(std::string_view name, RrType type) { return resolver_.query(name, type); }

    dns::Resolver& resolver_;
    const Limits& limits_;
    Tree& tree_;
    int running_ = 0;
    int voids_ = 0;
    int nodes_ = 0;
    std::vector<std::string> path_;
};

}  // namespace

std::string_view to_string(Issue::Severity severity) noexcept {
    switch (severity) {
        case Issue::Severity::error: return "error";
        case Issue::Severity::warning: return "warning";
        case Issue::Severity::info: return "info";
    }
    return "?";
}

std::string_view to_string(Via via) noexcept {
    switch (via) {
        case Via::root: return "root";
        case Via::include: return "include";
        case Via::redirect: return "redirect";
    }
    return "?";
}

Tree inspect(dns::Resolver& resolver, std::string_view domain, const Limits& limits) {
    Tree tree;
    Inspector(resolver, limits, tree).run(domain, std::nullopt);
    return tree;
}

Tree inspect_record(dns::Resolver& resolver, std::string_view domain, std::string_view record,
                    const Limits& limits) {
    Tree tree;
    Inspector(resolver, limits, tree).run(domain, record);
    return tree;
}

}  // namespace rampart::spf
