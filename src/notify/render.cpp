// What a notification says, to a person (subject and text) and to a machine (JSON). Pure.
#include "notify/notify.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "notify/mime.hpp"

namespace rampart::notify {

namespace {

// A subject is read in a list of messages: the first line of the reason, cut short.
constexpr std::size_t subject_reason_limit = 100;
constexpr std::size_t text_width = 72;

/// The first line of `text`, at most `limit` bytes (never cutting a UTF-8 character), with
/// "..." when something was left out.
std::string first_line_cut(std::string_view text, std::size_t limit) {
    auto line = trim(text.substr(0, text.find('\n')));
    bool cut = line.size() < trim(text).size();
    if (line.size() > limit) {
        line = detail::utf8_prefix(line, limit);
        cut = true;
    }
    std::string out(trim(line));
    if (cut) out += "...";
    return out;
}

std::string headline(const Notification& n) {
    switch (n.event) {
        case Event::milestone: return fmt::format("{} reached {}", n.domain, n.step);
        case Event::advance: return fmt::format("{} moved to {}", n.domain, n.step);
        case Event::hold: return fmt::format("{} is held", n.domain);
        case Event::rollback: return fmt::format("{} rolled back to {}", n.domain, n.step);
        case Event::new_unknown_sender: return fmt::format("{} has a new unknown sender", n.domain);
    }
    return n.domain;
}

/// The opening sentence of the body: what happened, in the client's terms.
std::string what_happened(const Notification& n) {
    switch (n.event) {
        case Event::milestone:
            return fmt::format(
                "The DMARC rollout for {} reached a milestone: receivers are now asked to apply "
                "the policy \"{}\" to mail that fails authentication.",
                n.domain, n.step);
        case Event::advance:
            return fmt::format(
                "The DMARC rollout for {} took its next step: the published policy is now "
                "\"{}\".",
                n.domain, n.step);
        case Event::hold:
            return fmt::format(
                "The DMARC rollout for {} is on hold at \"{}\": the policy will not become "
                "stricter until the cause below is resolved.",
                n.domain, n.step);
        case Event::rollback:
            return fmt::format(
                "The DMARC policy of {} was rolled back to \"{}\" to protect legitimate mail.",
                n.domain, n.step);
        case Event::new_unknown_sender:
            return fmt::format(
                "Receivers report mail sent as {} from a source that is not in your list of "
                "known senders.",
                n.domain);
    }
    return {};
}

/// What the client should do now; a step forward needs nothing unless mail goes missing.
std::string what_to_do(Event event) {
    switch (event) {
        case Event::milestone:
        case Event::advance:
            return "Nothing, as long as your mail arrives as usual. If legitimate mail from this "
                   "domain starts landing in spam or bouncing, tell us at once: the rollout can "
                   "be held or rolled back the same day.";
        case Event::hold:
            return "Please look at the cause above. If it names senders you use, make sure they "
                   "sign with DKIM for your domain or are listed in its SPF record; the rollout "
                   "continues once the reports show the mail passes.";
        case Event::rollback:
            return "Please fix the cause above before the rollout resumes. Nothing else is "
                   "needed: mail that failed authentication is no longer quarantined or "
                   "rejected because of this step.";
        case Event::new_unknown_sender:
            return "If you recognise this sender (a new provider, a service mailing on your "
                   "behalf), tell us so we can add it to your senders and set up SPF and DKIM "
                   "for it. If you do not, someone may be sending mail in your name: your DMARC "
                   "policy is what stops it, so no action is needed from you.";
    }
    return {};
}

/// `text` wrapped at `width` columns on spaces; a word longer than a line stays whole.
std::string wrap(std::string_view text, std::size_t width) {
    std::string out, line;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(' ', start);
        if (end == std::string_view::npos) end = text.size();
        auto word = text.substr(start, end - start);
        start = end + 1;
        if (word.empty()) continue;
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line.clear();
        }
        if (!line.empty()) line += ' ';
        line += word;
    }
    return out + line;
}

/// Each line of a stranger-influenced multi-line text made printable, then wrapped.
std::string paragraphs(std::string_view text) {
    std::string out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        auto line = trim(text.substr(start, end - start));
        start = end + 1;
        if (!out.empty()) out += '\n';
        out += wrap(printable(line), text_width);
    }
    return out;
}

void append_records(std::string& out, const Notification& n) {
    if (n.old_record == n.new_record) {
        out += fmt::format("Current record:   {}\n", printable(n.new_record));
        return;
    }
    out += fmt::format("Previous record:  {}\n", printable(n.old_record));
    out += fmt::format("New record:       {}\n", printable(n.new_record));
}

}  // namespace

std::string_view to_string(Event event) noexcept {
    switch (event) {
        case Event::milestone: return "milestone";
        case Event::hold: return "hold";
        case Event::rollback: return "rollback";
        case Event::new_unknown_sender: return "new_unknown_sender";
        case Event::advance: return "advance";
    }
    return "unknown";
}

std::string render_subject(const Notification& n) {
    auto subject = "[Rampart] " + headline(n);
    bool says_why = n.event == Event::hold || n.event == Event::rollback ||
                    n.event == Event::new_unknown_sender;
    if (says_why && !trim(n.reason).empty())
        subject += ": " + first_line_cut(n.reason, subject_reason_limit);
    return detail::header_safe(subject);
}

std::string render_text(const Notification& n) {
    std::string out;
    if (!trim(n.client).empty()) out += fmt::format("Hello {},\n\n", printable(n.client));
    out += wrap(what_happened(n), text_width) + "\n\n";
    out += fmt::format("Domain:           {}\n", printable(n.domain));
    out += fmt::format("Step:             {}\n", printable(n.step));
    out += fmt::format("When:             {}\n", format_timestamp(n.at));
    append_records(out, n);
    if (!trim(n.reason).empty()) out += "\nWhy:\n" + paragraphs(n.reason) + "\n";
    if (!n.details.empty()) {
        out += "\nDetails:\n";
        for (const auto& d : n.details) out += "- " + printable(d) + "\n";
    }
    out += "\nWhat you need to do:\n" + wrap(what_to_do(n.event), text_width) + "\n";
    out += "\n-- \nRampart, the DMARC rollout for " + printable(n.domain) + "\n";
    return out;
}

std::string render_json(const Notification& n) {
    nlohmann::ordered_json doc = {
        {"event", to_string(n.event)}, {"client", n.client},
        {"domain", n.domain},          {"step", n.step},
        {"old_record", n.old_record},  {"new_record", n.new_record},
        {"reason", n.reason},          {"at", format_timestamp(n.at)},
        {"details", n.details},
    };
    // Text may come from reports (sender names); replacing bad UTF-8 keeps dump() from throwing.
    return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace rampart::notify
