#include "message/message.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

// RFC 5322 addresses, read the way receivers must: the obsolete forms of §4.4 included, since
// the From field of real mail still carries them. The value is first cut into tokens (atoms with
// their dots, quoted strings, domain literals, the specials), comments and folding dropped; the
// address list is then read from the tokens.

namespace rampart::message {

namespace {

constexpr std::size_t max_comment_depth = 64;
constexpr std::size_t max_tokens = 10000;

struct Token {
    enum class Kind : std::uint8_t { atom, quoted, literal, special };
    Kind kind = Kind::atom;
    std::string text;  // atom text, quoted-string content (unescaped), "[...]", or the special
    bool space_before = false;
};

bool is_special(char c) noexcept {
    switch (c) {
        case '(': case ')': case '<': case '>': case '[': case ']': case ':': case ';':
        case '@': case '\\': case ',': case '"':
            return true;
        default:
            return false;
    }
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// atext plus '.', and any octet >= 0x80 (RFC 6532 UTF-8 in addresses and names).
bool is_atom_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;
    return u > 32 && u < 127 && !is_special(c);
}

struct Tokenizer {
    std::string_view text;
    std::size_t pos = 0;

    Result<std::vector<Token>> run() {
        std::vector<Token> tokens;
        bool space = false;
        while (pos < text.size()) {
            const char c = text[pos];
            if (is_space(c)) {
                space = true;
                ++pos;
            } else if (c == '(') {
                if (auto skipped = skip_comment(); !skipped) return std::unexpected(skipped.error());
                space = true;
            } else if (c == '"') {
                auto quoted = read_quoted();
                if (!quoted) return std::unexpected(quoted.error());
                tokens.push_back({Token::Kind::quoted, std::move(*quoted), space});
                space = false;
            } else if (c == '[') {
                const std::size_t close = text.find(']', pos);
                if (close == std::string_view::npos) return error("a domain literal is not closed");
                tokens.push_back({Token::Kind::literal, std::string(text.substr(pos, close - pos + 1)), space});
                pos = close + 1;
                space = false;
            } else if (is_atom_char(c)) {
                const std::size_t begin = pos;
                while (pos < text.size() && is_atom_char(text[pos])) ++pos;
                tokens.push_back({Token::Kind::atom, std::string(text.substr(begin, pos - begin)), space});
                space = false;
            } else if (c == ')' || c == ']' || c == '\\') {
                return error(fmt::format("unexpected '{}'", c));
            } else if (is_special(c)) {
                tokens.push_back({Token::Kind::special, std::string(1, c), space});
                ++pos;
                space = false;
            } else {
                return error("a control character");
            }
            if (tokens.size() > max_tokens) return error("too many tokens");
        }
        return tokens;
    }

    Result<void> skip_comment() {
        std::size_t depth = 0;
        while (pos < text.size()) {
            const char c = text[pos++];
            if (c == '\\') {
                ++pos;
            } else if (c == '(') {
                if (++depth > max_comment_depth) return error("comments are nested too deeply");
            } else if (c == ')') {
                if (--depth == 0) return {};
            }
        }
        return error("a comment is not closed");
    }

    Result<std::string> read_quoted() {
        std::string out;
        ++pos;  // the opening quote
        while (pos < text.size()) {
            const char c = text[pos++];
            if (c == '"') return out;
            if (c == '\\' && pos < text.size()) {
                out.push_back(text[pos++]);
            } else if (c == '\r' || c == '\n') {
                continue;  // folding inside a quoted string
            } else {
                out.push_back(c);
            }
        }
        return error("a quoted string is not closed");
    }

    std::unexpected<Error> error(std::string reason) const {
        return fail(Errc::malformed, fmt::format("not an address list: {}", reason),
                    Location{.offset = pos});
    }
};

bool is_special_token(const Token& token, char c) noexcept {
    return token.kind == Token::Kind::special && token.text.size() == 1 && token.text[0] == c;
}

class ListParser {
public:
    explicit ListParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    Result<std::vector<Mailbox>> run() {
        std::vector<Mailbox> mailboxes;
        while (i_ < tokens_.size()) {
            if (at(',')) {  // obs-addr-list: empty elements
                ++i_;
                continue;
            }
            if (auto read = address(mailboxes); !read) return std::unexpected(read.error());
            if (i_ < tokens_.size() && !at(',')) return error("expected ',' between addresses");
        }
        return mailboxes;
    }

private:
    bool at(char c) const noexcept { return i_ < tokens_.size() && is_special_token(tokens_[i_], c); }

    /// Is the next special (before ',' or the end) a ':' that starts a group?
    bool group_ahead() const noexcept {
        for (std::size_t j = i_; j < tokens_.size(); ++j) {
            const auto& t = tokens_[j];
            if (t.kind != Token::Kind::special) continue;
            return t.text[0] == ':';
        }
        return false;
    }

    Result<void> address(std::vector<Mailbox>& out) {
        if (!group_ahead()) {
            auto box = mailbox();
            if (!box) return std::unexpected(box.error());
            out.push_back(std::move(*box));
            return {};
        }
        std::string name = phrase();
        (void)name;  // the group's name says nothing about the sender
        ++i_;        // ':'
        while (i_ < tokens_.size() && !at(';')) {
            if (at(',')) {
                ++i_;
                continue;
            }
            auto box = mailbox();
            if (!box) return std::unexpected(box.error());
            out.push_back(std::move(*box));
        }
        if (!at(';')) return error("a group is not closed with ';'");
        ++i_;
        return {};
    }

