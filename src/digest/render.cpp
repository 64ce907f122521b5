// The digest as text and as one HTML page. Every string that can come from a report (sender
// names, PTR names, explanations built from them) goes through printable() for text and through
// html() for the page; nothing in the page is fetched or run (inline CSS and SVG only), so it
// renders the same in a mail client with remote content blocked.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "digest/digest.hpp"

namespace rampart::digest {
namespace {

using std::chrono::sys_days;

std::string date_text(std::chrono::year_month_day ymd) { return format_day(sys_days{ymd}); }

/// The period as the reader counts it: its first day and its last day, both inclusive.
std::string period_text(Timestamp since, Timestamp until) {
    const auto first = std::chrono::floor<std::chrono::days>(since);
    auto last = std::chrono::floor<std::chrono::days>(until - std::chrono::seconds{1});
    if (last < first) last = first;
    return fmt::format("{} to {}", format_day(first), format_day(last));
}

std::string count_text(std::uint64_t n) {
    auto digits = std::to_string(n);
    std::string out;
    const auto len = digits.size();
    for (std::size_t i = 0; i < len; ++i) {
        if (i > 0 && (len - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

double percent(std::uint64_t part, std::uint64_t total) {
    return total == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(total);
}

std::uint64_t open_count(const senders::Analysis& a) {
    return static_cast<std::uint64_t>(std::count_if(
        a.senders.begin(), a.senders.end(),
        [](const senders::Sender& s) { return s.cls != senders::SenderClass::passing; }));
}

/// The pass-rate trend against the previous period, in percentage points; empty when either
/// period has no mail (a rate of nothing has no trend).
struct Trend {
    bool known = false;
    double now = 0, before = 0, points = 0;
};

Trend trend_of(const DomainDigest& d) {
    Trend t;
    if (d.analysis.messages == 0 || d.previous_messages == 0) return t;
    t.known = true;
    t.now = percent(d.analysis.dmarc_pass, d.analysis.messages);
    t.before = percent(d.previous_pass, d.previous_messages);
    t.points = t.now - t.before;
    return t;
}

// Rounded to the tenth shown, so "+0.0" never comes with an up arrow.
std::string arrow(double points) {
    const double shown = std::round(points * 10.0) / 10.0;
    if (shown > 0) return "\u2191";  // ↑
    if (shown < 0) return "\u2193";  // ↓
    return "\u2192";                 // →
}

std::string signed_points(double points) {
    const double shown = std::round(points * 10.0) / 10.0;
    return fmt::format("{}{:.1f} pp", shown > 0 ? "+" : (shown < 0 ? "-" : "\u00b1"),
                       std::fabs(shown));
}

// ---- HTML ----------------------------------------------------------------------------------

/// Text for an HTML element or attribute: markup characters escaped, invalid UTF-8 and control
/// characters (other than tab and newline) replaced by U+FFFD so nothing can confuse a parser.
std::string html(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&#39;"; break;
                case '\t':
                case '\n': out.push_back(static_cast<char>(c)); break;
                default:
                    if (c < 0x20 || c == 0x7f)
                        out += "\xef\xbf\xbd";
                    else
                        out.push_back(static_cast<char>(c));
            }
            ++i;
            continue;
        }
        // A well-formed UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF) is kept.
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07u;
        }
        bool ok = len != 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) {
            if ((p[i + k] & 0xc0u) != 0x80u)
                ok = false;
            else
                cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if (ok) {
            ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
                 !(cp >= 0xd800 && cp <= 0xdfff) && !(cp >= 0x80 && cp < 0xa0);
        }
        if (ok) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

/// A bar for each day's volume (left axis) and a line of the day's DMARC pass rate (right axis,
/// 0-100 %), each bar and point with a <title> the browser shows on hover. Colours are
/// presentation attributes as well as CSS, so mail clients that strip <style> still draw it.
std::string chart(const DomainDigest& d) {
    if (d.days.empty()) return "<p class=\"empty\">No days in this period.</p>\n";
    constexpr double width = 720, height = 240;
    constexpr double left = 64, right = 52, top = 16, bottom = 44;
    const double pw = width - left - right, ph = height - top - bottom;
    const auto n = d.days.size();
    std::uint64_t max_messages = 0;
    for (const auto& p : d.days) max_messages = std::max(max_messages, p.messages);
    const double scale = max_messages == 0 ? 0.0 : ph / static_cast<double>(max_messages);
    const double slot = pw / static_cast<double>(n);
    const double bar = std::max(1.0, slot * 0.7);
    const double base = top + ph;

    std::string s = fmt::format(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
        "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\" "
        "aria-label=\"Daily messages and DMARC pass rate "
        "for {2}\">\n",
        width, height, html(d.analysis.domain));
    s += fmt::format("<title>Daily messages and DMARC pass rate for {}</title>\n",
                     html(d.analysis.domain));
    // Axes and their labels.
    s += fmt::format(
        "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#52606d\"/>\n",
        num(left), num(top), num(base));
    s += fmt::format(
        "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#52606d\"/>\n",
        num(left), num(base), num(left + pw));
    s += fmt::format(
        "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#52606d\"/>\n",
        num(left + pw), num(top), num(base));
    s += fmt::format("<text class=\"ylabel\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n",
                     num(left - 6), num(base + 4));
    s += fmt::format("<text class=\"ylabel\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                     num(left - 6), num(top + 4), count_text(max_messages));
    for (int pct : {0, 50, 100}) {
        s += fmt::format(
            "<text class=\"ylabel pass\" x=\"{}\" y=\"{}\" text-anchor=\"start\">{}%</text>\n",
            num(left + pw + 6), num(base - ph * pct / 100.0 + 4), pct);
    }
    s += fmt::format(
        "<text class=\"axis-title\" x=\"12\" y=\"{0}\" transform=\"rotate(-90 12 {0})\" "
        "text-anchor=\"middle\">messages per day</text>\n",
        num(top + ph / 2));
    s += fmt::format(
        "<text class=\"axis-title pass\" x=\"{0}\" y=\"{1}\" transform=\"rotate(90 {0} {1})\" "
        "text-anchor=\"middle\">DMARC pass</text>\n",
        num(width - 8), num(top + ph / 2));

    // Day labels: every day when they fit, else about ten of them plus the last.
    const std::size_t step = n <= 14 ? 1 : (n + 9) / 10;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& p = d.days[i];
        const double x = left + slot * static_cast<double>(i) + (slot - bar) / 2;
        const double h = static_cast<double>(p.messages) * scale;
        const auto label = format_day(p.day);
        const auto rate =
            p.messages == 0 ? std::string("no reports")
                            : fmt::format("{:.1f}% DMARC pass", percent(p.dmarc_pass, p.messages));
        s += fmt::format(
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
            "fill=\"#4c78a8\"><title>{}: {} "
            "messages, {}</title></rect>\n",
            num(x), num(base - h), num(bar), num(h), label, count_text(p.messages), rate);
        if (i % step == 0 || i + 1 == n) {
            s += fmt::format(
                "<text class=\"xlabel\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                num(x + bar / 2), num(base + 16), label.substr(5));
        }
    }
    // The pass-rate line joins the days that had mail; a day without reports has no rate.
    std::string points;
    std::string dots;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& p = d.days[i];
        if (p.messages == 0) continue;
        const double rate = percent(p.dmarc_pass, p.messages);
        const double x = left + slot * (static_cast<double>(i) + 0.5);
        const double y = base - ph * rate / 100.0;
        if (!points.empty()) points.push_back(' ');
        points += num(x) + "," + num(y);
        dots += fmt::format(
            "<circle class=\"pass\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"#f58518\"><title>{}: "
            "{:.1f}% DMARC pass "
            "({} of {})</title></circle>\n",
            num(x), num(y), format_day(p.day), rate, count_text(p.dmarc_pass),
            count_text(p.messages));
    }
    if (!points.empty()) {
        s += "<polyline class=\"pass\" fill=\"none\" stroke=\"#f58518\" stroke-width=\"2\" "
             "points=\"" +
             points + "\"/>\n";
    }
    s += dots;
    s += fmt::format(
        "<text class=\"xlabel\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">day (UTC)</text>\n",
        num(left + pw / 2), num(height - 6));
    s += "</svg>\n";
    return s;
}

constexpr std::string_view style = R"(
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;
  max-width:800px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}
h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
.meta{color:#52606d;margin:2px 0}
.figures{border-collapse:collapse;margin:8px 0}.figures td{padding:2px 16px 2px 0}
.up{color:#18794e}.down{color:#c62828}.flat{color:#52606d}
table.actions{border-collapse:collapse;width:100%;font-size:14px}
table.actions th,table.actions td{border:1px solid #d9e2ec;padding:4px 6px;text-align:left;
  vertical-align:top}
table.actions th{background:#f0f4f8}.empty{color:#52606d;font-style:italic}
svg.chart{max-width:100%;height:auto;font-size:11px}.bar{fill:#4c78a8}
polyline.pass{fill:none;stroke:#f58518;stroke-width:2}circle.pass{fill:#f58518}
.axis{stroke:#52606d;stroke-width:1}.ylabel,.xlabel,.axis-title{fill:#52606d}text.pass{fill:#c4650f}
)";

std::string trend_html(const DomainDigest& d) {
    const auto t = trend_of(d);
    if (!t.known) return "<span class=\"flat\">no mail in the previous period to compare</span>";
    const char* cls =
        arrow(t.points) == "\u2191" ? "up" : (arrow(t.points) == "\u2193" ? "down" : "flat");
    return fmt::format("<span class=\"{}\">{} {} (previous period {:.1f}%)</span>", cls,
                       arrow(t.points), signed_points(t.points), t.before);
}

}  // namespace

std::string render_text(const Digest& digest) {
    std::string s = fmt::format("DMARC digest for {}\n", printable(digest.client));
    const auto days = std::chrono::floor<std::chrono::days>(digest.until - digest.since).count();
    s += fmt::format("Period: {} ({} day{}, UTC)\n", period_text(digest.since, digest.until), days,
                     days == 1 ? "" : "s");
    if (!digest.contact.empty()) {
        std::string contacts;
        for (const auto& c : digest.contact) {
            if (!contacts.empty()) contacts += ", ";
            contacts += printable(c);
        }
        s += fmt::format("Contact: {}\n", contacts);
    }
    if (digest.domains.empty()) s += "\nNo domains are configured for this client.\n";
    for (const auto& d : digest.domains) {
        const auto& a = d.analysis;
        s += fmt::format("\n{}\n{}\n", printable(a.domain),
                         std::string(std::min<std::size_t>(a.domain.size(), 80), '='));
        if (a.messages == 0) {
            s += "No reports for this period.\n";
        } else {
            s += fmt::format("Messages:   {} (previous period: {})\n", count_text(a.messages),
                             count_text(d.previous_messages));
            const auto t = trend_of(d);
            s += fmt::format("DMARC pass: {:.1f}% ({} messages)", percent(a.dmarc_pass, a.messages),
                             count_text(a.dmarc_pass));
            if (t.known) {
                s += fmt::format(", {} {} from {:.1f}%\n", arrow(t.points), signed_points(t.points),
                                 t.before);
            } else {
                s += ", no mail in the previous period to compare\n";
            }
        }
        if (d.new_senders.empty()) {
            s += "New senders: none\n";
        } else {
            s += fmt::format("New senders ({}):\n", d.new_senders.size());
            for (const auto& n : d.new_senders) s += fmt::format("  - {}\n", printable(n));
        }
        const auto open = open_count(a);
        if (open == 0) {
            s += "Open actions: none\n";
        } else {
            s += fmt::format("Open actions ({}):\n", open);
            for (const auto& snd : a.senders) {
                if (snd.cls == senders::SenderClass::passing) continue;
                s += fmt::format("  - {} [{}]: {} messages, {:.1f}% DMARC pass\n",
                                 printable(snd.name), senders::to_string(snd.cls),
                                 count_text(snd.messages), percent(snd.dmarc_pass, snd.messages));
                if (!snd.action.empty())
                    s += fmt::format("    Action:   {}\n", printable(snd.action));
                s += fmt::format("    Decision: {}\n", snd.decision ? printable(*snd.decision)
                                                                    : std::string("none recorded"));
                s += fmt::format("    Due:      {}\n",
                                 snd.due ? date_text(*snd.due) : std::string("not set"));
            }
        }
        for (const auto& note : a.notes) s += fmt::format("Note: {}\n", printable(note));
    }
    return s;
}

std::string render_html(const Digest& digest) {
    std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    s += fmt::format("<title>DMARC digest for {}</title>\n", html(digest.client));
    s += "<style>\n" + std::string(style) + "</style>\n</head>\n<body>\n";
    s += fmt::format("<h1>DMARC digest for {}</h1>\n", html(digest.client));
    s += fmt::format("<p class=\"meta\">Period: {} (UTC)</p>\n",
                     period_text(digest.since, digest.until));
    if (!digest.contact.empty()) {
        std::string contacts;
        for (const auto& c : digest.contact) {
            if (!contacts.empty()) contacts += ", ";
            contacts += html(c);
        }
        s += fmt::format("<p class=\"meta\">Contact: {}</p>\n", contacts);
    }
    if (digest.domains.empty())
        s += "<p class=\"empty\">No domains are configured for this client.</p>\n";
    for (const auto& d : digest.domains) {
        const auto& a = d.analysis;
        s += fmt::format("<section>\n<h2>{}</h2>\n", html(a.domain));
        if (a.messages == 0) {
            s += "<p class=\"empty\">No reports for this period.</p>\n";
        } else {
            s += "<table class=\"figures\">\n";
            s += fmt::format("<tr><td>Messages</td><td>{} (previous period {})</td></tr>\n",
                             count_text(a.messages), count_text(d.previous_messages));
            s += fmt::format("<tr><td>DMARC pass</td><td>{:.1f}% ({} messages) {}</td></tr>\n",
                             percent(a.dmarc_pass, a.messages), count_text(a.dmarc_pass),
                             trend_html(d));
            s += "</table>\n";
        }
        s += chart(d);
        s += "<h3>New senders</h3>\n";
        if (d.new_senders.empty()) {
            s += "<p class=\"empty\">None.</p>\n";
        } else {
            s += "<ul>\n";
            for (const auto& n : d.new_senders) s += fmt::format("<li>{}</li>\n", html(n));
            s += "</ul>\n";
        }
        s += "<h3>Open actions</h3>\n";
        if (open_count(a) == 0) {
            s += "<p class=\"empty\">None.</p>\n";
        } else {
            s += "<table class=\"actions\">\n<tr><th>Sender</th><th>Class</th><th>Messages</th>"
                 "<th>DMARC pass</th><th>Action</th><th>Decision</th><th>Due</th></tr>\n";
            for (const auto& snd : a.senders) {
                if (snd.cls == senders::SenderClass::passing) continue;
                s += fmt::format(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}%</td><td>{}</td><td>{}</td>"
                    "<td>{}</td></tr>\n",
                    html(snd.name), html(senders::to_string(snd.cls)), count_text(snd.messages),
                    percent(snd.dmarc_pass, snd.messages), html(snd.action),
                    snd.decision ? html(*snd.decision) : std::string("&mdash;"),
                    snd.due ? date_text(*snd.due) : std::string("&mdash;"));
            }
            s += "</table>\n";
        }
        for (const auto& note : a.notes)
            s += fmt::format("<p class=\"meta\">Note: {}</p>\n", html(note));
        s += "</section>\n";
    }
    s += "</body>\n</html>\n";
    return s;
}

}  // namespace rampart::digest
