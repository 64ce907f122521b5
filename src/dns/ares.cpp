#include "dns/ares.hpp"

#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>

#include <fmt/format.h>

#include "dns/wire.hpp"

namespace rampart::dns {
namespace {

/// RFC 1034 §3.6.2 lets a chain be followed; like the in-memory zone (and most resolvers'
/// limits of 8 to 16), Rampart stops after 8 links.
constexpr int max_cname_links = 8;
/// RFC 2308 §5 wants the SOA's negative TTL; a server that sends no SOA gets this one.
constexpr std::uint32_t default_negative_ttl = 60;
constexpr std::string_view shut_down = "resolver shut down";
constexpr int udp_receive_buffer = 1 << 20;

struct ChannelDeleter {
    void operator()(ares_channel channel) const noexcept { ares_destroy(channel); }
};
using Channel = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

/// Where the answers of one query()/query_all() call go; the caller waits on it.
struct Batch {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<Answer> answers;
    std::size_t left = 0;

    void deliver(std::size_t index, Answer answer) {
        std::lock_guard lock(mutex);
        answers[index] = std::move(answer);
        if (--left == 0) done.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex);
        done.wait(lock, [&] { return left == 0; });
    }
};

Answer error_answer(std::string detail) {
    Answer out;
    out.status = Status::error;
    out.detail = std::move(detail);
    return out;
}

std::string_view rcode_name(std::uint16_t rcode) {
    switch (rcode) {
        case 1: return "FORMERR";
        case 2: return "SERVFAIL";
        case 4: return "NOTIMP";
        case 5: return "REFUSED";
        case 6: return "YXDOMAIN";
        case 9: return "NOTAUTH";
        default: return "an unexpected RCODE";
    }
}

Answer servfail_answer(std::uint16_t rcode, std::string_view name, RrType type) {
    Answer out;
    out.status = Status::servfail;
    out.rcode = rcode;
    out.detail = fmt::format("the server answered {} ({}) for {} {}", rcode_name(rcode), rcode,
                             printable(name), to_string(type));
    return out;
}

/// The name as the wire parser writes names (a '\' in a label is written "\\"), so the owners
/// of the answer can be compared with it.
std::string wire_text(std::string_view normal_name) {
    std::string out;
    for (const char c : normal_name) {
        if (c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

std::uint32_t negative_ttl(const wire::Message& message) {
    for (const auto& rr : message.authority) {
        if (!rr.is(RrType::soa) || !rr.data) continue;
        if (const auto* soa = std::get_if<Soa>(&*rr.data)) return std::min(rr.ttl, soa->minimum);
    }
    return default_negative_ttl;
}

/// Reads the answer to one question from a parsed message: the rcode, then the answer section
/// from the asked name along its CNAMEs.
Answer interpret(const wire::Message& message, std::string_view name, RrType type) {
    const auto rcode = message.header.rcode;
    if (rcode != 0 && rcode != 3) return servfail_answer(rcode, name, type);
    Answer out;
    out.rcode = rcode;
    std::string current = wire_text(name);
    std::uint32_t chain_ttl = UINT32_MAX;
    std::set<std::string> visited{current};
    for (int links = 0;; ++links) {
        for (const auto& rr : message.answers)
            if (rr.is(type) && rr.name == current)
                if (auto record = rr.to_record()) out.records.push_back(std::move(*record));
        if (!out.records.empty()) {
            out.status = Status::ok;
            out.ttl = chain_ttl;
            for (const auto& r : out.records) out.ttl = std::min(out.ttl, r.ttl);
            return out;
        }
        const auto cname = std::find_if(message.answers.begin(), message.answers.end(),
                                        [&](const wire::ResourceRecord& rr) {
                                            return rr.is(RrType::cname) && rr.name == current &&
                                                   rr.data.has_value();
                                        });
        if (cname == message.answers.end()) break;
        if (links == max_cname_links || !visited.insert(std::get<std::string>(*cname->data)).second) {
            Answer loop;
            loop.status = Status::servfail;
            loop.rcode = rcode;
            loop.detail = fmt::format("the CNAME chain from {} loops or is longer than {}",
                                      printable(name), max_cname_links);
            return loop;
        }
        out.cname_chain.push_back(current);
        chain_ttl = std::min(chain_ttl, cname->ttl);
        current = std::get<std::string>(*cname->data);
    }
    out.status = rcode == 3 ? Status::nxdomain : Status::nodata;
    out.ttl = std::min(chain_ttl, negative_ttl(message));
    return out;
}

/// RFC 5452 §9.1: an answer is accepted only for the question asked (c-ares has already matched
/// the ID, the server's address and port). Names compare case-insensitively: both are lower case.
bool matches_question(const wire::Message& message, std::string_view name, RrType type) {
    return message.header.qr && message.questions.size() == 1 &&
           message.questions[0].name == wire_text(name) &&
           message.questions[0].type == static_cast<std::uint16_t>(type) &&
           message.questions[0].klass == wire::class_in;
}

/// What a c-ares status without a usable message means.
Answer from_ares_status(int status, std::string_view name, RrType type, int timeouts) {
    switch (status) {
        case ARES_ETIMEOUT: {
            Answer out;
            out.status = Status::timeout;
            out.detail = fmt::format("no answer for {} {} ({} tries timed out)", printable(name),
                                     to_string(type), timeouts);
            return out;
        }
        // Answers with these RCODEs reach on_answer as messages (NOCHECKRESP); c-ares itself
        // reports them only from paths that never saw one, which are mapped the same way.
        case ARES_ESERVFAIL: return servfail_answer(2, name, type);
        case ARES_EREFUSED: return servfail_answer(5, name, type);
        case ARES_ENOTIMP: return servfail_answer(4, name, type);
        case ARES_EFORMERR: return servfail_answer(1, name, type);
        case ARES_ECANCELLED:
        case ARES_EDESTRUCTION: return error_answer(std::string(shut_down));
        case ARES_ECONNREFUSED:
            return error_answer(fmt::format(
                "the DNS server refused the connection for {} {} (nothing listens there?)",
                printable(name), to_string(type)));
        default:
            return error_answer(fmt::format("{} {}: {}", printable(name), to_string(type),
                                            ares_strerror(status)));
    }
}

std::once_flag library_once;
int library_status = ARES_SUCCESS;

}  // namespace

class AresResolver::Loop {
public:
    /// One question on its way: built, sent, maybe sent again over TCP, answered into its batch.
    struct Pending {
        Loop* loop = nullptr;
        Batch* batch = nullptr;
        std::size_t index = 0;
        std::string name;  // normalized
        RrType type = RrType::a;
        std::vector<std::byte> query;
        bool over_tcp = false;
    };

    static Result<std::unique_ptr<Loop>> make(const AresOptions& options);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    /// Hands questions to the loop thread.
    void submit(std::vector<std::unique_ptr<Pending>> work);

private:
    /// The sockets c-ares wants watched on one channel, and for what.
    struct Sockets {
        std::map<ares_socket_t, std::pair<bool, bool>> wanted;  // fd → (read, write)
    };

    explicit Loop(std::size_t max_in_flight) : max_in_flight_(max_in_flight) {}
    Result<void> init_channel(Channel& channel, Sockets& sockets, const AresOptions& options,
                              int flags);
    void run();
    void send(std::unique_ptr<Pending> pending);
    void poll_once();
    void finish(std::unique_ptr<Pending> pending, Answer answer);
    void drain_on_shutdown();

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
    static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

    Channel udp_, tcp_;
    Sockets udp_sockets_, tcp_sockets_;
    int wake_fd_ = -1;
    const std::size_t max_in_flight_;
    std::size_t in_flight_ = 0;  // loop thread only

    std::mutex queue_mutex_;
    std::deque<std::unique_ptr<Pending>> queue_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

Result<std::unique_ptr<AresResolver::Loop>> AresResolver::Loop::make(const AresOptions& options) {
    std::unique_ptr<Loop> loop(new Loop(options.max_in_flight));
    loop->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd_ < 0)
        return fail(Errc::io, fmt::format("cannot make the resolver's wake-up descriptor: {}",
                                          std::strerror(errno)));
    // Truncated UDP answers come back to us (IGNTC) so that we see them and ask again over the
    // TCP channel ourselves: the answer can then say it needed TCP (an audit finding).
    // NOCHECKRESP: without it c-ares 1.18 swallows SERVFAIL, REFUSED and NOTIMP answers and,
    // once every server said so, reports ARES_ECONNREFUSED, indistinguishable from a closed
    // port. With it we read the RCODE ourselves, at two costs: a SERVFAIL is not retried at the
    // next server of resolv.conf, and c-ares no longer compares the answer's question with ours,
    // so on_answer does (matches_question).
    constexpr int common = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    if (auto ok = loop->init_channel(loop->udp_, loop->udp_sockets_, options,
                                     common | ARES_FLAG_IGNTC);
        !ok)
        return std::unexpected(ok.error());
    if (auto ok = loop->init_channel(loop->tcp_, loop->tcp_sockets_, options,
                                     common | ARES_FLAG_USEVC);
        !ok)
        return std::unexpected(ok.error());
    loop->thread_ = std::thread([raw = loop.get()] { raw->run(); });
    return loop;
}

Result<void> AresResolver::Loop::init_channel(Channel& channel, Sockets& sockets,
                                              const AresOptions& options, int flags) {
    ares_options o{};
    o.flags = flags;
    o.timeout = static_cast<int>(options.timeout.count());
    o.tries = options.tries;
    o.sock_state_cb = &Loop::on_socket_state;
    o.sock_state_cb_data = &sockets;
    // A hundred answers or more arrive on one UDP socket at once; the kernel's default buffer
    // (about 200 KiB, charged about 1 KiB per datagram) would drop some, and each drop waits
    // out a timeout. The kernel caps the request at net.core.rmem_max.
    o.socket_receive_buffer_size = udp_receive_buffer;
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                     ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF;
    ares_channel raw = nullptr;
    if (const int status = ares_init_options(&raw, &o, mask); status != ARES_SUCCESS)
        return fail(Errc::io, fmt::format("cannot set up the DNS resolver: {}",
                                          ares_strerror(status)));
    channel.reset(raw);
    if (!options.server) return {};
    const auto& server = *options.server;
    ares_addr_port_node node{};
    const auto bytes = server.address.bytes();
    if (server.address.family() == IpAddress::Family::v4) {
        node.family = AF_INET;
        std::memcpy(&node.addr.addr4, bytes.data(), bytes.size());
    } else {
        node.family = AF_INET6;
        std::memcpy(&node.addr.addr6, bytes.data(), bytes.size());
    }
    node.udp_port = node.tcp_port = server.port;
    if (const int status = ares_set_servers_ports(raw, &node); status != ARES_SUCCESS)
        return fail(Errc::io, fmt::format("cannot use the DNS server {}: {}", server.to_string(),
                                          ares_strerror(status)));
    return {};
}

AresResolver::Loop::~Loop() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    if (thread_.joinable()) {
        const std::uint64_t one = 1;
        (void)::write(wake_fd_, &one, sizeof one);
        thread_.join();
    } else {
        drain_on_shutdown();
    }
    // The channels go before the descriptor: ares_destroy may still call back (EDESTRUCTION).
    udp_.reset();
    tcp_.reset();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void AresResolver::Loop::submit(std::vector<std::unique_ptr<Pending>> work) {
    {
        std::lock_guard lock(queue_mutex_);
        if (!stopping_) {
            for (auto& p : work) queue_.push_back(std::move(p));
            work.clear();
        }
    }
    for (auto& p : work) finish(std::move(p), error_answer(std::string(shut_down)));
    const std::uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
}

void AresResolver::Loop::run() {
    while (!stopping_) {
        std::vector<std::unique_ptr<Pending>> ready;
        {
            std::lock_guard lock(queue_mutex_);
            while (!queue_.empty() && in_flight_ + ready.size() < max_in_flight_) {
                ready.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        for (auto& p : ready) send(std::move(p));
        poll_once();
    }
    drain_on_shutdown();
}

void AresResolver::Loop::drain_on_shutdown() {
    // Cancelling calls on_answer with ARES_ECANCELLED for everything in flight.
    if (udp_) ares_cancel(udp_.get());
    if (tcp_) ares_cancel(tcp_.get());
    std::deque<std::unique_ptr<Pending>> left;
    {
        std::lock_guard lock(queue_mutex_);
        left.swap(queue_);
    }
    for (auto& p : left) finish(std::move(p), error_answer(std::string(shut_down)));
}

void AresResolver::Loop::send(std::unique_ptr<Pending> pending) {
    ++in_flight_;
    auto* channel = pending->over_tcp ? tcp_.get() : udp_.get();
    const auto* bytes = reinterpret_cast<const unsigned char*>(pending->query.data());
    const int length = static_cast<int>(pending->query.size());
    // c-ares owns the question until on_answer, which it may call before ares_send returns.
    ares_send(channel, bytes, length, &Loop::on_answer, pending.release());
}

void AresResolver::Loop::poll_once() {
    std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
    std::vector<ares_channel> owners{nullptr};
    for (auto [sockets, channel] : {std::pair{&udp_sockets_, udp_.get()},
                                    std::pair{&tcp_sockets_, tcp_.get()}}) {
        for (const auto& [fd, interest] : sockets->wanted) {
            const auto events = static_cast<short>((interest.first ? POLLIN : 0) |
                                                   (interest.second ? POLLOUT : 0));
            fds.push_back({fd, events, 0});
            owners.push_back(channel);
        }
    }
    // Wake for c-ares's next timeout, or only for sockets and new questions when nothing waits.
    int wait_ms = -1;
    for (auto* channel : {udp_.get(), tcp_.get()}) {
        timeval tv{};
        if (ares_timeout(channel, nullptr, &tv) == nullptr) continue;
        const auto ms = static_cast<int>(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
        wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
    }
    const int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
        std::uint64_t count = 0;
        (void)::read(wake_fd_, &count, sizeof count);
    }
    for (std::size_t i = 1; ready > 0 && i < fds.size(); ++i) {
        const auto revents = fds[i].revents;
        if (revents == 0) continue;
        const bool readable = (revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (revents & POLLOUT) != 0;
        ares_process_fd(owners[i], readable ? fds[i].fd : ARES_SOCKET_BAD,
                        writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
    // Lets c-ares notice the queries whose time is up.
    ares_process_fd(udp_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    ares_process_fd(tcp_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

void AresResolver::Loop::finish(std::unique_ptr<Pending> pending, Answer answer) {
    pending->batch->deliver(pending->index, std::move(answer));
}

void AresResolver::Loop::on_socket_state(void* data, ares_socket_t fd, int readable,
                                         int writable) {
    auto& sockets = *static_cast<Sockets*>(data);
    if (readable == 0 && writable == 0) {
        sockets.wanted.erase(fd);
    } else {
        sockets.wanted[fd] = {readable != 0, writable != 0};
    }
}

void AresResolver::Loop::on_answer(void* arg, int status, int timeouts, unsigned char* abuf,
                                   int alen) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(arg));
    Loop& loop = *pending->loop;
    --loop.in_flight_;
    if (status != ARES_SUCCESS || abuf == nullptr || alen <= 0) {
        auto answer = from_ares_status(status, pending->name, pending->type, timeouts);
        answer.truncated = pending->over_tcp;
        loop.finish(std::move(pending), std::move(answer));
        return;
    }
    const auto bytes = std::as_bytes(std::span(abuf, static_cast<std::size_t>(alen)));
    auto message = wire::parse_message(bytes);
    if (!message) {
        loop.finish(std::move(pending),
                    error_answer(fmt::format("the DNS server's answer for {} {} is malformed: {}",
                                             printable(pending->name), to_string(pending->type),
                                             message.error().reason)));
        return;
    }
    if (!matches_question(*message, pending->name, pending->type)) {
        loop.finish(std::move(pending),
                    error_answer(fmt::format(
                        "the DNS server's answer for {} {} is for another question",
                        printable(pending->name), to_string(pending->type))));
        return;
    }
    if (message->header.tc && !pending->over_tcp && !loop.stopping_) {
        // RFC 7766 §5: a truncated UDP answer is asked again over TCP.
        pending->over_tcp = true;
        loop.send(std::move(pending));
        return;
    }
    auto answer = interpret(*message, pending->name, pending->type);
    answer.truncated = pending->over_tcp;
    loop.finish(std::move(pending), std::move(answer));
}

Result<std::unique_ptr<AresResolver>> AresResolver::open(const AresOptions& options) {
    if (options.timeout.count() < 1 || options.timeout.count() > 3'600'000)
        return fail(Errc::malformed, "the DNS timeout must be from 1 ms to one hour");
    if (options.tries < 1 || options.tries > 100)
        return fail(Errc::malformed, "the DNS tries must be from 1 to 100");
    if (options.max_in_flight == 0)
        return fail(Errc::malformed, "at least one DNS query must be allowed in flight");
    std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (library_status != ARES_SUCCESS)
        return fail(Errc::io, fmt::format("cannot initialise c-ares: {}",
                                          ares_strerror(library_status)));
    auto loop = Loop::make(options);
    if (!loop) return std::unexpected(std::move(loop.error()));
    return std::unique_ptr<AresResolver>(new AresResolver(std::move(*loop)));
}

AresResolver::AresResolver(std::unique_ptr<Loop> loop) noexcept : loop_(std::move(loop)) {}

AresResolver::~AresResolver() = default;

Answer AresResolver::query(std::string_view name, RrType type) {
    const Question question{std::string(name), type};
    auto answers = query_all(std::span(&question, 1));
    return std::move(answers.front());
}

std::vector<Answer> AresResolver::query_all(std::span<const Question> questions) {
    Batch batch;
    batch.answers.resize(questions.size());
    std::vector<std::unique_ptr<Loop::Pending>> work;
    work.reserve(questions.size());
    for (std::size_t i = 0; i < questions.size(); ++i) {
        auto normal = normalize_name(questions[i].name);
        if (!normal) {
            batch.answers[i] = error_answer(normal.error().reason);
            continue;
        }
        auto query = wire::build_query(*normal, static_cast<std::uint16_t>(questions[i].type));
        if (!query) {
            batch.answers[i] = error_answer(query.error().reason);
            continue;
        }
        auto pending = std::make_unique<Loop::Pending>();
        pending->loop = loop_.get();
        pending->batch = &batch;
        pending->index = i;
        pending->name = std::move(*normal);
        pending->type = questions[i].type;
        pending->query = std::move(*query);
        work.push_back(std::move(pending));
    }
    if (work.empty()) return std::move(batch.answers);
    batch.left = work.size();
    loop_->submit(std::move(work));
    batch.wait();
    return std::move(batch.answers);
}

}  // namespace rampart::dns