    /// Words up to the next special, joined as a display name.
    std::string phrase() {
        std::string text;
        while (i_ < tokens_.size() && tokens_[i_].kind != Token::Kind::special) {
            if (!text.empty() && tokens_[i_].space_before) text.push_back(' ');
            text += tokens_[i_].text;
            ++i_;
        }
        return text;
    }

    Result<Mailbox> mailbox() {
        const std::size_t begin = i_;
        // A display name ends at '<'; without '<' the words are the local part of an addr-spec.
        std::size_t j = i_;
        while (j < tokens_.size() && tokens_[j].kind != Token::Kind::special) ++j;
        // Common in the wild: an unquoted address as the display name ("a@b <a@b>").
        std::size_t angle = j;
        for (std::size_t k = j; k < tokens_.size(); ++k) {
            if (is_special_token(tokens_[k], ',') || is_special_token(tokens_[k], ';')) break;
            if (is_special_token(tokens_[k], '<')) {
                angle = k;
                break;
            }
        }
        if (angle < tokens_.size() && is_special_token(tokens_[angle], '<')) {
            Mailbox box;
            box.display_name = join_display(begin, angle);
            i_ = angle + 1;
            skip_route();
            auto spec = addr_spec(box);
            if (!spec) return std::unexpected(spec.error());
            if (!at('>')) return error("an angle address is not closed with '>'");
            ++i_;
            return box;
        }
        Mailbox box;
        auto spec = addr_spec(box);
        if (!spec) return std::unexpected(spec.error());
        if (i_ == begin) return error("expected an address");
        return box;
    }

    std::string join_display(std::size_t from, std::size_t to) const {
        std::string text;
        for (std::size_t k = from; k < to; ++k) {
            if (!text.empty() && tokens_[k].space_before) text.push_back(' ');
            text += tokens_[k].text;
        }
        return text;
    }

    /// obs-route: "@a,@b:" before the addr-spec inside angle brackets.
    void skip_route() {
        if (!at('@')) return;
        for (std::size_t j = i_; j < tokens_.size(); ++j) {
            if (is_special_token(tokens_[j], ':')) {
                i_ = j + 1;
                return;
            }
            if (is_special_token(tokens_[j], '>')) return;
        }
    }

    /// local-part ["@" domain]. Words of the local part join without spaces (obs-local-part
    /// allows CFWS between its words; "." is part of the atoms).
    Result<void> addr_spec(Mailbox& box) {
        while (i_ < tokens_.size() &&
               (tokens_[i_].kind == Token::Kind::atom || tokens_[i_].kind == Token::Kind::quoted)) {
            box.local_part += tokens_[i_].text;
            ++i_;
        }
        if (!at('@')) return {};
        ++i_;
        while (i_ < tokens_.size() &&
               (tokens_[i_].kind == Token::Kind::atom || tokens_[i_].kind == Token::Kind::literal)) {
            box.domain += tokens_[i_].text;
            ++i_;
        }
        if (box.domain.empty()) return error("an address has nothing after '@'");
        return {};
    }

    std::unexpected<Error> error(std::string reason) const {
        return fail(Errc::malformed, fmt::format("not an address list: {}", reason));
    }

    std::vector<Token> tokens_;
    std::size_t i_ = 0;
};

bool is_ascii(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

Result<std::vector<Mailbox>> parse_address_list(std::string_view value) {
    Tokenizer tokenizer{.text = value};
    auto tokens = tokenizer.run();
    if (!tokens) return std::unexpected(tokens.error());
    return ListParser(std::move(*tokens)).run();
}

Result<std::string> to_a_label(std::string_view domain) {
    std::string name(domain);
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty()) return fail(Errc::malformed, "an empty domain");
    if (is_ascii(name)) return ascii_lower(name);
    char* converted = nullptr;
    const int rc = idn2_to_ascii_8z(name.c_str(), &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    std::unique_ptr<char, decltype(&idn2_free)> owned(converted, &idn2_free);
    if (rc != IDN2_OK || converted == nullptr)
        return fail(Errc::malformed, fmt::format("the domain \"{}\" cannot be written as an A-label: {}",
                                                 printable(name), idn2_strerror(rc)));
    return ascii_lower(converted);
}

FromDomains from_domains(const Header& header) {
    FromDomains result;
    const auto fields = header.all("From");
    result.fields = fields.size();
    if (fields.empty()) {
        result.problem = "the message has no From field";
        return result;
    }
    for (const Field* field : fields) {
        auto mailboxes = parse_address_list(unfold(field->value()));
        if (!mailboxes) {
            result.problem = fmt::format("the From field does not parse: {}", mailboxes.error().reason);
            continue;
        }
        result.mailboxes += mailboxes->size();
        for (const auto& box : *mailboxes) {
            if (box.domain.empty() || box.domain.front() == '[') {
                result.problem = "a From address has no domain name";
                continue;
            }
            auto a_label = to_a_label(box.domain);
            if (!a_label) {
                result.problem = a_label.error().reason;
                continue;
            }
            if (std::find(result.domains.begin(), result.domains.end(), *a_label) == result.domains.end())
                result.domains.push_back(std::move(*a_label));
        }
    }
    if (!result.problem.empty()) return result;
    if (result.fields > 1) {
        result.problem = fmt::format("the message has {} From fields", result.fields);
    } else if (result.mailboxes == 0) {
        result.problem = "the From field holds no address";
    } else if (result.domains.size() > 1) {
        result.problem = fmt::format("the From field names {} domains", result.domains.size());
    }
    return result;
}

}  // namespace rampart::message
